//! `h2g evaluate`: per-slide Dice, precision and recall of designs against the ground truth of a
//! cohort, summaries overall and per grade, and Tukey's HSD between designs (`h2g::eval`); this
//! file is its flags and the printed totals.

use super::out::noteln;
use std::path::PathBuf;
use std::process::ExitCode;

use h2g::eval::cohort::{evaluate_classes, evaluate_rows, EvaluateSpec, Metric};
use h2g::eval::LabelClass;
use h2g::stats::Family;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The cohort: a CSV with one row per slide and design and the columns slide, design, truth,
    /// prediction (paths relative to the CSV), optionally truth_downsample,
    /// prediction_downsample, width, height (level-0 size), mpp, grade, split, image (the slide
    /// file, for the report's thumbnails).
    #[arg(long)]
    cohort: PathBuf,
    /// Output directory: per_slide.csv, summary.csv, summary.json, summary.md, report.html and
    /// the paper's tables (table1, table2, supp_table1 as .csv, .md, .tex).
    #[arg(short, long)]
    output: PathBuf,
    /// Evaluate only the rows of this split (the cohort's split column), e.g. test.
    #[arg(long)]
    split: Option<String>,
    /// Tukey's HSD between these designs only (comma-separated, e.g. h2g,pw,unet-lr).
    #[arg(long, value_delimiter = ',', conflicts_with = "tukey_exclude")]
    tukey_designs: Option<Vec<String>>,
    /// Tukey's HSD between every design but these (comma-separated, e.g. otsu).
    #[arg(long, value_delimiter = ',')]
    tukey_exclude: Option<Vec<String>>,
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
    /// Predictions: values greater than this are positive (0: non-zero labels; 127 for 0–255
    /// maps; e.g. 0.5 for a 32-bit float probability TIFF).
    #[arg(long, default_value_t = 0.0)]
    threshold: f64,
    /// Truth masks: values greater than this are positive.
    #[arg(long, default_value_t = 0.0)]
    truth_threshold: f64,
    /// Keep slides whose truth is empty in the means (the paper leaves them out).
    #[arg(long)]
    include_empty_truth: bool,
    /// Significance level of Tukey's HSD between designs.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// The per-slide metric Tukey's HSD compares.
    #[arg(long, value_enum, default_value_t = Metric::Dice)]
    tukey_metric: Metric,
    /// Label masks compared class by class: NAME=VALUE pairs (e.g. Tumor=1,Benign=2; NAME=PRED:TRUTH
    /// where the prediction's value and the truth's differ, e.g. Tumor=1:3). Each class is one
    /// binary comparison (positive = value equal to the class's); every report is written per
    /// class (table1.Tumor.csv, ...) with combined per_slide.csv and summary.csv (a class
    /// column). Thresholds do not apply.
    #[arg(long)]
    classes: Option<String>,
}

pub fn run(a: Args) -> anyhow::Result<super::Finished> {
    let spec = EvaluateSpec {
        split: a.split,
        tukey_family: Family::from_options(a.tukey_designs, a.tukey_exclude)?,
        cohort: a.cohort,
        downsample: a.downsample,
        truth_class: a.truth_class,
        prediction_class: a.prediction_class,
        threshold: a.threshold,
        truth_threshold: a.truth_threshold,
        include_empty_truth: a.include_empty_truth,
        alpha: a.alpha,
        tukey_metric: a.tukey_metric,
        classes: match &a.classes {
            Some(c) => LabelClass::parse_list(c)?,
            None => Vec::new(),
        },
    };
    // the settings and the table are checked before the output folder is made
    spec.check()?;
    let rows = spec.select(h2g::eval::cohort::read_table(&spec.cohort)?)?;
    h2g::naming::create_output_dir(&a.output)?;
    let bar = h2g::output::progress(None, "comparisons", true);
    let tick = |total| {
        bar.set_length(total);
        bar.inc(1)
    };
    if !spec.classes.is_empty() {
        let cev = evaluate_classes(&spec, rows, &tick)?;
        bar.finish_and_clear();
        h2g::eval::export::write_class_reports(&cev, &a.output)?;
        return Ok(print_classes(&cev, &a.output));
    }
    let ev = evaluate_rows(&spec, rows, &tick)?;
    bar.finish_and_clear();
    h2g::eval::export::write_reports(&ev, &a.output)?;
    for w in &ev.warnings {
        noteln!("warning: {w}");
    }
    for e in &ev.errors {
        noteln!("error: {e}");
    }
    noteln!("{} → {}", ev.counts_line(), a.output.display());
    Ok(super::Finished {
        code: if ev.errors.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
        failure: ev.errors.first().cloned(),
    })
}

/// Prints a comparison of classes: each row's error once, then a line per class.
fn print_classes(
    cev: &h2g::eval::cohort::ClassEvaluation,
    out: &std::path::Path,
) -> super::Finished {
    let Some(first) = cev.per_class.first() else {
        return super::Finished {
            code: ExitCode::SUCCESS,
            failure: None,
        };
    };
    // the warnings and errors of the rows are the same for every class
    for w in &first.warnings {
        noteln!("warning: {w}");
    }
    for e in &first.errors {
        noteln!("error: {e}");
    }
    for ev in &cev.per_class {
        let c = ev.class.as_ref().map_or("", |c| c.name.as_str());
        // a class's own warnings (e.g. Tukey not computed for it)
        for w in ev.warnings.iter().filter(|w| !first.warnings.contains(w)) {
            noteln!("warning: class {c}: {w}");
        }
        noteln!("class {c}: {}", ev.counts_line());
    }
    noteln!("→ {}", out.display());
    super::Finished {
        code: if first.errors.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
        failure: first.errors.first().cloned(),
    }
}
