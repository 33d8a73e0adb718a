//! The files `h2g heatmap` and `h2g segment` leave: named by their producer, written
//! atomically, described by a typed report.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::heatmap::Heatmap;
use super::refine_input::RefineInput;
use super::segment::{mask_size, write_grid_geojson, Design, GridRows, Segmentation, StageTimes};
use crate::convert::{write_mask, ConvertError, ConvertSpec, PaletteMode};
use crate::mask::{MaskHeader, MaskReader, MemoryRows};
use crate::output::{write_file, write_json, write_png};
use crate::slide::{Slide, SlideError, SlideMeta};
use crate::vector::{ClassSpec, Placement};

/// Why the outputs of a heatmap or a segmentation could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A file could not be written.
    #[error("cannot write {}: {cause}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// A mask TIFF could not be written.
    #[error(transparent)]
    Mask(#[from] ConvertError),
    /// The slide could not be asked its size.
    #[error(transparent)]
    Slide(#[from] SlideError),
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Write {
        path: path.to_path_buf(),
        cause: source,
    }
}

/// A one-strip float32 grey TIFF (SampleFormat 3), written atomically.
pub fn write_f32_tiff(path: &Path, w: u32, h: u32, v: &[f32]) -> Result<(), OutputError> {
    write_file(path, |out| {
        let mut buf = Vec::new();
        {
            let mut enc = tiff::encoder::TiffEncoder::new(std::io::Cursor::new(&mut buf))
                .map_err(std::io::Error::other)?;
            enc.write_image::<tiff::encoder::colortype::Gray32Float>(w, h, v)
                .map_err(std::io::Error::other)?;
        }
        out.write_all(&buf)
    })
    .map_err(write_err(path))
}

/// The two files of a heatmap (in the order `STEM.heatmap.json` lists them).
#[derive(Debug, Clone, Serialize)]
pub struct HeatmapFiles {
    /// `STEM.heatmap.png`: the preview, values × 255.
    pub png: PathBuf,
    /// `STEM.heatmap.tif`: one float32 per patch.
    pub tiff: PathBuf,
}

/// Writes `DIR/STEM.heatmap.tif` (float32) and `.png` (preview ×255).
pub fn write_heatmap_files(
    dir: &Path,
    stem: &str,
    hm: &Heatmap,
) -> Result<HeatmapFiles, OutputError> {
    let (w, h) = (hm.grid.cols, hm.grid.rows);
    let tiff = super::heatmap_run::heatmap_path(dir, stem, "tif");
    write_f32_tiff(&tiff, w, h, &hm.values)?;
    let png = super::heatmap_run::heatmap_path(dir, stem, "png");
    let preview: Vec<u8> = hm
        .values
        .iter()
        .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect();
    write_png(&png, w, h, 1, &preview).map_err(write_err(&png))?;
    Ok(HeatmapFiles { tiff, png })
}

/// Where and how a segmentation is written.
#[derive(Debug, Clone)]
pub struct SegmentOutputSpec {
    /// The output folder.
    pub dir: PathBuf,
    /// The outputs' stem (`STEM.segment-DESIGN.*`).
    pub stem: String,
    /// The slide file (recorded in the report; its resolution goes into the mask TIFFs).
    pub slide: PathBuf,
    /// The design that ran.
    pub design: Design,
    /// The design's label, which names the files.
    pub label: String,
    /// Level-0 pixels per pixel of the full-frame mask.
    pub mask_downsample: f64,
    /// GeoJSON in QuPath's frame (minus the OpenSlide bounds origin) instead of the file's.
    pub qupath_frame: bool,
}

/// A model a run used, as its report names it.
#[derive(Debug, Clone, Serialize)]
pub struct ModelUse {
    /// Its manifest name.
    pub name: String,
    /// Its file.
    pub file: PathBuf,
    /// Whether it has trained weights.
    pub trained: bool,
}

/// The files of a segmentation.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentFiles {
    /// The result grid as FAST writes it (`.tif`).
    pub result: PathBuf,
    /// The full-frame mask at the mask downsample (`.mask.tif`).
    pub mask: PathBuf,
    /// The QuPath annotations (`.geojson`).
    pub geojson: PathBuf,
    /// The refinement's P(tumour) (`.prob.tif`), for designs that ran it.
    pub probability: Option<PathBuf>,
    /// The stage-1 heatmap (tiff, png), for designs that ran it.
    pub heatmap: Option<[PathBuf; 2]>,
}

