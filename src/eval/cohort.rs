//! A cohort's evaluation (`h2g evaluate`): every row of an evaluation table compared, the
//! per-slide metrics, the summaries per design overall and per grade, and Tukey's HSD between
//! designs — one [`Evaluation`] that the exporters of [`super::export`] render.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use super::{compare, compare_classes, summarize, Confusion, Input, LabelClass, Outline, Summary};
use crate::stats::{tukey_hsd, Family, FamilyError, Tukey};

/// The per-slide metric Tukey's HSD compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Dice (F1) coefficient.
    #[default]
    Dice,
    /// TP / predicted.
    Precision,
    /// TP / truth.
    Recall,
}

impl Metric {
    /// The metric's name in reports (`Dice`, `Precision`, `Recall`).
    pub fn title(self) -> &'static str {
        match self {
            Metric::Dice => "Dice",
            Metric::Precision => "Precision",
            Metric::Recall => "Recall",
        }
    }

    fn of(self, r: &SlideResult) -> Option<f64> {
        match self {
            Metric::Dice => r.dice,
            Metric::Precision => r.precision,
            Metric::Recall => r.recall,
        }
    }
}

/// What to evaluate and how.
#[derive(Debug, Clone)]
pub struct EvaluateSpec {
    /// Evaluate only the rows of this split (the table's `split` column), e.g. `test`.
    pub split: Option<String>,
    /// The designs Tukey's HSD compares.
    pub tukey_family: Family,
    /// The evaluation table (see [`read_table`]).
    pub cohort: PathBuf,
    /// The common downsample masks are compared at (default: per row, the coarser mask's).
    pub downsample: Option<f64>,
    /// GeoJSON truth: the classes counted as positive (empty: every annotation).
    pub truth_class: Vec<String>,
    /// GeoJSON predictions: the classes counted as positive (empty: every annotation).
    pub prediction_class: Vec<String>,
    /// Prediction masks and float probability maps: values greater than this are positive
    /// (a finite number ≥ 0; for integer masks v > t is v > ⌊t⌋).
    pub threshold: f64,
    /// Truth masks: values greater than this are positive.
    pub truth_threshold: f64,
    /// Keep slides whose truth is empty in the means (the paper leaves them out).
    pub include_empty_truth: bool,
    /// Significance level of Tukey's HSD.
    pub alpha: f64,
    /// The metric Tukey's HSD compares.
    pub tukey_metric: Metric,
    /// Label masks compared class by class (`--classes`; empty: the binary comparison), with
    /// [`evaluate_classes`].
    pub classes: Vec<LabelClass>,
}

impl Default for EvaluateSpec {
    /// Every row, every design in Tukey's family, non-zero positive, Dice, alpha 0.05.
    fn default() -> Self {
        EvaluateSpec {
            split: None,
            tukey_family: Family::All,
            cohort: PathBuf::new(),
            downsample: None,
            truth_class: Vec::new(),
            prediction_class: Vec::new(),
            threshold: 0.0,
            truth_threshold: 0.0,
            include_empty_truth: false,
            alpha: 0.05,
            tukey_metric: Metric::Dice,
            classes: Vec::new(),
        }
    }
}

impl EvaluateSpec {
    /// Checks the settings (not the table).
    pub fn check(&self) -> Result<(), EvaluateError> {
        if let Some(d) = self.downsample {
            if !(d.is_finite() && d > 0.0) {
                return Err(EvaluateError::Downsample(d));
            }
        }
        for (flag, value) in [
            ("--threshold", self.threshold),
            ("--truth-threshold", self.truth_threshold),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(EvaluateError::Threshold { flag, value });
            }
            if !self.classes.is_empty() && value != 0.0 {
                return Err(EvaluateError::ClassesThreshold { flag, value });
            }
        }
        if !self.classes.is_empty() {
            for (flag, list) in [
                ("--truth-class", &self.truth_class),
                ("--prediction-class", &self.prediction_class),
            ] {
                if !list.is_empty() {
                    return Err(EvaluateError::ClassesGeoJsonClass { flag });
                }
            }
        }
        Ok(())
    }

    /// The rows of the split asked for (all without one), checked against the settings: a
    /// split that no row has, or a Tukey family naming a design that none of those rows has,
    /// is an error.
    pub fn select(&self, rows: Vec<EvalRow>) -> Result<Vec<EvalRow>, EvaluateError> {
        let rows = match &self.split {
            None => rows,
            Some(split) => {
                let present: BTreeSet<&str> = rows.iter().map(|r| r.split.as_str()).collect();
                if !present.contains(split.as_str()) {
                    let unsplit = rows.iter().filter(|r| r.split.is_empty()).count();
                    return Err(EvaluateError::UnknownSplit {
                        split: split.clone(),
                        present: present
                            .into_iter()
                            .filter(|s| !s.is_empty())
                            .map(String::from)
                            .collect(),
                        unsplit,
                    });
                }
                rows.into_iter().filter(|r| &r.split == split).collect()
            }
        };
        let designs: Vec<String> = rows
            .iter()
            .map(|r| r.design.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        self.tukey_family.check(&designs)?;
        Ok(rows)
    }
}

