//! Model-only throughput: `model_throughput MODEL.onnx BATCH SECONDS THREADS` runs the model on
//! a fixed mid-grey batch (NHWC 256×256×3) for about SECONDS after a warm-up and prints images
//! per second; used by benches/heatmap_throughput.sh as the ceiling of the patch stage.

use h2g::infer::{Device, Model};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, batch, secs, threads] = args.as_slice() else {
        return Err("usage: model_throughput MODEL.onnx BATCH SECONDS THREADS".into());
    };
    let (b, secs, threads): (usize, f64, usize) = (batch.parse()?, secs.parse()?, threads.parse()?);
    let mut m = Model::open(path.as_ref(), threads, Device::Cpu)?;
    let input = || vec![(vec![b, 256, 256, 3], vec![0.5f32; b * 256 * 256 * 3])];
    m.run(input())?; // warm-up
    let (t, mut n) = (Instant::now(), 0usize);
    while t.elapsed().as_secs_f64() < secs {
        m.run(input())?;
        n += b;
    }
    println!("{:.2}", n as f64 / t.elapsed().as_secs_f64());
    Ok(())
}
