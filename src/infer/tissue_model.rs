//! Tissue detection by a segmentation model (e.g. the SuperFast tissue U-Net): the thumbnail is
//! resized to the model's square input (bilinear, pixel centres), the probability is thresholded
//! at the manifest's value (P ≥ threshold), and the model's grid is mapped back onto the
//! thumbnail by nearest pixel centre.

use super::manifest::{ContractOverrides, Layout, Manifest, ManifestOverrides, Role};
use super::segment::resize_bilinear;
use super::{Device, InferError, Model, OpenModelError, Runtime};
use crate::slide::RgbImage;
use crate::tissue::{
    BitMask, Detection, Method, ModelDetector, TissueReport, TissueRunError, TissueRunSpec,
};

/// Why a tissue model gave no mask.
#[derive(Debug, thiserror::Error)]
pub enum TissueModelError {
    /// Inference failed.
    #[error(transparent)]
    Infer(#[from] InferError),
    /// The model returned no output tensor.
    #[error("the model returned no output")]
    NoOutput,
    /// An output that is no probability map of the input's size.
    #[error(
        "model {model}: output shape {shape:?}, expected [1, {n}, {n}, C] or [1, C, {n}, {n}]"
    )]
    OutputShape {
        /// The manifest's name.
        model: String,
        /// The output's shape.
        shape: Vec<usize>,
        /// The model's input size.
        n: usize,
    },
}

/// Why a tissue run with a named method did not finish.
#[derive(Debug, thiserror::Error)]
pub enum TissueFileError {
    /// The run itself (see [`TissueRunError`]).
    #[error(transparent)]
    Run(#[from] TissueRunError),
    /// The tissue model could not be opened.
    #[error(transparent)]
    Model(#[from] OpenModelError),
    /// Manifest overrides (`--model-scaling`, …) for a method that runs no model.
    #[error(
        "--model-scaling, --model-mean, --model-std, --model-channel-order and --model-output \
         apply to --method model only (this run uses {method})"
    )]
    OverridesWithoutModel {
        /// The method of the run.
        method: String,
    },
}

/// [`crate::tissue::run`] for any method of `spec`; [`Method::Model`] opens the model named
/// there (a built-in name or an .onnx path) with ONNX Runtime on the CPU, `spec.threads`
/// threads.
pub fn run_tissue_file(spec: &TissueRunSpec) -> Result<TissueReport, TissueFileError> {
    run_tissue_file_with(spec, &ManifestOverrides::default())
}

/// [`run_tissue_file`] with `overrides` applied to the tissue model's manifest
/// (`--model-scaling`, `--model-channel-order`, `--model-output`).
pub fn run_tissue_file_with(
    spec: &TissueRunSpec,
    overrides: &ManifestOverrides,
) -> Result<TissueReport, TissueFileError> {
    let Method::Model { model, .. } = &spec.method else {
        if !overrides.is_empty() {
            return Err(TissueFileError::OverridesWithoutModel {
                method: spec.method.name().to_string(),
            });
        }
        return Ok(crate::tissue::run(spec, None)?);
    };
    // a bad name is refused before the model is loaded
    crate::naming::output_stem(&spec.output, &spec.slide, spec.name.as_deref())
        .map_err(TissueRunError::from)?;
    let rt = Runtime {
        threads: spec.threads,
        // one inference on a thumbnail: no patch readers beside it
        read_threads: Some(0),
        device: Device::Cpu,
        ort_lib: spec.ort_lib.clone(),
        overrides: ContractOverrides {
            model: overrides.clone(),
            ..ContractOverrides::default()
        },
    };
    let (mut session, manifest) = rt.open_model(model, Role::Tissue, "--model", false)?;
    let mut detect = |img: &RgbImage, _mpp: Option<f64>| {
        detect_with_model(img, &mut session, &manifest)
            .map_err(|e| TissueRunError::Detector(Box::new(e)))
    };
    let detector = ModelDetector {
        name: manifest.name.clone(),
        threshold: manifest.threshold,
        detect: &mut detect,
    };
    Ok(crate::tissue::run(spec, Some(detector))?)
}

/// Detects tissue on `img` with `model` (a tissue model described by `manifest`).
pub fn detect_with_model(
    img: &RgbImage,
    model: &mut Model,
    manifest: &Manifest,
) -> Result<Detection, TissueModelError> {
    let n = manifest.size as usize;
    let (w, h) = (img.width as usize, img.height as usize);
    let map = super::input_scale(manifest, model)?.map_for(&img.data);
    let order = manifest.channel_order;
    // scaled, colour channels in the model's order
    let f: Vec<f32> = img
        .data
        .chunks_exact(3)
        .flat_map(|px| [0, 1, 2].map(|k| map.apply(px[order.source(k)], order.source(k))))
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
    let which = super::chosen_output(model, manifest)?;
    let outs = model.run(vec![(tshape, data)])?;
    let (oshape, out) = outs
        .into_iter()
        .nth(which)
        .ok_or(TissueModelError::NoOutput)?;
    let ch = manifest.output.channel;
    let prob: Vec<f32> = match oshape.as_slice() {
        [1, a, b, c] if *a == n && *b == n && ch < *c => {
            (0..n * n).map(|i| out[i * c + ch]).collect()
        }
        [1, c, a, b] if *a == n && *b == n && ch < *c => out[ch * n * n..(ch + 1) * n * n].to_vec(),
        s => {
            return Err(TissueModelError::OutputShape {
                model: manifest.name.clone(),
                shape: s.to_vec(),
                n,
            })
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
