//! Subcommands, one file each: clap arguments, conversion to a library spec, and `run`.

mod args;
mod cluster;
mod convert_mask;
mod docs;
mod evaluate;
mod heatmap;
mod info;
mod model_args;
mod models;
pub(crate) mod out;
mod patches;
mod preannotate;
mod rasterize;
mod region;
mod run;
mod run_display;
mod sample;
mod segment;
mod stats;
mod tissue;
mod vectorize;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub(crate) use args::positive_f64;

/// h2g: breast-tumour segmentation (H2G-Net) across the QuPath annotation lifecycle.
///
/// Subcommands in lifecycle order: info, region, convert-mask, tissue, patches, sample,
/// cluster, vectorize, rasterize, models, heatmap, segment, preannotate, evaluate, stats; `run` carries a
/// whole cohort through the per-slide steps, resumably.
#[derive(Debug, Parser)]
#[command(name = "h2g", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show a slide's format, pyramid, pixel size, magnification, bounds and associated images.
    Info(info::Args),
    /// Read a slide region at any magnification / pixel size and save it as PNG.
    Region(region::Args),
    /// Convert a QuPath annotation mask (PNG or TIFF) into a tiled pyramidal TIFF.
    ConvertMask(convert_mask::Args),
    /// Detect tissue (saturation, otsu, fast or qupath method) and write mask, preview, report.
    Tissue(tissue::Args),
    /// List the patch grid with tissue and tumour fractions and the paper's labels, as CSV.
    Patches(patches::Args),
    /// Draw training patches hierarchically (grade → slide → class → cluster → patch).
    Sample(sample::Args),
    /// Fit the sampler's clustering stage (features, z-scores, PCA, k-means), or add clusters
    /// to patch tables.
    Cluster(cluster::Args),
    /// Trace a label mask into QuPath GeoJSON annotations (valid polygons along pixel edges).
    Vectorize(vectorize::Args),
    /// Fill QuPath GeoJSON annotations into a label mask (QuPath's pixel rule).
    Rasterize(rasterize::Args),
    /// List the known models, or inspect an ONNX file.
    Models(models::Args),
    /// Stage 1: run a patch classifier over a slide's tissue into a heatmap (one value per patch).
    Heatmap(heatmap::Args),
    /// Whole-slide segmentation by a design of the paper (h2g, pw, unet-lr, otsu): result grid,
    /// full-frame mask, heatmap and QuPath GeoJSON.
    Segment(segment::Args),
    /// QuPath pre-annotations to correct: AN2 (model-assisted) or AN1 (tissue-based), many slides.
    Preannotate(preannotate::Args),
    /// Evaluate designs against the ground truth of a cohort: per-slide Dice, precision, recall;
    /// summaries overall and per grade; Tukey's HSD between designs.
    Evaluate(evaluate::Args),
    /// Statistics between designs: Tukey's HSD on per-slide values.
    Stats(stats::Args),
    /// A whole cohort through tissue, patches, segment, vectorize and evaluate: resumable, bad
    /// slides recorded and skipped, slides in parallel within a memory budget.
    Run(Box<run::Args>),
    /// Print a shell completion script for bash, zsh, fish, elvish or PowerShell.
    Completions(docs::CompletionArgs),
    /// Write man pages for h2g and each subcommand into a folder.
    Man(docs::ManArgs),
}

/// How a subcommand ended without an error: its exit code and, for a command that went on past
/// failures (a bad row, a bad slide), the first of them, for the result file `h2g run` reads.
pub struct Finished {
    pub code: ExitCode,
    pub failure: Option<String>,
}

impl From<ExitCode> for Finished {
    fn from(code: ExitCode) -> Self {
        Finished {
            code,
            failure: None,
        }
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Finished> {
    match cli.command {
        Command::Info(a) => info::run(a).map(Into::into),
        Command::Region(a) => region::run(a).map(Into::into),
        Command::ConvertMask(a) => convert_mask::run(a).map(Into::into),
        Command::Tissue(a) => tissue::run(a).map(Into::into),
        Command::Patches(a) => patches::run(a).map(Into::into),
        Command::Sample(a) => sample::run(a).map(Into::into),
        Command::Cluster(a) => cluster::run(a).map(Into::into),
        Command::Vectorize(a) => vectorize::run(a).map(Into::into),
        Command::Rasterize(a) => rasterize::run(a).map(Into::into),
        Command::Models(a) => models::run(a).map(Into::into),
        Command::Heatmap(a) => heatmap::run(a).map(Into::into),
        Command::Segment(a) => segment::run(a).map(Into::into),
        Command::Preannotate(a) => preannotate::run(a).map(Into::into),
        Command::Evaluate(a) => evaluate::run(a),
        Command::Stats(a) => stats::run(a).map(Into::into),
        Command::Run(a) => run::run(*a).map(Into::into),
        Command::Completions(a) => docs::completions(a).map(Into::into),
        Command::Man(a) => docs::man(a).map(Into::into),
    }
}

/// The progress callback of the model stages, drawing on `bar`.
pub(crate) fn bar_progress(bar: &indicatif::ProgressBar) -> impl Fn(u64, u64) + Sync + '_ {
    move |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    }
}

/// An error and its causes, as `h2g: error:` prints them (`outer: cause: cause`).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(&format!(": {c}"));
        cause = c.source();
    }
    s
}
