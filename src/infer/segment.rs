//! Stage 2 and the designs of the ablation study: a result grid over the
//! whole slide, then the same grid mapped back to the slide frame with separate x and y scales.
//!
//! * `h2g` (design VI, H2G-Net): a pyramid level of at least 1024 × 1024 (the coarsest such;
//!   [`super::refine_input`]) and the stage-1 heatmap, both resized to 1024 × 1024 (bilinear, pixel-centre sampling, clamped edges, aspect not kept), into the
//!   refinement network; tumour where P₁ > 0.5 and P₁ ≥ P₀ (FAST's rule).
//! * `unet-lr` (design II): the same with the image alone (a one-input refinement model).
//! * `pw` (designs III–V): the heatmap itself thresholded at the manifest's threshold (0.5).
//! * `otsu` (design I): tissue by Otsu on saturation of the 1024 × 1024 thumbnail.

use super::heatmap::{heatmap, Heatmap, HeatmapSpec};
use super::manifest::{ClassRule, Layout, Manifest};
use super::refine_input::{choose_level, read_resized, RefineInput, RefineLevel, BAND_PIXELS};
use super::{Contract, InferError, Model};
use crate::mask::{MaskError, RowSource};
use crate::slide::{RgbImage, Slide, SlideMeta};
use crate::tissue::{detect, Method};
use crate::vector::{
    filter_areas, ClassEncoding, ClassSpec, GeoJsonWriter, LabelTracer, Placement,
};
use std::time::Instant;

pub use super::heatmap::HeatmapError as SegmentError;

/// The side of the refinement network's square input and output.
pub const REFINE_SIDE: usize = 1024;

/// A binary result on a grid that covers level-0 `[0, extent.0) × [0, extent.1)`.
#[derive(Debug, Clone)]
pub struct ResultGrid {
    /// Grid width.
    pub width: usize,
    /// Grid height.
    pub height: usize,
    /// Level-0 width and height the grid spans (the heatmap's grid may reach past the slide).
    pub extent: (f64, f64),
    /// Row-major 0/1.
    pub data: Vec<u8>,
}

impl ResultGrid {
    /// The level-0 pixels per grid cell along x and y.
    pub fn scale(&self) -> (f64, f64) {
        (
            self.extent.0 / self.width as f64,
            self.extent.1 / self.height as f64,
        )
    }

    /// Row `j` of the full-frame mask at downsample `d`, `w` pixels wide: pixel `i` takes the
    /// cell holding the level-0 point (i·d, j·d) (its top-left corner, QuPath's rule).
    pub fn mask_row(&self, j: usize, d: f64, out: &mut [u8]) {
        let (sx, sy) = self.scale();
        let gy = ((j as f64 * d / sy).floor() as usize).min(self.height - 1);
        let row = &self.data[gy * self.width..(gy + 1) * self.width];
        for (i, o) in out.iter_mut().enumerate() {
            let gx = ((i as f64 * d / sx).floor() as usize).min(self.width - 1);
            *o = row[gx];
        }
    }
}

/// The full-frame mask size of a `w0 × h0` level 0 at downsample `d`: floor(W/d) × floor(H/d)
/// (the paper's convention), at least one pixel each way.
pub fn mask_size((w0, h0): (u64, u64), d: f64) -> (usize, usize) {
    (
        ((w0 as f64 / d).floor() as usize).max(1),
        ((h0 as f64 / d).floor() as usize).max(1),
    )
}

/// Rows of the full-frame mask of a [`ResultGrid`] at a downsample, computed as they are read.
#[derive(Debug, Clone)]
pub struct GridRows {
    grid: std::sync::Arc<ResultGrid>,
    d: f64,
    y: usize,
}

impl GridRows {
    /// The rows of `grid`'s mask at downsample `d`, from the top.
    pub fn new(grid: std::sync::Arc<ResultGrid>, d: f64) -> Self {
        GridRows { grid, d, y: 0 }
    }
}

