//! `h2g.Sampler`: the paper's streaming hierarchical sampler, reading on Rust threads.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use numpy::{IntoPyArray, PyArray4, PyArrayMethods, PyReadonlyArray3, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use h2g::sampling::{
    parse_stages, Augment, AugmentParams, Batch, BatchStream, Sampler as Inner, SamplerSpec,
};

use crate::{column, err};

fn augment_of(v: &Bound<'_, PyAny>) -> PyResult<Augment> {
    if let Ok(b) = v.extract::<bool>() {
        return Ok(if b { Augment::PAPER } else { Augment::NONE });
    }
    let names: Vec<String> = v.extract().map_err(|_| {
        PyTypeError::new_err(
            "augment must be True, False or a list of: flip, rot90, hsv, brightness",
        )
    })?;
    let mut a = Augment::NONE;
    for n in names {
        match n.as_str() {
            "flip" => a.flips = true,
            "rot90" => a.rotations = true,
            "hsv" => a.hsv = true,
            "brightness" => a.brightness = true,
            other => {
                return Err(PyValueError::new_err(format!(
                    "augmentation {other:?} is not one of flip, rot90, hsv, brightness"
                )))
            }
        }
    }
    Ok(a)
}

/// The streaming hierarchical sampler of the paper: batches of patches drawn uniformly at each
/// stage (grade → slide → class → cluster → patch) and read from the slides on ``workers`` Rust
/// threads into a queue of ``queue`` batches, never stored on disk.
///
/// Iterating gives one epoch of ``batches_per_epoch`` batches, each a tuple ``(images, labels,
/// clusters, meta)``: ``uint8`` N × S × S × 3, ``uint8`` N (1 tumour, 0 non-tumour), ``int64`` N
/// (the cluster, −1 without one) and a dict of arrays (slide and grade indices into
/// :attr:`slides` and :attr:`grades`, level-0 ``x``/``y``, ``patch`` into :attr:`patches`, and
/// the augmentation applied: ``flip_h``, ``flip_v``, ``rot90``, ``hsv`` (N × 3), ``brightness``).
/// Each new iteration is the next epoch, with fresh draws. The batches depend only on the seed,
/// the epoch and their index: the same whatever ``workers``, in order.
///
/// ``on_error="skip"`` leaves out cohort rows whose slide cannot be opened (with a warning;
/// :attr:`skipped` lists them) instead of raising.
#[pyclass(frozen, module = "h2g")]
pub struct Sampler {
    inner: Inner,
    /// cluster string → number
    cluster_ids: Vec<i64>,
    next_epoch: std::sync::atomic::AtomicU64,
    online: Option<Online>,
}

/// Clusters assigned to each batch as it is taken: the feature model and the cluster model.
struct Online {
    features: Py<crate::cluster::FeatureModel>,
    clusters: Arc<h2g::cluster::ClusterModel>,
}

impl Online {
    fn clone_ref(&self, py: Python<'_>) -> Online {
        Online {
            features: self.features.clone_ref(py),
            clusters: self.clusters.clone(),
        }
    }
}

