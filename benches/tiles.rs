//! Criterion: compressing 1024×1024 mask tiles (boundary tiles, and uniform tiles via the cache).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use h2g::tiff::{Compression, TileCompressor};
use std::hint::black_box;

/// A tile crossed by a smooth tumour boundary.
fn boundary_tile(n: usize) -> Vec<u8> {
    (0..n * n)
        .map(|i| {
            let (x, y) = ((i % n) as f64, (i / n) as f64);
            u8::from(x + 200.0 * (y / 150.0).sin() > 512.0)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let n = 1024;
    let tile = boundary_tile(n);
    let mut g = c.benchmark_group("tile_1024");
    g.throughput(Throughput::Bytes((n * n) as u64));
    for (name, comp) in [
        ("lzw", Compression::Lzw),
        ("deflate6", Compression::Deflate(6)),
    ] {
        let c = TileCompressor::new(comp);
        g.bench_function(format!("{name}_boundary"), |b| {
            b.iter(|| c.compress(black_box(&tile)))
        });
        g.bench_function(format!("{name}_uniform_cached"), |b| {
            b.iter(|| c.compress_uniform(0, n * n, || vec![0u8; n * n]))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