impl RowSource<u8> for GridRows {
    fn read_rows(&mut self, out: &mut [u8], rows: usize) -> Result<(), MaskError> {
        let w = out.len() / rows.max(1);
        for r in out.chunks_exact_mut(w.max(1)).take(rows) {
            self.grid.mask_row(self.y, self.d, r);
            self.y += 1;
        }
        Ok(())
    }
}

/// Writes the QuPath annotations of `grid`'s full-frame mask (`mw × mh` at downsample `d`) to
/// `out`, streaming: the polygons of each label that `classes` names, as that class, areas below
/// `min_px` dropped and holes below `hole_px` filled (both in mask pixels). Returns the number
/// of annotations.
#[allow(clippy::too_many_arguments)]
pub fn write_grid_geojson<W: std::io::Write>(
    grid: std::sync::Arc<ResultGrid>,
    d: f64,
    (mw, mh): (usize, usize),
    place: Placement,
    classes: &[ClassSpec],
    (min_px, hole_px): (f64, f64),
    out: W,
) -> std::io::Result<(usize, W)> {
    let mut rows = GridRows::new(grid, d);
    let mut g = GeoJsonWriter::new(out, place, ClassEncoding::ColorRgb)?;
    let mut t = LabelTracer::new(Some(classes.iter().map(|c| c.label as u16).collect()));
    let mut buf = vec![0u8; mw * 256];
    let emit = |t: &mut LabelTracer, g: &mut GeoJsonWriter<W>| -> std::io::Result<()> {
        for (label, p) in t.take_done() {
            let Some(class) = classes.iter().find(|c| c.label == label as u64) else {
                continue;
            };
            for p in filter_areas(vec![p], min_px, hole_px) {
                g.polygon(class, &p)?;
            }
        }
        Ok(())
    };
    let mut y = 0;
    while y < mh {
        let k = 256.min(mh - y);
        rows.read_rows(&mut buf[..k * mw], k)
            .map_err(std::io::Error::other)?;
        t.push_rows(&buf[..k * mw], mw);
        emit(&mut t, &mut g)?;
        y += k;
    }
    t.finish();
    emit(&mut t, &mut g)?;
    g.finish()
}

/// Bilinear resize of a `w × h × c` float image to `ow × oh`: pixel-centre sampling, edges
/// clamped (OpenCV's INTER_LINEAR without its fixed-point rounding).
pub fn resize_bilinear(
    src: &[f32],
    (w, h, c): (usize, usize, usize),
    (ow, oh): (usize, usize),
) -> Vec<f32> {
    let mut out = vec![0f32; ow * oh * c];
    let (xs, ys) = (bilinear_coords(ow, w), bilinear_coords(oh, h));
    for (oy, &(y0, y1, fy)) in ys.iter().enumerate() {
        let row = |y: usize| &src[y * w * c..(y + 1) * w * c];
        bilinear_row(
            row(y0),
            row(y1),
            &xs,
            fy,
            c,
            &mut out[oy * ow * c..(oy + 1) * ow * c],
        );
    }
    out
}

/// For each of `n_out` output positions, the two input positions it lies between and its
/// weight toward the second (pixel centres, clamped at the edges).
pub(super) fn bilinear_coords(n_out: usize, n_in: usize) -> Vec<(usize, usize, f32)> {
    let s = n_in as f64 / n_out as f64;
    (0..n_out)
        .map(|o| {
            let x = ((o as f64 + 0.5) * s - 0.5).clamp(0.0, n_in.saturating_sub(1) as f64);
            let x0 = x.floor() as usize;
            let x1 = (x0 + 1).min(n_in.saturating_sub(1));
            (x0, x1, (x - x0 as f64) as f32)
        })
        .collect()
}

/// One output row of a bilinear resize from input rows `r0` and `r1` (`c` channels), `fy` of
/// the way from the first to the second.
pub(super) fn bilinear_row(
    r0: &[f32],
    r1: &[f32],
    xs: &[(usize, usize, f32)],
    fy: f32,
    c: usize,
    out: &mut [f32],
) {
    for (ox, &(x0, x1, fx)) in xs.iter().enumerate() {
        for k in 0..c {
            let (a, b) = (r0[x0 * c + k], r0[x1 * c + k]);
            let top = a + (b - a) * fx;
            let (a, b) = (r1[x0 * c + k], r1[x1 * c + k]);
            let bot = a + (b - a) * fx;
            out[ox * c + k] = top + (bot - top) * fy;
        }
    }
}

