//! Subcommands, one file each: clap arguments, conversion to a library spec, and `run`.

mod args;
mod convert_mask;
mod docs;
mod evaluate;
mod heatmap;
mod info;
mod models;
mod patches;
mod preannotate;
mod rasterize;
mod region;
mod run;
mod sample;
mod segment;
mod stats;
mod tissue;
mod vectorize;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// h2g: breast-tumour segmentation (H2G-Net) across the QuPath annotation lifecycle.
///
/// Subcommands in lifecycle order: info, region, convert-mask, tissue, patches, sample,
/// vectorize, rasterize, models, heatmap, segment, preannotate, evaluate, stats; `run` carries a
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
    Run(run::Args),
    /// Print a shell completion script for bash, zsh, fish, elvish or PowerShell.
    Completions(docs::CompletionArgs),
    /// Write man pages for h2g and each subcommand into a folder.
    Man(docs::ManArgs),
}

/// The first failure a subcommand reported while going on (a bad row, a bad slide), for the
/// result file of a command that ends with a failure status but no error.
static FIRST_FAILURE: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Records `msg` as the command's failure, unless one was recorded before.
pub fn note_failure(msg: &str) {
    if let Ok(mut f) = FIRST_FAILURE.lock() {
        f.get_or_insert_with(|| msg.to_string());
    }
}

/// The first failure recorded with [`note_failure`].
pub fn first_failure() -> Option<String> {
    FIRST_FAILURE.lock().ok().and_then(|f| f.clone())
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
        Command::Evaluate(a) => evaluate::run(a),
        Command::Stats(a) => stats::run(a),
        Command::Run(a) => run::run(a),
        Command::Completions(a) => docs::completions(a),
        Command::Man(a) => docs::man(a),
    }
}

/// Options of every command that runs a model.
#[derive(Debug, clap::Args)]
pub(crate) struct RuntimeArgs {
    /// Level-0 pixel size in µm, for slides without one.
    #[arg(long, value_parser = positive_f64)]
    pub mpp: Option<f64>,
    /// Cores to use, for ONNX Runtime and the patch readers together (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Patch reader threads kept apart from inference (taken from --threads); 0 lets readers
    /// share every core with inference. Default: one per 8 cores from 8 cores up, else 0.
    #[arg(long)]
    pub read_threads: Option<usize>,
    /// Where inference runs; cuda fails clearly when unavailable (never a silent CPU run).
    #[arg(long, value_enum, default_value_t = h2g::infer::Device::Cpu)]
    pub device: h2g::infer::Device,
    /// The ONNX Runtime shared library (default: the set-up's, H2G_ORT_LIB, ORT_DYLIB_PATH).
    #[arg(long)]
    pub ort_lib: Option<std::path::PathBuf>,
}

impl RuntimeArgs {
    /// The cores given (`--threads`, else all).
    pub fn cores(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }

    /// Patch reader threads of their own, or `None` when readers share the cores. The default
    /// gives readers one core in 8 from 8 cores up (one in 4 when patches are read through
    /// OpenSlide, which costs several times more per patch than the direct JPEG reader).
    pub fn readers(&self, direct: bool) -> Option<usize> {
        let cores = self.cores();
        let share = if direct { 8 } else { 4 };
        let r = self
            .read_threads
            .unwrap_or(if cores >= 8 { cores / share } else { 0 });
        (r > 0 && cores > 1).then(|| r.min(cores - 1))
    }

    /// ONNX Runtime's threads: the cores less the readers' own.
    pub fn inference_threads(&self, direct: bool) -> usize {
        self.cores() - self.readers(direct).unwrap_or(0)
    }
}

/// Loads ONNX Runtime and opens the model `name` (built-in name or .onnx path), which must have
/// `role`, with the threads `rt` leaves to inference beside patch readers (`direct`: patches of
/// the slide are read directly). Its idle threads spin only when the readers have cores of their
/// own; sharing cores, a spinning thread would take them from the readers.
pub(crate) fn open_model(
    name: &str,
    role: h2g::infer::manifest::Role,
    flag: &str,
    rt: &RuntimeArgs,
    direct: bool,
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
        h2g::infer::Model::open_with(
            &path,
            rt.inference_threads(direct),
            rt.device,
            rt.readers(direct).is_some(),
        )?,
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

/// Creates the output directory `dir` and returns the file stem outputs of `slide` are named by:
/// `name` when given (`--name`), else the slide file's stem.
pub(crate) fn output_stem(
    dir: &std::path::Path,
    slide: &std::path::Path,
    name: Option<&str>,
) -> anyhow::Result<String> {
    use anyhow::Context;
    if let Some(n) = name {
        check_name(n)?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(name.map(str::to_string).unwrap_or_else(|| {
        slide
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "slide".into())
    }))
}

/// Checks an output name (`--name`, a cohort slide id): a plain file name of letters, digits,
/// `.`, `_` and `-`, not starting with `.` or `-`, at most 200 bytes.
pub(crate) fn check_name(n: &str) -> anyhow::Result<()> {
    if !h2g::cohort::valid_id(n) {
        anyhow::bail!(
            "'{n}' cannot name outputs: use letters, digits, '.', '_' and '-' (not first), at most 200"
        );
    }
    Ok(())
}

/// Parses a positive, finite float.
pub(crate) fn positive_f64(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a positive number")),
    }
}

#[cfg(test)]
mod tests {
    use super::RuntimeArgs;

    fn rt(threads: usize, read_threads: Option<usize>) -> RuntimeArgs {
        RuntimeArgs {
            mpp: None,
            threads,
            read_threads,
            device: h2g::infer::Device::Cpu,
            ort_lib: None,
        }
    }

    #[test]
    fn cores_are_split_between_readers_and_inference() {
        // below 8 cores readers share them all
        assert_eq!(
            (
                rt(2, None).readers(true),
                rt(2, None).inference_threads(true)
            ),
            (None, 2)
        );
        assert_eq!(rt(7, None).readers(false), None);
        // from 8 up: one reader core in 8 (direct JPEG) or in 4 (through OpenSlide)
        assert_eq!(
            (
                rt(8, None).readers(true),
                rt(8, None).inference_threads(true)
            ),
            (Some(1), 7)
        );
        assert_eq!(
            (
                rt(16, None).readers(true),
                rt(16, None).inference_threads(true)
            ),
            (Some(2), 14)
        );
        assert_eq!(
            (
                rt(16, None).readers(false),
                rt(16, None).inference_threads(false)
            ),
            (Some(4), 12)
        );
        // explicit: 0 shares, too many leaves inference one core, one core never splits
        assert_eq!(
            (
                rt(16, Some(0)).readers(true),
                rt(16, Some(0)).inference_threads(true)
            ),
            (None, 16)
        );
        assert_eq!(
            (
                rt(16, Some(40)).readers(true),
                rt(16, Some(40)).inference_threads(true)
            ),
            (Some(15), 1)
        );
        assert_eq!(
            (
                rt(1, Some(3)).readers(true),
                rt(1, Some(3)).inference_threads(true)
            ),
            (None, 1)
        );
        assert_eq!(rt(4, Some(1)).readers(true), Some(1));
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
