//! Tissue detection by a segmentation model (e.g. the SuperFast tissue U-Net): the thumbnail is
//! resized to the model's square input (bilinear, pixel centres), the probability is thresholded
//! at the manifest's value (P ≥ threshold), and the model's grid is mapped back onto the
//! thumbnail by nearest pixel centre.

use super::manifest::{Layout, Manifest};
use super::segment::resize_bilinear;
use super::Model;
use crate::slide::RgbImage;
use crate::tissue::{BitMask, Detection, TissueRunError};

/// Detects tissue on `img` with `model` (a tissue model described by `manifest`).
pub fn detect_with_model(
    img: &RgbImage,
    model: &mut Model,
    manifest: &Manifest,
) -> Result<Detection, TissueRunError> {
    let err = |e: &dyn std::fmt::Display| TissueRunError::Detector(e.to_string());
    let n = manifest.size as usize;
    let (w, h) = (img.width as usize, img.height as usize);
    let (lo, hi) = manifest.scaling.range(&img.data);
    let f: Vec<f32> = img
        .data
        .iter()
        .map(|&v| (v as f32 - lo) / (hi - lo))
        .collect();
    let x = resize_bilinear(&f, (w, h, 3), (n, n));
    let shape = model
        .inputs
        .first()
        .map(|i| i.shape.clone())
        .unwrap_or_default();
    let layout = manifest.layout.resolve(&shape);
    let (tshape, data) = match layout {
        Layout::Nchw => {
            let mut v = vec![0f32; 3 * n * n];
            for i in 0..n * n {
                for c in 0..3 {
                    v[c * n * n + i] = x[i * 3 + c];
                }
            }
            (vec![1, 3, n, n], v)
        }
        _ => (vec![1, n, n, 3], x),
    };
    let outs = model.run(vec![(tshape, data)]).map_err(|e| err(&e))?;
    let (oshape, out) = outs
        .into_iter()
        .next()
        .ok_or_else(|| err(&"the model returned no output"))?;
    let ch = manifest.output.channel;
    let prob: Vec<f32> = match oshape.as_slice() {
        [1, a, b, c] if *a == n && *b == n && ch < *c => {
            (0..n * n).map(|i| out[i * c + ch]).collect()
        }
        [1, c, a, b] if *a == n && *b == n && ch < *c => out[ch * n * n..(ch + 1) * n * n].to_vec(),
        s => {
            return Err(err(&format!(
                "model {}: output shape {s:?}, expected [1, {n}, {n}, C] or [1, C, {n}, {n}]",
                manifest.name
            )))
        }
    };
    let thr = manifest.threshold as f32;
    let mask = BitMask::from_rows(w, h, |y, row| {
        let gy = (((y as f64 + 0.5) * n as f64 / h as f64) as usize).min(n - 1);
        for (xx, o) in row.iter_mut().enumerate() {
            let gx = (((xx as f64 + 0.5) * n as f64 / w as f64) as usize).min(n - 1);
            *o = prob[gy * n + gx] >= thr;
        }
    });
    Ok(Detection {
        mask,
        otsu_threshold: None,
    })
}
