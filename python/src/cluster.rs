//! The clustering stage: features from a feature-extractor model, the fit (z-scores, PCA,
//! k-means) and assignments, as `h2g cluster fit|assign`.

use std::path::PathBuf;
use std::sync::Mutex;

use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray2, PyReadonlyArray4,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use h2g::cluster::{
    cluster_assign, cluster_fit, fit, read_model, ClusterAssignSpec, ClusterFitSpec, ClusterModel,
    FeatureExtractor as Extractor, FitParams,
};
use h2g::infer::Runtime;

use crate::{err, to_py};

fn runtime(threads: usize) -> Runtime {
    Runtime {
        threads,
        ..Runtime::default()
    }
}

/// A feature-extractor model (a built-in name, or an ``.onnx`` file with its manifest
/// beside it), run with ONNX Runtime: ``FeatureModel("test-feature-vgg16")``.
#[pyclass(frozen, module = "h2g")]
pub struct FeatureModel {
    pub(crate) inner: Mutex<Extractor>,
    name: String,
}

#[pymethods]
impl FeatureModel {
    #[new]
    #[pyo3(signature = (model, *, threads = 0))]
    fn new(py: Python<'_>, model: &str, threads: usize) -> PyResult<Self> {
        let inner = py
            .detach(|| Extractor::open(&runtime(threads), model))
            .map_err(err)?;
        Ok(FeatureModel {
            name: inner.manifest().name.clone(),
            inner: Mutex::new(inner),
        })
    }

    /// The features (``float64`` N × D) of RGB patches (``uint8`` N × S × S × 3).
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        images: PyReadonlyArray4<'py, u8>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let shape = images.shape().to_vec();
        if shape[3] != 3 || shape[1] != shape[2] {
            return Err(PyValueError::new_err(format!(
                "images must be N × S × S × 3, not of shape {shape:?}"
            )));
        }
        let data: Vec<u8> = images.as_array().iter().copied().collect();
        let (f, d) = py.detach(|| self.features(shape[1], &data)).map_err(err)?;
        f.into_pyarray(py).reshape([shape[0], d])
    }

    /// The model's manifest name.
    #[getter]
    fn name(&self) -> String {
        self.name.clone()
    }
}

impl FeatureModel {
    pub(crate) fn features(
        &self,
        side: usize,
        images: &[u8],
    ) -> Result<(Vec<f64>, usize), h2g::cluster::ClusterError> {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        m.features(side, images)
    }
}

/// Fits the clustering on features you already have (``float64`` N × D), as scikit-learn's
/// StandardScaler → PCA(n_components=variance) → KMeans(k) do: returns the cluster model as a
/// dict (the JSON ``h2g cluster fit`` writes). k-means keeps the best of ``n_init`` k-means++
/// runs; ``init`` gives the initial centroids (k × axes, in the PCA space) instead.
#[pyfunction]
#[pyo3(signature = (features, *, k = 10, variance = 0.95, seed = 0, n_init = 10, init = None, max_iter = 300, tol = 1e-4))]
#[allow(clippy::too_many_arguments)]
pub fn fit_clusters<'py>(
    py: Python<'py>,
    features: PyReadonlyArray2<'py, f64>,
    k: usize,
    variance: f64,
    seed: u64,
    n_init: usize,
    init: Option<PyReadonlyArray2<'py, f64>>,
    max_iter: usize,
    tol: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let d = features.shape()[1];
    let x: Vec<f64> = features.as_array().iter().copied().collect();
    let init = init.map(|a| {
        a.as_array()
            .rows()
            .into_iter()
            .map(|r| r.to_vec())
            .collect::<Vec<_>>()
    });
    let params = FitParams {
        k,
        variance,
        seed,
        n_init,
        init,
        max_iter,
        tol,
    };
    let m = py.detach(|| fit(&x, d, &params)).map_err(err)?;
    to_py(py, &m)
}

pub(crate) fn model_of(py: Python<'_>, model: &Bound<'_, PyAny>) -> PyResult<ClusterModel> {
    if let Ok(p) = model.extract::<PathBuf>() {
        return py.detach(|| read_model(&p)).map_err(err);
    }
    let text: String = py
        .import("json")?
        .call_method1("dumps", (model,))?
        .extract()?;
    serde_json::from_str(&text)
        .map_err(|e| PyValueError::new_err(format!("not a cluster model: {e}")))
}

/// The cluster (``int64``, 0-based) of each row of ``features`` (N × D) under ``model`` (a dict
/// from :func:`fit_clusters` / :func:`cluster_fit`, or the path of a cluster model file).
#[pyfunction]
pub fn assign_clusters<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyAny>,
    features: PyReadonlyArray2<'py, f64>,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let m = model_of(py, model)?;
    let x: Vec<f64> = features.as_array().iter().copied().collect();
    let labels = py.detach(|| m.assign(&x)).map_err(err)?;
    Ok(labels
        .into_iter()
        .map(i64::from)
        .collect::<Vec<_>>()
        .into_pyarray(py))
}

/// ``h2g cluster fit``: draws ``batches`` × ``batch_size`` patches from the cohort (grade →
/// slide → class, no augmentation), computes their features with ``model``, fits the
/// clustering and returns it as a dict (written to ``output`` too when given).
#[pyfunction]
#[pyo3(name = "cluster_fit", signature = (
    cohort, model, *, output = None, batches = 100, batch_size = 32, k = 10, variance = 0.95,
    seed = 0, n_init = 10, split = None, workers = 4, threads = 0
))]
#[allow(clippy::too_many_arguments)]
pub fn cluster_fit_py<'py>(
    py: Python<'py>,
    cohort: PathBuf,
    model: String,
    output: Option<PathBuf>,
    batches: usize,
    batch_size: usize,
    k: usize,
    variance: f64,
    seed: u64,
    n_init: usize,
    split: Option<String>,
    workers: usize,
    threads: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let spec = ClusterFitSpec {
        cohort,
        split,
        model,
        runtime: runtime(threads),
        batches,
        batch_size,
        seed,
        workers,
        params: FitParams {
            k,
            variance,
            n_init,
            ..FitParams::default()
        },
        output,
    };
    let m = py.detach(|| cluster_fit(&spec, &|_, _| {})).map_err(err)?;
    to_py(py, &m)
}

/// ``h2g cluster assign``: the cohort's patch tables with a ``column`` of clusters, and a
/// cohort table pointing at them, written into ``output``; returns what was written.
#[pyfunction]
#[pyo3(name = "cluster_assign", signature = (cohort, clusters, model, output, *, column = "cluster", threads = 0))]
pub fn cluster_assign_py<'py>(
    py: Python<'py>,
    cohort: PathBuf,
    clusters: PathBuf,
    model: String,
    output: PathBuf,
    column: &str,
    threads: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let spec = ClusterAssignSpec {
        cohort,
        clusters,
        model,
        runtime: runtime(threads),
        output,
        column: column.to_string(),
        batch_size: 32,
    };
    let done = py.detach(|| cluster_assign(&spec, &|_| {})).map_err(err)?;
    let d = PyDict::new(py);
    d.set_item("cohort", done.cohort)?;
    d.set_item("tables", done.tables)?;
    d.set_item("counts", done.counts)?;
    Ok(d)
}
