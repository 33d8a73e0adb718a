//! One truth–prediction comparison at a common resolution, streamed row by row.
//!
//! Inputs are masks (PNG/TIFF, with the downsample they were exported at) or QuPath GeoJSON
//! (level-0 coordinates). They are compared on the grid of one downsample `D`: by default the
//! coarser of the masks' downsamples (4 when both are GeoJSON). A mask at `D` is used as it is;
//! a finer one is brought to `D` by block majority ([`super::BlockMajority`]; `D` must then be a
//! whole multiple of its downsample); a coarser one is refused (it would have to be enlarged).
//! GeoJSON is filled at `D` as QuPath's labelled-image export draws it ([`PixelRule::Qupath`],
//! docs/rasterize.md). The grid is the smallest of the inputs' sizes at `D`; inputs that differ from it by more
//! than one pixel are a size/downsample mismatch, never silently cropped.
//!
//! [`compare_classes`] compares label masks class by class in the same single pass: for each
//! [`LabelClass`], positive = the pixel's value is the class's (in the truth and in the
//! prediction with their own values), a finer mask brought to the grid by block majority of each
//! class's mask, GeoJSON filled per class name (where annotations of two classes overlap, the
//! later class in the list wins).

use std::path::{Path, PathBuf};

use super::classes::lookup;
use super::{BlockMajority, ClassBlocks, Confusion, LabelClass};
use crate::mask::RowSource;
use crate::mask::{open_any_mask, AboveThreshold, AnyMask, MaskError, MaskOptions, MaskReader};
use crate::vector::{read_annotations, PixelRule, ReadError, ScanFill};

/// Errors of a comparison.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// A mask could not be read.
    #[error(transparent)]
    Mask(#[from] MaskError),
    /// A GeoJSON file could not be read.
    #[error(transparent)]
    Annotations(#[from] ReadError),
    /// A mask whose downsample is neither given nor derivable (no level-0 size).
    #[error("{}: its downsample is unknown (give it, or the slide's level-0 size)", path.display())]
    UnknownDownsample {
        /// The mask.
        path: PathBuf,
    },
    /// A mask downsample that is not a positive number.
    #[error("{}: downsample {downsample} is not a positive number", path.display())]
    BadDownsample {
        /// The mask.
        path: PathBuf,
        /// The downsample given.
        downsample: f64,
    },
    /// A mask coarser than the grid of the comparison.
    #[error(
        "{}: at downsample {downsample} it is coarser than the comparison grid (downsample \
         {grid}); compare at --downsample {downsample} or coarser",
        path.display()
    )]
    Coarser {
        /// The mask.
        path: PathBuf,
        /// Its downsample.
        downsample: f64,
        /// The comparison grid's downsample.
        grid: f64,
    },
    /// A comparison grid that is no whole multiple of a mask's downsample.
    #[error("{}: downsample {grid} is not a whole multiple of its downsample {downsample}", path.display())]
    NotAMultiple {
        /// The mask.
        path: PathBuf,
        /// Its downsample.
        downsample: f64,
        /// The comparison grid's downsample.
        grid: f64,
    },
    /// Two GeoJSON inputs and no slide to give the grid's size.
    #[error("{}: GeoJSON against GeoJSON needs the slide's level-0 size", path.display())]
    NoLevel0 {
        /// The first GeoJSON file.
        path: PathBuf,
    },
    /// The two inputs, on the comparison grid, differ by more than a row or column.
    #[error(
        "{}: {} × {} at downsample {grid}{} against {} × {} for the other input: they do not \
         cover the same slide (check the downsamples)",
        path.display(), size.0, size.1,
        own.map(|(ds, (w, h))| format!(" ({w} × {h} at downsample {ds})")).unwrap_or_default(),
        other.0, other.1
    )]
    Extent {
        /// The input that is too large.
        path: PathBuf,
        /// Its size on the comparison grid.
        size: (usize, usize),
        /// The comparison grid's downsample.
        grid: f64,
        /// A mask's own downsample and size.
        own: Own,
        /// The other input's size on the grid.
        other: (usize, usize),
    },
    /// A mask's size does not give its downsample against the slide's level 0.
    #[error("{}: {cause} (the cohort's truth_downsample / prediction_downsample give it)", path.display())]
    Downsample {
        path: PathBuf,
        cause: Box<crate::slide::DownsampleError>,
    },
    /// A float probability map in a comparison of classes.
    #[error(
        "{}: a 32-bit float map has no class values; --classes compares label masks (8- or \
         16-bit, value = class index): give the label mask, or drop --classes and use --threshold",
        path.display()
    )]
    FloatLabels {
        /// The map.
        path: PathBuf,
    },
    /// A threshold that is negative or not a number.
    #[error("{}: threshold {threshold} must be a finite number ≥ 0 (e.g. 0 for labels, 0.5 for a 0–1 map)", path.display())]
    Threshold {
        /// The mask.
        path: PathBuf,
        /// The threshold given.
        threshold: f64,
    },
}

