//! `h2g.evaluate` and `h2g.tukey`: the evaluation of `h2g evaluate` and Tukey's HSD of
//! `h2g stats tukey`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use h2g::eval::cohort::{evaluate_classes, evaluate_rows, read_table, EvaluateSpec, Metric};
use h2g::eval::LabelClass;
use h2g::stats::{tukey_hsd, Family};

use crate::{err, to_py};

/// Evaluates an evaluation table (columns slide, design, truth, prediction, …; see the
/// documentation of ``h2g evaluate``) as ``h2g evaluate`` does. Returns ``(evaluation, files)``:
/// the evaluation as a dict (per design: per-slide Dice, precision, recall, TP, FP, FN, areas;
/// summaries overall and per grade; Tukey's HSD) and the report files the command writes
/// (``per_slide.csv``, ``summary.csv``, ``table1.csv``, …) as {name: text}, written into
/// ``output`` too when given.
#[pyfunction]
#[pyo3(signature = (
    cohort, *, output = None, split = None, downsample = None, truth_class = None,
    prediction_class = None, threshold = 0.0, truth_threshold = 0.0,
    include_empty_truth = false, alpha = 0.05, tukey_metric = "dice", tukey_designs = None,
    tukey_exclude = None, classes = None
))]
#[allow(clippy::too_many_arguments)]
pub fn evaluate<'py>(
    py: Python<'py>,
    cohort: PathBuf,
    output: Option<PathBuf>,
    split: Option<String>,
    downsample: Option<f64>,
    truth_class: Option<Vec<String>>,
    prediction_class: Option<Vec<String>>,
    threshold: f64,
    truth_threshold: f64,
    include_empty_truth: bool,
    alpha: f64,
    tukey_metric: &str,
    tukey_designs: Option<Vec<String>>,
    tukey_exclude: Option<Vec<String>>,
    classes: Option<String>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyDict>)> {
    let metric = match tukey_metric {
        "dice" => Metric::Dice,
        "precision" => Metric::Precision,
        "recall" => Metric::Recall,
        other => {
            return Err(PyValueError::new_err(format!(
                "tukey_metric must be dice, precision or recall, not {other:?}"
            )))
        }
    };
    let spec = EvaluateSpec {
        split,
        tukey_family: Family::from_options(tukey_designs, tukey_exclude).map_err(err)?,
        cohort,
        downsample,
        truth_class: truth_class.unwrap_or_default(),
        prediction_class: prediction_class.unwrap_or_default(),
        threshold,
        truth_threshold,
        include_empty_truth,
        alpha,
        tukey_metric: metric,
        classes: match &classes {
            Some(c) => LabelClass::parse_list(c).map_err(err)?,
            None => Vec::new(),
        },
    };
    let dir = tempfile::tempdir().map_err(|e| crate::H2gError::new_err(e.to_string()))?;
    let out_dir = output.clone().unwrap_or_else(|| dir.path().to_path_buf());
    let (report, files) = py.detach(|| -> PyResult<_> {
        spec.check().map_err(err)?;
        let rows = spec
            .select(read_table(&spec.cohort).map_err(err)?)
            .map_err(err)?;
        if output.is_some() {
            h2g::naming::create_output_dir(&out_dir).map_err(err)?;
        }
        if spec.classes.is_empty() {
            let ev = evaluate_rows(&spec, rows, &|_| {}).map_err(err)?;
            let files = h2g::eval::export::write_reports(&ev, &out_dir).map_err(err)?;
            Ok((serde_json::to_value(&ev), files))
        } else {
            let cev = evaluate_classes(&spec, rows, &|_| {}).map_err(err)?;
            let files = h2g::eval::export::write_class_reports(&cev, &out_dir).map_err(err)?;
            Ok((serde_json::to_value(&cev.per_class), files))
        }
    })?;
    let report = report.map_err(|e| PyValueError::new_err(e.to_string()))?;
    let texts = PyDict::new(py);
    for f in files {
        if f.extension()
            .is_some_and(|e| e == "csv" || e == "md" || e == "json")
        {
            let text = std::fs::read_to_string(&f).map_err(err)?;
            let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
            texts.set_item(name, text)?;
        }
    }
    Ok((to_py(py, &report)?, texts))
}

/// Tukey's HSD between groups, equal to statsmodels' ``pairwise_tukeyhsd`` (as
/// ``h2g stats tukey``): ``groups`` maps a group name to its values. Returns a dict with
/// ``alpha``, ``groups``, ``df``, ``mse``, ``q_crit`` and ``pairs`` (group1, group2, meandiff,
/// p_adj, lower, upper, reject), groups sorted by name.
#[pyfunction]
#[pyo3(signature = (groups, *, alpha = 0.05))]
pub fn tukey<'py>(
    py: Python<'py>,
    groups: BTreeMap<String, Vec<f64>>,
    alpha: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let g: Vec<(String, Vec<f64>)> = groups.into_iter().collect();
    let t = py.detach(|| tukey_hsd(&g, alpha)).map_err(err)?;
    to_py(py, &t)
}
