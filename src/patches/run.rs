//! Building a slide's patch table: the grid at the target resolution, tissue and tumour
//! fractions from their masks, labels, the CSV, and the PNG files of kept patches.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use super::{area_fractions, FractionError, LabelRule, PatchGrid, PatchLabel};
use crate::mask::{open_mask, MaskError, MaskOptions, MaskReader, MemoryRows};
use crate::output::OutputSet;
use crate::slide::{
    mask_downsample, plan_read, read_at, ReadPlan, RgbImage, Slide, SlideError, SlideMeta,
};
use crate::tissue::{detect_on_slide, Method, TissueRunError};
use crate::units::Resolution;

/// Errors building a patch table.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// Reading the slide failed.
    #[error(transparent)]
    Slide(#[from] SlideError),
    /// Detecting tissue failed.
    #[error(transparent)]
    Tissue(#[from] TissueRunError),
    /// Reading a mask failed.
    #[error(transparent)]
    Mask(#[from] MaskError),
    /// A mask whose size does not fit the slide at its downsample.
    #[error(
        "{what} mask {}: {cause} (--{flag}-downsample gives it)",
        path.display()
    )]
    MaskSize {
        what: &'static str,
        flag: &'static str,
        path: PathBuf,
        cause: Box<crate::slide::DownsampleError>,
    },
    /// More patches than a table can hold.
    #[error("{cols} × {rows} patches is too many (at most 50 million): use a larger --size or a coarser --at")]
    TooMany { cols: u32, rows: u32 },
    /// GeoJSON annotations that cannot be used.
    #[error("annotations: {0}")]
    Annotations(crate::vector::ReadError),
    /// No patch has any tissue.
    #[error(
        "no tissue in any patch of {slide}: check the slide, the tissue mask or --tissue-method"
    )]
    NoTissue { slide: String },
    /// The grid has no patch (slide smaller than one patch at that resolution).
    #[error("the slide is smaller than one {size}×{size} patch at downsample {ds:.2}")]
    NoPatch { size: u32, ds: f64 },
    /// A label threshold outside [0, 1).
    #[error("{flag} must be in [0, 1), not {value}")]
    Threshold {
        /// The setting, as its flag (`--min-tissue`, `--min-tumour`).
        flag: &'static str,
        /// Its value.
        value: f64,
    },
    /// A patch side of 0 or above [`MAX_PATCH_SIDE`](super::MAX_PATCH_SIDE).
    #[error("--size {0}: a patch side is 1 to {max} pixels", max = super::MAX_PATCH_SIDE)]
    Side(u32),
    /// A tissue detection method patches cannot run.
    #[error("--tissue-method must be saturation, otsu or fast, not '{0}'")]
    TissueMethod(String),
    /// The export folder is an existing file.
    #[error("--export {}: is an existing file, not a folder: give a folder for the PNG files", .0.display())]
    ExportNotAFolder(PathBuf),
    /// The export folder cannot be created.
    #[error(transparent)]
    ExportFolder(crate::naming::NamingError),
    /// Writing the CSV or an exported patch failed.
    #[error("cannot write {}", path.display())]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl From<FractionError> for PatchError {
    fn from(e: FractionError) -> Self {
        match e {
            FractionError::Mask(m) => PatchError::Mask(m),
        }
    }
}

/// A mask file and the downsample it was exported at (inferred from its size when `None`).
#[derive(Debug, Clone)]
pub struct MaskFile {
    /// The mask (PNG or TIFF; any non-zero pixel, or `label`, is foreground).
    pub path: PathBuf,
    /// Level-0 pixels per mask pixel.
    pub downsample: Option<f64>,
    /// Only this label counts as foreground.
    pub label: Option<u64>,
    /// For GeoJSON annotations: only this class counts (default: every polygon).
    pub class: Option<String>,
}

/// Where the tissue comes from.
#[derive(Debug, Clone)]
pub enum TissueSource {
    /// Detected now with this method.
    Detect(Method),
    /// A tissue mask file (e.g. `h2g tissue`'s TIFF).
    Mask(MaskFile),
}

impl TissueSource {
    /// Detection by the method named `name`: `saturation` (the paper's), `otsu` or `fast`.
    pub fn detect_by_name(name: &str) -> Result<Self, PatchError> {
        Ok(TissueSource::Detect(match name {
            "saturation" => Method::paper(),
            "otsu" => Method::otsu(),
            "fast" => Method::fast(),
            other => return Err(PatchError::TissueMethod(other.to_string())),
        }))
    }
}

/// What to build.
#[derive(Debug, Clone)]
pub struct PatchSpec {
    /// Patch side in pixels.
    pub size: u32,
    /// Patch resolution.
    pub at: Resolution,
    /// Keep/label thresholds.
    pub rule: LabelRule,
    /// Write every patch (with its label), not only kept ones.
    pub all: bool,
}