/// Why an evaluation cannot run (a row that fails is in [`Evaluation::errors`] instead).
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    /// The table, a column or a cell (see [`crate::table::TableError`]).
    #[error(transparent)]
    Table(#[from] crate::table::TableError),
    /// `downsample` is not a positive number.
    #[error("--downsample must be a positive number, not {0}")]
    Downsample(f64),
    /// A threshold that is negative or not a number.
    #[error("{flag} must be a finite number ≥ 0 (e.g. 0 for labels, 0.5 for a 0–1 probability map), not {value}")]
    Threshold {
        /// The option.
        flag: &'static str,
        /// Its value.
        value: f64,
    },
    /// `--split` names a split that no row has.
    #[error(
        "--split {split}: no row of the cohort has that split (splits present: {}{})",
        if present.is_empty() { "none".to_string() } else { present.join(", ") },
        if *unsplit > 0 { format!("; {unsplit} row(s) have no split") } else { String::new() }
    )]
    UnknownSplit {
        /// The split asked for.
        split: String,
        /// The splits the rows have, sorted.
        present: Vec<String>,
        /// Rows with an empty `split`.
        unsplit: usize,
    },
    /// The Tukey family names a design the rows do not have.
    #[error(transparent)]
    Family(#[from] FamilyError),
    /// A `--classes` list that cannot be used.
    #[error(transparent)]
    Classes(#[from] super::ClassError),
    /// A threshold with `--classes`: label values are compared for equality.
    #[error(
        "{flag} {value} cannot be used with --classes: a class is the pixels whose value equals \
         the class's, no threshold applies (drop {flag}, or drop --classes for a binary comparison)"
    )]
    ClassesThreshold {
        /// The option.
        flag: &'static str,
        /// Its value.
        value: f64,
    },
    /// `--truth-class` / `--prediction-class` with `--classes`.
    #[error(
        "{flag} cannot be used with --classes: with --classes, GeoJSON annotations count for the \
         class of their name (drop {flag})"
    )]
    ClassesGeoJsonClass {
        /// The option.
        flag: &'static str,
    },
    /// [`evaluate_rows`] (binary) called with classes.
    #[error(
        "evaluate_rows compares binary masks but the spec has {classes} class(es): call \
         evaluate_classes"
    )]
    ClassesNeedEvaluateClasses {
        /// How many classes the spec has.
        classes: usize,
    },
    /// [`evaluate_classes`] called without classes.
    #[error("evaluate_classes needs at least one class in the spec's classes: call evaluate_rows for a binary comparison")]
    NoClasses,
}

/// One row of an evaluation table: a slide's truth and one design's prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalRow {
    /// The 1-based line (the header is line 1).
    pub line: usize,
    /// The slide's name.
    pub slide: String,
    /// The design's name.
    pub design: String,
    /// The truth: a mask or QuPath GeoJSON.
    pub truth: PathBuf,
    /// The prediction: a mask or QuPath GeoJSON.
    pub prediction: PathBuf,
    /// Level-0 pixels per truth-mask pixel.
    pub truth_downsample: Option<f64>,
    /// Level-0 pixels per prediction-mask pixel.
    pub prediction_downsample: Option<f64>,
    /// The slide's level-0 size.
    pub level0: Option<(u64, u64)>,
    /// µm per level-0 pixel.
    pub mpp: Option<f64>,
    /// Histological grade.
    pub grade: String,
    /// Data split (train, test, …).
    pub split: String,
    /// The slide file, for the report's thumbnails.
    pub image: Option<PathBuf>,
}

