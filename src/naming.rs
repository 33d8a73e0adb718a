//! The stem a slide's outputs are named by (`STEM.heatmap.tif`, `STEM.tissue-METHOD.json`, …):
//! a name given for them, checked, or the slide file's stem.

use std::path::{Path, PathBuf};

/// Why outputs cannot be named or placed.
#[derive(Debug, thiserror::Error)]
pub enum NamingError {
    /// The name given is not a plain file name.
    #[error(
        "'{0}' cannot name outputs: use letters, digits, '.', '_' and '-' (not first), at most 200"
    )]
    BadName(String),
    /// The output folder's path is an existing file.
    #[error("-o {} is an existing file, not a folder: give a new or existing folder", .0.display())]
    NotAFolder(PathBuf),
    /// The output folder cannot be made.
    #[error("cannot create {}", dir.display())]
    CreateDir {
        /// The folder.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Checks an output name (`--name`, a cohort slide id): a plain file name of letters, digits,
/// `.`, `_` and `-`, not starting with `.` or `-`, at most 200 bytes.
///
/// ```
/// assert!(h2g::naming::check_name("S-01.a").is_ok());
/// assert!(h2g::naming::check_name("../x").is_err());
/// ```
pub fn check_name(name: &str) -> Result<(), NamingError> {
    if valid_id(name) {
        Ok(())
    } else {
        Err(NamingError::BadName(name.to_string()))
    }
}

/// Creates the output folder `dir` and returns the stem the outputs of `slide` are named by:
/// `name` when given (checked with [`check_name`]), else the slide file's stem (`slide` when it
/// has none).
pub fn output_stem(dir: &Path, slide: &Path, name: Option<&str>) -> Result<String, NamingError> {
    if let Some(n) = name {
        check_name(n)?;
    }
    create_output_dir(dir)?;
    Ok(name.map(str::to_string).unwrap_or_else(|| {
        slide
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "slide".into())
    }))
}

/// Creates the output folder `dir` and its parents unless it exists; a file at `dir` is
/// [`NamingError::NotAFolder`].
pub fn create_output_dir(dir: &Path) -> Result<(), NamingError> {
    if std::fs::metadata(dir).is_ok_and(|m| !m.is_dir()) {
        return Err(NamingError::NotAFolder(dir.to_path_buf()));
    }
    std::fs::create_dir_all(dir).map_err(|source| NamingError::CreateDir {
        dir: dir.to_path_buf(),
        source,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stem_is_the_name_given_else_the_slide_files() {
        let dir = std::env::temp_dir().join(format!("h2g-naming-{}", std::process::id()));
        let slide = Path::new("/data/CMU-1.small.svs");
        assert_eq!(output_stem(&dir, slide, None).unwrap(), "CMU-1.small");
        assert_eq!(output_stem(&dir, slide, Some("s01")).unwrap(), "s01");
        assert!(dir.is_dir());
        assert_eq!(output_stem(&dir, Path::new("/"), None).unwrap(), "slide");
        let e = output_stem(&dir, slide, Some("-x")).unwrap_err();
        assert!(matches!(&e, NamingError::BadName(n) if n == "-x"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