/// One side of a comparison.
#[derive(Debug, Clone)]
pub enum Input {
    /// A label or binary mask, or a probability map (a TIFF of 32-bit floats); positive where
    /// the value is greater than `threshold` (strictly, for both).
    Mask {
        /// The file.
        path: PathBuf,
        /// Level-0 pixels per mask pixel, when known.
        downsample: Option<f64>,
        /// Values greater than this are positive (0: non-zero labels; 127 for 0–255 maps, 0.5
        /// for a 0–1 float map); a finite number ≥ 0.
        threshold: f64,
    },
    /// QuPath GeoJSON; the polygons of the listed classes (all when empty) are positive.
    GeoJson {
        /// The file.
        path: PathBuf,
        /// Classes counted as positive (empty: every annotation).
        classes: Vec<String>,
    },
}

impl Input {
    /// Takes a path: GeoJSON (`.geojson`, `.json`, also gzipped) or a mask.
    pub fn from_path(path: &Path, downsample: Option<f64>, threshold: f64) -> Input {
        if crate::vector::is_geojson_path(path) {
            Input::GeoJson {
                path: path.into(),
                classes: Vec::new(),
            }
        } else {
            Input::Mask {
                path: path.into(),
                downsample,
                threshold,
            }
        }
    }

    fn path(&self) -> &Path {
        match self {
            Input::Mask { path, .. } | Input::GeoJson { path, .. } => path,
        }
    }
}

/// The result of one comparison.
#[derive(Debug, Clone)]
pub struct Compared {
    /// Pixel counts on the common grid.
    pub confusion: Confusion,
    /// The grid's downsample.
    pub downsample: f64,
    /// The grid's size.
    pub size: (usize, usize),
    /// Both masks shrunk for a thumbnail (a cell is set when any grid pixel of its block is).
    pub outline: Outline,
}

/// The result of one comparison of classes ([`compare_classes`]).
#[derive(Debug, Clone)]
pub struct ComparedClasses {
    /// Pixel counts on the common grid, one per class in the order given.
    pub confusion: Vec<Confusion>,
    /// The grid's downsample.
    pub downsample: f64,
    /// The grid's size.
    pub size: (usize, usize),
    /// Each class's truth and prediction at thumbnail scale, in the order given.
    pub outline: Vec<Outline>,
}

/// Truth and prediction at thumbnail scale: `scale` grid pixels per cell, row-major `w × h`.
#[derive(Debug, Clone, Default)]
pub struct Outline {
    /// Grid pixels per thumbnail pixel.
    pub scale: usize,
    /// Width in cells.
    pub w: usize,
    /// Height in cells.
    pub h: usize,
    /// Truth cells.
    pub truth: Vec<bool>,
    /// Prediction cells.
    pub pred: Vec<bool>,
}