/// Reads an evaluation table: a CSV with the columns `slide`, `design`, `truth`, `prediction`
/// (paths relative to the table's folder), optionally `truth_downsample`,
/// `prediction_downsample`, `width`, `height` (level-0 size), `mpp`, `grade`, `split`, `image`.
pub fn read_table(path: &Path) -> Result<Vec<EvalRow>, EvaluateError> {
    let t = crate::table::Table::open(path, "evaluation table")?;
    let (cs, cd, ct, cp) = (
        t.require("slide", None)?,
        t.require("design", None)?,
        t.require("truth", None)?,
        t.require("prediction", None)?,
    );
    let (ctd, cpd, cw, ch, cm, cg, csp, cimg) = (
        t.column("truth_downsample"),
        t.column("prediction_downsample"),
        t.column("width"),
        t.column("height"),
        t.column("mpp"),
        t.column("grade"),
        t.column("split"),
        t.column("image"),
    );
    t.map_rows(|row| {
        let level0 = match (row.positive_whole(cw)?, row.positive_whole(ch)?) {
            (Some(w), Some(h)) => Some((w, h)),
            _ => None,
        };
        let slide = row.required(cs)?.to_string();
        let design = row.required(cd)?.to_string();
        row.required(ct)?;
        row.required(cp)?;
        Ok::<_, EvaluateError>(Some(EvalRow {
            line: row.line() as usize,
            slide,
            design,
            truth: row.path(Some(ct)).unwrap_or_default(),
            prediction: row.path(Some(cp)).unwrap_or_default(),
            truth_downsample: row.positive(ctd)?,
            prediction_downsample: row.positive(cpd)?,
            level0,
            mpp: row.pixel_size(cm)?,
            grade: row.get(cg).to_string(),
            split: row.get(csp).to_string(),
            image: row.path(cimg),
        }))
    })
}

/// One evaluated row of the per-slide table.
#[derive(Debug, Clone, Serialize)]
pub struct SlideResult {
    /// The slide.
    pub slide: String,
    /// The design.
    pub design: String,
    /// The class, in a comparison of classes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Its grade.
    pub grade: String,
    /// Its split.
    pub split: String,
    /// The grid the comparison ran on.
    pub downsample: Option<f64>,
    /// True positives (grid pixels).
    pub tp: Option<u64>,
    /// False positives.
    pub fp: Option<u64>,
    /// False negatives.
    #[serde(rename = "fn")]
    pub fn_: Option<u64>,
    /// True negatives.
    pub tn: Option<u64>,
    /// Dice.
    pub dice: Option<f64>,
    /// Precision (TP / predicted).
    pub precision: Option<f64>,
    /// Recall (TP / truth).
    pub recall: Option<f64>,
    /// µm² per grid pixel, when the level-0 pixel size is known.
    pub px_um2: Option<f64>,
    /// `ok`, `empty truth`, or `error (line N): …`.
    pub status: String,
    /// Whether it counts in the summaries.
    pub included: bool,
    /// The report's thumbnail (inline SVG), when the comparison ran.
    #[serde(skip)]
    pub thumb: Option<String>,
    /// Why the thumbnail has no slide under it, when `image` was given but could not be read.
    #[serde(skip)]
    pub thumb_warning: Option<String>,
}

impl SlideResult {
    /// An area in µm² of `n` grid pixels, when the pixel size is known.
    pub fn area_um2(&self, n: Option<u64>) -> Option<f64> {
        Some(n? as f64 * self.px_um2?)
    }
}

/// Mean ± std of the three metrics over some slides; each [`Summary`] says how many slides its
/// mean is over (`n`), which differs from `slides` where the metric is undefined.
#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    /// The slides (rows) summarised.
    pub slides: usize,
    /// Of them, those with an empty prediction: precision undefined (TP / 0).
    pub empty_predictions: usize,
    /// Dice.
    pub dice: Option<Summary>,
    /// Precision.
    pub precision: Option<Summary>,
    /// Recall.
    pub recall: Option<Summary>,
}

/// One design's summaries.
#[derive(Debug, Clone, Serialize)]
pub struct DesignSummary {
    /// Rows of the design.
    pub rows: usize,
    /// Rows counted in the summaries.
    pub included: usize,
    /// Over every included slide.
    pub overall: Metrics,
    /// Per grade (`(none)` for rows without one).
    pub by_grade: BTreeMap<String, Metrics>,
}

