//! Criterion: 2×2 label reduction of one 50000-wide band pair (a ×400 mask at downsample 4).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use h2g::pyramid::{reduce_rows, Reduce};
use std::hint::black_box;

/// A mask-like row: long runs of 0 and 1 with a few boundary pixels.
fn row(width: usize, phase: usize) -> Vec<u8> {
    (0..width)
        .map(|x| u8::from(((x + phase) / 1500) % 3 == 1))
        .collect()
}

fn bench(c: &mut Criterion) {
    let width = 50_000;
    let (top, bottom) = (row(width, 0), row(width, 7));
    let mut out = vec![0u8; width.div_ceil(2)];
    let mut g = c.benchmark_group("reduce_rows");
    g.throughput(Throughput::Elements(2 * width as u64));
    for rule in [Reduce::Mode, Reduce::Nearest] {
        g.bench_with_input(BenchmarkId::from_parameter(rule), &rule, |b, &rule| {
            b.iter(|| reduce_rows(rule, black_box(&top), Some(black_box(&bottom)), &mut out))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