#[pymethods]
impl Sampler {
    #[new]
    #[pyo3(signature = (
        cohort, *, batch_size = 64, batches_per_epoch = 500, seed = 0, split = None,
        stages = None, augment = None, workers = 8, queue = 20, cluster_column = None,
        cluster_model = None, feature_model = None, on_error = "raise"
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        cohort: PathBuf,
        batch_size: usize,
        batches_per_epoch: usize,
        seed: u64,
        split: Option<String>,
        stages: Option<Vec<String>>,
        augment: Option<&Bound<'_, PyAny>>,
        workers: usize,
        queue: usize,
        cluster_column: Option<String>,
        cluster_model: Option<&Bound<'_, PyAny>>,
        feature_model: Option<&Bound<'_, PyAny>>,
        on_error: &str,
    ) -> PyResult<Self> {
        let online =
            match (cluster_model, feature_model) {
                (None, None) => None,
                (Some(c), Some(f)) => {
                    let features: Py<crate::cluster::FeatureModel> =
                        match f.cast::<crate::cluster::FeatureModel>() {
                            Ok(m) => m.clone().unbind(),
                            Err(_) => {
                                let name: String = f.extract()?;
                                let m = py
                                    .get_type::<crate::cluster::FeatureModel>()
                                    .call1((name,))?;
                                m.cast_into::<crate::cluster::FeatureModel>()?.unbind()
                            }
                        };
                    let clusters = Arc::new(crate::cluster::model_of(py, c)?);
                    Some(Online { features, clusters })
                }
                _ => return Err(PyValueError::new_err(
                    "online clusters need both cluster_model (a cluster model file or dict) and \
                     feature_model (the feature extractor it was fitted with)",
                )),
            };
        let skip = match on_error {
            "raise" => false,
            "skip" => true,
            other => {
                return Err(PyValueError::new_err(format!(
                    "on_error must be 'raise' or 'skip', not {other:?}"
                )))
            }
        };
        let stages = match stages {
            Some(s) => parse_stages(&s).map_err(err)?,
            None => h2g::sampling::Stage::PAPER.to_vec(),
        };
        let spec = SamplerSpec {
            cohort,
            split,
            cluster_column,
            stages,
            batch_size,
            batches_per_epoch,
            seed,
            augment: match augment {
                Some(a) => augment_of(a)?,
                None => Augment::PAPER,
            },
            workers,
            queue,
            skip_bad_slides: skip,
        };
        let inner = py.detach(|| Inner::new(spec)).map_err(err)?;
        if !inner.skipped().is_empty() {
            let warnings = py.import("warnings")?;
            for (row, why) in inner.skipped() {
                let msg = format!(
                    "{}: line {}: left out: {}",
                    inner.spec().cohort.display(),
                    row.line,
                    crate::err(why)
                );
                warnings.call_method1("warn", (msg,))?;
            }
        }
        let cluster_ids = cluster_numbers(&inner);
        Ok(Sampler {
            inner,
            cluster_ids,
            next_epoch: 0.into(),
            online,
        })
    }

    /// Batches per epoch.
    fn __len__(&self) -> usize {
        self.inner.spec().batches_per_epoch
    }

    /// The next epoch's batches.
    fn __iter__(&self, py: Python<'_>) -> EpochIter {
        let e = self
            .next_epoch
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.epoch(py, e)
    }

    /// The batches of epoch ``epoch`` (0, 1, …), whatever was iterated before.
    fn epoch(&self, py: Python<'_>, epoch: u64) -> EpochIter {
        EpochIter {
            online: self.online.as_ref().map(|o| o.clone_ref(py)),
            stream: std::sync::Mutex::new(Some(self.inner.epoch(epoch))),
            cluster_ids: self.cluster_ids.clone(),
            classes: self
                .inner
                .patches()
                .iter()
                .map(|p| u8::from(p.class == "tumour"))
                .collect(),
            xy: self.inner.patches().iter().map(|p| (p.x, p.y)).collect(),
        }
    }

    /// The slides sampled from (cohort rows whose slide opened), in the order of
    /// ``meta["slide"]``.
    #[getter]
    fn slides(&self) -> Vec<PathBuf> {
        self.inner
            .slides()
            .iter()
            .map(|s| s.slide.clone())
            .collect()
    }

    /// The grades, sorted, in the order of ``meta["grade"]``.
    #[getter]
    fn grades(&self) -> Vec<String> {
        self.inner.grades().iter().map(|g| g.to_string()).collect()
    }

    /// Rows left out with ``on_error="skip"``: (line, slide, reason).
    #[getter]
    fn skipped(&self) -> Vec<(u64, PathBuf, String)> {
        self.inner
            .skipped()
            .iter()
            .map(|(r, e)| (r.line, r.slide.clone(), e.to_string()))
            .collect()
    }

    /// The patches drawn from, as columns: slide (index), x, y, label, cluster.
    #[getter]
    fn patches<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let p = self.inner.patches();
        let d = PyDict::new(py);
        column(&d, "slide", p.iter().map(|p| p.slide as u64))?;
        column(&d, "x", p.iter().map(|p| p.x))?;
        column(&d, "y", p.iter().map(|p| p.y))?;
        d.set_item(
            "label",
            p.iter().map(|p| p.class.clone()).collect::<Vec<_>>(),
        )?;
        column(&d, "cluster", self.cluster_ids.iter().copied())?;
        Ok(d)
    }

    /// Patch side in pixels.
    #[getter]
    fn patch_size(&self) -> usize {
        self.inner.side()
    }

    /// Batch size.
    #[getter]
    fn batch_size(&self) -> usize {
        self.inner.spec().batch_size
    }

    fn __repr__(&self) -> String {
        let s = self.inner.spec();
        format!(
            "Sampler({} slides, {} patches, {} batches of {} per epoch, {} workers, queue {})",
            self.inner.slides().len(),
            self.inner.patches().len(),
            s.batches_per_epoch,
            s.batch_size,
            s.workers,
            s.queue
        )
    }
}

