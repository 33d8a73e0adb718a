//! The cohort table: one row per slide, read once with its paths resolved.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::naming::valid_id;
use crate::table::Table;

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
    /// Data split (`train`, `test`, …; `split` column), passed on to the evaluation.
    pub split: String,
    /// Level-0 pixel size in µm, for slides without one.
    pub mpp: Option<f64>,
}

/// Errors of a cohort table: each names the file and line.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The table, a column or a cell (see [`crate::table::TableError`]).
    #[error(transparent)]
    Table(#[from] crate::table::TableError),
    /// An id that cannot name output files.
    #[error(
        "{}: line {line}: id '{id}' cannot name outputs: use letters, digits, '.', '_' and '-' \
         (not first), or give an id column",
        path.display()
    )]
    BadId {
        /// The table.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The id.
        id: String,
    },
    /// An id used twice.
    #[error(
        "{}: line {line}: id '{id}' is already used on line {first}: ids must be unique{}",
        path.display(),
        if *from_stem { " (add an id column)" } else { "" }
    )]
    DuplicateId {
        /// The table.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The id.
        id: String,
        /// Where it was first used.
        first: u64,
        /// The id is the slide file's stem (the table has no id for it).
        from_stem: bool,
    },
}

/// Reads a cohort table (CSV with a header): `slide` (required), optional `id`, `truth`,
/// `truth_downsample`, `grade`, `mpp`; other columns are ignored. Relative paths are taken from
/// the table's folder. Ids must be unique.
pub fn read_cohort(path: &Path) -> Result<Vec<CohortSlide>, TableError> {
    let t = Table::open(path, "cohort table")?.absolute_paths();
    let cs = t.require("slide", Some("the slide file"))?;
    let (cid, ct, ctd, cg, cm, csp) = (
        t.column("id"),
        t.column("truth"),
        t.column("truth_downsample"),
        t.column("grade"),
        t.column("mpp"),
        t.column("split"),
    );
    let mut seen = std::collections::HashMap::new();
    t.map_rows(|row| {
        let line = row.line();
        row.required(cs)?;
        let slide = row.path(Some(cs)).unwrap_or_default();
        let from_stem = row.get(cid).is_empty();
        let id = match row.get(cid) {
            "" => slide
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            s => s.to_string(),
        };
        if !valid_id(&id) {
            return Err(TableError::BadId {
                path: path.into(),
                line,
                id,
            });
        }
        if let Some(first) = seen.insert(id.clone(), line) {
            return Err(TableError::DuplicateId {
                path: path.into(),
                line,
                id,
                first,
                from_stem,
            });
        }
        Ok(Some(CohortSlide {
            line: line as usize,
            id,
            slide,
            truth: row.path(ct),
            truth_downsample: row.positive(ctd)?,
            grade: row.get(cg).to_string(),
            split: row.get(csp).to_string(),
            mpp: row.pixel_size(cm)?,
        }))
    })
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
        use crate::table::TableError as T;
        let bad = |text: &str| {
            std::fs::write(&p, text).unwrap();
            read_cohort(&p).unwrap_err()
        };
        let e = bad("id,path\nx,y\n");
        assert!(
            matches!(&e, TableError::Table(T::MissingColumn { column, .. }) if column == "slide"),
            "{e}"
        );
        assert!(e
            .to_string()
            .contains("no column 'slide' (the slide file); columns: id, path"));
        assert!(matches!(
            bad("slide\n"),
            TableError::Table(T::NoRows { .. })
        ));
        let e = bad("slide\na/s.svs\nb/s.svs\n");
        assert!(
            matches!(&e, TableError::DuplicateId { line: 3, first: 2, id, .. } if id == "s"),
            "{e}"
        );
        assert!(e
            .to_string()
            .contains("line 3: id 's' is already used on line 2"));
        let e = bad("slide,id\na.svs,../x\n");
        assert!(
            matches!(&e, TableError::BadId { line: 2, id, .. } if id == "../x"),
            "{e}"
        );
        for v in ["-1", "NaN", "0", "x"] {
            let e = bad(&format!("slide,mpp\na.svs,{v}\n"));
            assert!(
                matches!(&e, TableError::Table(T::NotPositive { line: 2, column, value, .. })
                    if column == "mpp" && value == v),
                "{e}"
            );
        }
        let e = bad("slide,mpp\na.svs,1e300\n");
        assert!(
            e.to_string()
                .ends_with("line 2: mpp '1e300' is not a pixel size in µm per pixel, at most 1000"),
            "{e}"
        );
        let e = bad("slide,grade\n,2\n");
        assert!(
            matches!(&e, TableError::Table(T::Empty { line: 2, column, .. }) if column == "slide"),
            "{e}"
        );
        assert!(e.to_string().ends_with("line 2: empty slide"));
    }
}
