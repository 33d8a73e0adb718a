//! Subcommands, one file each: clap arguments, conversion to a library spec, and `run`.

mod convert_mask;
mod heatmap;
mod info;
mod models;
mod patches;
mod preannotate;
mod rasterize;
mod region;
mod sample;
mod segment;
mod tissue;
mod vectorize;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// h2g: breast-tumour segmentation (H2G-Net) across the QuPath annotation lifecycle.
///
/// Subcommands in lifecycle order. Available: info, region, convert-mask, tissue, patches,
/// sample, vectorize, rasterize, models, heatmap, segment, preannotate. Planned: evaluate, batch.
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
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Info(a) => info::run(a),
        Command::Region(a) => region::run(a),
        Command::ConvertMask(a) => convert_mask::run(a),
        Command::Tissue(a) => tissue::run(a),
        Command::Patches(a) => patches::run(a),
        Command::Sample(a) => sample::run(a),
        Command::Vectorize(a) => vectorize::run(a),
        Command::Rasterize(a) => rasterize::run(a),
        Command::Models(a) => models::run(a),
        Command::Heatmap(a) => heatmap::run(a),
        Command::Segment(a) => segment::run(a),
        Command::Preannotate(a) => preannotate::run(a),
    }
}

/// Options of every command that runs a model.
#[derive(Debug, clap::Args)]
pub(crate) struct RuntimeArgs {
    /// Level-0 pixel size in µm, for slides without one.
    #[arg(long, value_parser = positive_f64)]
    pub mpp: Option<f64>,
    /// ONNX Runtime threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Where inference runs; cuda fails clearly when unavailable (never a silent CPU run).
    #[arg(long, value_enum, default_value_t = h2g::infer::Device::Cpu)]
    pub device: h2g::infer::Device,
    /// The ONNX Runtime shared library (default: the set-up's, H2G_ORT_LIB, ORT_DYLIB_PATH).
    #[arg(long)]
    pub ort_lib: Option<std::path::PathBuf>,
}

/// Loads ONNX Runtime and opens the model `name` (built-in name or .onnx path), which must have
/// `role`; its idle threads do not spin (reading runs beside it).
pub(crate) fn open_model(
    name: &str,
    role: h2g::infer::manifest::Role,
    flag: &str,
    rt: &RuntimeArgs,
) -> anyhow::Result<(h2g::infer::Model, h2g::infer::manifest::Manifest)> {
    h2g::infer::load_runtime(rt.ort_lib.as_deref())?;
    let (m, path) = h2g::infer::manifest::resolve(name).map_err(anyhow::Error::msg)?;
    if m.role != role {
        let words = |r: h2g::infer::manifest::Role| {
            serde_json::to_value(r)
                .ok()
                .and_then(|v| v.as_str().map(|s| s.replace('-', " ")))
                .unwrap_or_default()
        };
        anyhow::bail!(
            "{flag} {name}: a {} model, not a {} model",
            words(m.role),
            words(role)
        );
    }
    Ok((
        h2g::infer::Model::open_with(&path, rt.threads, rt.device, false)?,
        m,
    ))
}

/// The progress callback of the model stages, drawing on `bar`.
pub(crate) fn bar_progress(bar: &indicatif::ProgressBar) -> impl Fn(u64, u64) + Sync + '_ {
    move |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    }
}

/// Creates the output directory `dir` and returns the file stem outputs of `slide` are named by.
pub(crate) fn output_stem(
    dir: &std::path::Path,
    slide: &std::path::Path,
) -> anyhow::Result<String> {
    use anyhow::Context;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(slide
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "slide".into()))
}

/// Parses a positive, finite float.
pub(crate) fn positive_f64(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a positive number")),
    }
}
