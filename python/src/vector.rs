//! `h2g.vectorize` and `h2g.rasterize`: label masks ↔ QuPath GeoJSON, through the same code as
//! `h2g vectorize` and `h2g rasterize`.

use std::path::PathBuf;
use std::sync::Arc;

use numpy::{IntoPyArray, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use h2g::mask::{open_mask, MaskOptions, MaskReader, MemoryRows};
use h2g::units::Length;
use h2g::vector::{
    default_color, rasterize_file, vectorize_labels, ClassEncoding, ClassSpec, Jdk, MaskSize,
    PixelRule, RasterizeSpec, VectorizeSpec,
};

use crate::err;

fn classes_of(classes: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<ClassSpec>> {
    let Some(c) = classes else {
        return Ok(Vec::new());
    };
    if let Ok(d) = c.cast::<PyDict>() {
        let mut out = Vec::new();
        for (k, v) in d.iter() {
            let label: u64 = k.extract()?;
            out.push(ClassSpec {
                label,
                name: v.extract()?,
                color: default_color(label),
            });
        }
        return Ok(out);
    }
    let specs: Vec<String> = c.extract().map_err(|_| {
        PyTypeError::new_err(
            "classes must be a dict {label: name} or a list of 'LABEL=NAME[:#RRGGBB]' strings",
        )
    })?;
    specs
        .iter()
        .map(|s| s.parse::<ClassSpec>().map_err(err))
        .collect()
}

fn simplify_of(v: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Length>> {
    let Some(v) = v else { return Ok(None) };
    if let Ok(px) = v.extract::<f64>() {
        return Ok(Some(Length::Px(px)));
    }
    let s: String = v.extract()?;
    s.parse::<Length>()
        .map(Some)
        .map_err(|e| PyValueError::new_err(format!("simplify={s:?}: {e}")))
}

/// Traces a label mask (a 2-D ``uint8`` or ``uint16`` array) into QuPath GeoJSON, as
/// ``h2g vectorize`` does: one annotation per connected region of each label, vertices on pixel
/// corners, an exact round trip through :func:`rasterize`. ``classes`` maps labels to QuPath
/// classes (``{1: "Tumor"}`` or ``["1=Tumor:#c80000"]``; default every non-zero label as
/// "Label N"); ``downsample`` (level-0 pixels per mask pixel) places the coordinates, or
/// ``slide`` gives it from its size; ``min_area``/``max_hole`` (µm²) and ``simplify``
/// (``"2px"``, ``"1um"``) as on the command line; ``qupath_version`` "0.2" or "0.4" picks the
/// classification encoding. Returns the FeatureCollection as a dict.
#[pyfunction]
#[pyo3(signature = (
    mask, *, classes = None, downsample = None, slide = None, mpp = None, min_area = None,
    max_hole = None, simplify = None, qupath_frame = false, qupath_version = "0.2"
))]
#[allow(clippy::too_many_arguments)]
pub fn vectorize<'py>(
    py: Python<'py>,
    mask: &Bound<'py, PyUntypedArray>,
    classes: Option<&Bound<'py, PyAny>>,
    downsample: Option<f64>,
    slide: Option<PathBuf>,
    mpp: Option<f64>,
    min_area: Option<f64>,
    max_hole: Option<f64>,
    simplify: Option<&Bound<'py, PyAny>>,
    qupath_frame: bool,
    qupath_version: &str,
) -> PyResult<Bound<'py, PyAny>> {
    if mask.ndim() != 2 {
        return Err(PyValueError::new_err(format!(
            "mask must be a 2-D label array (height × width), not of shape {:?}",
            mask.shape()
        )));
    }
    let (h, w) = (mask.shape()[0], mask.shape()[1]);
    if w == 0 || h == 0 || w > u32::MAX as usize || h > u32::MAX as usize {
        return Err(PyValueError::new_err(format!(
            "a {w} × {h} mask cannot be traced"
        )));
    }
    let reader = if let Ok(a) = mask.cast::<numpy::PyArray2<u8>>() {
        let v: Vec<u8> = a.readonly().as_array().iter().copied().collect();
        MaskReader::U8(Box::new(MemoryRows::new(Arc::new(v), w)))
    } else if let Ok(a) = mask.cast::<numpy::PyArray2<u16>>() {
        let v: Vec<u16> = a.readonly().as_array().iter().copied().collect();
        MaskReader::U16(Box::new(MemoryRows::new(Arc::new(v), w)))
    } else if let Ok(a) = mask.cast::<numpy::PyArray2<bool>>() {
        let v: Vec<u8> = a.readonly().as_array().iter().map(|&b| b as u8).collect();
        MaskReader::U8(Box::new(MemoryRows::new(Arc::new(v), w)))
    } else {
        return Err(PyTypeError::new_err(format!(
            "mask must be uint8, uint16 or bool, not {}",
            mask.dtype()
        )));
    };
    let encoding = match qupath_version {
        "0.2" | "0.3" => ClassEncoding::ColorRgb,
        "0.4" | "0.5" | "0.6" | "0.7" => ClassEncoding::ColorArray,
        other => {
            return Err(PyValueError::new_err(format!(
                "qupath_version must be 0.2 to 0.7, not {other:?}"
            )))
        }
    };
    let spec = VectorizeSpec {
        mask: PathBuf::from("<array>"),
        output: PathBuf::from("<dict>"),
        classes: classes_of(classes)?,
        downsample,
        slide,
        mpp,
        min_area,
        max_hole,
        simplify: simplify_of(simplify)?,
        qupath_frame,
        encoding,
    };
    let mut out = Vec::new();
    py.detach(|| vectorize_labels(&spec, reader, (w as u32, h as u32), &mut out, &|_, _| {}))
        .map_err(err)?;
    let text = String::from_utf8(out).map_err(|e| PyValueError::new_err(e.to_string()))?;
    py.import("json")?.call_method1("loads", (text,))
}