/// The slide's level 0, as a report gives it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Level0 {
    /// Width.
    pub width: u64,
    /// Height.
    pub height: u64,
    /// µm per pixel (mean of x and y).
    pub mpp: Option<f64>,
}

/// The result grid, as a report gives it.
#[derive(Debug, Clone, Serialize)]
pub struct ResultInfo {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// The level-0 extent it covers.
    pub level0_extent: [f64; 2],
    /// Level-0 pixels per column.
    pub scale_x: f64,
    /// Level-0 pixels per row.
    pub scale_y: f64,
    /// Cells that are positive.
    pub positive_cells: usize,
}

/// The full-frame mask, as a report gives it.
#[derive(Debug, Clone, Serialize)]
pub struct MaskInfo {
    /// Width.
    pub width: usize,
    /// Height.
    pub height: usize,
    /// Level-0 pixels per mask pixel.
    pub downsample: f64,
}

/// The heatmap, as a segmentation report gives it.
#[derive(Debug, Clone, Serialize)]
pub struct HeatmapInfo {
    /// Grid columns.
    pub cols: u32,
    /// Grid rows.
    pub rows: u32,
    /// Cells the classifier ran on.
    pub cells_run: usize,
    /// Throughput of the stage.
    pub patches_per_second: f64,
    /// The tissue gate's method.
    pub gate: &'static str,
}

/// What `h2g segment` writes as `STEM.segment-DESIGN.json`.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentReport {
    /// The slide file.
    pub slide: PathBuf,
    /// The design.
    pub design: Design,
    /// The design's label (its files' name).
    pub label: String,
    /// The slide's level 0.
    pub level0: Level0,
    /// The patch classifier.
    pub patch_model: Option<ModelUse>,
    /// The refinement network.
    pub refine_model: Option<ModelUse>,
    /// The ONNX Runtime library, when models ran.
    pub onnx_runtime: Option<PathBuf>,
    /// Where inference ran.
    pub device: super::Device,
    /// The result grid.
    pub result: ResultInfo,
    /// The full-frame mask.
    pub mask: MaskInfo,
    /// `file` or `qupath`.
    pub frame: &'static str,
    /// Annotations in the GeoJSON.
    pub annotations: usize,
    /// The stage-1 heatmap.
    pub heatmap: Option<HeatmapInfo>,
    /// The pyramid level the refinement read: its size and how much the resize scaled it.
    pub refine_input: Option<RefineInput>,
    /// Seconds per stage.
    pub timings: StageTimes,
    /// The files.
    pub files: SegmentFiles,
}

/// What a segmentation's writing produced.
#[derive(Debug, Clone)]
pub struct SegmentOutput {
    /// The files.
    pub files: SegmentFiles,
    /// The report (also written beside them).
    pub report: SegmentReport,
}

/// Who ran: the models and the runtime, for the report.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    /// The patch classifier.
    pub patch_model: Option<ModelUse>,
    /// The refinement network.
    pub refine_model: Option<ModelUse>,
    /// The ONNX Runtime library.
    pub onnx_runtime: Option<PathBuf>,
    /// Where inference ran.
    pub device: super::Device,
}

