//! Stage 1: a patch classifier over the tissue of a slide, one probability per patch.
//!
//! The grid is the published pipeline's: square patches at the model's
//! magnification, no overlap, row-major, ceil(W/side) × ceil(H/side) cells, edge patches padded
//! with white (255). A patch runs when the tissue mask covers at least `min_tissue` of its
//! footprint (0.5 in the published pipeline); cells that do not run stay 0. Patches are read and
//! decoded on a second thread (in parallel) while the model runs on the previous batch.

use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use super::manifest::{ChannelOrder, InputScale, Layout, Manifest};
use super::{InferError, Model};
use crate::mask::MemoryRows;
use crate::patches::{area_fractions, PatchGrid};
use crate::slide::{plan_read, read_at, ReadPlan, Slide, SlideMeta};
use crate::tissue::{detect_on_slide, Method};
use crate::units::Resolution;

/// Errors of the heatmap stage.
#[derive(Debug, thiserror::Error)]
pub enum HeatmapError {
    /// Reading the slide failed.
    #[error(transparent)]
    Slide(#[from] crate::slide::SlideError),
    /// Tissue detection failed.
    #[error(transparent)]
    Tissue(#[from] crate::tissue::TissueRunError),
    /// Inference failed.
    #[error(transparent)]
    Infer(#[from] InferError),
    /// The tissue fractions could not be computed.
    #[error("tissue fractions: {0}")]
    Fractions(crate::patches::FractionError),
    /// No `--at` and a manifest without a magnification.
    #[error("manifest '{0}' gives no magnification: pass --at")]
    NoMagnification(String),
    /// The resolution asked for is finer than the slide's level 0.
    #[error(
        "{slide}: {at} is finer than the slide's level 0 (it would be upsampled {factor:.1}×); \
         the model '{model}' expects {expects}, check --at or the slide's --mpp"
    )]
    Upsampled {
        /// The slide.
        slide: String,
        /// The resolution asked for.
        at: Resolution,
        /// How much patches would be enlarged.
        factor: f64,
        /// The model's manifest name.
        model: String,
        /// The magnification it expects, in words.
        expects: String,
    },
    /// The patch reader threads could not be started.
    #[error("reader threads: {0}")]
    ReaderThreads(rayon::ThreadPoolBuildError),
    /// The model returned no output tensor.
    #[error("the model returned no output")]
    NoOutput,
    /// A segmentation design run without a model or heatmap it needs.
    #[error("--design {design} needs {what}")]
    DesignNeeds {
        /// The design, lower case.
        design: String,
        /// What it needs.
        what: &'static str,
    },
    /// Otsu's rule could not run on the thumbnail.
    #[error("otsu: {0}")]
    Otsu(crate::tissue::TissueError),
    /// The refinement level asked for is not in the slide.
    #[error(
        "--refine-level {level}: the slide has {count} level(s), 0 to {}; use auto, lowest or \
         one of those",
        count.saturating_sub(1)
    )]
    RefineLevel {
        /// The level asked for.
        level: usize,
        /// The slide's level count.
        count: usize,
    },
    /// The refinement level is empty or wider than the reader allows.
    #[error(
        "refinement level {level} is {width} × {height} pixels; it must be non-empty and at \
         most {limit} wide: choose a coarser level with --refine-level"
    )]
    RefineLevelSize {
        /// The level.
        level: usize,
        /// Its width.
        width: u64,
        /// Its height.
        height: u64,
        /// The widest level read.
        limit: u64,
    },
    /// The output has no tumour channel per patch, or not one channel per class.
    #[error("output shape {shape:?} does not fit manifest '{model}': {expected}")]
    OutputShape {
        /// The output's shape.
        shape: Vec<usize>,
        /// What the manifest needs, in words.
        expected: String,
        /// The manifest's name.
        model: String,
    },
}

/// Which tissue rule decides the patches stage 1 runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    /// The paper's rule: HSV saturation ≥ 20 at ×1.25, closings 5×5 then 3×3.
    #[default]
    Saturation,
    /// FAST's `TissueSegmentation`: distance from white > 85 at the lowest level, disk closing
    /// of radius 4.
    Fast,
}

impl Gate {
    /// The tissue method of the gate.
    pub fn method(self) -> Method {
        match self {
            Gate::Saturation => Method::paper(),
            Gate::Fast => Method::fast(),
        }
    }

    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Gate::Saturation => "saturation",
            Gate::Fast => "fast",
        }
    }
}