/// A cohort's evaluation: the model every report renders.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// The class this evaluation is of, in a comparison of classes ([`evaluate_classes`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<LabelClass>,
    /// The evaluation table.
    pub cohort: PathBuf,
    /// The split evaluated (`None`: every row).
    pub split: Option<String>,
    /// The designs Tukey's HSD compared (sorted), as chosen.
    pub tukey_family: Vec<String>,
    /// How the family was chosen, in words.
    pub tukey_family_rule: String,
    /// Per design.
    pub designs: BTreeMap<String, DesignSummary>,
    /// The designs in the order the table first names them (the tables' row order).
    pub design_order: Vec<String>,
    /// Rows left out for an empty truth (`slide / design`).
    pub excluded_empty_truth: Vec<String>,
    /// Rows that could not be compared (`slide / design: status`).
    pub errors: Vec<String>,
    /// Designs missing slides, images that cannot be read, Tukey not computed.
    pub warnings: Vec<String>,
    /// Tukey's HSD between designs, when at least two have values.
    pub tukey: Option<Tukey>,
    /// The metric it compares.
    pub tukey_metric: Metric,
    /// How the standard deviations are computed.
    pub std: &'static str,
    /// Every row, in table order.
    #[serde(skip)]
    pub results: Vec<SlideResult>,
    /// The slides of the table.
    #[serde(skip)]
    pub slides: usize,
}

impl Evaluation {
    /// The counts in words: `[split S: ]N rows (D designs, S slides): E evaluated, X left out
    /// for empty truth, F failed`.
    pub fn counts_line(&self) -> String {
        format!(
            "{}{} rows ({} designs, {} slides): {} evaluated, {} left out for empty truth, {} failed",
            self.split
                .as_ref()
                .map(|s| format!("split {s}: "))
                .unwrap_or_default(),
            self.results.len(),
            self.designs.len(),
            self.slides,
            self.results.iter().filter(|r| r.included).count(),
            self.excluded_empty_truth.len(),
            self.errors.len(),
        )
    }

    /// The designs' summaries in the order the evaluation table first names each design.
    pub fn in_order(&self) -> impl Iterator<Item = (&String, &DesignSummary)> {
        self.design_order
            .iter()
            .filter_map(|d| self.designs.get_key_value(d))
    }
}

fn metrics(rs: &[&SlideResult]) -> Metrics {
    let pick = |m: Metric| {
        let v: Vec<f64> = rs.iter().filter_map(|r| m.of(r)).collect();
        summarize(&v)
    };
    Metrics {
        slides: rs.len(),
        empty_predictions: rs
            .iter()
            .filter(|r| r.tp.is_some() && r.precision.is_none())
            .count(),
        dice: pick(Metric::Dice),
        precision: pick(Metric::Precision),
        recall: pick(Metric::Recall),
    }
}

/// Evaluates the cohort of `spec` (its table read); `progress(rows)` is called after each
/// comparison, with the number of rows in all.
pub fn evaluate_cohort(
    spec: &EvaluateSpec,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Evaluation, EvaluateError> {
    evaluate_rows(spec, read_table(&spec.cohort)?, progress)
}

/// Evaluates `rows` (of `spec.cohort`, as [`read_table`] gives them).
/// Only the rows of `spec.split` are compared (see [`EvaluateSpec::select`]).
pub fn evaluate_rows(
    spec: &EvaluateSpec,
    rows: Vec<EvalRow>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Evaluation, EvaluateError> {
    if !spec.classes.is_empty() {
        return Err(EvaluateError::ClassesNeedEvaluateClasses {
            classes: spec.classes.len(),
        });
    }
    spec.check()?;
    let rows = spec.select(rows)?;
    let total = rows.len() as u64;
    // a slide's thumbnail is read once for all the designs compared on it
    let backgrounds: Backgrounds = Default::default();
    let results: Vec<SlideResult> = rows
        .par_iter()
        .map(|r| {
            let (t, p) = inputs(spec, r);
            let out = match compare(&t, &p, r.level0, spec.downsample) {
                Ok(c) => evaluate_row(
                    spec,
                    r,
                    None,
                    Ok((c.confusion, c.downsample, &c.outline)),
                    &backgrounds,
                ),
                Err(e) => evaluate_row(spec, r, None, Err(&e), &backgrounds),
            };
            progress(total);
            out
        })
        .collect();
    Ok(summarize_results(spec, results))
}

/// A comparison of classes: one [`Evaluation`] per class of `spec.classes`, in their order.
#[derive(Debug, Clone)]
pub struct ClassEvaluation {
    /// The classes, as given.
    pub classes: Vec<LabelClass>,
    /// Each class's evaluation (its [`Evaluation::class`] set), in the order of `classes`.
    pub per_class: Vec<Evaluation>,
}

impl Serialize for ClassEvaluation {
    /// `{"cohort", "split", "classes": [...], "per_class": {"NAME": Evaluation, ...}}`, the
    /// classes in the order given.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        struct PerClass<'a>(&'a [Evaluation]);
        impl Serialize for PerClass<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for e in self.0 {
                    m.serialize_entry(e.class.as_ref().map_or("", |c| c.name.as_str()), e)?;
                }
                m.end()
            }
        }
        let first = self.per_class.first();
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("cohort", &first.map(|e| &e.cohort))?;
        m.serialize_entry("split", &first.and_then(|e| e.split.as_ref()))?;
        m.serialize_entry("classes", &self.classes)?;
        m.serialize_entry("per_class", &PerClass(&self.per_class))?;
        m.end()
    }
}

