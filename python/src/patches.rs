//! `h2g.patches`: a slide's patch table as numpy columns, the rules and numbers of
//! `h2g patches`.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use h2g::mask::DEFAULT_MAX_PIXELS;
use h2g::patches::{build_patches, LabelRule, MaskFile, PatchSpec, PatchesRun, TissueSource};

use crate::slide::{resolution, Slide};
use crate::{column, err};

/// The patch grid of ``slide`` at ``at`` with the tissue and tumour fraction of every patch and
/// the paper's label, as ``h2g patches`` computes them. ``slide`` is a :class:`Slide` or a
/// path; ``mask`` the tumour annotations (a mask file or QuPath GeoJSON); ``tissue`` a tissue
/// mask file, else tissue is detected with ``tissue_method`` (saturation, otsu, fast).
///
/// Returns a dict of equal-length numpy arrays: ``x``, ``y`` (level-0 top-left corners,
/// uint64), ``tissue_fraction``, ``tumour_fraction`` (float64; NaN without a mask) and
/// ``label`` (str), with ``level``, ``downsample`` and ``width`` (the level-0 side) of the
/// grid as scalars. Only kept patches unless ``all``.
#[pyfunction]
#[pyo3(signature = (
    slide, mask = None, *, mask_downsample = None, tumour_label = None, tumour_class = None,
    tissue = None, tissue_downsample = None, tissue_method = "saturation", size = 256,
    at = "10x", min_tissue = 0.25, min_tumour = 0.25, all = false, mpp = None
))]
#[allow(clippy::too_many_arguments)]
pub fn patches<'py>(
    py: Python<'py>,
    slide: &Bound<'py, PyAny>,
    mask: Option<PathBuf>,
    mask_downsample: Option<f64>,
    tumour_label: Option<u64>,
    tumour_class: Option<String>,
    tissue: Option<PathBuf>,
    tissue_downsample: Option<f64>,
    tissue_method: &str,
    size: u32,
    at: &str,
    min_tissue: f64,
    min_tumour: f64,
    all: bool,
    mpp: Option<f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let tissue = match tissue {
        Some(path) => TissueSource::Mask(MaskFile {
            path,
            downsample: tissue_downsample,
            label: None,
            class: None,
        }),
        None => TissueSource::detect_by_name(tissue_method).map_err(err)?,
    };
    let run = PatchesRun {
        slide: PathBuf::new(),
        mpp,
        spec: PatchSpec {
            size,
            at: resolution(at)?,
            rule: LabelRule {
                min_tissue,
                min_tumour,
            },
            all,
        },
        tissue,
        tumour: mask.map(|path| MaskFile {
            path,
            downsample: mask_downsample,
            label: tumour_label,
            class: tumour_class,
        }),
        csv: PathBuf::new(),
        export: None,
        max_picture_pixels: DEFAULT_MAX_PIXELS,
    };
    run.check().map_err(err)?;
    let opened;
    let s: &Slide = match slide.cast::<Slide>() {
        Ok(s) => {
            opened = s.clone();
            opened.get()
        }
        Err(_) => {
            let path: PathBuf = slide.extract()?;
            let s = Bound::new(py, Slide::open(py, path, mpp)?)?;
            opened = s;
            opened.get()
        }
    };
    let meta = match mpp {
        Some(m) => h2g::slide::SlideMeta::from_properties(s.slide.properties(), Some(m)),
        None => s.meta.clone(),
    };
    let table = py
        .detach(|| {
            build_patches(
                s.slide.as_ref(),
                &meta,
                &run.spec,
                &run.tissue,
                run.tumour.as_ref(),
                &|_| {},
            )
        })
        .map_err(err)?;
    let rows: Vec<_> = table
        .patches
        .iter()
        .filter(|p| all || p.label.kept())
        .collect();
    let d = PyDict::new(py);
    column(&d, "x", rows.iter().map(|p| p.x))?;
    column(&d, "y", rows.iter().map(|p| p.y))?;
    column(
        &d,
        "tissue_fraction",
        rows.iter().map(|p| p.tissue_fraction),
    )?;
    column(
        &d,
        "tumour_fraction",
        rows.iter().map(|p| p.tumour_fraction.unwrap_or(f64::NAN)),
    )?;
    let labels: Vec<&str> = rows.iter().map(|p| p.label.as_str()).collect();
    let np = py.import("numpy")?;
    d.set_item("label", np.call_method1("array", (labels,))?)?;
    d.set_item("level", table.plan.level)?;
    d.set_item("downsample", table.grid.downsample)?;
    d.set_item("width", table.grid.side().round() as u64)?;
    Ok(d)
}