/// What a refinement network returned, per pixel of its 1024 × 1024 grid.
#[derive(Debug, Clone)]
pub struct Refined {
    /// The labels: 0/1 by FAST's rule for a binary model, 0..K−1 by the manifest's
    /// [`ClassRule`] for a K-class one.
    pub labels: Vec<u8>,
    /// The foreground probabilities, `bands` per pixel, row-major: P(tumour) for a binary
    /// model, P(class 1..K−1) for a multiclass one.
    pub probability: Vec<f32>,
    /// Probabilities per pixel.
    pub bands: usize,
}

/// The label of one pixel's class probabilities `p` (`p[k]` = class `k`, 0 the background).
/// Two classes: FAST's rule, class 1 iff P₁ > 0.5 and P₁ ≥ P₀ (whatever `rule` says). More:
/// [`ClassRule::Argmax`], the first largest; [`ClassRule::Fast`], FAST's TensorToSegmentation
/// (the foreground class above `threshold` and at least as large as the best so far, starting
/// from the background; background when none is above). NaN never wins.
pub fn class_label(p: &[f32], rule: ClassRule, threshold: f32) -> u8 {
    let fast = |t: f32| {
        let mut best = 0usize;
        for j in 1..p.len() {
            if p[j] > t && p[j] >= p[best] {
                best = j;
            }
        }
        best as u8
    };
    match (p.len(), rule) {
        (2, _) => fast(0.5),
        (_, ClassRule::Fast) => fast(threshold),
        (_, ClassRule::Argmax) => {
            let mut best = 0usize;
            for j in 1..p.len() {
                if p[j] > p[best] || (p[best].is_nan() && !p[j].is_nan()) {
                    best = j;
                }
            }
            best as u8
        }
    }
}