/// Clusters as numbers: the values themselves when every one is an integer, else their rank
/// among the sorted distinct values; −1 for none.
fn cluster_numbers(s: &Inner) -> Vec<i64> {
    let p = s.patches();
    if p.iter().all(|p| p.cluster.is_empty()) {
        return vec![-1; p.len()];
    }
    if let Some(v) = p
        .iter()
        .map(|p| p.cluster.trim().parse::<i64>().ok())
        .collect::<Option<Vec<_>>>()
    {
        return v;
    }
    let names: BTreeMap<&str, i64> = p.iter().map(|p| (p.cluster.as_str(), 0)).collect();
    let rank: BTreeMap<&str, i64> = names
        .keys()
        .enumerate()
        .map(|(i, k)| (*k, i as i64))
        .collect();
    p.iter().map(|p| rank[p.cluster.as_str()]).collect()
}

/// A batch taken, with its online clusters when the sampler assigns them.
type Taken = (Batch, Option<Vec<i64>>);

/// One epoch of a :class:`Sampler`.
#[pyclass(module = "h2g")]
pub struct EpochIter {
    online: Option<Online>,
    stream: std::sync::Mutex<Option<BatchStream>>,
    cluster_ids: Vec<i64>,
    classes: Vec<u8>,
    xy: Vec<(u64, u64)>,
}

#[pymethods]
impl EpochIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __len__(&self) -> usize {
        self.stream
            .lock()
            .ok()
            .and_then(|s| s.as_ref().map(|s| s.remaining() as usize))
            .unwrap_or(0)
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let online = self
            .online
            .as_ref()
            .map(|o| (o.features.get(), o.clusters.clone()));
        let next = py.detach(|| -> Option<Result<Taken, String>> {
            let mut guard = self.stream.lock().unwrap_or_else(|e| e.into_inner());
            let r = guard.as_mut().and_then(|s| s.next());
            if r.is_none() {
                // the epoch is over: stop the workers now
                *guard = None;
            }
            let b = match r? {
                Ok(b) => b,
                Err(e) => return Some(Err(crate::message(&e))),
            };
            let Some((fm, model)) = &online else {
                return Some(Ok((b, None)));
            };
            let assigned = fm
                .features(b.side, &b.images)
                .map_err(|e| crate::message(&e))
                .and_then(|(f, _)| model.assign(&f).map_err(|e| crate::message(&e)));
            Some(assigned.map(|a| (b, Some(a.into_iter().map(i64::from).collect()))))
        });
        match next {
            None => Ok(None),
            Some(Err(e)) => Err(crate::H2gError::new_err(e)),
            Some(Ok((b, online))) => Ok(Some(self.convert(py, b, online)?)),
        }
    }

    /// Stops the workers (the rest of the epoch is not read).
    fn close(&self, py: Python<'_>) {
        py.detach(|| {
            let mut guard = self.stream.lock().unwrap_or_else(|e| e.into_inner());
            *guard = None;
        });
    }
}

