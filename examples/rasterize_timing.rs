//! Times polygon filling alone (annotations already parsed, mask in memory, no file output):
//! `rasterize_timing ANN.geojson W H RUNS`. Prints the median seconds and the number of set
//! pixels; used by benches/vectorize_vs_opencv.sh against OpenCV's fillPoly.

use h2g::vector::{read_annotations, PixelRule, ScanFill};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, w, h, runs] = args.as_slice() else {
        return Err("usage: rasterize_timing ANN.geojson W H RUNS".into());
    };
    let (w, h): (usize, usize) = (w.parse()?, h.parse()?);
    let ann = read_annotations(path.as_ref())?;
    let polys = ann.polygons_where(|_| true, 1.0);
    let mut mask = vec![0u16; w * h];
    let mut times = Vec::new();
    for _ in 0..runs.parse::<usize>()? {
        let t = Instant::now();
        let mut fill = ScanFill::new(&[(1, polys.clone())], w, PixelRule::TopLeft);
        for row in mask.chunks_exact_mut(w) {
            fill.fill_row(row);
        }
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let set = mask.iter().filter(|&&v| v != 0).count();
    println!("{:.6} {set}", times[times.len() / 2]);
    Ok(())
}