/// How to run the stage.
#[derive(Debug, Clone)]
pub struct HeatmapSpec {
    /// Minimum tissue fraction of a patch's footprint for it to run.
    pub min_tissue: f64,
    /// Patches per inference call.
    pub batch: usize,
    /// Resolution of the patches (default: the manifest's magnification).
    pub at: Option<Resolution>,
    /// Tissue detection method for the gate ([`Gate::method`]).
    pub tissue: Method,
    /// Patch reader threads of their own (`None`: readers share all cores with inference).
    pub readers: Option<usize>,
}

impl Default for HeatmapSpec {
    fn default() -> Self {
        HeatmapSpec {
            min_tissue: 0.5,
            batch: 16,
            at: None,
            tissue: Method::paper(),
            readers: None,
        }
    }
}

/// A heatmap: one value per grid cell.
#[derive(Debug, Clone, Serialize)]
pub struct Heatmap {
    /// The grid (ceil: partial edge cells included).
    pub grid: PatchGrid,
    /// How patches were read.
    #[serde(skip)]
    pub plan: ReadPlan,
    /// Row-major probabilities, 0 where no patch ran: `bands` values per cell (band `b` is the
    /// class `classes[b]`).
    #[serde(skip)]
    pub values: Vec<f32>,
    /// Values per cell: 1 for a binary classifier (P(tumour)), K − 1 for a K-class one (the
    /// background's band left out).
    pub bands: usize,
    /// The class of each band.
    pub classes: Vec<super::manifest::ResultClass>,
    /// Cells that ran.
    pub ran: usize,
    /// Seconds of the tissue detection that gates the patches.
    pub gate_seconds: f64,
    /// Seconds the reader spent reading patches (it overlaps inference).
    pub read_seconds: f64,
    /// Seconds spent in inference calls.
    pub infer_seconds: f64,
    /// Wall seconds of the patch stage (reading, inference, waiting).
    pub stage_seconds: f64,
    /// Patches per second over the stage.
    pub patches_per_second: f64,
    /// The tissue gate's method name.
    pub gate: &'static str,
}

/// The input layout of `model`'s first input under `manifest`.
pub fn layout_of(manifest: &Manifest, model: &Model) -> Result<Layout, InferError> {
    let input = model.inputs.first().ok_or_else(|| InferError::Contract {
        path: model.path().into(),
        problem: super::Contract::NoInput,
    })?;
    Ok(manifest.layout.resolve(&input.shape))
}

/// Checks that a patch classifier takes one `size × size × 3` image.
fn check_contract(manifest: &Manifest, model: &Model, layout: Layout) -> Result<(), InferError> {
    let bad = |problem| InferError::Contract {
        path: model.path().into(),
        problem,
    };
    if model.inputs.len() != 1 {
        return Err(bad(super::Contract::PatchInputs(model.inputs.len())));
    }
    let s = &model.inputs[0].shape;
    let (h, w, c) = match (layout, s.as_slice()) {
        (Layout::Nhwc, [_, h, w, c]) => (*h, *w, *c),
        (Layout::Nchw, [_, c, h, w]) => (*h, *w, *c),
        _ => return Err(bad(super::Contract::NotAnImageBatch(s.clone()))),
    };
    let size = manifest.size as i64;
    let fits = |v: i64, want: i64| v < 0 || v == want;
    if !(fits(h, size) && fits(w, size) && fits(c, 3)) {
        return Err(bad(super::Contract::ManifestSize {
            shape: s.clone(),
            layout,
            manifest: manifest.name.clone(),
            size: manifest.size as usize,
        }));
    }
    Ok(())
}

/// Reads patch `(col, row)`: `size × size` RGB at the plan's resolution, white beyond the slide.
fn read_padded(
    slide: &dyn Slide,
    plan: &ReadPlan,
    grid: &PatchGrid,
    (w0, h0): (u64, u64),
    (col, row): (u32, u32),
) -> Result<Vec<u8>, crate::slide::SlideError> {
    let size = grid.size as usize;
    let (x, y) = grid.origin(col, row);
    let ds = grid.downsample;
    let inside = |o: u64, full: u64| -> u32 {
        (((full.saturating_sub(o)) as f64 / ds).floor() as u64).min(grid.size as u64) as u32
    };
    let (iw, ih) = (inside(x, w0), inside(y, h0));
    let mut px = vec![255u8; size * size * 3];
    if iw > 0 && ih > 0 {
        let img = read_at(slide, plan, x, y, iw, ih)?;
        for r in 0..ih as usize {
            let src = &img.data[r * iw as usize * 3..(r + 1) * iw as usize * 3];
            px[r * size * 3..r * size * 3 + src.len()].copy_from_slice(src);
        }
    }
    Ok(px)
}