/// The longest side of the thumbnails, in pixels.
pub const THUMB_SIDE: usize = 320;

/// The row source of one input at the common grid: one binary row, or one per class (class
/// `k`'s at `k × width`).
enum Rows {
    U8(BlockMajority<u8>),
    U16(BlockMajority<u16>),
    Fill(ScanFill, Vec<u8>),
    ClassU8(ClassBlocks<u8>),
    ClassU16(ClassBlocks<u16>),
    /// Filled with the class index + 1 of each pixel, split into `classes` rows.
    FillClasses(ScanFill, Vec<u8>, usize),
}

impl Rows {
    fn next(&mut self, out: &mut [u8]) -> Result<(), MaskError> {
        match self {
            Rows::U8(b) => b.next_row(out),
            Rows::U16(b) => b.next_row(out),
            Rows::ClassU8(b) => b.next_row(out),
            Rows::ClassU16(b) => b.next_row(out),
            Rows::Fill(f, buf) => {
                f.read_rows(buf, 1)?;
                for (o, v) in out.iter_mut().zip(buf.iter()) {
                    *o = (*v != 0) as u8;
                }
                Ok(())
            }
            Rows::FillClasses(f, buf, classes) => {
                f.read_rows(buf, 1)?;
                let w = buf.len();
                for (k, row) in out.chunks_exact_mut(w).take(*classes).enumerate() {
                    for (o, v) in row.iter_mut().zip(buf.iter()) {
                        *o = (*v as usize == k + 1) as u8;
                    }
                }
                Ok(())
            }
        }
    }
}

/// A mask's own downsample and size.
/// A mask's own downsample and size, when the input is a mask.
pub type Own = Option<(f64, (u32, u32))>;

struct Opened {
    rows: Option<Rows>,
    /// Size at the grid's downsample.
    size: (usize, usize),
    /// The mask's own downsample and size (masks only).
    own: Own,
}

/// Compares `truth` with `pred` on a common grid (`downsample`, else the coarser mask's, else
/// 4); `level0` is the slide's level-0 size when known (needed to place GeoJSON against
/// GeoJSON, and to infer a mask's downsample).
pub fn compare(
    truth: &Input,
    pred: &Input,
    level0: Option<(u64, u64)>,
    downsample: Option<f64>,
) -> Result<Compared, CompareError> {
    let mut c = run(truth, pred, level0, downsample, None)?;
    Ok(Compared {
        confusion: c.confusion[0],
        downsample: c.downsample,
        size: c.size,
        outline: c.outline.swap_remove(0),
    })
}

/// Compares label masks `truth` and `pred` class by class in one pass over their rows, on the
/// grid [`compare`] chooses: for each of `classes`, a binary comparison in which a pixel is
/// positive when its value is the class's (`truth` values in the truth, `prediction` values in
/// the prediction). GeoJSON is positive for a class where an annotation of that class name lies.
/// Thresholds do not apply; a float probability map is [`CompareError::FloatLabels`].
pub fn compare_classes(
    truth: &Input,
    pred: &Input,
    level0: Option<(u64, u64)>,
    downsample: Option<f64>,
    classes: &[LabelClass],
) -> Result<ComparedClasses, CompareError> {
    run(truth, pred, level0, downsample, Some(classes))
}

