//! The files `h2g heatmap` and `h2g segment` leave: named by their producer, written
//! atomically, described by a typed report.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::heatmap::Heatmap;
use super::manifest::ResultClass;
use super::refine_input::RefineInput;
use super::segment::{mask_size, write_grid_geojson, Design, GridRows, Segmentation, StageTimes};
use crate::convert::{stage_mask, ConvertError, ConvertSpec, PaletteMode};
use crate::mask::{MaskHeader, MaskReader, MemoryRows};
use crate::output::{CommitError, OutputSet};
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

impl From<CommitError> for OutputError {
    fn from(e: CommitError) -> Self {
        OutputError::Write {
            path: e.path,
            cause: e.source,
        }
    }
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Write {
        path: path.to_path_buf(),
        cause: source,
    }
}

/// TIFF tag 285, PageName: the name of a page (here the class of a probability band).
const PAGE_NAME: u16 = 285;

/// A one-strip float32 grey TIFF (SampleFormat 3), written atomically.
pub fn write_f32_tiff(path: &Path, w: u32, h: u32, v: &[f32]) -> Result<(), OutputError> {
    let mut set = OutputSet::new();
    write_f32_pages(&mut set, path, w, h, v, &[])?;
    Ok(set.commit()?)
}

/// A float32 grey TIFF (SampleFormat 3) of one page per band, written into `set`: `v` holds
/// `max(names.len(), 1)` values per pixel, interleaved; page `b` is band `b`, its PageName
/// `names[b]` (no PageName for a single unnamed band). tifffile reads it as one
/// (bands, height, width) series.
pub fn write_f32_pages(
    set: &mut OutputSet,
    path: &Path,
    w: u32,
    h: u32,
    v: &[f32],
    names: &[&str],
) -> Result<(), OutputError> {
    use tiff::encoder::colortype::Gray32Float;
    let bands = names.len().max(1);
    set.write_file(path, |out| {
        let mut buf = Vec::new();
        {
            let mut enc = tiff::encoder::TiffEncoder::new(std::io::Cursor::new(&mut buf))
                .map_err(std::io::Error::other)?;
            if names.is_empty() {
                enc.write_image::<Gray32Float>(w, h, v)
                    .map_err(std::io::Error::other)?;
            }
            for (b, name) in names.iter().enumerate() {
                let page: Vec<f32> = v.iter().skip(b).step_by(bands).copied().collect();
                let mut img = enc
                    .new_image::<Gray32Float>(w, h)
                    .map_err(std::io::Error::other)?;
                img.encoder()
                    .write_tag(tiff::tags::Tag::Unknown(PAGE_NAME), *name)
                    .map_err(std::io::Error::other)?;
                img.write_data(&page).map_err(std::io::Error::other)?;
            }
        }
        out.write_all(&buf)
    })
    .map_err(write_err(path))
}

/// The page names of a probability map of `classes`: none for one band (binary), the class
/// names otherwise.
fn band_names(classes: &[ResultClass]) -> Vec<&str> {
    if classes.len() > 1 {
        classes.iter().map(|c| c.name.as_str()).collect()
    } else {
        Vec::new()
    }
}

/// The two files of a heatmap (in the order `STEM.heatmap.json` lists them).
#[derive(Debug, Clone, Serialize)]
pub struct HeatmapFiles {
    /// `STEM.heatmap.png`: the preview, values × 255 (a multiclass heatmap: each class's
    /// colour weighted by its probability).
    pub png: PathBuf,
    /// `STEM.heatmap.tif`: one float32 per patch (a multiclass heatmap: one page per class).
    pub tiff: PathBuf,
}