/// Runs `model` (described by `manifest`) over the tissue of `slide`.
pub fn heatmap(
    slide: &dyn Slide,
    meta: &SlideMeta,
    model: &mut Model,
    manifest: &Manifest,
    spec: &HeatmapSpec,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Heatmap, HeatmapError> {
    let layout = layout_of(manifest, model)?;
    check_contract(manifest, model, layout)?;
    let scale = super::input_scale(manifest, model)?;
    let order = manifest.channel_order;
    let which = super::chosen_output(model, manifest)?;
    let at = match (spec.at, manifest.magnification) {
        (Some(r), _) => r,
        (None, Some(m)) => Resolution::Magnification(m),
        (None, None) => return Err(HeatmapError::NoMagnification(manifest.name.clone())),
    };
    let plan = plan_read(slide, meta, at)?;
    if plan.target_downsample < 0.95 {
        // a scan cannot be read finer than it was scanned: patches would be blurred upsamples
        return Err(HeatmapError::Upsampled {
            slide: slide.source(),
            at,
            factor: 1.0 / plan.target_downsample,
            model: manifest.name.clone(),
            expects: manifest
                .magnification
                .map(|m| format!("{m}×"))
                .unwrap_or_else(|| "its own resolution".into()),
        });
    }
    let (w0, h0) = slide.level_size(0)?;
    let size = manifest.size;
    let side = size as f64 * plan.target_downsample;
    let grid = PatchGrid {
        size,
        downsample: plan.target_downsample,
        cols: ((w0 as f64 / side).ceil() as u32).max(1),
        rows: ((h0 as f64 / side).ceil() as u32).max(1),
    };
    // the tissue gate, from the detection at its own resolution
    let gate_started = Instant::now();
    let d = detect_on_slide(slide, meta, &spec.tissue, None)?;
    let (tw, th) = (d.image.width, d.image.height);
    let mut rows = MemoryRows::new(Arc::new(d.detection.mask.to_bytes(1)), tw as usize);
    let fractions = area_fractions(
        &mut rows,
        tw,
        th,
        d.downsample,
        &grid,
        |v: u8| v != 0,
        |_| {},
    )
    .map_err(HeatmapError::Fractions)?;
    let run: Vec<usize> = (0..grid.len())
        .filter(|&i| fractions[i] >= spec.min_tissue && fractions[i] > 0.0)
        .collect();
    let gate_seconds = gate_started.elapsed().as_secs_f64();
    let bands = manifest.bands();
    let nb = bands.len();
    let mut values = vec![0f32; grid.len() * nb];
    let started = Instant::now();
    let read_seconds = std::sync::Mutex::new(0f64);
    let mut infer_seconds = 0.0;
    let batch = spec.batch.max(1);
    let n = size as usize;
    let need = bands.iter().max().map_or(1, |&c| c + 1);
    let total = run.len() as u64;
    // readers kept on threads of their own (the cores inference was not given): a reader that
    // pre-empts one of ONNX Runtime's threads stalls the whole operator that thread is part of
    let readers = match spec.readers {
        Some(n) => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .thread_name(|i| format!("h2g-reader-{i}"))
                .build()
                .map_err(HeatmapError::ReaderThreads)?,
        ),
        None => None,
    };
    let result: Result<(), HeatmapError> = std::thread::scope(|s| {
        let (tx, rx) = sync_channel::<Result<(Vec<usize>, Vec<f32>), HeatmapError>>(2);
        let run = &run;
        let grid = &grid;
        let plan = &plan;
        let readers = &readers;
        let read_seconds = &read_seconds;
        s.spawn(move || {
            for chunk in run.chunks(batch) {
                let read = || -> Result<Vec<Vec<u8>>, _> {
                    chunk
                        .par_iter()
                        .map(|&i| {
                            let (c, r) = (
                                (i % grid.cols as usize) as u32,
                                (i / grid.cols as usize) as u32,
                            );
                            read_padded(slide, plan, grid, (w0, h0), (c, r))
                        })
                        .collect()
                };
                let t = Instant::now();
                let patches = match readers {
                    Some(pool) => pool.install(read),
                    None => read(),
                };
                if let Ok(mut sum) = read_seconds.lock() {
                    *sum += t.elapsed().as_secs_f64();
                }
                let msg = patches
                    .map(|ps| (chunk.to_vec(), to_tensor(&ps, n, layout, scale, order)))
                    .map_err(HeatmapError::from);
                let failed = msg.is_err();
                if tx.send(msg).is_err() || failed {
                    return;
                }
            }
        });
        let mut done = 0u64;
        for msg in rx {
            let (cells, data) = msg?;
            let b = cells.len();
            let shape = match layout {
                Layout::Nchw => vec![b, 3, n, n],
                _ => vec![b, n, n, 3],
            };
            let t = Instant::now();
            let outs = model.run(vec![(shape, data)])?;
            infer_seconds += t.elapsed().as_secs_f64();
            let (oshape, out) = outs.into_iter().nth(which).ok_or(HeatmapError::NoOutput)?;
            let per = out.len().checked_div(b).unwrap_or(0);
            // a multiclass model's output has one channel per class, no more
            let fits = if manifest.is_multiclass() {
                per == manifest.classes.len()
            } else {
                per >= need
            };
            if per == 0 || !fits || oshape.first() != Some(&b) {
                return Err(HeatmapError::OutputShape {
                    shape: oshape.clone(),
                    expected: if manifest.is_multiclass() {
                        format!(
                            "[N, {}], one channel per class it lists",
                            manifest.classes.len()
                        )
                    } else {
                        format!("channel {} per patch", manifest.output.channel)
                    },
                    model: manifest.name.clone(),
                });
            }
            for (k, &cell) in cells.iter().enumerate() {
                for (j, &c) in bands.iter().enumerate() {
                    values[cell * nb + j] = out[k * per + c];
                }
            }
            done += b as u64;
            progress(done, total);
        }
        Ok(())
    });
    result?;
    let stage_seconds = started.elapsed().as_secs_f64();
    Ok(Heatmap {
        grid,
        plan,
        values,
        bands: nb,
        classes: manifest.result_classes(("Tumor", [200, 0, 0])),
        ran: run.len(),
        gate_seconds,
        read_seconds: read_seconds.into_inner().unwrap_or(0.0),
        gate: spec.tissue.name(),
        infer_seconds,
        stage_seconds,
        patches_per_second: if stage_seconds > 0.0 {
            run.len() as f64 / stage_seconds
        } else {
            0.0
        },
    })
}

