//! The crates the design named against the code h2g uses instead, in the same run, on the same
//! inputs, with the results compared: `cargo bench --bench deps` (docs/dependencies.md).
//!
//! 1. GeoJSON: h2g's streaming reader against `geojson` (the document parsed into
//!    `geojson::FeatureCollection`, then its polygons into `geo_types`), on a QuPath-style
//!    FeatureCollection; and whether each reads what QuPath ≤ 0.4 writes (bare NaN).
//! 2. Morphology: h2g's bit-packed closing against `imageproc::morphology::close` on a
//!    tissue-sized binary mask, outputs compared pixel for pixel.

use std::time::Instant;

use h2g::tissue::{BitMask, Element};

/// The process's peak resident memory so far, in MB.
fn peak_mb() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    u.ru_maxrss as f64 / 1024.0
}

fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..runs {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(v);
    }
    (best, out.expect("at least one run"))
}

/// A FeatureCollection of `n` classified polygons of `k` vertices each, as QuPath writes them.
fn feature_collection(n: usize, k: usize) -> String {
    let mut s = String::from("{\"type\":\"FeatureCollection\",\"features\":[");
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        let (cx, cy) = ((i % 200) as f64 * 500.0, (i / 200) as f64 * 500.0);
        s.push_str("{\"type\":\"Feature\",\"id\":\"");
        s.push_str(&format!("{i:08x}-0000-4000-8000-000000000000"));
        s.push_str("\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[");
        for j in 0..=k {
            let a = std::f64::consts::TAU * (j % k) as f64 / k as f64;
            if j > 0 {
                s.push(',');
            }
            s.push_str(&format!(
                "[{:.2},{:.2}]",
                cx + 200.0 * a.cos(),
                cy + 200.0 * a.sin()
            ));
        }
        s.push_str("]]},\"properties\":{\"objectType\":\"annotation\",\"classification\":{\"name\":\"Tumor\",\"color\":[200,0,0]}}}");
    }
    s.push_str("]}");
    s
}

fn geojson_crate(text: &str) -> Result<usize, String> {
    let fc: geojson::FeatureCollection = text.parse().map_err(|e| format!("{e}"))?;
    let mut n = 0;
    for f in fc.features {
        if let Some(g) = f.geometry {
            let p: geo_types::Geometry<f64> = g.try_into().map_err(|e| format!("{e}"))?;
            if let geo_types::Geometry::Polygon(p) = p {
                n += p.exterior().0.len();
            }
        }
    }
    Ok(n)
}

fn bench_geojson() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let text = feature_collection(20_000, 64);
    let path = dir.path().join("a.geojson");
    std::fs::write(&path, &text).expect("write the GeoJSON");
    let mb = text.len() as f64 / 1e6;
    drop(text);
    // peak memory: h2g first, then the crate (the peak only grows)
    let before = peak_mb();
    let (t_h2g, ours) = best(3, || {
        h2g::vector::read_annotations(&path).expect("h2g reads it")
    });
    let after_h2g = peak_mb();
    let verts: usize = ours.items.iter().map(|a| a.polygons[0][0].len()).sum();
    let (t_crate, theirs) = best(3, || {
        let text = std::fs::read_to_string(&path).expect("read");
        geojson_crate(&text).expect("geojson reads it")
    });
    let after_crate = peak_mb();
    assert_eq!(verts, theirs, "both read every vertex");
    println!(
        "geojson: {mb:.1} MB, {} features: h2g {t_h2g:.3} s, geojson+geo-types {t_crate:.3} s, \
         speed ratio (geojson time / h2g time) {:.2}; peak memory h2g {:.0} MB, geojson {:.0} MB",
        ours.items.len(),
        t_crate / t_h2g,
        after_h2g - before,
        after_crate - before,
    );
    let text = std::fs::read_to_string(&path).expect("read");
    // QuPath ≤ 0.4 writes bare NaN for unset measurements
    let nan = text.replacen(
        "\"objectType\":\"annotation\"",
        "\"objectType\":\"annotation\",\"measurements\":{\"Area\":NaN}",
        1,
    );
    let nan_path = dir.path().join("nan.geojson");
    std::fs::write(&nan_path, &nan).expect("write the GeoJSON");
    let h2g_nan = h2g::vector::read_annotations(&nan_path).is_ok();
    let crate_nan = geojson_crate(&nan);
    println!(
        "geojson with a bare NaN (QuPath ≤ 0.4): h2g reads it: {h2g_nan}; geojson: {}",
        match crate_nan {
            Ok(_) => "reads it".to_string(),
            Err(e) => format!("refuses it ({e})"),
        }
    );
}

fn bench_closing() {
    let (w, h) = (6000usize, 3000usize);
    // a blobby tissue-like mask with speckle
    let on = |x: usize, y: usize| {
        let (fx, fy) = (x as f64 / w as f64, y as f64 / h as f64);
        let blob = ((fx * 9.0).sin() + (fy * 7.0).cos() + (fx * fy * 40.0).sin()) > 0.6;
        let speck = (x.wrapping_mul(2654435761) ^ y.wrapping_mul(40503)).is_multiple_of(97);
        blob ^ speck
    };
    let bits = BitMask::from_rows(w, h, |y, row| {
        for (x, v) in row.iter_mut().enumerate() {
            *v = on(x, y);
        }
    });
    let img = image::GrayImage::from_fn(w as u32, h as u32, |x, y| {
        image::Luma([if on(x as usize, y as usize) { 255 } else { 0 }])
    });
    for k in [1u8, 2] {
        let se = Element::square(2 * k as usize + 1);
        let (t_h2g, ours) = best(3, || bits.close(&se));
        let (t_ip, theirs) = best(3, || {
            imageproc::morphology::close(&img, imageproc::distance_transform::Norm::LInf, k)
        });
        let ours = ours.to_bytes(255);
        let differ = ours
            .iter()
            .zip(theirs.as_raw())
            .filter(|(a, b)| a != b)
            .count();
        println!(
            "closing {0}×{0} square, {w} × {h}: h2g {t_h2g:.3} s, imageproc {t_ip:.3} s, ratio {1:.1}×, differing pixels {differ}",
            2 * k + 1,
            t_ip / t_h2g
        );
    }
}

fn main() {
    // `cargo test --benches` runs this with --bench absent: keep that quick
    if !std::env::args().any(|a| a == "--bench") {
        println!("deps: run with `cargo bench --bench deps`");
        return;
    }
    bench_geojson();
    bench_closing();
}
