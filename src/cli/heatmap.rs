//! `h2g heatmap SLIDE --model M -o DIR`: stage 1, one tumour probability per patch
//! (`h2g::infer::heatmap_run`); this file is its flags and the printed line.

use super::out::noteln;
use std::process::ExitCode;

use h2g::infer::heatmap_run::{run_heatmap, HeatmapRunSpec};
use h2g::output::progress;
use h2g::units::Resolution;

#[derive(Debug, clap::Args)]
#[command(mut_arg("output", |a| a.help(
    "Output directory for STEM.heatmap.tif (float32), .png (preview) and .json"
)))]
#[command(mut_arg("min_tissue", |a| a.help(
    "Minimum tissue fraction of a patch for it to run (the published pipeline: 0.5)"
)))]
pub struct Args {
    /// The patch classifier: a built-in name (h2g models list) or an .onnx path.
    #[arg(long)]
    model: String,
    #[command(flatten)]
    out: super::args::OutputArgs,
    #[command(flatten)]
    patches: super::args::PatchRunArgs,
    /// Patch resolution (default: the model's magnification, e.g. 10x).
    #[arg(long)]
    at: Option<Resolution>,
    #[command(flatten)]
    gate: super::args::GateArg,
    #[command(flatten)]
    input: super::args::SlideArgs,
    #[command(flatten)]
    rt: super::model_args::RuntimeArgs,
    #[command(flatten)]
    contract: super::model_args::ContractArgs,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let spec = HeatmapRunSpec {
        slide: a.input.slide,
        model: a.model,
        output: a.out.output,
        name: a.out.name,
        min_tissue: a.patches.min_tissue,
        batch: a.patches.batch,
        at: a.at,
        gate: a.gate.gate,
        mpp: a.input.mpp.mpp,
        runtime: a.rt.runtime().with_overrides(a.contract.overrides(false)?),
    };
    let bar = progress(Some(0), "patches", true);
    let run = run_heatmap(&spec, &super::bar_progress(&bar))?;
    bar.finish_and_clear();
    let r = &run.report;
    noteln!(
        "{}: {} of {} × {} patches run ({:.1} patches/s, {:.0} % of the stage in inference){} → {}",
        spec.slide.display(),
        r.cells_run,
        r.grid.cols,
        r.grid.rows,
        r.patches_per_second,
        if r.stage_seconds > 0.0 {
            100.0 * r.infer_seconds / r.stage_seconds
        } else {
            0.0
        },
        if r.trained {
            ""
        } else {
            " [UNTRAINED test model]"
        },
        r.files.tiff.display()
    );
    Ok(ExitCode::SUCCESS)
}