/// Evaluates `rows` class by class (`spec.classes`, at least one): each row's label masks are
/// read once and compared for every class in that pass ([`compare_classes`]); each class then
/// has the per-slide results, summaries and Tukey's HSD of a binary evaluation.
pub fn evaluate_classes(
    spec: &EvaluateSpec,
    rows: Vec<EvalRow>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ClassEvaluation, EvaluateError> {
    if spec.classes.is_empty() {
        return Err(EvaluateError::NoClasses);
    }
    spec.check()?;
    let rows = spec.select(rows)?;
    let total = rows.len() as u64;
    let backgrounds: Backgrounds = Default::default();
    // per row, one result per class
    let results: Vec<Vec<SlideResult>> = rows
        .par_iter()
        .map(|r| {
            let (t, p) = inputs(spec, r);
            let out = match compare_classes(&t, &p, r.level0, spec.downsample, &spec.classes) {
                Ok(c) => spec
                    .classes
                    .iter()
                    .zip(c.confusion.iter().zip(&c.outline))
                    .map(|(k, (conf, o))| {
                        evaluate_row(
                            spec,
                            r,
                            Some(&k.name),
                            Ok((*conf, c.downsample, o)),
                            &backgrounds,
                        )
                    })
                    .collect(),
                Err(e) => spec
                    .classes
                    .iter()
                    .map(|k| evaluate_row(spec, r, Some(&k.name), Err(&e), &backgrounds))
                    .collect(),
            };
            progress(total);
            out
        })
        .collect();
    let per_class = spec
        .classes
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let mine: Vec<SlideResult> = results.iter().map(|r| r[i].clone()).collect();
            let mut ev = summarize_results(spec, mine);
            ev.class = Some(k.clone());
            ev
        })
        .collect();
    Ok(ClassEvaluation {
        classes: spec.classes.clone(),
        per_class,
    })
}

/// The truth and prediction inputs of a row under `spec`.
fn inputs(spec: &EvaluateSpec, r: &EvalRow) -> (Input, Input) {
    let input = |p: &Path, ds: Option<f64>, thr: f64, classes: &[String]| {
        let mut i = Input::from_path(p, ds, thr);
        if let Input::GeoJson { classes: c, .. } = &mut i {
            *c = classes.to_vec();
        }
        i
    };
    (
        input(
            &r.truth,
            r.truth_downsample,
            spec.truth_threshold,
            &spec.truth_class,
        ),
        input(
            &r.prediction,
            r.prediction_downsample,
            spec.threshold,
            &spec.prediction_class,
        ),
    )
}

