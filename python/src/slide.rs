//! `h2g.Slide`: a whole-slide image opened with OpenSlide (or a flat PNG/TIFF picture).

use std::path::PathBuf;

use numpy::{IntoPyArray, PyArray3};
use pyo3::prelude::*;

use h2g::mask::DEFAULT_MAX_PIXELS;
use h2g::slide::{open_slide, plan_read, read_at, SlideInfo, SlideMeta};
use h2g::units::Resolution;

use crate::{err, to_py};

/// A whole-slide image: ``Slide(path, mpp=None)``; ``mpp`` gives the level-0 pixel size in µm
/// for slides that record none.
#[pyclass(frozen, module = "h2g")]
pub struct Slide {
    pub(crate) path: PathBuf,
    pub(crate) mpp: Option<f64>,
    pub(crate) slide: Box<dyn h2g::slide::Slide>,
    pub(crate) meta: SlideMeta,
}

pub(crate) fn resolution(at: &str) -> PyResult<Resolution> {
    at.parse::<Resolution>()
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("at={at:?}: {e}")))
}

impl Slide {
    pub(crate) fn open(py: Python<'_>, path: PathBuf, mpp: Option<f64>) -> PyResult<Self> {
        if let Some(m) = mpp {
            h2g::units::check_mpp("mpp", m).map_err(err)?;
        }
        let slide = py
            .detach(|| open_slide(&path, DEFAULT_MAX_PIXELS))
            .map_err(err)?;
        let meta = SlideMeta::from_properties(slide.properties(), mpp);
        Ok(Slide {
            path,
            mpp,
            slide,
            meta,
        })
    }
}

#[pymethods]
impl Slide {
    #[new]
    #[pyo3(signature = (path, mpp = None))]
    fn new(py: Python<'_>, path: PathBuf, mpp: Option<f64>) -> PyResult<Self> {
        Self::open(py, path, mpp)
    }

    /// The slide's path.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// The level-0 pixel size in µm given when opening (``None``: the slide's own).
    #[getter]
    fn mpp(&self) -> Option<f64> {
        self.mpp
    }

    /// Everything ``h2g info --json`` reports: format, levels (size, downsample, µm/px,
    /// magnification), pixel size and objective with their sources, bounds, associated images,
    /// properties.
    #[getter]
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let info = SlideInfo::of(self.slide.as_ref(), self.meta.clone()).map_err(err)?;
        to_py(py, &info)
    }

    /// Level-0 (width, height).
    #[getter]
    fn dimensions(&self) -> PyResult<(u64, u64)> {
        self.slide.level_size(0).map_err(err)
    }

    /// Number of pyramid levels.
    #[getter]
    fn level_count(&self) -> usize {
        self.slide.level_count()
    }

    /// (width, height) of each level.
    #[getter]
    fn level_dimensions(&self) -> PyResult<Vec<(u64, u64)>> {
        (0..self.slide.level_count())
            .map(|l| self.slide.level_size(l).map_err(err))
            .collect()
    }

    /// Downsample of each level relative to level 0.
    #[getter]
    fn level_downsamples(&self) -> PyResult<Vec<f64>> {
        (0..self.slide.level_count())
            .map(|l| self.slide.level_downsample(l).map_err(err))
            .collect()
    }

    /// Reads ``width × height`` pixels at resolution ``at`` (``"10x"``, ``"1.0um"``,
    /// ``"ds:4"``, ``"level:2"``) whose top-left corner is the level-0 point (``x``, ``y``), as
    /// ``h2g region`` does: a resolution no level has is read from the next finer level and
    /// area-resampled. Width and height default to the rest of the slide. Returns a
    /// ``uint8`` array of shape (height, width, 3).
    #[pyo3(signature = (x = 0, y = 0, width = None, height = None, at = "level:0"))]
    fn read<'py>(
        &self,
        py: Python<'py>,
        x: u64,
        y: u64,
        width: Option<u32>,
        height: Option<u32>,
        at: &str,
    ) -> PyResult<Bound<'py, PyArray3<u8>>> {
        let target = resolution(at)?;
        let img = py
            .detach(|| {
                let plan = plan_read(self.slide.as_ref(), &self.meta, target)?;
                let (w0, h0) = self.slide.level_size(0)?;
                let ds = plan.target_downsample;
                let fit = |edge: u64, start: u64| {
                    (edge.saturating_sub(start) as f64 / ds).floor().max(1.0) as u32
                };
                let w = width.unwrap_or_else(|| fit(w0, x));
                let h = height.unwrap_or_else(|| fit(h0, y));
                h2g::slide::check_region(w, h)?;
                read_at(self.slide.as_ref(), &plan, x, y, w, h)
            })
            .map_err(err)?;
        let (w, h) = (img.width as usize, img.height as usize);
        let arr = numpy::ndarray::Array3::from_shape_vec((h, w, 3), img.data)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
        Ok(arr.into_pyarray(py))
    }

    fn __repr__(&self) -> String {
        let (w, h) = self.slide.level_size(0).unwrap_or((0, 0));
        format!(
            "Slide({:?}, {} × {}, {} levels)",
            self.path.display().to_string(),
            w,
            h,
            self.slide.level_count()
        )
    }
}