impl EpochIter {
    fn convert<'py>(
        &self,
        py: Python<'py>,
        b: Batch,
        online: Option<Vec<i64>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let n = b.draws.len();
        let s = b.side;
        let images: Bound<'py, PyArray4<u8>> =
            numpy::ndarray::Array4::from_shape_vec((n, s, s, 3), b.images)
                .map_err(|e| PyValueError::new_err(e.to_string()))?
                .into_pyarray(py);
        let labels: Vec<u8> = b.draws.iter().map(|d| self.classes[d.patch]).collect();
        let clusters: Vec<i64> =
            online.unwrap_or_else(|| b.draws.iter().map(|d| self.cluster_ids[d.patch]).collect());
        let meta = PyDict::new(py);
        let d = &b.draws;
        column(&meta, "slide", d.iter().map(|d| d.slide as u64))?;
        column(&meta, "grade", d.iter().map(|d| d.grade as u64))?;
        column(&meta, "patch", d.iter().map(|d| d.patch as u64))?;
        column(&meta, "x", d.iter().map(|d| self.xy[d.patch].0))?;
        column(&meta, "y", d.iter().map(|d| self.xy[d.patch].1))?;
        let a: Vec<&AugmentParams> = d.iter().map(|d| &d.augment).collect();
        column(&meta, "flip_h", a.iter().map(|p| p.flip_h))?;
        column(&meta, "flip_v", a.iter().map(|p| p.flip_v))?;
        column(&meta, "rot90", a.iter().map(|p| p.rot90))?;
        let hsv: Vec<i32> = a.iter().flat_map(|p| p.hsv).collect();
        meta.set_item("hsv", hsv.into_pyarray(py).reshape([n, 3])?)?;
        column(&meta, "brightness", a.iter().map(|p| p.brightness))?;
        meta.set_item("epoch", b.epoch)?;
        meta.set_item("batch", b.index)?;
        PyTuple::new(
            py,
            [
                images.into_any(),
                labels.into_pyarray(py).into_any(),
                clusters.into_pyarray(py).into_any(),
                meta.into_any(),
            ],
        )
    }
}

/// Applies augmentation parameters (as in a batch's ``meta``) to one square RGB image
/// (``uint8`` S × S × 3) with the sampler's code, and returns the result.
#[pyfunction]
#[pyo3(signature = (image, *, flip_h = false, flip_v = false, rot90 = 0, hsv = (0, 0, 0), brightness = 1.0))]
pub fn augment<'py>(
    py: Python<'py>,
    image: PyReadonlyArray3<'py, u8>,
    flip_h: bool,
    flip_v: bool,
    rot90: u8,
    hsv: (i32, i32, i32),
    brightness: f32,
) -> PyResult<Bound<'py, PyArray3u8>> {
    let shape = image.shape();
    if shape[2] != 3 || shape[0] != shape[1] || shape[0] == 0 {
        return Err(PyValueError::new_err(format!(
            "image must be a square S × S × 3 RGB array, not of shape {shape:?}"
        )));
    }
    if rot90 > 3 {
        return Err(PyValueError::new_err(format!(
            "rot90 must be 0 to 3, not {rot90}"
        )));
    }
    if !(brightness.is_finite() && brightness >= 0.0) {
        return Err(PyValueError::new_err(format!(
            "brightness must be a finite factor ≥ 0, not {brightness}"
        )));
    }
    let side = shape[0];
    let mut data: Vec<u8> = image.as_array().iter().copied().collect();
    let p = AugmentParams {
        flip_h,
        flip_v,
        rot90,
        hsv: [hsv.0, hsv.1, hsv.2],
        brightness,
    };
    py.detach(|| p.apply(side, &mut data, &mut Vec::new()));
    let arr = numpy::ndarray::Array3::from_shape_vec((side, side, 3), data)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(arr.into_pyarray(py))
}

type PyArray3u8 = numpy::PyArray3<u8>;