/// Runs a refinement model on the 1024 × 1024 image (and heatmap, when given: `heat_bands`
/// values per pixel), and labels its output.
pub fn refine(
    model: &mut Model,
    manifest: &Manifest,
    image: &[f32],
    heat: Option<(&[f32], usize)>,
) -> Result<Refined, InferError> {
    let n = REFINE_SIDE;
    let path = model.path().to_path_buf();
    let bad = move |problem: Contract| InferError::Contract {
        path: path.clone(),
        problem,
    };
    let chans = |shape: &[i64], layout: Layout| -> i64 {
        match layout {
            Layout::Nchw => shape.get(1).copied().unwrap_or(-1),
            _ => shape.last().copied().unwrap_or(-1),
        }
    };
    let layout_of = |shape: &[i64]| manifest.layout.resolve(shape);
    let pack = |planes: &[(&[f32], usize)], layout: Layout| -> Vec<f32> {
        let c: usize = planes.iter().map(|p| p.1).sum();
        let mut v = vec![0f32; n * n * c];
        let mut off = 0;
        for &(data, pc) in planes {
            for i in 0..n * n {
                for k in 0..pc {
                    let x = data[i * pc + k];
                    match layout {
                        Layout::Nchw => v[(off + k) * n * n + i] = x,
                        _ => v[i * c + off + k] = x,
                    }
                }
            }
            off += pc;
        }
        v
    };
    // the image's colour channels in the model's order
    let order = manifest.channel_order;
    let reordered: Vec<f32>;
    let image: &[f32] = if order == super::manifest::ChannelOrder::Rgb {
        image
    } else {
        reordered = image
            .chunks_exact(3)
            .flat_map(|px| [0, 1, 2].map(|k| px[order.source(k)]))
            .collect();
        &reordered
    };
    let which = super::chosen_output(model, manifest)?;
    let mut feeds = Vec::new();
    let inputs = model.inputs.clone();
    let hb = heat.map_or(1, |h| h.1);
    let both = 3 + hb as i64;
    match (inputs.len(), heat) {
        (1, h) => {
            let layout = layout_of(&inputs[0].shape);
            let c = chans(&inputs[0].shape, layout);
            let planes: Vec<(&[f32], usize)> = match (c, h) {
                (c, Some((h, b))) if c == both => vec![(image, 3), (h, b)],
                (3, None) => vec![(image, 3)],
                (c, None) if c > 3 => return Err(bad(Contract::NeedsHeatmap("4-channel"))),
                (3, Some(_)) => return Err(bad(Contract::ImageAlone)),
                (c, _) => {
                    return Err(bad(Contract::Channels {
                        channels: c,
                        bands: hb,
                    }))
                }
            };
            let shape = match layout {
                Layout::Nchw => vec![1, planes.iter().map(|p| p.1).sum(), n, n],
                _ => vec![1, n, n, planes.iter().map(|p| p.1).sum()],
            };
            feeds.push((shape, pack(&planes, layout)));
        }
        (2, Some((h, b))) => {
            // image and heatmap told apart by channel count, not by name
            for inp in &inputs {
                let layout = layout_of(&inp.shape);
                let (data, pc) = match chans(&inp.shape, layout) {
                    3 => (image, 3),
                    c if c == b as i64 => (h, b),
                    channels => {
                        return Err(bad(Contract::InputChannels {
                            input: inp.name.clone(),
                            channels,
                            bands: b,
                        }))
                    }
                };
                let shape = match layout {
                    Layout::Nchw => vec![1, pc, n, n],
                    _ => vec![1, n, n, pc],
                };
                feeds.push((shape, pack(&[(data, pc)], layout)));
            }
        }
        (2, None) => return Err(bad(Contract::NeedsHeatmap("two-input"))),
        (k, _) => return Err(bad(Contract::RefineInputs(k))),
    }
    let outs = model.run(feeds)?;
    let (shape, out) = outs
        .into_iter()
        .nth(which)
        .ok_or_else(|| bad(Contract::NoOutput))?;
    // [1, n, n, C] or [1, C, n, n]; the value of channel k at pixel i
    let (c, last) = match shape.as_slice() {
        [1, a, b, c] if *a == n && *b == n => (*c, true),
        [1, c, a, b] if *a == n && *b == n => (*c, false),
        _ => (0, false),
    };
    let at = |i: usize, k: usize| {
        if last {
            out[i * c + k]
        } else {
            out[k * n * n + i]
        }
    };
    let classes = manifest.classes.len();
    let fits = if manifest.is_multiclass() {
        c == classes
    } else {
        manifest.output.channel < c
    };
    if !fits {
        return Err(bad(Contract::OutputShape {
            shape,
            side: n,
            channels: if manifest.is_multiclass() {
                format!("C = {classes}, one per class the manifest lists")
            } else {
                format!("channel {}", manifest.output.channel)
            },
        }));
    }
    if !manifest.is_multiclass() {
        // FAST's rule: P1 > 0.5 and P1 >= P0 (= 1 - P1 for a softmax over two classes)
        let ch = manifest.output.channel;
        let probability: Vec<f32> = (0..n * n).map(|i| at(i, ch)).collect();
        let labels = probability
            .iter()
            .map(|&v| u8::from(v > 0.5 && v >= 1.0 - v))
            .collect();
        return Ok(Refined {
            labels,
            probability,
            bands: 1,
        });
    }
    let (rule, thr) = (manifest.class_rule, manifest.threshold as f32);
    let mut labels = Vec::with_capacity(n * n);
    let mut probability = Vec::with_capacity(n * n * (classes - 1));
    let mut p = vec![0f32; classes];
    for i in 0..n * n {
        for (k, v) in p.iter_mut().enumerate() {
            *v = at(i, k);
        }
        labels.push(class_label(&p, rule, thr));
        probability.extend_from_slice(&p[1..]);
    }
    Ok(Refined {
        labels,
        probability,
        bands: classes - 1,
    })
}