/// Writes `DIR/STEM.heatmap.tif` (float32, a page per class when multiclass) and `.png`
/// (preview ×255, or the classes' colours weighted by their probabilities) into `set`.
pub fn write_heatmap_files(
    set: &mut OutputSet,
    dir: &Path,
    stem: &str,
    hm: &Heatmap,
) -> Result<HeatmapFiles, OutputError> {
    let (w, h) = (hm.grid.cols, hm.grid.rows);
    let tiff = super::heatmap_run::heatmap_path(dir, stem, "tif");
    let names = band_names(&hm.classes);
    write_f32_pages(set, &tiff, w, h, &hm.values, &names)?;
    let png = super::heatmap_run::heatmap_path(dir, stem, "png");
    let byte = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    if hm.bands == 1 {
        let preview: Vec<u8> = hm.values.iter().map(|&v| byte(v)).collect();
        set.write_png(&png, w, h, 1, &preview)
            .map_err(write_err(&png))?;
    } else {
        let mut preview = Vec::with_capacity(hm.values.len() / hm.bands * 3);
        for cell in hm.values.chunks_exact(hm.bands) {
            let mut rgb = [0f32; 3];
            for (p, c) in cell.iter().zip(&hm.classes) {
                for (v, &col) in rgb.iter_mut().zip(&c.color) {
                    *v += p * col as f32 / 255.0;
                }
            }
            preview.extend(rgb.map(byte));
        }
        set.write_png(&png, w, h, 3, &preview)
            .map_err(write_err(&png))?;
    }
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

/// A model a run used, as its report names it: the contract it ran under, after any
/// command-line overrides of its manifest.
#[derive(Debug, Clone, Serialize)]
pub struct ModelUse {
    /// Its manifest name.
    pub name: String,
    /// Its file.
    pub file: PathBuf,
    /// Whether it has trained weights.
    pub trained: bool,
    /// The input scaling used.
    pub scaling: super::manifest::Scaling,
    /// `meanstd`'s means and standard deviations (model channel order, 0–1 scale).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_std: Option<(Vec<f64>, Vec<f64>)>,
    /// The colour channel order of its image input.
    pub channel_order: super::manifest::ChannelOrder,
    /// The output used, when the manifest (or a flag) chose one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<super::manifest::OutputRef>,
    /// The manifest fields replaced by command-line flags (`scaling`, `mean`, `std`,
    /// `channel_order`, `output`); empty when the manifest ran as written.
    pub overridden: Vec<&'static str>,
}

impl ModelUse {
    /// The report entry of `model` run under `manifest` (overrides applied), `overrides` being
    /// the flags that changed it.
    pub fn new(
        model: &super::Model,
        manifest: &super::manifest::Manifest,
        overrides: &super::manifest::ManifestOverrides,
    ) -> ModelUse {
        let o = overrides;
        let overridden = [
            ("scaling", o.scaling.is_some()),
            ("mean", o.mean.is_some()),
            ("std", o.std.is_some()),
            ("channel_order", o.channel_order.is_some()),
            ("output", o.output.is_some()),
        ]
        .into_iter()
        .filter_map(|(f, set)| set.then_some(f))
        .collect();
        ModelUse {
            name: manifest.name.clone(),
            file: model.path().to_path_buf(),
            trained: manifest.trained,
            scaling: manifest.scaling,
            mean_std: manifest.mean.clone().zip(manifest.std.clone()),
            channel_order: manifest.channel_order,
            output: manifest.output.tensor.clone(),
            overridden,
        }
    }
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
    /// One 0/1 mask per class of a multiclass result (`.CLASS.mask.tif`, the class name in
    /// lower case, spaces as `-`), in class order; empty for a binary one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub class_masks: Vec<PathBuf>,
    /// The refinement's P(tumour) (`.prob.tif`; a multiclass one: a page per class), for
    /// designs that ran it.
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
    /// Cells that are positive (any class).
    pub positive_cells: usize,
}

/// A class of the result, as a report gives it.
#[derive(Debug, Clone, Serialize)]
pub struct ClassInfo {
    /// Its value in the result grid and the mask.
    pub value: u8,
    /// Its QuPath class name (the GeoJSON's classification).
    pub name: String,
    /// Its QuPath colour.
    pub color: [u8; 3],
    /// Result cells of this class.
    pub cells: usize,
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
    /// The classes of the result's non-zero values (binary designs: one).
    pub classes: Vec<ClassInfo>,
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
        classes,
        refine_input,
        timings,
    } = seg;
    let g = Arc::new(grid);
    let tiff_spec = ConvertSpec {
        tile: 256,
        palette: PaletteMode::Drop,
        progress: false,
        mpp: None,
        made_by: "segment",
        ..ConvertSpec::default()
    };
    // one set: nothing appears until every file is complete, the report last
    let mut set = OutputSet::new();
    let result = base("tif");
    stage_mask(
        &mut set,
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
    stage_mask(
        &mut set,
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
    let multiclass = classes.len() > 1;
    let mut class_masks = Vec::new();
    for c in classes.iter().filter(|_| multiclass) {
        let path = base(&format!(
            "{}.mask.tif",
            super::manifest::ClassDef::file_part(&c.name)
        ));
        let value = c.value;
        stage_mask(
            &mut set,
            &spec.slide,
            MaskHeader {
                width: mw as u32,
                height: mh as u32,
                encoding: format!("{design} {} mask at downsample {d}", c.name),
                palette: None,
            },
            MaskReader::U8(Box::new(ClassRows {
                rows: GridRows::new(g.clone(), d),
                value,
            })),
            &path,
            &ConvertSpec {
                tile: 512,
                mpp: meta.mpp.map(|p| (p.x * d, p.y * d)),
                ..tiff_spec.clone()
            },
        )?;
        class_masks.push(path);
    }
    let place = Placement::at_downsample(d, spec.qupath_frame.then(|| slide.bounds()));
    let specs: Vec<ClassSpec> = classes
        .iter()
        .map(|c| ClassSpec {
            label: c.value as u64,
            name: c.name.clone(),
            color: c.color,
        })
        .collect();
    let geojson = base("geojson");
    let annotations = set
        .write_file(&geojson, |out| {
            let (n, mut w) = write_grid_geojson(
                g.clone(),
                d,
                (mw, mh),
                place,
                &specs,
                (0.0, 0.0),
                std::io::BufWriter::new(out),
            )?;
            w.flush()?;
            Ok(n)
        })
        .map_err(write_err(&geojson))?;
    let probability = match &probability {
        Some((p, _)) => {
            let path = base("prob.tif");
            let names = band_names(&classes);
            write_f32_pages(&mut set, &path, g.width as u32, g.height as u32, p, &names)?;
            Some(path)
        }
        None => None,
    };
    let heat = match &heatmap {
        Some(hm) => Some(write_heatmap_files(&mut set, &spec.dir, &spec.stem, hm)?),
        None => None,
    };
    let files = SegmentFiles {
        result,
        mask,
        geojson,
        class_masks,
        probability,
        heatmap: heat.map(|h| [h.tiff, h.png]),
    };
    let mut counts = vec![0usize; 256];
    for &v in &g.data {
        counts[v as usize] += 1;
    }
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
        classes: classes
            .iter()
            .map(|c| ClassInfo {
                value: c.value,
                name: c.name.clone(),
                color: c.color,
                cells: counts[c.value as usize],
            })
            .collect(),
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
    set.commit_with_report(&base("json"), &report)?;
    Ok(SegmentOutput { files, report })
}

/// The 0/1 rows of one class of a label mask's rows.
struct ClassRows {
    rows: GridRows,
    value: u8,
}

impl crate::mask::RowSource<u8> for ClassRows {
    fn read_rows(&mut self, out: &mut [u8], rows: usize) -> Result<(), crate::mask::MaskError> {
        self.rows.read_rows(out, rows)?;
        for v in out.iter_mut() {
            *v = u8::from(*v == self.value);
        }
        Ok(())
    }
}
