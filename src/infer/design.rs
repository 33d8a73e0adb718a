//! Labelled designs: a design of the paper's ablation (its kind, [`Design`]) under a label of the
//! user's (`mob-km-pw`, `inc-pw`, …) with the networks it runs, so one cohort holds all nine
//! designs of the study side by side. Outputs are named by the label:
//! `STEM.segment-LABEL.*`.
//!
//! A designs file is a CSV with the columns `label`, `design` (`h2g`, `pw`, `unet-lr` or
//! `otsu`), and optionally `model`, `refine_model` (a built-in name or an `.onnx` path, relative
//! to the file's folder) and `refine_level` (`auto`, `lowest` or a level number).

use std::path::{Path, PathBuf};

use super::refine_input::{RefineLevel, RefineLevelParseError};
use super::segment::Design;
use crate::table::{Table, TableError};

/// The longest label (bytes).
pub const MAX_LABEL: usize = 64;

/// The most designs one file or run holds.
pub const MAX_DESIGNS: usize = 64;

/// A design under its label, with its networks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DesignSpec {
    /// What the outputs, the evaluation and the tables call it.
    pub label: String,
    /// The kind of design.
    pub kind: Design,
    /// The patch classifier (kinds h2g, pw).
    pub model: Option<String>,
    /// The refinement network (kinds h2g, unet-lr).
    pub refine_model: Option<String>,
    /// The pyramid level the refinement reads.
    #[serde(serialize_with = "as_text")]
    pub refine_level: RefineLevel,
}

fn as_text<S: serde::Serializer>(v: &RefineLevel, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// Why a label or a designs file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DesignError {
    /// A label that cannot name files.
    #[error(
        "design label '{0}': use letters, digits, '_' and '-' (a letter or digit first), at \
         most {MAX_LABEL}"
    )]
    BadLabel(String),
    /// Two designs with one label.
    #[error("{}: design label '{label}' is given twice (lines {first} and {second})", path.display())]
    DuplicateLabel {
        /// The file.
        path: PathBuf,
        /// The label.
        label: String,
        /// Its first line.
        first: u64,
        /// The other line.
        second: u64,
    },
    /// A design kind h2g does not have.
    #[error(
        "{}, line {line}: design '{kind}' is not one of h2g, pw, unet-lr, otsu",
        path.display()
    )]
    UnknownKind {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The kind given.
        kind: String,
    },
    /// A refinement level that does not parse.
    #[error("{}, line {line}: {source}", path.display())]
    RefineLevel {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// What is wrong.
        source: RefineLevelParseError,
    },
    /// A file with too many designs.
    #[error("{}: more than {MAX_DESIGNS} designs ({count} so far)", path.display())]
    Count {
        /// The file.
        path: PathBuf,
        /// How many it has.
        count: usize,
    },
    /// The table itself (missing file, column, bad CSV).
    #[error(transparent)]
    Table(#[from] TableError),
}

/// Checks a design label: letters, digits, `_` and `-`, a letter or digit first, at most
/// [`MAX_LABEL`] bytes (so `STEM.segment-LABEL.EXT` and the step names stay plain).
///
/// ```
/// assert!(h2g::infer::design::check_label("mob-km-pw").is_ok());
/// assert!(h2g::infer::design::check_label("a.b").is_err());
/// ```
pub fn check_label(label: &str) -> Result<(), DesignError> {
    let ok = !label.is_empty()
        && label.len() <= MAX_LABEL
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && label.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(DesignError::BadLabel(label.to_string()))
    }
}

impl Design {
    /// The kind named `s` on the command line (`h2g`, `pw`, `unet-lr`, `otsu`).
    pub fn from_name(s: &str) -> Option<Design> {
        [Design::H2g, Design::Pw, Design::UnetLr, Design::Otsu]
            .into_iter()
            .find(|d| d.name() == s.trim())
    }

    /// Whether it runs the patch classifier.
    pub fn uses_model(self) -> bool {
        matches!(self, Design::H2g | Design::Pw)
    }

    /// Whether it runs the refinement network.
    pub fn uses_refine_model(self) -> bool {
        matches!(self, Design::H2g | Design::UnetLr)
    }
}

/// Where `h2g segment` writes the file with extension `ext` (`mask.tif`, `json`, …) of the
/// design labelled `label`: `DIR/STEM.segment-LABEL.EXT`.
pub fn segment_path(dir: &Path, stem: &str, label: &str, ext: &str) -> PathBuf {
    dir.join(format!("{stem}.segment-{label}.{ext}"))
}

/// Reads a designs file (see the module's text). A model that names an existing file relative
/// to the file's folder is taken from there; any other value is passed on as given (a built-in
/// name or a path).
pub fn read_designs(path: &Path) -> Result<Vec<DesignSpec>, DesignError> {
    let t = Table::open(path, "designs file")?;
    let (cl, ck) = (t.require("label", None)?, t.require("design", None)?);
    let (cm, cr, cv) = (
        t.column("model"),
        t.column("refine_model"),
        t.column("refine_level"),
    );
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let model = |v: &str| -> Option<String> {
        if v.is_empty() {
            return None;
        }
        let local = base.join(v);
        Some(if Path::new(v).is_relative() && local.is_file() {
            local.to_string_lossy().into_owned()
        } else {
            v.to_string()
        })
    };
    let mut lines: Vec<(u64, String)> = Vec::new();
    let designs = t.map_rows(|row| -> Result<Option<DesignSpec>, DesignError> {
        let line = row.line();
        if lines.len() >= MAX_DESIGNS {
            return Err(DesignError::Count {
                path: path.into(),
                count: lines.len() + 1,
            });
        }
        let label = row.required(cl)?.to_string();
        check_label(&label)?;
        let kind_text = row.required(ck)?;
        let kind = Design::from_name(kind_text).ok_or_else(|| DesignError::UnknownKind {
            path: path.into(),
            line,
            kind: kind_text.to_string(),
        })?;
        let refine_level = match row.get(cv) {
            "" => RefineLevel::Auto,
            v => v.parse().map_err(|source| DesignError::RefineLevel {
                path: path.into(),
                line,
                source,
            })?,
        };
        if let Some((first, _)) = lines.iter().find(|(_, l)| *l == label) {
            return Err(DesignError::DuplicateLabel {
                path: path.into(),
                label,
                first: *first,
                second: line,
            });
        }
        lines.push((line, label.clone()));
        Ok(Some(DesignSpec {
            label,
            kind,
            model: model(row.get(cm)),
            refine_model: model(row.get(cr)),
            refine_level,
        }))
    })?;
    Ok(designs)
}