/// One row's result from its comparison: the counts, the grid's downsample and the outlines, or
/// why it could not be compared.
fn evaluate_row(
    spec: &EvaluateSpec,
    r: &EvalRow,
    class: Option<&str>,
    compared: Result<(Confusion, f64, &Outline), &super::CompareError>,
    backgrounds: &Backgrounds,
) -> SlideResult {
    let mut out = SlideResult {
        slide: r.slide.clone(),
        design: r.design.clone(),
        class: class.map(String::from),
        grade: r.grade.clone(),
        split: r.split.clone(),
        downsample: None,
        tp: None,
        fp: None,
        fn_: None,
        tn: None,
        dice: None,
        precision: None,
        recall: None,
        px_um2: None,
        status: String::new(),
        included: false,
        thumb: None,
        thumb_warning: None,
    };
    match compared {
        Ok((k, downsample, outline)) => {
            out.downsample = Some(downsample);
            (out.tp, out.fp, out.fn_, out.tn) = (Some(k.tp), Some(k.fp), Some(k.fn_), Some(k.tn));
            (out.dice, out.precision, out.recall) = (k.dice(), k.precision(), k.recall());
            out.px_um2 = r.mpp.map(|m| (m * downsample).powi(2));
            let (svg, warning) = thumbnail(r.image.as_deref(), downsample, outline, backgrounds);
            out.thumb = Some(svg);
            out.thumb_warning = warning;
            if k.truth() == 0 {
                out.status = "empty truth".into();
                out.included = spec.include_empty_truth;
                if spec.include_empty_truth && out.dice.is_none() {
                    // both empty: a perfect agreement when asked to count it
                    out.dice = Some(1.0);
                }
            } else {
                out.status = "ok".into();
                out.included = true;
            }
        }
        Err(e) => {
            // the whole cause chain: "cannot read X: No such file or directory"
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(s) = src {
                msg += &format!(": {s}");
                src = s.source();
            }
            out.status = format!("error (line {}): {msg}", r.line);
        }
    }
    out
}

fn summarize_results(spec: &EvaluateSpec, results: Vec<SlideResult>) -> Evaluation {
    let designs: BTreeSet<&str> = results.iter().map(|r| r.design.as_str()).collect();
    let mut design_order: Vec<String> = Vec::new();
    for r in &results {
        if !design_order.contains(&r.design) {
            design_order.push(r.design.clone());
        }
    }
    let slides: BTreeSet<&str> = results.iter().map(|r| r.slide.as_str()).collect();
    let mut summary = BTreeMap::new();
    let mut warnings = Vec::new();
    // an image that could not be read, once per slide
    let mut seen_image = BTreeSet::new();
    for r in &results {
        if let Some(w) = &r.thumb_warning {
            if seen_image.insert(r.slide.clone()) {
                warnings.push(format!("{}: {w}", r.slide));
            }
        }
    }
    for d in &designs {
        let mine: Vec<&SlideResult> = results.iter().filter(|r| r.design == *d).collect();
        let inc: Vec<&SlideResult> = mine.iter().copied().filter(|r| r.included).collect();
        let have: BTreeSet<&str> = mine.iter().map(|r| r.slide.as_str()).collect();
        let missing: Vec<&str> = slides.difference(&have).copied().collect();
        if !missing.is_empty() {
            warnings.push(format!(
                "design {d} has no row for {} slide(s): {}",
                missing.len(),
                missing.join(", ")
            ));
        }
        let grades: BTreeSet<&str> = inc.iter().map(|r| r.grade.as_str()).collect();
        let by_grade = grades
            .iter()
            .map(|g| {
                let rs: Vec<&SlideResult> = inc.iter().copied().filter(|r| r.grade == *g).collect();
                let name = if g.is_empty() { "(none)" } else { g };
                (name.to_string(), metrics(&rs))
            })
            .collect();
        summary.insert(
            d.to_string(),
            DesignSummary {
                rows: mine.len(),
                included: inc.len(),
                overall: metrics(&inc),
                by_grade,
            },
        );
    }
    let errors: Vec<String> = results
        .iter()
        .filter(|r| r.status.starts_with("error"))
        .map(|r| format!("{} / {}: {}", r.slide, r.design, r.status))
        .collect();
    let excluded: Vec<String> = results
        .iter()
        .filter(|r| r.status == "empty truth" && !r.included)
        .map(|r| format!("{} / {}", r.slide, r.design))
        .collect();
    let family: Vec<String> = designs
        .iter()
        .filter(|d| spec.tukey_family.contains(d))
        .map(|d| d.to_string())
        .collect();
    let groups: Vec<(String, Vec<f64>)> = family
        .iter()
        .map(|d| {
            let v: Vec<f64> = results
                .iter()
                .filter(|r| r.design == *d && r.included)
                .filter_map(|r| spec.tukey_metric.of(r))
                .collect();
            (d.to_string(), v)
        })
        .filter(|g| {
            if g.1.is_empty() && spec.tukey_family != Family::All {
                warnings.push(format!(
                    "design {} of the Tukey family has no {} value: left out of the test",
                    g.0,
                    spec.tukey_metric.title()
                ));
            }
            !g.1.is_empty()
        })
        .collect();
    let tukey = if groups.len() >= 2 {
        match tukey_hsd(&groups, spec.alpha) {
            Ok(t) => Some(t),
            Err(e) => {
                warnings.push(format!("Tukey HSD not computed: {e}"));
                None
            }
        }
    } else {
        if spec.tukey_family != Family::All {
            warnings.push(format!(
                "Tukey HSD not computed: the family ({}) has {} design(s) with values, it needs 2",
                spec.tukey_family.describe(),
                groups.len()
            ));
        }
        None
    };
    let n_slides = slides.len();
    Evaluation {
        class: None,
        cohort: spec.cohort.clone(),
        split: spec.split.clone(),
        tukey_family: groups.iter().map(|g| g.0.clone()).collect(),
        tukey_family_rule: spec.tukey_family.describe(),
        designs: summary,
        design_order,
        excluded_empty_truth: excluded,
        errors,
        warnings,
        tukey,
        tukey_metric: spec.tukey_metric,
        std: "population (ddof 0)",
        results,
        slides: n_slides,
    }
}

