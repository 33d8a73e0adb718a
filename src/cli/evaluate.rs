//! `h2g evaluate`: per-slide Dice, precision and recall of designs against the ground truth of a
//! cohort, summaries overall and per grade, and Tukey's HSD between designs (`h2g::eval`); this
//! file is its flags and the printed totals.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use h2g::eval::cohort::{evaluate_rows, EvaluateSpec, Metric};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The cohort: a CSV with one row per slide and design and the columns slide, design, truth,
    /// prediction (paths relative to the CSV), optionally truth_downsample,
    /// prediction_downsample, width, height (level-0 size), mpp, grade, split, image (the slide
    /// file, for the report's thumbnails).
    #[arg(long)]
    cohort: PathBuf,
    /// Output directory: per_slide.csv, summary.json, summary.md.
    #[arg(short, long)]
    output: PathBuf,
    /// The common downsample masks are compared at (default: the coarser of each pair's mask
    /// downsamples; 4 when both are GeoJSON).
    #[arg(long)]
    downsample: Option<f64>,
    /// GeoJSON truth: the classes counted as positive (repeatable; default every annotation).
    #[arg(long = "truth-class")]
    truth_class: Vec<String>,
    /// GeoJSON predictions: the classes counted as positive (repeatable; default every one).
    #[arg(long = "prediction-class")]
    prediction_class: Vec<String>,
    /// Prediction masks: values above this are positive (0: non-zero; 127 for 0–255 maps).
    #[arg(long, default_value_t = 0)]
    threshold: u64,
    /// Truth masks: values above this are positive.
    #[arg(long, default_value_t = 0)]
    truth_threshold: u64,
    /// Keep slides whose truth is empty in the means (the paper leaves them out).
    #[arg(long)]
    include_empty_truth: bool,
    /// Significance level of Tukey's HSD between designs.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// The per-slide metric Tukey's HSD compares.
    #[arg(long, value_enum, default_value_t = Metric::Dice)]
    tukey_metric: Metric,
}

pub fn run(a: Args) -> anyhow::Result<super::Finished> {
    let spec = EvaluateSpec {
        cohort: a.cohort,
        downsample: a.downsample,
        truth_class: a.truth_class,
        prediction_class: a.prediction_class,
        threshold: a.threshold,
        truth_threshold: a.truth_threshold,
        include_empty_truth: a.include_empty_truth,
        alpha: a.alpha,
        tukey_metric: a.tukey_metric,
    };
    // the settings and the table are checked before the output folder is made
    spec.check()?;
    let rows = h2g::eval::cohort::read_table(&spec.cohort)?;
    std::fs::create_dir_all(&a.output)
        .with_context(|| format!("{}: cannot create", a.output.display()))?;
    let bar = h2g::output::progress(None, "comparisons", true);
    let ev = evaluate_rows(&spec, rows, &|total| {
        bar.set_length(total);
        bar.inc(1)
    })?;
    bar.finish_and_clear();
    h2g::eval::export::write_reports(&ev, &a.output)?;
    for w in &ev.warnings {
        eprintln!("warning: {w}");
    }
    for e in &ev.errors {
        eprintln!("error: {e}");
    }
    eprintln!(
        "{} rows ({} designs, {} slides): {} evaluated, {} left out for empty truth, {} failed → {}",
        ev.results.len(),
        ev.designs.len(),
        ev.slides,
        ev.results.iter().filter(|r| r.included).count(),
        ev.excluded_empty_truth.len(),
        ev.errors.len(),
        a.output.display()
    );
    Ok(super::Finished {
        code: if ev.errors.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
        failure: ev.errors.first().cloned(),
    })
}
