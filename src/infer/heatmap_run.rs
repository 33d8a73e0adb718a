//! `h2g heatmap` as a library call: a slide and a patch classifier in, the heatmap's files
//! (`STEM.heatmap.tif`, `.png`, `.json`) and its report out.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::heatmap::{heatmap, HeatmapError, HeatmapSpec};
use super::manifest::Role;
use super::outputs::{write_heatmap_files, HeatmapFiles, OutputError};
use super::runtime::{OpenModelError, Runtime};
use super::{Device, InferError};
use crate::naming::{output_stem, NamingError};
use crate::output::OutputSet;
use crate::slide::{open_slide, SlideError, SlideMeta};
use crate::units::Resolution;

/// Where the heatmap of the slide named `stem` keeps its file with extension `ext`
/// (`tif`, `png`, `json`): `DIR/STEM.heatmap.EXT`.
pub fn heatmap_path(dir: &Path, stem: &str, ext: &str) -> PathBuf {
    dir.join(format!("{stem}.heatmap.{ext}"))
}

/// A heatmap run: which slide, which model, where to, how.
#[derive(Debug, Clone)]
pub struct HeatmapRunSpec {
    /// The slide.
    pub slide: PathBuf,
    /// The patch classifier: a built-in name or an .onnx path.
    pub model: String,
    /// The output folder (created if missing).
    pub output: PathBuf,
    /// The outputs' stem instead of the slide file's.
    pub name: Option<String>,
    /// Minimum tissue fraction of a patch for it to run, in [0, 1].
    pub min_tissue: f64,
    /// Patches per inference call (0 is taken as 1).
    pub batch: usize,
    /// Patch resolution (default: the model's magnification).
    pub at: Option<Resolution>,
    /// The tissue gate (default: the paper's saturation rule).
    pub gate: super::heatmap::Gate,
    /// Level-0 pixel size in µm, for slides without one.
    pub mpp: Option<f64>,
    /// Cores, device and runtime library.
    pub runtime: Runtime,
}