/// The comparison: binary (`classes` `None`: one confusion) or one per class.
fn run(
    truth: &Input,
    pred: &Input,
    level0: Option<(u64, u64)>,
    downsample: Option<f64>,
    classes: Option<&[LabelClass]>,
) -> Result<ComparedClasses, CompareError> {
    // rows per grid row: 1 binary, else one per class (none: nothing counted)
    let k = classes.map_or(1, |c| c.len());
    // mask headers first: their downsamples decide the grid
    // each mask is opened once: its header decides the grid, its reader serves the rows
    let header = |inp: &Input| -> Result<(Own, Option<AnyMask>), CompareError> {
        let Input::Mask {
            path,
            downsample,
            threshold,
        } = inp
        else {
            return Ok((None, None));
        };
        if !(threshold.is_finite() && *threshold >= 0.0) {
            return Err(CompareError::Threshold {
                path: path.clone(),
                threshold: *threshold,
            });
        }
        let (h, reader) = open_any_mask(path, &MaskOptions::default())?;
        let ds =
            match (downsample, level0) {
                // one downsample for both axes: the given one checked, or the only whole one
                (d, Some(l0)) => crate::slide::mask_downsample((h.width, h.height), l0, *d)
                    .map_err(|source| CompareError::Downsample {
                        path: path.clone(),
                        cause: Box::new(source),
                    })?,
                (Some(d), None) => *d,
                (None, None) => return Err(CompareError::UnknownDownsample { path: path.clone() }),
            };
        if !(ds.is_finite() && ds > 0.0) {
            return Err(CompareError::BadDownsample {
                path: path.clone(),
                downsample: ds,
            });
        }
        Ok((Some((ds, (h.width, h.height))), Some(reader)))
    };
    let ((ht, reader_t), (hp, reader_p)) = (header(truth)?, header(pred)?);
    let d = downsample
        .or_else(|| {
            [ht, hp]
                .iter()
                .flatten()
                .map(|x| x.0)
                .max_by(|a, b| a.total_cmp(b))
        })
        .unwrap_or(4.0);
    let level0 = level0.or_else(|| {
        [ht, hp]
            .iter()
            .flatten()
            .map(|(ds, (w, h))| ((*w as f64 * ds) as u64, (*h as f64 * ds) as u64))
            .next()
    });
    let open = |inp: &Input,
                own: Own,
                reader: Option<AnyMask>,
                side: fn(&LabelClass) -> u8|
     -> Result<Opened, CompareError> {
        match inp {
            Input::Mask {
                path, threshold, ..
            } => {
                let (ds, (w, h)) = own.expect("masks have headers");
                let ratio = d / ds;
                let factor = ratio.round();
                if ratio < 1.0 - 1e-6 {
                    return Err(CompareError::Coarser {
                        path: path.clone(),
                        downsample: ds,
                        grid: d,
                    });
                }
                if (ratio - factor).abs() > 1e-6 * ratio {
                    return Err(CompareError::NotAMultiple {
                        path: path.clone(),
                        downsample: ds,
                        grid: d,
                    });
                }
                let reader = reader.expect("masks are opened with their headers");
                let f = factor as usize;
                let (w, h) = (w as usize, h as usize);
                // integer labels: v > t ⟺ v > ⌊t⌋ (t ≥ 0, checked with the header)
                let int = threshold.floor() as u64;
                let rows = match (reader, classes) {
                    (AnyMask::Labels(MaskReader::U8(r)), Some(c)) => {
                        Rows::ClassU8(ClassBlocks::new(r, w, h, f, lookup(c, side), k))
                    }
                    (AnyMask::Labels(MaskReader::U16(r)), Some(c)) => {
                        Rows::ClassU16(ClassBlocks::new(r, w, h, f, lookup(c, side), k))
                    }
                    (AnyMask::Float(_), Some(_)) => {
                        return Err(CompareError::FloatLabels { path: path.clone() })
                    }
                    (AnyMask::Labels(MaskReader::U8(r)), None) => {
                        Rows::U8(BlockMajority::new(r, w, h, f, int))
                    }
                    (AnyMask::Labels(MaskReader::U16(r)), None) => {
                        Rows::U16(BlockMajority::new(r, w, h, f, int))
                    }
                    (AnyMask::Float(r), None) => Rows::U8(BlockMajority::new(
                        Box::new(AboveThreshold::new(r, *threshold)),
                        w,
                        h,
                        f,
                        0,
                    )),
                };
                Ok(Opened {
                    rows: Some(rows),
                    size: (w.div_ceil(f), h.div_ceil(f)),
                    own,
                })
            }
            Input::GeoJson { path, .. } => {
                let Some((w0, h0)) = level0 else {
                    return Err(CompareError::NoLevel0 { path: path.clone() });
                };
                let size = (
                    ((w0 as f64 / d).floor() as usize).max(1),
                    ((h0 as f64 / d).floor() as usize).max(1),
                );
                Ok(Opened {
                    rows: None,
                    size,
                    own: None,
                })
            }
        }
    };
    let (mut t, mut p) = (
        open(truth, ht, reader_t, |c| c.truth)?,
        open(pred, hp, reader_p, |c| c.prediction)?,
    );
    let gw = t.size.0.min(p.size.0);
    let gh = t.size.1.min(p.size.1);
    for (inp, o) in [(truth, &t), (pred, &p)] {
        if o.size.0 > gw + 1 || o.size.1 > gh + 1 {
            return Err(CompareError::Extent {
                path: inp.path().to_path_buf(),
                size: o.size,
                grid: d,
                own: o.own,
                other: (gw, gh),
            });
        }
    }
    // GeoJSON is filled on the common grid itself
    let classes_of = classes;
    for (inp, o) in [(truth, &mut t), (pred, &mut p)] {
        if let Input::GeoJson { path, classes } = inp {
            let ann = read_annotations(path)?;
            o.rows = Some(match classes_of {
                None => {
                    let figs = ann.figures_where(|c| {
                        classes.is_empty() || c.is_some_and(|c| classes.iter().any(|k| k == c))
                    });
                    Rows::Fill(
                        ScanFill::figures(&[(1, figs)], o.size.0, o.size.1, d, PixelRule::Qupath),
                        vec![0u8; o.size.0],
                    )
                }
                Some(list) => {
                    // one layer per class, labelled with its index + 1
                    let layers: Vec<(u16, Vec<crate::vector::Figure>)> = list
                        .iter()
                        .enumerate()
                        .map(|(i, c)| {
                            let figs = ann.figures_where(|n| n == Some(c.name.as_str()));
                            ((i + 1) as u16, figs)
                        })
                        .collect();
                    Rows::FillClasses(
                        ScanFill::figures(&layers, o.size.0, o.size.1, d, PixelRule::Qupath),
                        vec![0u8; o.size.0],
                        k,
                    )
                }
            });
        }
    }
    let mut conf = vec![Confusion::default(); k];
    let (tw, pw) = (t.size.0, p.size.0);
    let (mut rt, mut rp) = (vec![0u8; k * tw], vec![0u8; k * pw]);
    let (tr, pr) = (
        t.rows.as_mut().expect("opened"),
        p.rows.as_mut().expect("opened"),
    );
    let scale = gw.max(gh).div_ceil(THUMB_SIDE).max(1);
    let (ow, oh) = (gw.div_ceil(scale), gh.div_ceil(scale));
    let mut outline = vec![
        Outline {
            scale,
            w: ow,
            h: oh,
            truth: vec![false; ow * oh],
            pred: vec![false; ow * oh],
        };
        k
    ];
    for y in 0..gh {
        tr.next(&mut rt)?;
        pr.next(&mut rp)?;
        let base = (y / scale) * ow;
        for (i, (c, o)) in conf.iter_mut().zip(&mut outline).enumerate() {
            let (a, b) = (&rt[i * tw..i * tw + gw], &rp[i * pw..i * pw + gw]);
            c.add_row(a, b);
            for x in 0..gw {
                o.truth[base + x / scale] |= a[x] != 0;
                o.pred[base + x / scale] |= b[x] != 0;
            }
        }
    }
    Ok(ComparedClasses {
        confusion: conf,
        downsample: d,
        size: (gw, gh),
        outline,
    })
}
