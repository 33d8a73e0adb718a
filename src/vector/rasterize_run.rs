//! `h2g rasterize` as a library run: annotations file → label mask file (PNG, or a tiled
//! pyramidal TIFF), classes mapped to labels in priority order, streamed row by row.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use super::{
    read_annotations, self_crossing, Annotations, Figure, Jdk, LineStroke, LineStrokeError,
    PixelRule, QupathFill, ReadError, RingCheck, ScanFill,
};
use crate::convert::{write_mask, ConvertError, ConvertSpec, PaletteMode};
use crate::mask::{MaskHeader, MaskReader};
use crate::output::{progress, write_png_rows};

/// How large the mask is.
#[derive(Debug, Clone, PartialEq)]
pub enum MaskSize {
    /// Like this slide at the downsample: floor(W/d) × floor(H/d).
    Like(PathBuf),
    /// This many pixels (at the downsample).
    Pixels(u64, u64),
}

/// A rasterization.
#[derive(Debug, Clone)]
pub struct RasterizeSpec {
    /// The annotations (any format [`read_annotations`] reads).
    pub annotations: PathBuf,
    /// The mask to write: `.png` for a PNG, anything else a tiled pyramidal TIFF.
    pub output: PathBuf,
    /// Its size.
    pub size: MaskSize,
    /// Level-0 pixels per mask pixel.
    pub downsample: f64,
    /// Class name → label, in priority order (later ones paint over earlier ones); empty: every
    /// class, labels 1, 2, … in order of first appearance.
    pub classes: Vec<(String, u16)>,
    /// The label of unclassified annotations (default: the next free label when `classes` is
    /// empty; not drawn when it is not).
    pub unclassified: Option<u16>,
    /// Skip classes `classes` does not name instead of failing.
    pub ignore_unknown: bool,
    /// Draw `"isEllipse"` polygons as the polygons they are (QuPath ≤ 0.3).
    pub ellipses_as_polygons: bool,
    /// How annotations become pixels.
    pub rule: PixelRule,
    /// QuPath's `lineThickness`, in output pixels.
    pub line_thickness: f32,
    /// The Java whose stroker QuPath ran on.
    pub jdk: Jdk,
    /// Drop repeated line vertices first, as QuPath ≥ 0.6 does on import.
    pub drop_repeated_vertices: bool,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
}

/// Why a rasterization failed.
#[derive(Debug, thiserror::Error)]
pub enum RasterizeError {
    /// The annotations cannot be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The slide that gives the size cannot be read.
    #[error(transparent)]
    Slide(#[from] crate::slide::SlideError),
    /// A mask side of 0 or over 2³² − 1 pixels.
    #[error("a {width} × {height} mask: each side must be 1 to 2^32 − 1 pixels")]
    Size {
        /// Its width.
        width: u64,
        /// Its height.
        height: u64,
    },
    /// A downsample that is not a positive number.
    #[error("--downsample must be a positive number, not {0}")]
    Downsample(f64),
    /// A mask side over the policy's [`Limit::RasterSide`](crate::limits::Limit::RasterSide)
    /// (its rows are held whole).
    #[error(transparent)]
    Limit(#[from] crate::limits::LimitError),
    /// Classes that no mapping names.
    #[error(
        "{} has classes that no --class maps: {} (map them, or pass --ignore-unknown)",
        path.display(),
        classes.join(", ")
    )]
    UnknownClasses {
        /// The annotations.
        path: PathBuf,
        /// The classes.
        classes: Vec<String>,
    },
    /// A line thickness out of range.
    #[error(transparent)]
    Stroke(#[from] LineStrokeError),
    /// The PNG cannot be written.
    #[error("cannot write {}", path.display())]
    Png {
        /// The PNG.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TIFF cannot be written.
    #[error(transparent)]
    Tiff(#[from] ConvertError),
}

/// How many figures of each kind were drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FigureCounts {
    /// Polygons.
    pub polygons: usize,
    /// QuPath rectangles.
    pub rectangles: usize,
    /// QuPath ellipses.
    pub ellipses: usize,
    /// Point sets.
    pub points: usize,
    /// Line features.
    pub lines: usize,
}

/// A ring that crosses itself (filled as QuPath fills it).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SelfCrossing {
    /// The annotation, from 1.
    pub annotation: usize,
    /// Its class.
    pub class: Option<String>,
    /// The polygon of the annotation, from 0.
    pub polygon: usize,
    /// The ring: 0 the shell, then the holes.
    pub ring: usize,
    /// Near where.
    pub at: (f64, f64),
    /// `false` when the ring touches itself at vertices too often to be checked: `at` is one
    /// such point, and the ring may or may not cross itself.
    pub checked: bool,
}

/// What a rasterization did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rasterized {
    /// The mask's width.
    pub width: usize,
    /// Its height.
    pub height: usize,
    /// Class → label, in priority order (`None`: unclassified).
    pub labels: Vec<(Option<String>, u16)>,
    /// Polygonal annotations read.
    pub annotations: usize,
    /// Features without area.
    pub skipped: usize,
    /// Figures drawn, by kind.
    pub drawn: FigureCounts,
    /// Line parts (LineString pieces) of the drawn classes.
    pub line_parts: usize,
    /// Self-crossing rings.
    pub self_crossings: Vec<SelfCrossing>,
}