/// Which design to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Design {
    /// Stage 1 + refinement (H2G-Net).
    H2g,
    /// Patch-wise only: the heatmap thresholded.
    Pw,
    /// The refinement network on the low-resolution image alone.
    UnetLr,
    /// Otsu on saturation of the 1024 × 1024 thumbnail (tissue only).
    Otsu,
}

impl Design {
    /// The design's name on the command line and in file names (`h2g`, `pw`, `unet-lr`, `otsu`).
    pub fn name(self) -> &'static str {
        match self {
            Design::H2g => "h2g",
            Design::Pw => "pw",
            Design::UnetLr => "unet-lr",
            Design::Otsu => "otsu",
        }
    }

    /// The QuPath class and colour of the design's annotations: tissue for `otsu`, tumour for
    /// the others.
    pub fn annotation_class(self) -> (&'static str, [u8; 3]) {
        match self {
            Design::Otsu => ("Tissue", [80, 160, 80]),
            _ => ("Tumor", [200, 0, 0]),
        }
    }
}

/// What a design produced.
#[derive(Debug)]
pub struct Segmentation {
    /// The result grid.
    pub grid: ResultGrid,
    /// The stage-1 heatmap, for designs that ran one.
    pub heatmap: Option<Heatmap>,
    /// The refinement's foreground probabilities on the 1024 grid (`bands` per pixel: P(tumour),
    /// or P(class 1..K−1)), for designs that ran it.
    pub probability: Option<(Vec<f32>, usize)>,
    /// The classes of the grid's non-zero labels: one (tumour, or tissue for `otsu`) for a
    /// binary design, the manifest's foreground classes for a multiclass one.
    pub classes: Vec<super::manifest::ResultClass>,
    /// The level the refinement (or design I's thumbnail) was read from.
    pub refine_input: Option<RefineInput>,
    /// Where the time went.
    pub timings: StageTimes,
}

/// Seconds per stage of a segmentation (`None`: the design has no such stage).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct StageTimes {
    /// Tissue detection gating stage 1's patches.
    pub tissue_gate: Option<f64>,
    /// Reading stage 1's patches (overlaps its inference).
    pub patch_reading: Option<f64>,
    /// Stage 1's inference calls.
    pub stage1_inference: Option<f64>,
    /// Stage 1 as a whole, from the first patch read to the last result.
    pub stage1: Option<f64>,
    /// Reading and resizing the refinement's level.
    pub refine_reading: Option<f64>,
    /// The refinement network (or design I's Otsu rule).
    pub refinement: Option<f64>,
    /// The whole design, from opening to the result grid (outputs not included).
    pub total: f64,
    /// Writing the outputs (set by [`super::outputs::write_segmentation`]).
    pub writing: Option<f64>,
}

/// The settings of a design's second stage (stage 1's are a [`HeatmapSpec`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DesignParams {
    /// Which pyramid level the refinement (designs II, VI–IX) reads.
    pub refine_level: RefineLevel,
    /// The closing of design I (`otsu`): none, as the paper publishes it, or the authors'
    /// evaluated disk(5).
    pub otsu_closing: crate::tissue::Closing,
}

impl Default for DesignParams {
    /// The paper's: the coarsest level of at least 1024 × 1024, design I without closing.
    fn default() -> Self {
        DesignParams {
            refine_level: RefineLevel::default(),
            otsu_closing: crate::tissue::Closing::None,
        }
    }
}