/// Writes a segmentation: the result grid as FAST writes it (uint8 0/1, pyramidal LZW TIFF,
/// 256 tiles), the full-frame mask at the mask downsample (floor(W/d) × floor(H/d)), the QuPath
/// GeoJSON of that mask, the refinement's probabilities and the heatmap when the design ran
/// them, and the report.
pub fn write_segmentation(
    slide: &dyn Slide,
    meta: &SlideMeta,
    seg: Segmentation,
    spec: &SegmentOutputSpec,
    run: RunInfo,
) -> Result<SegmentOutput, OutputError> {
    let design = spec.label.as_str();
    let base = |ext: &str| super::design::segment_path(&spec.dir, &spec.stem, design, ext);
    let writing = std::time::Instant::now();
    let Segmentation {
        grid,
        heatmap,
        probability,
        refine_input,
        timings,
    } = seg;
    let g = Arc::new(grid);
    let tiff_spec = ConvertSpec {
        tile: 256,
        palette: PaletteMode::Drop,
        progress: false,
        mpp: None,
        ..ConvertSpec::default()
    };
    let result = base("tif");
    write_mask(
        &spec.slide,
        MaskHeader {
            width: g.width as u32,
            height: g.height as u32,
            encoding: format!("{design} result grid"),
            palette: None,
        },
        MaskReader::U8(Box::new(MemoryRows::new(Arc::new(g.data.clone()), g.width))),
        &result,
        &tiff_spec,
    )?;
    let d = spec.mask_downsample;
    let (w0, h0) = slide.level_size(0)?;
    let (mw, mh) = mask_size((w0, h0), d);
    let mask = base("mask.tif");
    write_mask(
        &spec.slide,
        MaskHeader {
            width: mw as u32,
            height: mh as u32,
            encoding: format!("{design} mask at downsample {d}"),
            palette: None,
        },
        MaskReader::U8(Box::new(GridRows::new(g.clone(), d))),
        &mask,
        &ConvertSpec {
            tile: 512,
            mpp: meta.mpp.map(|p| (p.x * d, p.y * d)),
            ..tiff_spec.clone()
        },
    )?;
    let place = Placement::at_downsample(d, spec.qupath_frame.then(|| slide.bounds()));
    let (class_name, color) = spec.design.annotation_class();
    let class = ClassSpec {
        label: 1,
        name: class_name.into(),
        color,
    };
    let geojson = base("geojson");
    let annotations = write_file(&geojson, |out| {
        let (n, mut w) = write_grid_geojson(
            g.clone(),
            d,
            (mw, mh),
            place,
            &class,
            (0.0, 0.0),
            std::io::BufWriter::new(out),
        )?;
        w.flush()?;
        Ok(n)
    })
    .map_err(write_err(&geojson))?;
    let probability = match &probability {
        Some(p) => {
            let path = base("prob.tif");
            write_f32_tiff(&path, g.width as u32, g.height as u32, p)?;
            Some(path)
        }
        None => None,
    };
    let heat = match &heatmap {
        Some(hm) => Some(write_heatmap_files(&spec.dir, &spec.stem, hm)?),
        None => None,
    };
    let files = SegmentFiles {
        result,
        mask,
        geojson,
        probability,
        heatmap: heat.map(|h| [h.tiff, h.png]),
    };
    let (scale_x, scale_y) = g.scale();
    let report = SegmentReport {
        slide: spec.slide.clone(),
        design: spec.design,
        label: spec.label.clone(),
        level0: Level0 {
            width: w0,
            height: h0,
            mpp: meta.mpp.map(|p| (p.x + p.y) / 2.0),
        },
        patch_model: run.patch_model,
        refine_model: run.refine_model,
        onnx_runtime: run.onnx_runtime,
        device: run.device,
        result: ResultInfo {
            width: g.width,
            height: g.height,
            level0_extent: [g.extent.0, g.extent.1],
            scale_x,
            scale_y,
            positive_cells: g.data.iter().filter(|&&v| v != 0).count(),
        },
        mask: MaskInfo {
            width: mw,
            height: mh,
            downsample: d,
        },
        frame: if spec.qupath_frame { "qupath" } else { "file" },
        annotations,
        heatmap: heatmap.as_ref().map(|h| HeatmapInfo {
            cols: h.grid.cols,
            rows: h.grid.rows,
            cells_run: h.ran,
            patches_per_second: h.patches_per_second,
            gate: h.gate,
        }),
        files: files.clone(),
        refine_input,
        timings: StageTimes {
            writing: Some(writing.elapsed().as_secs_f64()),
            ..timings
        },
    };
    let json = base("json");
    write_json(&json, &report).map_err(write_err(&json))?;
    Ok(SegmentOutput { files, report })
}