/// The self-crossing rings of `ann`.
pub fn self_crossings(ann: &Annotations) -> Vec<SelfCrossing> {
    let mut found = Vec::new();
    for (i, item) in ann.items.iter().enumerate() {
        for (polygon, poly) in item.polygons.iter().enumerate() {
            for (ring, r) in poly.iter().enumerate() {
                let (at, checked) = match self_crossing(r) {
                    RingCheck::Simple => continue,
                    RingCheck::Crosses(at) => (at, true),
                    RingCheck::TooManyTouches(at) => (at, false),
                };
                found.push(SelfCrossing {
                    annotation: i + 1,
                    class: item.class.clone(),
                    polygon,
                    ring,
                    at,
                    checked,
                });
            }
        }
    }
    found
}

/// Class → label in priority order, from the spec and what the file holds.
fn labels_of(
    spec: &RasterizeSpec,
    ann: &Annotations,
) -> Result<Vec<(Option<String>, u16)>, RasterizeError> {
    let classes = || {
        ann.items
            .iter()
            .map(|i| &i.class)
            .chain(ann.marks.iter().map(|m| &m.class))
    };
    let mut order: Vec<(Option<String>, u16)> = Vec::new();
    if spec.classes.is_empty() {
        let mut seen: Vec<String> = Vec::new();
        for c in classes().flatten() {
            if !seen.contains(c) {
                seen.push(c.clone());
            }
        }
        for (i, c) in seen.iter().enumerate() {
            order.push((Some(c.clone()), (i + 1) as u16));
        }
        // unclassified annotations (a bare geometry, say) get the next label, drawn first
        if spec.unclassified.is_none() && classes().any(Option::is_none) {
            order.insert(0, (None, (seen.len() + 1) as u16));
        }
    } else {
        order.extend(spec.classes.iter().map(|(n, l)| (Some(n.clone()), *l)));
        let known: BTreeSet<&str> = spec.classes.iter().map(|(n, _)| n.as_str()).collect();
        let unknown: BTreeSet<&str> = classes()
            .filter_map(|c| c.as_deref())
            .filter(|c| !known.contains(c))
            .collect();
        if !unknown.is_empty() && !spec.ignore_unknown {
            return Err(RasterizeError::UnknownClasses {
                path: spec.annotations.clone(),
                classes: unknown.into_iter().map(str::to_string).collect(),
            });
        }
    }
    if let Some(l) = spec.unclassified {
        order.insert(0, (None, l));
    }
    Ok(order)
}

fn size_of(spec: &RasterizeSpec) -> Result<(usize, usize), RasterizeError> {
    let d = spec.downsample;
    if !(d.is_finite() && d > 0.0) {
        return Err(RasterizeError::Downsample(d));
    }
    let (w, h) = match &spec.size {
        MaskSize::Like(p) => {
            let s = crate::slide::open_slide(p, 1 << 34)?;
            let (sw, sh) = s.level_size(0)?;
            (
                ((sw as f64 / d).floor() as u64).max(1),
                ((sh as f64 / d).floor() as u64).max(1),
            )
        }
        MaskSize::Pixels(w, h) => (*w, *h),
    };
    if w == 0 || h == 0 || w > u32::MAX as u64 || h > u32::MAX as u64 {
        return Err(RasterizeError::Size {
            width: w,
            height: h,
        });
    }
    // a row (and per-row state down the side) is held whole: both sides bounded first
    let what = format!("the {w} × {h} mask's longer side");
    crate::limits::check(crate::limits::Limit::RasterSide, &what, w.max(h))?;
    Ok((w as usize, h as usize))
}