/// Runs `design` on `slide`: stage 1 (designs with a patch classifier) under `spec`, the
/// second stage under `params`.
#[allow(clippy::too_many_arguments)]
pub fn segment(
    slide: &dyn Slide,
    meta: &SlideMeta,
    design: Design,
    patch: Option<(&mut Model, &Manifest)>,
    refinement: Option<(&mut Model, &Manifest)>,
    spec: &HeatmapSpec,
    params: &DesignParams,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Segmentation, SegmentError> {
    let refine_level = params.refine_level;
    let started = Instant::now();
    let mut timings = StageTimes::default();
    let (w0, h0) = slide.level_size(0)?;
    let n = REFINE_SIDE;
    let need = |what: &'static str| SegmentError::DesignNeeds {
        design: format!("{design:?}").to_lowercase(),
        what,
    };
    // a 1024 × 1024 result stretched over the whole slide
    let whole = |data: Vec<u8>| ResultGrid {
        width: n,
        height: n,
        extent: (w0 as f64, h0 as f64),
        data,
    };
    let mut thr = 0.5;
    let mut rule = (ClassRule::Argmax, 0.5f32);
    let binary = vec![super::manifest::ResultClass {
        value: 1,
        name: design.annotation_class().0.into(),
        color: design.annotation_class().1,
    }];
    let hm = match design {
        Design::H2g | Design::Pw => {
            let (m, man) = patch.ok_or_else(|| need("--model (the patch classifier)"))?;
            thr = man.threshold;
            rule = (man.class_rule, man.threshold as f32);
            let hm = heatmap(slide, meta, m, man, spec, progress)?;
            timings.tissue_gate = Some(hm.gate_seconds);
            timings.patch_reading = Some(hm.read_seconds);
            timings.stage1_inference = Some(hm.infer_seconds);
            timings.stage1 = Some(hm.stage_seconds);
            Some(hm)
        }
        _ => None,
    };
    match design {
        Design::Pw => {
            let hm = hm.ok_or_else(|| need("a heatmap"))?;
            let data = if hm.bands == 1 {
                hm.values
                    .iter()
                    .map(|&v| u8::from(v as f64 >= thr))
                    .collect()
            } else {
                // a softmax's background is what the foreground bands leave
                let mut p = vec![0f32; hm.bands + 1];
                hm.values
                    .chunks_exact(hm.bands)
                    .map(|fg| {
                        p[0] = 1.0 - fg.iter().sum::<f32>();
                        p[1..].copy_from_slice(fg);
                        class_label(&p, rule.0, rule.1)
                    })
                    .collect()
            };
            let grid = ResultGrid {
                width: hm.grid.cols as usize,
                height: hm.grid.rows as usize,
                extent: (
                    hm.grid.cols as f64 * hm.grid.side(),
                    hm.grid.rows as f64 * hm.grid.side(),
                ),
                data,
            };
            timings.total = started.elapsed().as_secs_f64();
            Ok(Segmentation {
                grid,
                classes: hm.classes.clone(),
                heatmap: Some(hm),
                probability: None,
                refine_input: None,
                timings,
            })
        }
        Design::H2g | Design::UnetLr => {
            let (m, man) =
                refinement.ok_or_else(|| need("--refine-model (the refinement network)"))?;
            let t = Instant::now();
            let input = choose_level(slide, refine_level)?;
            let image = read_resized(slide, &input, super::input_scale(man, m)?, BAND_PIXELS)?;
            timings.refine_reading = Some(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let heat = hm.as_ref().map(|h| {
                let hb = h.bands;
                let v = resize_bilinear(
                    &h.values,
                    (h.grid.cols as usize, h.grid.rows as usize, hb),
                    (n, n),
                );
                (v, hb)
            });
            let r = refine(m, man, &image, heat.as_ref().map(|(v, b)| (&v[..], *b)))?;
            timings.refinement = Some(t.elapsed().as_secs_f64());
            timings.total = started.elapsed().as_secs_f64();
            let classes = if man.is_multiclass() {
                man.result_classes(design.annotation_class())
            } else {
                binary
            };
            Ok(Segmentation {
                grid: whole(r.labels),
                heatmap: hm,
                probability: Some((r.probability, r.bands)),
                classes,
                refine_input: Some(input),
                timings,
            })
        }
        Design::Otsu => {
            let level = slide.level_count().saturating_sub(1);
            let (lw, lh) = slide.level_size(level)?;
            let img = slide.read_region(level, 0, 0, lw as u32, lh as u32)?;
            let f: Vec<f32> = img.data.iter().map(|&v| v as f32).collect();
            let small = resize_bilinear(&f, (lw as usize, lh as usize, 3), (n, n));
            let thumb = RgbImage {
                width: n as u32,
                height: n as u32,
                data: small
                    .iter()
                    .map(|&v| v.round().clamp(0.0, 255.0) as u8)
                    .collect(),
            };
            // the paper's design I: Otsu on the thumbnail's saturation, no closing (or the
            // authors' evaluated disk(5) closing, when asked)
            let d = detect(&thumb, &Method::otsu_design(params.otsu_closing), None)
                .map_err(SegmentError::Otsu)?;
            let data = d.mask.to_bytes(1);
            timings.total = started.elapsed().as_secs_f64();
            Ok(Segmentation {
                grid: whole(data),
                heatmap: None,
                probability: None,
                classes: binary,
                refine_input: None,
                timings,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_keeps_constants_and_interpolates_at_pixel_centres() {
        let src = vec![5.0f32; 6 * 4];
        assert!(resize_bilinear(&src, (6, 4, 1), (3, 7))
            .iter()
            .all(|&v| v == 5.0));
        // a 2-pixel ramp upsampled to 4: centres at -0.25, 0.25, 0.75, 1.25 → clamped ends
        let r = resize_bilinear(&[0.0, 1.0], (2, 1, 1), (4, 1));
        assert_eq!(r, vec![0.0, 0.25, 0.75, 1.0]);
        // downsampling by 2 averages neighbour pairs
        let r = resize_bilinear(&[0.0, 2.0, 4.0, 6.0], (4, 1, 1), (2, 1));
        assert_eq!(r, vec![1.0, 5.0]);
    }

    #[test]
    fn class_labels_follow_fast_for_two_and_the_rule_for_more() {
        let (a, f) = (ClassRule::Argmax, ClassRule::Fast);
        // two classes: P1 > 0.5 and P1 >= P0, whichever rule is asked for
        for rule in [a, f] {
            assert_eq!(class_label(&[0.3, 0.7], rule, 0.9), 1);
            assert_eq!(class_label(&[0.5, 0.5], rule, 0.0), 0);
            assert_eq!(class_label(&[0.7, 0.7], rule, 0.9), 1);
            assert_eq!(class_label(&[0.1, 0.4], rule, 0.0), 0);
        }
        // four: argmax takes the largest, the first on ties, background included
        assert_eq!(class_label(&[0.1, 0.2, 0.4, 0.3], a, 0.5), 2);
        assert_eq!(class_label(&[0.4, 0.1, 0.4, 0.1], a, 0.5), 0);
        assert_eq!(class_label(&[0.1, 0.4, 0.4, 0.1], a, 0.5), 1);
        assert_eq!(class_label(&[f32::NAN, 0.1, 0.3, 0.2], a, 0.5), 2);
        // FAST: nothing above 0.5 is background, even when a class beats it
        assert_eq!(class_label(&[0.1, 0.2, 0.4, 0.3], f, 0.5), 0);
        assert_eq!(class_label(&[0.1, 0.2, 0.4, 0.3], f, 0.25), 2);
        // ... and a tie goes to the later class
        assert_eq!(class_label(&[0.0, 0.3, 0.0, 0.3], f, 0.25), 3);
        // ... and a class above the threshold must reach the background's value
        assert_eq!(class_label(&[0.6, 0.55, 0.0, 0.0], f, 0.5), 0);
    }

    #[test]
    fn result_grids_map_back_with_separate_scales() {
        // a 2 × 2 grid over a 100 × 40 level 0: cells 50 × 20
        let g = ResultGrid {
            width: 2,
            height: 2,
            extent: (100.0, 40.0),
            data: vec![1, 0, 0, 1],
        };
        let mut row = vec![0u8; 25];
        g.mask_row(0, 4.0, &mut row); // y = 0 → grid row 0; x = 4i: < 50 → cell 0
        assert_eq!(&row[..13], &[1; 13]);
        assert_eq!(&row[13..], &[0; 12]);
        g.mask_row(5, 4.0, &mut row); // y = 20 → grid row 1
        assert_eq!(&row[..13], &[0; 13]);
    }
}
