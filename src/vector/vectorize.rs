//! `h2g vectorize` as a library call: a label mask file, streamed row batch by row batch through
//! the tracer, into a QuPath GeoJSON file (area filters, optional shared-boundary
//! simplification, the slide's downsample and frame).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::PathBuf;

use rayon::prelude::*;
use serde::Serialize;

use super::{
    default_color, filter_areas, simplify_topology, ClassEncoding, ClassSpec, GeoJsonWriter,
    LabelTracer, Placement, Polygon,
};
use crate::mask::{open_mask, MaskError, MaskOptions, MaskReader, RowSource};
use crate::output::write_file;
use crate::pyramid::Sample;
use crate::slide::{mask_downsample, open_slide, DownsampleError, SlideError, SlideMeta};
use crate::units::Length;

/// Rows per batch handed from the reading thread to the tracer.
const BATCH_ROWS: usize = 256;

/// What to vectorize, and how.
#[derive(Debug, Clone)]
pub struct VectorizeSpec {
    /// The mask (PNG or TIFF; label values).
    pub mask: PathBuf,
    /// The GeoJSON to write (replaced atomically when complete).
    pub output: PathBuf,
    /// The labels traced and their classes (labels ≤ 65535); empty: every non-zero label,
    /// named "Label N".
    pub classes: Vec<ClassSpec>,
    /// Level-0 pixels per mask pixel (default: from the slide's size, else 1).
    pub downsample: Option<f64>,
    /// The slide the mask belongs to (its size gives the downsample; its bounds QuPath's frame).
    pub slide: Option<PathBuf>,
    /// Level-0 pixel size in µm (default: the slide's), for areas and lengths in µm.
    pub mpp: Option<f64>,
    /// Annotations smaller than this many µm² are dropped.
    pub min_area: Option<f64>,
    /// Holes smaller than this many µm² are filled.
    pub max_hole: Option<f64>,
    /// Douglas–Peucker tolerance on the shared boundaries (holds every polygon until the end).
    pub simplify: Option<Length>,
    /// Coordinates in QuPath's frame (minus the slide's OpenSlide bounds origin).
    pub qupath_frame: bool,
    /// How classifications are written.
    pub encoding: ClassEncoding,
}

