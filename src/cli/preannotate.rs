//! `h2g preannotate SLIDE... --method an2|an1 -o DIR`: QuPath annotations for pathologists to
//! correct, as in the paper's annotation campaign (`h2g::infer::preannotate`); this file is its
//! flags and the lines printed per slide.

use super::out::noteln;
use std::path::PathBuf;
use std::process::ExitCode;

use h2g::infer::preannotate::{
    preannotate, PreMethod, PreannotateObserver, PreannotateSpec, SlideOutcome,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The slides.
    #[arg(required = true)]
    slides: Vec<PathBuf>,
    /// Output directory (one set of files per slide).
    #[arg(short, long)]
    output: PathBuf,
    /// an2 (model-assisted) or an1 (tissue-based).
    #[arg(long, value_enum, default_value_t = PreMethod::An2)]
    method: PreMethod,
    /// The patch classifier for an2: a built-in name or an .onnx path.
    #[arg(long)]
    model: Option<String>,
    /// Heatmap threshold (default: the model manifest's, 0.5).
    #[arg(long)]
    threshold: Option<f64>,
    /// Closing of the thresholded heatmap: square of 2r+1 cells (0: none).
    #[arg(long, default_value_t = 1)]
    closing: usize,
    /// Drop annotations smaller than this many µm².
    #[arg(long, default_value_t = 0.0, value_parser = super::args::area("--min-area"))]
    min_area: f64,
    /// Fill holes smaller than this many µm².
    #[arg(long, default_value_t = 0.0, value_parser = super::args::area("--max-hole"))]
    max_hole: f64,
    /// Level-0 pixels per pixel of the mask the annotations are traced at.
    #[arg(long, default_value_t = 4.0, value_parser = super::positive_f64)]
    mask_downsample: f64,
    #[command(flatten)]
    patches: super::args::PatchRunArgs,
    /// Coordinates in QuPath's frame (minus OpenSlide bounds: MRXS, Leica SCN, some NDPI); the
    /// same as --frame qupath.
    #[arg(long)]
    qupath_frame: bool,
    #[command(flatten)]
    frame: super::args::FrameArg,
    #[command(flatten)]
    gate: super::args::GateArg,
    #[command(flatten)]
    mpp: super::args::MppArg,
    #[command(flatten)]
    rt: super::model_args::RuntimeArgs,
    #[command(flatten)]
    contract: super::model_args::ContractArgs,
}

/// Prints each slide's line as it finishes.
struct Lines;

impl PreannotateObserver for Lines {
    fn slide_done(&mut self, _k: usize, _n: usize, o: &SlideOutcome) {
        match &o.result {
            Ok(done) => noteln!("{done}"),
            Err(e) => {
                let msg = super::chain(e);
                let name = o.slide.display().to_string();
                if msg.contains(&name) {
                    noteln!("h2g: {msg} (skipped)");
                } else {
                    noteln!("h2g: {name}: {msg} (skipped)");
                }
            }
        }
    }
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let spec = PreannotateSpec {
        slides: a.slides,
        output: a.output,
        method: a.method,
        model: a.model,
        threshold: a.threshold,
        closing: a.closing,
        min_area: a.min_area,
        max_hole: a.max_hole,
        mask_downsample: a.mask_downsample,
        min_tissue: a.patches.min_tissue,
        batch: a.patches.batch,
        qupath_frame: a.qupath_frame || a.frame.qupath(),
        gate: a.gate.gate,
        mpp: a.mpp.mpp,
        runtime: a.rt.runtime().with_overrides(a.contract.overrides(false)?),
    };
    let outcomes = preannotate(&spec, &mut Lines)?;
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| o.result.is_err())
        .map(|o| o.slide.display().to_string())
        .collect();
    if failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    noteln!(
        "h2g: {} of {} slides failed: {}",
        failed.len(),
        spec.slides.len(),
        failed.join(", ")
    );
    Ok(ExitCode::from(1))
}