/// Packs RGB patches into one float tensor in `layout`, scaled as the manifest says, colour
/// channels in the model's `order`.
pub(crate) fn to_tensor<P: AsRef<[u8]>>(
    patches: &[P],
    n: usize,
    layout: Layout,
    scale: InputScale,
    order: ChannelOrder,
) -> Vec<f32> {
    let mut out = Vec::with_capacity(patches.len() * n * n * 3);
    let src = [order.source(0), order.source(1), order.source(2)];
    for p in patches {
        let p = p.as_ref();
        let map = scale.map_for(p);
        match layout {
            Layout::Nchw => {
                for &c in &src {
                    out.extend(p.chunks_exact(3).map(|px| map.apply(px[c], c)));
                }
            }
            _ => {
                for px in p.chunks_exact(3) {
                    out.extend(src.iter().map(|&c| map.apply(px[c], c)));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::manifest::Scaling;

    #[test]
    fn tensors_are_packed_in_either_layout() {
        let p = vec![vec![0u8, 51, 255, 255, 0, 102]]; // two pixels of a 1×... patch
        let div = InputScale::plain(Scaling::Div255);
        let nhwc = to_tensor(&p, 1, Layout::Nhwc, div, ChannelOrder::Rgb);
        assert_eq!(nhwc, vec![0.0, 51.0 / 255.0, 1.0, 1.0, 0.0, 102.0 / 255.0]);
        let nchw = to_tensor(&p, 1, Layout::Nchw, div, ChannelOrder::Rgb);
        assert_eq!(nchw, vec![0.0, 1.0, 51.0 / 255.0, 0.0, 1.0, 102.0 / 255.0]);
        // BGR: blue first; symmetric: x / 127.5 - 1, by hand
        let sym = InputScale::plain(Scaling::Symmetric);
        let bgr = to_tensor(&p, 1, Layout::Nhwc, sym, ChannelOrder::Bgr);
        let s = |v: f32| v / 127.5 - 1.0;
        assert_eq!(bgr, vec![1.0, s(51.0), -1.0, s(102.0), -1.0, 1.0]);
        let bgr = to_tensor(&p, 1, Layout::Nchw, sym, ChannelOrder::Bgr);
        assert_eq!(bgr, vec![1.0, s(102.0), s(51.0), -1.0, -1.0, 1.0]);
    }
}