/// Why a mask could not be vectorized.
#[derive(Debug, thiserror::Error)]
pub enum VectorizeError {
    /// The mask could not be opened.
    #[error(transparent)]
    Mask(#[from] MaskError),
    /// The slide could not be opened.
    #[error(transparent)]
    Slide(#[from] SlideError),
    /// The mask's size fits no single downsample of the slide's.
    #[error("{} does not fit {slide} (pass --downsample if several fit)", mask.display())]
    NoFit {
        /// The mask.
        mask: PathBuf,
        /// The slide, as it names itself.
        slide: String,
        /// Why.
        #[source]
        source: DownsampleError,
    },
    /// An area or a pixel size out of its range.
    #[error(transparent)]
    Range(#[from] crate::units::RangeError),
    /// QuPath's frame without the slide that defines it.
    #[error("--frame qupath needs --slide (its OpenSlide bounds)")]
    FrameNeedsSlide,
    /// A class for a label a mask cannot hold.
    #[error("--class {label}={name}: mask labels are at most 65535")]
    Label {
        /// The label.
        label: u64,
        /// Its class name.
        name: String,
    },
    /// A size in µm on a slide that records no pixel size.
    #[error(
        "--min-area/--max-hole/--simplify in µm need a pixel size: the slide has none, pass --mpp"
    )]
    SlideHasNoPixelSize,
    /// A size in µm with neither a slide nor a pixel size.
    #[error("--min-area/--max-hole/--simplify in µm need a pixel size: pass --slide or --mpp")]
    NoPixelSize,
    /// Reading the mask or writing the GeoJSON failed.
    #[error("cannot vectorize {} into {}", mask.display(), output.display())]
    Write {
        /// The mask.
        mask: PathBuf,
        /// The GeoJSON.
        output: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Annotations written of one class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassCount {
    /// The mask label.
    pub label: u16,
    /// The class name.
    pub name: String,
    /// Annotations written.
    pub annotations: usize,
}

/// What a vectorization wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Vectorized {
    /// The mask.
    pub mask: PathBuf,
    /// The GeoJSON.
    pub output: PathBuf,
    /// Annotations written.
    pub annotations: usize,
    /// Per class, by ascending label.
    pub classes: Vec<ClassCount>,
}

impl fmt::Display for Vectorized {
    /// The line `h2g vectorize` prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per: Vec<String> = self
            .classes
            .iter()
            .map(|c| format!("{} {}", c.annotations, c.name))
            .collect();
        write!(
            f,
            "{}: {} annotations ({}) → {}",
            self.mask.display(),
            self.annotations,
            if per.is_empty() {
                "none".to_string()
            } else {
                per.join(", ")
            },
            self.output.display()
        )
    }
}

/// Traces the mask of `spec` into its GeoJSON, streaming (the polygons are held only with
/// `simplify`); `progress(rows done, rows)` hears the rows traced.
pub fn vectorize(
    spec: &VectorizeSpec,
    progress: &dyn Fn(u64, u64),
) -> Result<Vectorized, VectorizeError> {
    check_settings(spec)?;
    let (header, reader) = open_mask(&spec.mask, &MaskOptions::default())?;
    trace_into(
        spec,
        (header.width, header.height),
        reader,
        progress,
        |body| write_file(&spec.output, body),
    )
}

/// [`vectorize`] of a label image already in memory (`width × height` labels, row-major, from
/// a front end such as the Python package): the GeoJSON goes to `out` instead of
/// `spec.output`, and `spec.mask` only names the image in messages.
pub fn vectorize_labels(
    spec: &VectorizeSpec,
    labels: MaskReader,
    (width, height): (u32, u32),
    out: &mut Vec<u8>,
    progress: &dyn Fn(u64, u64),
) -> Result<Vectorized, VectorizeError> {
    check_settings(spec)?;
    trace_into(spec, (width, height), labels, progress, |body| body(out))
}

/// The settings, before any file is read.
fn check_settings(spec: &VectorizeSpec) -> Result<(), VectorizeError> {
    for (flag, v) in [("--min-area", spec.min_area), ("--max-hole", spec.max_hole)] {
        v.map(|v| crate::units::check_area(flag, v)).transpose()?;
    }
    spec.mpp
        .map(|v| crate::units::check_mpp("--mpp", v))
        .transpose()?;
    Ok(())
}

/// The writing of the GeoJSON, handed to where it goes.
type Body<'a> = Box<dyn FnOnce(&mut dyn Write) -> std::io::Result<usize> + 'a>;

fn trace_into(
    spec: &VectorizeSpec,
    (mw, mh): (u32, u32),
    reader: MaskReader,
    progress: &dyn Fn(u64, u64),
    sink: impl FnOnce(Body<'_>) -> std::io::Result<usize>,
) -> Result<Vectorized, VectorizeError> {
    let (w, h) = (mw as usize, mh as usize);
    let slide = spec
        .slide
        .as_ref()
        .map(|p| open_slide(p, 1 << 34))
        .transpose()?;
    let (d, bounds) = match &slide {
        Some(s) => {
            let (sw, sh) = s.level_size(0)?;
            // one downsample for both axes (the paper's convention), never a per-axis ratio
            let d = mask_downsample((mw, mh), (sw, sh), spec.downsample).map_err(|source| {
                VectorizeError::NoFit {
                    mask: spec.mask.clone(),
                    slide: s.source(),
                    source,
                }
            })?;
            (d, Some(s.bounds()))
        }
        None => (spec.downsample.unwrap_or(1.0), None),
    };
    if spec.qupath_frame && bounds.is_none() {
        return Err(VectorizeError::FrameNeedsSlide);
    }
    let place = Placement::at_downsample(d, bounds.filter(|_| spec.qupath_frame));
    if let Some(c) = spec.classes.iter().find(|c| c.label > u16::MAX as u64) {
        return Err(VectorizeError::Label {
            label: c.label,
            name: c.name.clone(),
        });
    }
    // µm per level-0 pixel, when a physical size is given
    let needs_mpp = spec.min_area.is_some()
        || spec.max_hole.is_some()
        || matches!(spec.simplify, Some(Length::Um(_)));
    let mpp = match (needs_mpp, spec.mpp, &slide) {
        (false, _, _) => 1.0,
        (true, Some(m), _) => m,
        (true, None, Some(s)) => SlideMeta::from_properties(s.properties(), None)
            .mpp
            .map(|p| p.x)
            .ok_or(VectorizeError::SlideHasNoPixelSize)?,
        (true, None, None) => return Err(VectorizeError::NoPixelSize),
    };
    // µm² per mask pixel, for the area filters
    let px_um2 = place.dx * place.dy * mpp * mpp;
    // the simplification tolerance in mask pixels
    let mask_px = (place.dx + place.dy) / 2.0;
    let tol = match spec.simplify {
        None => 0.0,
        Some(Length::Px(v)) => v / mask_px,
        Some(Length::Um(v)) => v / mpp / mask_px,
    };
    let (min_px, hole_px) = (
        spec.min_area.unwrap_or(0.0) / px_um2,
        spec.max_hole.unwrap_or(0.0) / px_um2,
    );
    let keep: Option<Vec<u16>> =
        (!spec.classes.is_empty()).then(|| spec.classes.iter().map(|c| c.label as u16).collect());
    let class_of = |l: u16| -> ClassSpec {
        spec.classes
            .iter()
            .find(|c| c.label == l as u64)
            .cloned()
            .unwrap_or_else(|| ClassSpec {
                label: l as u64,
                name: format!("Label {l}"),
                color: default_color(l as u64),
            })
    };
    let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
    let mut tracer = LabelTracer::new(keep);
    let rows_done = std::cell::Cell::new(0u64);
    let on_rows = |n: u64| {
        rows_done.set(rows_done.get() + n);
        progress(rows_done.get(), h as u64);
    };
    let n = sink(Box::new(|out| {
        let mut g = GeoJsonWriter::new(std::io::BufWriter::new(out), place, spec.encoding)?;
        // with `simplify` every polygon is held until the end: the boundaries they share are
        // simplified once for both sides (simplify_topology)
        let mut held: Vec<(u16, Polygon)> = Vec::new();
        let mut emit = |t: &mut LabelTracer| -> std::io::Result<()> {
            // area filters in parallel, writing in order
            let done: Vec<(u16, Polygon)> = t
                .take_done()
                .into_par_iter()
                .flat_map_iter(|(l, p)| {
                    filter_areas(vec![p], min_px, hole_px)
                        .into_iter()
                        .map(move |p| (l, p))
                })
                .collect();
            if tol > 0.0 {
                held.extend(done);
                return Ok(());
            }
            for (l, p) in done {
                g.polygon(&class_of(l), &p)?;
                *counts.entry(l).or_default() += 1;
            }
            Ok(())
        };
        match reader {
            MaskReader::U8(r) => stream_rows(r, w, h, &mut tracer, &on_rows, &mut emit)?,
            MaskReader::U16(r) => stream_rows(r, w, h, &mut tracer, &on_rows, &mut emit)?,
        }
        tracer.finish();
        emit(&mut tracer)?;
        if tol > 0.0 {
            let (labels, polys): (Vec<u16>, Vec<Polygon>) = held.into_iter().unzip();
            for (l, p) in labels.into_iter().zip(simplify_topology(&polys, tol)) {
                g.polygon(&class_of(l), &p)?;
                *counts.entry(l).or_default() += 1;
            }
        }
        let (n, mut out) = g.finish()?;
        out.flush()?;
        Ok(n)
    }))
    .map_err(|source| VectorizeError::Write {
        mask: spec.mask.clone(),
        output: spec.output.clone(),
        source,
    })?;
    Ok(Vectorized {
        mask: spec.mask.clone(),
        output: spec.output.clone(),
        annotations: n,
        classes: counts
            .into_iter()
            .map(|(label, annotations)| ClassCount {
                label,
                name: class_of(label).name,
                annotations,
            })
            .collect(),
    })
}

/// Reads the mask on a second thread in batches of rows while this one traces them.
fn stream_rows<T: Sample>(
    mut src: Box<dyn RowSource<T>>,
    w: usize,
    h: usize,
    tracer: &mut LabelTracer,
    on_rows: &dyn Fn(u64),
    emit: &mut dyn FnMut(&mut LabelTracer) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<T>, MaskError>>(2);
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut y = 0;
            while y < h {
                let n = BATCH_ROWS.min(h - y);
                let mut buf = vec![T::default(); n * w];
                let r = src.read_rows(&mut buf, n).map(|_| buf);
                let failed = r.is_err();
                if tx.send(r).is_err() || failed {
                    return;
                }
                y += n;
            }
        });
        for batch in rx {
            let rows = batch.map_err(std::io::Error::other)?;
            tracer.push_rows(&rows, w);
            on_rows((rows.len() / w.max(1)) as u64);
            emit(tracer)?;
        }
        Ok(())
    })
}
