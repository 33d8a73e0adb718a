//! The cohort table: one row per slide, read once with its paths resolved.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// One slide of a cohort table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortSlide {
    /// The 1-based line of the table (the header is line 1).
    pub line: usize,
    /// The name outputs are filed under (`id` column, else the slide file's stem).
    pub id: String,
    /// The slide file.
    pub slide: PathBuf,
    /// Tumour annotations: a mask (PNG/TIFF) or QuPath GeoJSON.
    pub truth: Option<PathBuf>,
    /// Level-0 pixels per truth-mask pixel (default: inferred from its size).
    pub truth_downsample: Option<f64>,
    /// Histological grade, for the evaluation's summaries.
    pub grade: String,
    /// Level-0 pixel size in µm, for slides without one.
    pub mpp: Option<f64>,
}

/// Errors of a cohort table: each names the file and line.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The table cannot be read.
    #[error("{0}: cannot read the cohort table: {1}")]
    Read(PathBuf, String),
    /// A required column is missing.
    #[error("{0}: no column 'slide' (the slide file); columns: {1}")]
    NoSlideColumn(PathBuf, String),
    /// A row is malformed.
    #[error("{0}: line {1}: {2}")]
    Row(PathBuf, usize, String),
    /// The table has no slides.
    #[error("{0}: no slides (only a header, or nothing)")]
    Empty(PathBuf),
}

/// Checks a slide id: letters, digits, `.`, `_`, `-` (not first), at most 200 bytes.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && !id.starts_with(['.', '-'])
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Reads a cohort table (CSV with a header): `slide` (required), optional `id`, `truth`,
/// `truth_downsample`, `grade`, `mpp`; other columns are ignored. Relative paths are taken from
/// the table's folder. Ids must be unique.
pub fn read_cohort(path: &Path) -> Result<Vec<CohortSlide>, TableError> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    let base = std::path::absolute(parent.unwrap_or(Path::new("."))).unwrap_or_default();
    let read_err = |e: &dyn std::fmt::Display| TableError::Read(path.into(), e.to_string());
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| read_err(&e))?;
    let headers = r.headers().map_err(|e| read_err(&e))?.clone();
    let col = |n: &str| headers.iter().position(|h| h.trim() == n);
    let cs = col("slide").ok_or_else(|| {
        TableError::NoSlideColumn(path.into(), headers.iter().collect::<Vec<_>>().join(", "))
    })?;
    let (cid, ct, ctd, cg, cm) = (
        col("id"),
        col("truth"),
        col("truth_downsample"),
        col("grade"),
        col("mpp"),
    );
    let mut out: Vec<CohortSlide> = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let row_err = |m: String| TableError::Row(path.into(), line, m);
        let rec = rec.map_err(|e| row_err(e.to_string()))?;
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).map(str::trim).unwrap_or("");
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let file = |s: &str| {
            let p = PathBuf::from(s);
            if p.is_absolute() {
                p
            } else {
                base.join(p)
            }
        };
        let s = get(Some(cs));
        if s.is_empty() {
            return Err(row_err("empty slide".into()));
        }
        let slide = file(s);
        let id = match get(cid) {
            "" => slide
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            s => s.to_string(),
        };
        if !valid_id(&id) {
            return Err(row_err(format!(
                "id '{id}' cannot name outputs: use letters, digits, '.', '_' and '-' (not \
                 first), or give an id column"
            )));
        }
        if let Some(prev) = seen.insert(id.clone(), line) {
            return Err(row_err(format!(
                "id '{id}' is already used on line {prev}: ids must be unique (add an id column)"
            )));
        }
        let num = |c: Option<usize>, name: &str| -> Result<Option<f64>, TableError> {
            match get(c) {
                "" => Ok(None),
                s => match s.parse::<f64>() {
                    Ok(v) if v.is_finite() && v > 0.0 => Ok(Some(v)),
                    _ => Err(row_err(format!("{name} '{s}' is not a positive number"))),
                },
            }
        };
        out.push(CohortSlide {
            line,
            id,
            slide,
            truth: Some(get(ct)).filter(|s| !s.is_empty()).map(file),
            truth_downsample: num(ctd, "truth_downsample")?,
            grade: get(cg).to_string(),
            mpp: num(cm, "mpp")?,
        });
    }
    if out.is_empty() {
        return Err(TableError::Empty(path.into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cohort_tables_are_checked_row_by_row() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.csv");
        std::fs::write(
            &p,
            "slide,truth,grade,extra\na/s1.svs,t1.geojson,2,x\n/abs/s2.tif,,3,y\n\n",
        )
        .unwrap();
        let c = read_cohort(&p).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].id, "s1");
        assert_eq!(c[0].slide, dir.path().join("a/s1.svs"));
        assert_eq!(
            c[0].truth.as_deref(),
            Some(dir.path().join("t1.geojson").as_path())
        );
        assert_eq!((c[1].id.as_str(), c[1].truth.is_none()), ("s2", true));
        assert_eq!(c[1].grade, "3");
        let bad = |text: &str, want: &str| {
            std::fs::write(&p, text).unwrap();
            let e = read_cohort(&p).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        };
        bad("id,path\nx,y\n", "no column 'slide'");
        bad("slide\n", "no slides");
        bad(
            "slide\na/s.svs\nb/s.svs\n",
            "line 3: id 's' is already used on line 2",
        );
        bad(
            "slide,id\na.svs,../x\n",
            "line 2: id '../x' cannot name outputs",
        );
        bad(
            "slide,mpp\na.svs,-1\n",
            "line 2: mpp '-1' is not a positive number",
        );
        bad(
            "slide,mpp\na.svs,NaN\n",
            "mpp 'NaN' is not a positive number",
        );
        bad("slide,grade\n,2\n", "line 2: empty slide");
    }
}