/// Why a slide could not be read under a thumbnail (shared: one read serves every design).
#[derive(Debug, Clone, thiserror::Error)]
enum ThumbError {
    /// The slide could not be opened or read.
    #[error(transparent)]
    Slide(std::sync::Arc<crate::slide::SlideError>),
    /// The picture could not be encoded.
    #[error(transparent)]
    Png(std::sync::Arc<png::EncodingError>),
}

/// Thumbnail backgrounds already read: (slide, downsample bits, width, height) → `<image>`,
/// or why the slide could not be read.
type Backgrounds = std::sync::Mutex<
    std::collections::HashMap<(PathBuf, u64, usize, usize), Result<String, ThumbError>>,
>;

/// The thumbnail of one comparison: the slide (when `image` opens) under the truth and
/// prediction outlines, as inline SVG; and why the slide is not under it, when it cannot be read.
fn thumbnail(
    image: Option<&Path>,
    downsample: f64,
    o: &Outline,
    seen: &Backgrounds,
) -> (String, Option<String>) {
    let ds = downsample * o.scale as f64;
    let read = |p: &Path| -> Result<String, ThumbError> {
        let key = (p.to_path_buf(), ds.to_bits(), o.w, o.h);
        if let Some(done) = seen.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return done.clone();
        }
        let made = (|| {
            let e = |x| ThumbError::Slide(std::sync::Arc::new(x));
            let slide = crate::slide::open_slide(p, 1 << 28).map_err(e)?;
            let meta = crate::slide::SlideMeta::from_properties(slide.properties(), None);
            let at = crate::units::Resolution::Downsample(ds);
            let plan = crate::slide::plan_read(&*slide, &meta, at).map_err(e)?;
            let img =
                crate::slide::read_at(&*slide, &plan, 0, 0, o.w as u32, o.h as u32).map_err(e)?;
            let png = super::report::png_bytes(img.width, img.height, &img.data)
                .map_err(|x| ThumbError::Png(std::sync::Arc::new(x)))?;
            Ok(format!(
                "<image href=\"data:image/png;base64,{}\" x=\"0\" y=\"0\" width=\"{}\" height=\"{}\"/>",
                super::report::base64(&png),
                o.w,
                o.h
            ))
        })();
        seen.lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, made.clone());
        made
    };
    let grey = format!(
        "<rect width=\"{}\" height=\"{}\" fill=\"#f4f4f4\"/>",
        o.w, o.h
    );
    let (background, warning) = match image.map(read) {
        Some(Ok(b)) => (b, None),
        Some(Err(e)) => (
            grey,
            Some(format!(
                "its image cannot be read for the thumbnail ({e}): outlines on grey"
            )),
        ),
        None => (grey, None),
    };
    let path = |cells: &[bool], colour: &str| {
        format!(
            "<path d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" vector-effect=\"non-scaling-stroke\"/>",
            super::report::outline_path(cells, o.w, o.h)
        )
    };
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"thumb\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\">{background}{}{}</svg>",
        o.w,
        o.h,
        o.w,
        o.h,
        path(&o.truth, "#1a9850"),
        path(&o.pred, "#d01c8b")
    );
    (svg, warning)
}
