//! Times tissue detection alone (no file I/O) on a picture: `tissue_timing PICTURE METHOD RUNS`.
//! Prints the median seconds of RUNS runs; used by benches/tissue_vs_opencv.sh.

use h2g::slide::{PictureSlide, Slide};
use h2g::tissue::{detect, Method, QupathParams};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, method, runs] = args.as_slice() else {
        return Err("usage: tissue_timing PICTURE saturation|otsu|fast|qupath RUNS".into());
    };
    let pic = PictureSlide::open(path.as_ref(), 1 << 32)?;
    let (w, h) = pic.level_size(0)?;
    let img = pic.read_region(0, 0, 0, w as u32, h as u32)?;
    let m = match method.as_str() {
        "saturation" => Method::paper(),
        "otsu" => Method::otsu(),
        "fast" => Method::fast(),
        "qupath" => Method::Qupath(QupathParams::default()),
        other => return Err(format!("unknown method {other}").into()),
    };
    let mut times = Vec::new();
    let mut tissue = 0;
    for _ in 0..runs.parse::<usize>()? {
        let t = Instant::now();
        tissue = detect(&img, &m, Some(8.0))?.mask.count();
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!("{:.6} {tissue}", times[times.len() / 2]);
    Ok(())
}
