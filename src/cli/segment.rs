//! `h2g segment SLIDE --design h2g|pw|unet-lr|otsu -o DIR`: a whole-slide tumour (or tissue)
//! segmentation, written as FAST's 1024 × 1024 result, a full-frame mask, the heatmap and
//! QuPath GeoJSON in the frame QuPath uses (`h2g::infer::segment_run`); this file is its flags
//! and the printed line.

use super::out::noteln;
use std::process::ExitCode;

use clap::ValueEnum;
use h2g::infer::segment_run::{run_segment, SegmentRunSpec};
use h2g::output::progress;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Frame {
    /// Level-0 pixels of the slide file.
    File,
    /// QuPath's frame: minus the OpenSlide bounds origin (MRXS, Leica SCN, some NDPI).
    Qupath,
}

#[derive(Debug, clap::Args)]
#[command(mut_arg("min_tissue", |a| a.help("Minimum tissue fraction of a patch for stage 1")))]
pub struct Args {
    #[command(flatten)]
    out: super::args::OutputArgs,
    #[command(flatten)]
    d: super::model_args::DesignArgs,
    /// Coordinate frame of the GeoJSON.
    #[arg(long, value_enum, default_value_t = Frame::File)]
    frame: Frame,
    #[command(flatten)]
    patches: super::args::PatchRunArgs,
    #[command(flatten)]
    gate: super::args::GateArg,
    #[command(flatten)]
    otsu: super::model_args::OtsuClosingArg,
    #[command(flatten)]
    input: super::args::SlideArgs,
    #[command(flatten)]
    rt: super::model_args::RuntimeArgs,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let spec = SegmentRunSpec {
        slide: a.input.slide,
        output: a.out.output,
        name: a.out.name,
        design: a.d.design,
        label: a.d.label,
        model: a.d.models.model,
        refine_model: a.d.models.refine_model,
        refine_level: a.d.refine_level,
        mask_downsample: a.d.mask_downsample,
        qupath_frame: matches!(a.frame, Frame::Qupath),
        min_tissue: a.patches.min_tissue,
        batch: a.patches.batch,
        gate: a.gate.gate,
        otsu_closing: a.otsu.closing(),
        mpp: a.input.mpp.mpp,
        runtime: a
            .rt
            .runtime()
            .with_overrides(a.d.models.contract.overrides(true)?),
    };
    let bar = progress(Some(0), "patches", true);
    let run = run_segment(&spec, &super::bar_progress(&bar))?;
    bar.finish_and_clear();
    let r = &run.output.report;
    if let Some(i) = r.refine_input.as_ref().filter(|i| i.upsampled) {
        let why = if i.rule == "auto" {
            "no pyramid level is 1024 × 1024 or larger, so".to_string()
        } else {
            format!("with --refine-level {}", i.rule)
        };
        noteln!(
            "warning: {}: {why} the refinement reads level {} ({} × {}), enlarged {:.2} × {:.2}",
            spec.slide.display(),
            i.level,
            i.width,
            i.height,
            i.scale[0],
            i.scale[1]
        );
    }
    let per_class = if r.classes.len() > 1 {
        let v: Vec<String> = r
            .classes
            .iter()
            .map(|c| format!("{} {}", c.name, c.cells))
            .collect();
        format!(" ({})", v.join(", "))
    } else {
        String::new()
    };
    noteln!(
        "{}: {}: {} of {} × {} result cells positive{per_class}, {} annotations{} → {}",
        spec.slide.display(),
        r.label,
        r.result.positive_cells,
        r.result.width,
        r.result.height,
        r.annotations,
        if run.untrained {
            " [UNTRAINED test model]"
        } else {
            ""
        },
        spec.output.display()
    );
    Ok(ExitCode::SUCCESS)
}