/// Reads the annotations of `spec`, fills them by its rule and writes the mask.
pub fn rasterize_file(spec: &RasterizeSpec) -> Result<Rasterized, RasterizeError> {
    // the settings first, then the (possibly large) file
    let (w, h) = size_of(spec)?;
    let stroke = LineStroke::new(spec.line_thickness, spec.jdk)?;
    let mut ann = read_annotations(&spec.annotations)?;
    if spec.ellipses_as_polygons {
        ann.items.iter_mut().for_each(|i| i.ellipse = false);
    }
    let order = labels_of(spec, &ann)?;
    let rank: HashMap<&Option<String>, usize> =
        order.iter().enumerate().map(|(i, (c, _))| (c, i)).collect();
    let line_parts = ann.lines_where(|c| rank.contains_key(&c.map(str::to_string)));
    let mut drawn = FigureCounts::default();
    let mut layers: Vec<(u16, Vec<Figure>)> = Vec::with_capacity(order.len());
    for (class, label) in &order {
        let mut figs = ann.figures_where(|c| c == class.as_deref());
        if spec.drop_repeated_vertices {
            figs = figs
                .into_iter()
                .map(Figure::without_repeated_vertices)
                .collect();
        }
        for f in &figs {
            match f {
                Figure::Area { .. } => drawn.polygons += 1,
                Figure::Rect { .. } => drawn.rectangles += 1,
                Figure::Ellipse { .. } => drawn.ellipses += 1,
                Figure::Points(_) => drawn.points += 1,
                Figure::Lines(_) | Figure::Line(_) => drawn.lines += 1,
            }
        }
        layers.push((*label, figs));
    }
    let report = Rasterized {
        width: w,
        height: h,
        labels: order,
        annotations: ann.items.len(),
        skipped: ann.skipped,
        drawn,
        line_parts,
        self_crossings: self_crossings(&ann),
    };
    drop(ann);
    let d = spec.downsample;
    let max = report.labels.iter().map(|o| o.1).max().unwrap_or(0);
    let fill = if spec.rule == PixelRule::Qupath {
        Fill::Qupath(Box::new(QupathFill::with_stroke(&layers, w, h, d, stroke)))
    } else {
        Fill::Exact(ScanFill::figures(&layers, w, h, d, spec.rule))
    };
    drop(layers);
    write(spec, fill, (w, h), max > 255)?;
    Ok(report)
}

/// Writes the mask the rows of `fill` make.
fn write(
    spec: &RasterizeSpec,
    mut fill: Fill,
    (w, h): (usize, usize),
    sixteen: bool,
) -> Result<(), RasterizeError> {
    let png = spec
        .output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if png {
        let mut row = vec![0u16; w];
        let bar = progress(Some(h as u64), "rasterizing", spec.progress);
        write_png_rows(&spec.output, w as u32, h as u32, sixteen, |_, buf| {
            fill.fill_row(&mut row);
            if sixteen {
                for (d, v) in buf.chunks_exact_mut(2).zip(&row) {
                    d.copy_from_slice(&v.to_be_bytes());
                }
            } else {
                for (d, v) in buf.iter_mut().zip(&row) {
                    *d = *v as u8;
                }
            }
            bar.inc(1);
            Ok(())
        })
        .map_err(|source| RasterizeError::Png {
            path: spec.output.clone(),
            source,
        })?;
        bar.finish_and_clear();
        return Ok(());
    }
    let header = MaskHeader {
        width: w as u32,
        height: h as u32,
        encoding: "rasterized annotations".into(),
        palette: None,
    };
    let reader = match (fill, sixteen) {
        (Fill::Qupath(q), true) => MaskReader::U16(q),
        (Fill::Qupath(q), false) => MaskReader::U8(q),
        (Fill::Exact(e), true) => MaskReader::U16(Box::new(e)),
        (Fill::Exact(e), false) => MaskReader::U8(Box::new(e)),
    };
    let convert = ConvertSpec {
        palette: PaletteMode::Drop,
        progress: spec.progress,
        tile: 512,
        made_by: "rasterize",
        ..ConvertSpec::default()
    };
    write_mask(&spec.annotations, header, reader, &spec.output, &convert)?;
    Ok(())
}

/// The row source of the chosen rule.
enum Fill {
    Qupath(Box<QupathFill>),
    Exact(ScanFill),
}

impl Fill {
    fn fill_row(&mut self, row: &mut [u16]) {
        match self {
            Fill::Qupath(q) => q.fill_row(row),
            Fill::Exact(e) => e.fill_row(row),
        }
    }
}
