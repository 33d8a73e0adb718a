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
    // H2G_INPUT=noise: pseudo-random values in [0, 1) instead of mid-grey (made once; each run
    // gets a fresh copy, as a mid-grey batch is freshly filled)
    let noise = std::env::var("H2G_INPUT").is_ok_and(|v| v == "noise");
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let data: Vec<f32> = (0..b * 256 * 256 * 3)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect();
    let input = || {
        let d = if noise {
            data.clone()
        } else {
            vec![0.5f32; b * 256 * 256 * 3]
        };
        vec![(vec![b, 256, 256, 3], d)]
    };
    m.run(input())?; // warm-up
    let (t, mut n) = (Instant::now(), 0usize);
    while t.elapsed().as_secs_f64() < secs {
        m.run(input())?;
        n += b;
    }
    println!("{:.2}", n as f64 / t.elapsed().as_secs_f64());
    Ok(())
}
