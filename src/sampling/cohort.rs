//! The cohort file (one row per slide: its patch table, grade and split) and the patch tables
//! it points to.
//!
//! Cohort CSV columns: `slide` (slide path), `patches` (the slide's `h2g patches` CSV),
//! `grade` (any text: I, II, III…), and optionally `split` (train, val, test…). Relative
//! paths are resolved against the cohort file's folder.

use std::path::{Path, PathBuf};

use crate::slide::{read_at, ReadPlan, Slide, SlideError};
use crate::table::{Row, Table};

/// Errors loading a cohort: the cohort table's or a patch table's (see
/// [`crate::table::TableError`]).
pub type CohortError = crate::table::TableError;

/// One slide of the cohort.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CohortSlide {
    /// Its line in the cohort table (the header is line 1).
    pub line: u64,
    /// The slide file.
    pub slide: PathBuf,
    /// Its patch table.
    pub patches: PathBuf,
    /// Histological grade.
    pub grade: String,
    /// Split, when given.
    pub split: Option<String>,
}

/// One patch available for sampling.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplePatch {
    /// Index of its slide in the cohort.
    pub slide: usize,
    /// Level-0 x.
    pub x: u64,
    /// Level-0 y.
    pub y: u64,
    /// Slide level patches are read from.
    pub level: usize,
    /// Level-0 pixels per patch pixel.
    pub downsample: f64,
    /// Level-0 width.
    pub width: u64,
    /// Class (the patch label).
    pub class: String,
    /// Cluster, or "" without a cluster column.
    pub cluster: String,
}

/// The columns of a patch table that sampling reads.
#[derive(Debug, Clone, Copy)]
pub struct PatchColumns {
    x: usize,
    y: usize,
    level: usize,
    downsample: usize,
    width: usize,
    label: usize,
    cluster: Option<usize>,
}

impl PatchColumns {
    /// The columns of `t` (x, y, level, downsample, width, label, and `cluster_column` when
    /// given), each required.
    pub fn of(t: &Table, cluster_column: Option<&str>) -> Result<Self, CohortError> {
        Ok(PatchColumns {
            x: t.require("x", None)?,
            y: t.require("y", None)?,
            level: t.require("level", None)?,
            downsample: t.require("downsample", None)?,
            width: t.require("width", None)?,
            label: t.require("label", None)?,
            cluster: cluster_column.map(|c| t.require(c, None)).transpose()?,
        })
    }

    /// The patch of `row` (of slide `slide`) when its label is a class to sample (`tumour`,
    /// `non-tumour`), else `None`.
    pub fn read(&self, row: &Row<'_>, slide: usize) -> Result<Option<SamplePatch>, CohortError> {
        let class = row.get(Some(self.label));
        if !matches!(class, "tumour" | "non-tumour") {
            return Ok(None);
        }
        const WHOLE: &str = "a whole number ≥ 0";
        Ok(Some(SamplePatch {
            slide,
            x: row.parse(self.x, WHOLE)?,
            y: row.parse(self.y, WHOLE)?,
            level: row.parse(self.level, WHOLE)?,
            downsample: row.parse(self.downsample, "a number")?,
            width: row.parse(self.width, WHOLE)?,
            class: class.to_string(),
            cluster: row.get(self.cluster).to_string(),
        }))
    }
}

impl SamplePatch {
    /// Its side in pixels at its resolution.
    pub fn side(&self) -> u32 {
        (self.width as f64 / self.downsample).round() as u32
    }

    /// Reads its `side × side` RGB pixels from `slide` (the slide of its cohort row).
    pub fn read(&self, slide: &dyn Slide) -> Result<Vec<u8>, SlideError> {
        let plan = ReadPlan {
            level: self.level,
            level_downsample: slide.level_downsample(self.level)?,
            target_downsample: self.downsample,
        };
        let side = self.side();
        read_at(slide, &plan, self.x, self.y, side, side).map(|i| i.data)
    }
}

/// Loads the cohort (optionally only rows of `split`) and every patch of its slides whose label
/// is a class to sample (`tumour`, `non-tumour`; rows written with `--all` that were discarded
/// are skipped). `cluster_column` names an optional per-patch cluster column.
pub fn load_cohort(
    cohort: &Path,
    split: Option<&str>,
    cluster_column: Option<&str>,
) -> Result<(Vec<CohortSlide>, Vec<SamplePatch>), CohortError> {
    let slides = load_rows(cohort, split)?;
    let patches = load_patches(&slides, cluster_column)?;
    Ok((slides, patches))
}

/// The cohort table's rows (only those of `split`, when given).
pub fn load_rows(cohort: &Path, split: Option<&str>) -> Result<Vec<CohortSlide>, CohortError> {
    let t = Table::open(cohort, "cohort table")?;
    let (ci_slide, ci_patches, ci_grade) = (
        t.require("slide", None)?,
        t.require("patches", None)?,
        t.require("grade", None)?,
    );
    let ci_split = t.column("split");
    t.map_rows(|row| {
        let s = ci_split.map(|_| row.get(ci_split).to_string());
        if split.is_some_and(|want| s.as_deref() != Some(want)) {
            return Ok::<_, CohortError>(None);
        }
        Ok(Some(CohortSlide {
            line: row.line(),
            slide: row.path(Some(ci_slide)).unwrap_or_default(),
            patches: row.path(Some(ci_patches)).unwrap_or_default(),
            grade: row.get(Some(ci_grade)).to_string(),
            split: s,
        }))
    })
}

/// The patches to sample of `slides` (their index in `slides` is [`SamplePatch::slide`]).
pub fn load_patches(
    slides: &[CohortSlide],
    cluster_column: Option<&str>,
) -> Result<Vec<SamplePatch>, CohortError> {
    let mut patches = Vec::new();
    for (si, s) in slides.iter().enumerate() {
        let mut t = Table::open(&s.patches, "patch table")?;
        let cols = PatchColumns::of(&t, cluster_column)?;
        while let Some(row) = t.next_row() {
            patches.extend(cols.read(&row?, si)?);
        }
    }
    Ok(patches)
}