/// Paints QuPath annotations (a GeoJSON dict, or a path to any file ``h2g rasterize`` reads)
/// into a label mask exactly as QuPath's labelled-image export does (``rule="qupath"``; or
/// ``"top-left"``, ``"centre"``). The size is ``size=(width, height)`` or that of the slide
/// ``like`` at ``downsample``. ``classes`` maps class names to labels in priority order
/// (``{"Tumor": 1}`` or ``[("Tumor", 1)]``; default every class, 1, 2, … in order of first
/// appearance). Returns a ``uint8`` array (``uint16`` when a label is above 255) of shape
/// (height, width).
#[pyfunction]
#[pyo3(signature = (
    annotations, *, size = None, like = None, downsample = 1.0, classes = None,
    unclassified = None, ignore_unknown = false, rule = "qupath", line_thickness = 1.0,
    jdk = 21, ellipses_as_polygons = false, drop_repeated_vertices = false
))]
#[allow(clippy::too_many_arguments)]
pub fn rasterize<'py>(
    py: Python<'py>,
    annotations: &Bound<'py, PyAny>,
    size: Option<(u64, u64)>,
    like: Option<PathBuf>,
    downsample: f64,
    classes: Option<&Bound<'py, PyAny>>,
    unclassified: Option<u16>,
    ignore_unknown: bool,
    rule: &str,
    line_thickness: f32,
    jdk: u32,
    ellipses_as_polygons: bool,
    drop_repeated_vertices: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let size = match (like, size) {
        (Some(p), None) => MaskSize::Like(p),
        (None, Some((w, h))) => MaskSize::Pixels(w, h),
        _ => {
            return Err(PyValueError::new_err(
                "give the mask size: size=(width, height) or like=SLIDE, one of the two",
            ))
        }
    };
    let rule = match rule {
        "qupath" => PixelRule::Qupath,
        "top-left" => PixelRule::TopLeft,
        "centre" | "center" => PixelRule::Centre,
        other => {
            return Err(PyValueError::new_err(format!(
                "rule must be qupath, top-left or centre, not {other:?}"
            )))
        }
    };
    let jdk = match jdk {
        17 => Jdk::Jdk17,
        21 => Jdk::Jdk21,
        other => {
            return Err(PyValueError::new_err(format!(
                "jdk must be 17 or 21, not {other}"
            )))
        }
    };
    let classes: Vec<(String, u16)> = match classes {
        None => Vec::new(),
        Some(c) => match c.cast::<PyDict>() {
            Ok(d) => d
                .iter()
                .map(|(k, v)| Ok((k.extract()?, v.extract()?)))
                .collect::<PyResult<_>>()?,
            Err(_) => c.extract()?,
        },
    };
    let dir = tempfile::tempdir().map_err(|e| crate::H2gError::new_err(e.to_string()))?;
    let source = if annotations.cast::<PyDict>().is_ok() {
        let text: String = py
            .import("json")?
            .call_method1("dumps", (annotations,))?
            .extract()?;
        let p = dir.path().join("annotations.geojson");
        std::fs::write(&p, text).map_err(|e| crate::H2gError::new_err(e.to_string()))?;
        p
    } else {
        annotations
            .extract::<PathBuf>()
            .map_err(|_| PyTypeError::new_err("annotations must be a GeoJSON dict or a path"))?
    };
    let spec = RasterizeSpec {
        annotations: source,
        output: dir.path().join("mask.tif"),
        size,
        downsample,
        classes,
        unclassified,
        ignore_unknown,
        ellipses_as_polygons,
        rule,
        line_thickness,
        jdk,
        drop_repeated_vertices,
        progress: false,
    };
    let done = py.detach(|| rasterize_file(&spec)).map_err(err)?;
    let (_, reader) = py
        .detach(|| open_mask(&spec.output, &MaskOptions::default()))
        .map_err(err)?;
    let (w, h) = (done.width, done.height);
    match reader {
        MaskReader::U8(mut r) => {
            let mut v = vec![0u8; w * h];
            py.detach(|| r.read_rows(&mut v, h)).map_err(err)?;
            Ok(v.into_pyarray(py).reshape([h, w])?.into_any())
        }
        MaskReader::U16(mut r) => {
            let mut v = vec![0u16; w * h];
            py.detach(|| r.read_rows(&mut v, h)).map_err(err)?;
            Ok(v.into_pyarray(py).reshape([h, w])?.into_any())
        }
    }
}
