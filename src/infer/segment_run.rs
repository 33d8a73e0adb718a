//! `h2g segment` as a library call: a slide and a design of the paper (with the networks it
//! needs) in, the segmentation's files (`infer::outputs::write_segmentation`) and report out.

use std::path::PathBuf;

use super::heatmap::HeatmapSpec;
use super::manifest::{Manifest, Role};
use super::outputs::SegmentOutputSpec;
use super::outputs::{write_segmentation, ModelUse, OutputError, RunInfo, SegmentOutput};
use super::refine_input::RefineLevel;
use super::runtime::{OpenModelError, Runtime};
use super::segment::{segment, Design, SegmentError};
use super::{InferError, Model};
use crate::naming::{output_stem, NamingError};
use crate::slide::{open_slide, SlideError, SlideMeta};

/// A segmentation run: which slide, which design and networks, where to, how.
#[derive(Debug, Clone)]
pub struct SegmentRunSpec {
    /// The slide.
    pub slide: PathBuf,
    /// The output folder (created if missing).
    pub output: PathBuf,
    /// The outputs' stem instead of the slide file's.
    pub name: Option<String>,
    /// The design.
    pub design: Design,
    /// The label that names its files (default: the design's name).
    pub label: Option<String>,
    /// The patch classifier (designs h2g, pw): a built-in name or an .onnx path.
    pub model: Option<String>,
    /// The refinement network (designs h2g, unet-lr): a built-in name or an .onnx path.
    pub refine_model: Option<String>,
    /// The pyramid level the refinement reads.
    pub refine_level: RefineLevel,
    /// Level-0 pixels per pixel of the full-frame mask.
    pub mask_downsample: f64,
    /// GeoJSON in QuPath's frame (minus the OpenSlide bounds origin).
    pub qupath_frame: bool,
    /// Minimum tissue fraction of a patch for stage 1.
    pub min_tissue: f64,
    /// Patches per inference call (0 is taken as 1).
    pub batch: usize,
    /// Stage 1's tissue gate (designs h2g, pw).
    pub gate: super::heatmap::Gate,
    /// Design I's closing (design otsu): none, as published.
    pub otsu_closing: crate::tissue::Closing,
    /// Level-0 pixel size in µm, for slides without one.
    pub mpp: Option<f64>,
    /// Cores, device and runtime library.
    pub runtime: Runtime,
}

/// Why a segmentation run failed.
#[derive(Debug, thiserror::Error)]
pub enum SegmentRunError {
    /// The design needs a network that was not named.
    #[error("this design needs {flag} ({what})")]
    MissingModel {
        /// The option that names it.
        flag: &'static str,
        /// The network, in words.
        what: &'static str,
    },
    /// A network could not be opened.
    #[error(transparent)]
    Model(#[from] OpenModelError),
    /// The runtime could not be loaded.
    #[error(transparent)]
    Runtime(#[from] InferError),
    /// The slide could not be opened.
    #[error(transparent)]
    Slide(#[from] SlideError),
    /// The design failed.
    #[error(transparent)]
    Segment(#[from] SegmentError),
    /// The label cannot name files.
    #[error(transparent)]
    Label(#[from] super::design::DesignError),
    /// The outputs cannot be named or placed.
    #[error(transparent)]
    Naming(#[from] NamingError),
    /// The outputs could not be written.
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// What a segmentation run wrote.
#[derive(Debug, Clone)]
pub struct SegmentRun {
    /// The files and the report.
    pub output: SegmentOutput,
    /// Whether a network without trained weights ran.
    pub untrained: bool,
}

/// Opens the networks `spec.design` needs, runs it over the slide (`progress(done, total)`
/// hears stage 1's patches) and writes its outputs.
pub fn run_segment(
    spec: &SegmentRunSpec,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<SegmentRun, SegmentRunError> {
    let rt = &spec.runtime;
    let design = spec.design;
    let label = spec
        .label
        .clone()
        .unwrap_or_else(|| design.name().to_string());
    super::design::check_label(&label)?;
    let lib = if design == Design::Otsu {
        None
    } else {
        Some(rt.load()?)
    };
    let open = |name: &Option<String>, role, flag, what| match name {
        Some(name) => Ok(rt.open_model(name, role, flag, true)?),
        None => Err(SegmentRunError::MissingModel { flag, what }),
    };
    let mut patch = match design {
        Design::H2g | Design::Pw => Some(open(
            &spec.model,
            Role::PatchClassifier,
            "--model",
            "the patch classifier",
        )?),
        _ => None,
    };
    let mut refine = match design {
        Design::H2g | Design::UnetLr => Some(open(
            &spec.refine_model,
            Role::Refinement,
            "--refine-model",
            "the refinement network",
        )?),
        _ => None,
    };
    let slide = open_slide(&spec.slide, 1 << 34)?;
    let meta = SlideMeta::from_properties(slide.properties(), spec.mpp);
    let hspec = HeatmapSpec {
        min_tissue: spec.min_tissue,
        batch: spec.batch.max(1),
        // most slides are read directly (JPEG-tiled TIFF/SVS); one model serves them all
        readers: rt.readers(true),
        tissue: spec.gate.method(),
        ..HeatmapSpec::default()
    };
    let seg = segment(
        &*slide,
        &meta,
        design,
        patch.as_mut().map(|(m, man)| (m, &*man)),
        refine.as_mut().map(|(m, man)| (m, &*man)),
        &hspec,
        &super::segment::DesignParams {
            refine_level: spec.refine_level,
            otsu_closing: spec.otsu_closing,
        },
        progress,
    )?;
    let stem = output_stem(&spec.output, &spec.slide, spec.name.as_deref())?;
    let used = |m: &Option<(Model, Manifest)>| {
        m.as_ref()
            .map(|(m, man)| ModelUse::new(m, man, rt.overrides.for_role(man.role)))
    };
    let output = write_segmentation(
        &*slide,
        &meta,
        seg,
        &SegmentOutputSpec {
            dir: spec.output.clone(),
            stem,
            slide: spec.slide.clone(),
            design,
            label,
            mask_downsample: spec.mask_downsample,
            qupath_frame: spec.qupath_frame,
        },
        RunInfo {
            patch_model: used(&patch),
            refine_model: used(&refine),
            onnx_runtime: lib,
            device: rt.device,
        },
    )?;
    let untrained = patch.iter().chain(refine.iter()).any(|(_, m)| !m.trained);
    Ok(SegmentRun { output, untrained })
}