impl Default for PatchSpec {
    fn default() -> Self {
        PatchSpec {
            size: 256,
            at: Resolution::Magnification(10.0),
            rule: LabelRule::default(),
            all: false,
        }
    }
}

/// One row of the patch table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatchRecord {
    /// Level-0 x of the top-left corner.
    pub x: u64,
    /// Level-0 y of the top-left corner.
    pub y: u64,
    /// Fraction of the footprint that is tissue.
    pub tissue_fraction: f64,
    /// Fraction of the footprint that is tumour (`None` without an annotation).
    pub tumour_fraction: Option<f64>,
    /// The label.
    pub label: PatchLabel,
}

/// A slide's patch table.
#[derive(Debug, Clone)]
pub struct PatchTable {
    /// The slide.
    pub slide: String,
    /// The grid.
    pub grid: PatchGrid,
    /// How patches are read at the target resolution.
    pub plan: ReadPlan,
    /// Every patch, row-major (including discarded ones).
    pub patches: Vec<PatchRecord>,
}

impl PatchTable {
    /// Counts of each label.
    pub fn counts(&self) -> Vec<(PatchLabel, usize)> {
        PatchLabel::ALL
            .iter()
            .map(|&l| (l, self.patches.iter().filter(|p| p.label == l).count()))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

/// Fractions of `grid` covered by a mask file, checking its size against the slide.
fn mask_fractions(
    mf: &MaskFile,
    what: &'static str,
    flag: &'static str,
    (sw, sh): (u64, u64),
    grid: &PatchGrid,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<f64>, PatchError> {
    if crate::vector::is_geojson_path(&mf.path) {
        return geojson_fractions(mf, (sw, sh), grid, progress);
    }
    let (header, reader) = open_mask(&mf.path, &MaskOptions::default())?;
    let (mw, mh) = (header.width, header.height);
    // one downsample for both axes, the given one checked, or the only whole one that fits
    let d = mask_downsample((mw, mh), (sw, sh), mf.downsample).map_err(|source| {
        PatchError::MaskSize {
            what,
            flag,
            path: mf.path.clone(),
            cause: Box::new(source),
        }
    })?;
    let (dx, dy) = (d, d);
    let label = mf.label;
    Ok(match reader {
        MaskReader::U8(mut r) => area_fractions(
            r.as_mut(),
            mw,
            mh,
            (dx, dy),
            grid,
            |v: u8| label.map_or(v != 0, |l| v as u64 == l),
            progress,
        )?,
        MaskReader::U16(mut r) => area_fractions(
            r.as_mut(),
            mw,
            mh,
            (dx, dy),
            grid,
            |v: u16| label.map_or(v != 0, |l| v as u64 == l),
            progress,
        )?,
    })
}

/// GeoJSON annotations rasterized with QuPath's rule at the mask downsample (default 4, the
/// paper's export scale), then the same area fractions as a raster mask.
fn geojson_fractions(
    mf: &MaskFile,
    (sw, sh): (u64, u64),
    grid: &PatchGrid,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<f64>, PatchError> {
    use crate::vector::{read_annotations, PixelRule};
    let ann = read_annotations(&mf.path).map_err(PatchError::Annotations)?;
    let d = mf.downsample.unwrap_or(4.0);
    let (w, h) = (
        ((sw as f64 / d).floor() as usize).max(1),
        ((sh as f64 / d).floor() as usize).max(1),
    );
    let figs = ann.figures_where(|c| mf.class.as_deref().is_none_or(|want| c == Some(want)));
    // filled row by row as the fractions stream, as QuPath exports it: no mask in memory
    let mut rows = crate::vector::ScanFill::figures(&[(1, figs)], w, h, d, PixelRule::Qupath);
    Ok(area_fractions(
        &mut rows,
        w as u32,
        h as u32,
        (d, d),
        grid,
        |v: u8| v != 0,
        progress,
    )?)
}

/// Builds the patch table of `slide`. `progress` is told the mask rows processed.
pub fn build_patches(
    slide: &dyn Slide,
    meta: &SlideMeta,
    spec: &PatchSpec,
    tissue: &TissueSource,
    tumour: Option<&MaskFile>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<PatchTable, PatchError> {
    let plan = plan_read(slide, meta, spec.at)?;
    let (sw, sh) = slide.level_size(0)?;
    let grid = PatchGrid::new(sw, sh, spec.size, plan.target_downsample);
    if grid.len() > 50_000_000 {
        return Err(PatchError::TooMany {
            cols: grid.cols,
            rows: grid.rows,
        });
    }
    if grid.is_empty() {
        return Err(PatchError::NoPatch {
            size: spec.size,
            ds: plan.target_downsample,
        });
    }
    let tissue_f = match tissue {
        TissueSource::Mask(mf) => {
            mask_fractions(mf, "tissue", "tissue", (sw, sh), &grid, progress)?
        }
        TissueSource::Detect(method) => {
            let d = detect_on_slide(slide, meta, method, None)?;
            let (w, h) = (d.image.width, d.image.height);
            let bytes = Arc::new(d.detection.mask.to_bytes(1));
            let mut rows = MemoryRows::new(bytes, w as usize);
            area_fractions(
                &mut rows,
                w,
                h,
                d.downsample,
                &grid,
                |v: u8| v != 0,
                progress,
            )?
        }
    };
    if tissue_f.iter().all(|&f| f == 0.0) {
        return Err(PatchError::NoTissue {
            slide: slide.source(),
        });
    }
    let tumour_f = match tumour {
        Some(mf) => Some(mask_fractions(
            mf,
            "tumour",
            "mask",
            (sw, sh),
            &grid,
            progress,
        )?),
        None => None,
    };
    let mut patches = Vec::with_capacity(grid.len());
    for r in 0..grid.rows {
        for c in 0..grid.cols {
            let i = (r * grid.cols + c) as usize;
            let (x, y) = grid.origin(c, r);
            let t = tumour_f.as_ref().map(|f| f[i]);
            patches.push(PatchRecord {
                x,
                y,
                tissue_fraction: tissue_f[i],
                tumour_fraction: t,
                label: spec.rule.label(tissue_f[i], t),
            });
        }
    }
    Ok(PatchTable {
        slide: slide.source(),
        grid,
        plan,
        patches,
    })
}

/// Writes `table` as CSV to `w`: `slide,x,y,level,downsample,width,height,tissue_fraction,
/// tumour_fraction,label`, kept patches only unless `all`; returns the rows written.
pub fn write_csv(
    w: &mut dyn std::io::Write,
    table: &PatchTable,
    all: bool,
) -> std::io::Result<usize> {
    let mut csv = csv::Writer::from_writer(w);
    csv.write_record([
        "slide",
        "x",
        "y",
        "level",
        "downsample",
        "width",
        "height",
        "tissue_fraction",
        "tumour_fraction",
        "label",
    ])?;
    let side = (table.grid.side().round() as u64).to_string();
    let mut n = 0;
    for p in table.patches.iter().filter(|p| all || p.label.kept()) {
        csv.write_record([
            table.slide.clone(),
            p.x.to_string(),
            p.y.to_string(),
            table.plan.level.to_string(),
            table.grid.downsample.to_string(),
            side.clone(),
            side.clone(),
            format!("{:.6}", p.tissue_fraction),
            p.tumour_fraction
                .map(|t| format!("{t:.6}"))
                .unwrap_or_default(),
            p.label.as_str().to_string(),
        ])?;
        n += 1;
    }
    csv.flush()?;
    Ok(n)
}

/// Reads the pixels of one patch at the table's resolution.
pub fn read_patch(
    slide: &dyn Slide,
    table: &PatchTable,
    p: &PatchRecord,
) -> Result<RgbImage, SlideError> {
    read_at(
        slide,
        &table.plan,
        p.x,
        p.y,
        table.grid.size,
        table.grid.size,
    )
}

/// Writes every kept patch as `DIR/STEM_x{X}_y{Y}_{label}.png` into `out`, in parallel: each is
/// complete under a temporary name, put in place when `out` is committed; returns how many.
pub(super) fn export_into(
    out: &mut OutputSet,
    slide: &dyn Slide,
    table: &PatchTable,
    dir: &Path,
    stem: &str,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<usize, PatchError> {
    let kept: Vec<&PatchRecord> = table.patches.iter().filter(|p| p.label.kept()).collect();
    let set = std::sync::Mutex::new(OutputSet::new());
    kept.par_iter()
        .map(|p| {
            let img = read_patch(slide, table, p)?;
            let path = dir.join(format!("{stem}_x{}_y{}_{}.png", p.x, p.y, p.label.as_str()));
            let err = |source| PatchError::Output {
                path: path.clone(),
                source,
            };
            let mut one = OutputSet::new();
            one.write_png_rgb(&path, &img).map_err(err)?;
            set.lock()
                .map_err(|_| PatchError::Output {
                    path: path.clone(),
                    source: std::io::Error::other("another patch's writer failed"),
                })?
                .append(one);
            progress(1);
            Ok(())
        })
        .collect::<Result<Vec<()>, PatchError>>()?;
    let set = set.into_inner().map_err(|_| PatchError::Output {
        path: dir.to_path_buf(),
        source: std::io::Error::other("a patch's writer failed"),
    })?;
    out.append(set);
    Ok(kept.len())
}