/// Why a heatmap run failed.
#[derive(Debug, thiserror::Error)]
pub enum HeatmapRunError {
    /// A minimum tissue fraction outside [0, 1].
    #[error("--min-tissue must be within 0–1")]
    MinTissue(f64),
    /// The slide could not be opened.
    #[error(transparent)]
    Slide(#[from] SlideError),
    /// The model could not be opened.
    #[error(transparent)]
    Model(#[from] OpenModelError),
    /// The runtime could not be loaded.
    #[error(transparent)]
    Runtime(#[from] InferError),
    /// The stage failed.
    #[error(transparent)]
    Heatmap(#[from] HeatmapError),
    /// The outputs cannot be named or placed.
    #[error(transparent)]
    Naming(#[from] NamingError),
    /// The heatmap files could not be written.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// The report could not be written.
    #[error("cannot write {}", path.display())]
    Report {
        /// The report file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The heatmap grid, as the report gives it.
#[derive(Debug, Clone, Serialize)]
pub struct GridInfo {
    /// Columns.
    pub cols: u32,
    /// Level-0 pixels per patch pixel.
    pub downsample: f64,
    /// The level patches were read from.
    pub level: usize,
    /// A patch's side in level-0 pixels.
    pub level0_side: f64,
    /// Patch side in pixels.
    pub patch: u32,
    /// Rows.
    pub rows: u32,
}

/// What `STEM.heatmap.json` holds (fields in the file's order).
#[derive(Debug, Clone, Serialize)]
pub struct HeatmapReport {
    /// Patches per inference call.
    pub batch: usize,
    /// Cells the classifier ran on.
    pub cells_run: usize,
    /// The class of each band of the heatmap (its TIFF pages, in order): one for a binary
    /// classifier, the foreground classes of a multiclass one.
    pub classes: Vec<super::manifest::ResultClass>,
    /// Where inference ran.
    pub device: Device,
    /// The heatmap's files.
    pub files: HeatmapFiles,
    /// The tissue gate: which rule chose the patches that ran.
    pub gate: super::heatmap::Gate,
    /// The grid.
    pub grid: GridInfo,
    /// Seconds in inference calls.
    pub infer_seconds: f64,
    /// ONNX Runtime's threads.
    pub inference_threads: usize,
    /// What a value means (the manifest's words).
    pub meaning: String,
    /// Minimum tissue fraction of a patch that ran.
    pub min_tissue: f64,
    /// The model's manifest name.
    pub model: String,
    /// The model file.
    pub model_file: PathBuf,
    /// The ONNX Runtime library.
    pub onnx_runtime: PathBuf,
    /// Throughput of the stage.
    pub patches_per_second: f64,
    /// Patch reader threads of their own (none: shared cores).
    pub reader_threads: Option<usize>,
    /// The slide file.
    pub slide: PathBuf,
    /// How the slide was read.
    pub slide_reader: String,
    /// Wall seconds of the patch stage.
    pub stage_seconds: f64,
    /// Cores given.
    pub threads: usize,
    /// Whether the model has trained weights.
    pub trained: bool,
}

/// What a heatmap run wrote.
#[derive(Debug, Clone, Serialize)]
pub struct HeatmapRun {
    /// The report (also written as `json`).
    pub report: HeatmapReport,
    /// `STEM.heatmap.json`.
    pub json: PathBuf,
}

/// Runs the patch classifier of `spec` over the slide's tissue and writes the heatmap
/// (float32 TIFF, PNG preview ×255, JSON report); `progress(done, total)` hears the patches.
pub fn run_heatmap(
    spec: &HeatmapRunSpec,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<HeatmapRun, HeatmapRunError> {
    if !(0.0..=1.0).contains(&spec.min_tissue) {
        return Err(HeatmapRunError::MinTissue(spec.min_tissue));
    }
    let rt = &spec.runtime;
    let slide = open_slide(&spec.slide, 1 << 34)?;
    let direct = slide.reads_directly();
    let (mut model, manifest) =
        rt.open_model(&spec.model, Role::PatchClassifier, "--model", direct)?;
    let lib = rt.load()?;
    let meta = SlideMeta::from_properties(slide.properties(), spec.mpp);
    let hspec = HeatmapSpec {
        min_tissue: spec.min_tissue,
        batch: spec.batch.max(1),
        readers: rt.readers(direct),
        at: spec.at,
        tissue: spec.gate.method(),
    };
    let hm = heatmap(&*slide, &meta, &mut model, &manifest, &hspec, progress)?;
    let stem = output_stem(&spec.output, &spec.slide, spec.name.as_deref())?;
    let mut set = OutputSet::new();
    let files = write_heatmap_files(&mut set, &spec.output, &stem, &hm)?;
    let json = heatmap_path(&spec.output, &stem, "json");
    let report = HeatmapReport {
        batch: hspec.batch,
        cells_run: hm.ran,
        classes: hm.classes.clone(),
        device: rt.device,
        files,
        gate: spec.gate,
        grid: GridInfo {
            cols: hm.grid.cols,
            downsample: hm.grid.downsample,
            level: hm.plan.level,
            level0_side: hm.grid.side(),
            patch: hm.grid.size,
            rows: hm.grid.rows,
        },
        infer_seconds: hm.infer_seconds,
        inference_threads: rt.inference_threads(direct),
        meaning: manifest.output.meaning.clone(),
        min_tissue: hspec.min_tissue,
        model: manifest.name.clone(),
        model_file: model.path().to_path_buf(),
        onnx_runtime: lib,
        patches_per_second: hm.patches_per_second,
        reader_threads: rt.readers(direct),
        slide: spec.slide.clone(),
        slide_reader: slide.reader(),
        stage_seconds: hm.stage_seconds,
        threads: rt.cores(),
        trained: manifest.trained,
    };
    set.commit_with_report(&json, &report)
        .map_err(|e| HeatmapRunError::Report {
            path: e.path,
            source: e.source,
        })?;
    Ok(HeatmapRun { report, json })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heatmap_files_are_named_by_stem_and_extension() {
        assert_eq!(
            heatmap_path(Path::new("out"), "S1", "json"),
            Path::new("out/S1.heatmap.json")
        );
    }

    #[test]
    fn a_tissue_fraction_outside_0_1_is_refused_before_anything_opens() {
        let spec = HeatmapRunSpec {
            slide: "no-such-slide.svs".into(),
            model: "no-such-model".into(),
            output: "unused".into(),
            name: None,
            min_tissue: 1.5,
            batch: 16,
            at: None,
            gate: Default::default(),
            mpp: None,
            runtime: Runtime::default(),
        };
        let e = run_heatmap(&spec, &|_, _| {}).unwrap_err();
        assert!(
            matches!(e, HeatmapRunError::MinTissue(v) if v == 1.5),
            "{e}"
        );
    }
}
