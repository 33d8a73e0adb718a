//! The cohort file (one row per slide: its patch table, grade and split) and the patch tables
//! it points to.
//!
//! Cohort CSV columns: `slide` (slide path), `patches` (the slide's `h2g patches` CSV),
//! `grade` (any text: I, II, III…), and optionally `split` (train, val, test…). Relative
//! paths are resolved against the cohort file's folder.

use std::path::{Path, PathBuf};

/// Errors loading a cohort.
#[derive(Debug, thiserror::Error)]
pub enum CohortError {
    /// A file could not be read or parsed.
    #[error("{}: {detail}", path.display())]
    Read { path: PathBuf, detail: String },
    /// A required column is missing.
    #[error("{} has no '{column}' column (columns: {found})", path.display())]
    MissingColumn {
        path: PathBuf,
        column: String,
        found: String,
    },
    /// A value that does not parse.
    #[error("{} line {line}: {detail}", path.display())]
    BadValue {
        path: PathBuf,
        line: u64,
        detail: String,
    },
}

/// One slide of the cohort.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CohortSlide {
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

fn read_err(path: &Path, e: impl std::fmt::Display) -> CohortError {
    CohortError::Read {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

fn column(path: &Path, headers: &csv::StringRecord, name: &str) -> Result<usize, CohortError> {
    headers
        .iter()
        .position(|h| h.trim() == name)
        .ok_or_else(|| CohortError::MissingColumn {
            path: path.to_path_buf(),
            column: name.into(),
            found: headers.iter().collect::<Vec<_>>().join(", "),
        })
}

/// Loads the cohort (optionally only rows of `split`) and every patch of its slides whose label
/// is a class to sample (`tumour`, `non-tumour`; rows written with `--all` that were discarded
/// are skipped). `cluster_column` names an optional per-patch cluster column.
pub fn load_cohort(
    cohort: &Path,
    split: Option<&str>,
    cluster_column: Option<&str>,
) -> Result<(Vec<CohortSlide>, Vec<SamplePatch>), CohortError> {
    let base = cohort.parent().unwrap_or(Path::new("."));
    let mut rd = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(cohort)
        .map_err(|e| read_err(cohort, e))?;
    let h = rd.headers().map_err(|e| read_err(cohort, e))?.clone();
    let (ci_slide, ci_patches, ci_grade) = (
        column(cohort, &h, "slide")?,
        column(cohort, &h, "patches")?,
        column(cohort, &h, "grade")?,
    );
    let ci_split = h.iter().position(|c| c == "split");
    let mut slides = Vec::new();
    for rec in rd.records() {
        let rec = rec.map_err(|e| read_err(cohort, e))?;
        let s = rec.get(ci_split.unwrap_or(usize::MAX)).map(str::to_string);
        if let Some(want) = split {
            if s.as_deref() != Some(want) {
                continue;
            }
        }
        let get = |i: usize| rec.get(i).unwrap_or("").to_string();
        slides.push(CohortSlide {
            slide: base.join(get(ci_slide)),
            patches: base.join(get(ci_patches)),
            grade: get(ci_grade),
            split: s,
        });
    }
    let mut patches = Vec::new();
    for (si, s) in slides.iter().enumerate() {
        let p = &s.patches;
        let mut rd = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_path(p)
            .map_err(|e| read_err(p, e))?;
        let h = rd.headers().map_err(|e| read_err(p, e))?.clone();
        const COLS: [&str; 6] = ["x", "y", "level", "downsample", "width", "label"];
        let idx: Vec<usize> = COLS
            .iter()
            .map(|c| column(p, &h, c))
            .collect::<Result<_, _>>()?;
        let ci_cluster = cluster_column.map(|c| column(p, &h, c)).transpose()?;
        for rec in rd.records() {
            let rec = rec.map_err(|e| read_err(p, e))?;
            let field = |k: usize| rec.get(idx[k]).unwrap_or("");
            let class = field(5).to_string();
            if !matches!(class.as_str(), "tumour" | "non-tumour") {
                continue;
            }
            fn num<T: std::str::FromStr>(
                p: &Path,
                rec: &csv::StringRecord,
                i: usize,
                name: &str,
            ) -> Result<T, CohortError> {
                let v = rec.get(i).unwrap_or("");
                v.parse().map_err(|_| CohortError::BadValue {
                    path: p.to_path_buf(),
                    line: rec.position().map_or(0, |q| q.line()),
                    detail: format!("{name} '{v}' is not a number"),
                })
            }
            patches.push(SamplePatch {
                slide: si,
                x: num(p, &rec, idx[0], COLS[0])?,
                y: num(p, &rec, idx[1], COLS[1])?,
                level: num(p, &rec, idx[2], COLS[2])?,
                downsample: num(p, &rec, idx[3], COLS[3])?,
                width: num(p, &rec, idx[4], COLS[4])?,
                class,
                cluster: ci_cluster
                    .and_then(|c| rec.get(c))
                    .unwrap_or("")
                    .to_string(),
            });
        }
    }
    Ok((slides, patches))
}
