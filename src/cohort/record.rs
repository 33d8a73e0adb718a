//! Step records: what a finished step read, how it was run and what it wrote.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Version of the record layout.
pub const RECORD_VERSION: u32 = 1;

/// One output file of a step, relative to the step's folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputFile {
    /// The path under the step's folder (`/`-separated).
    pub path: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// `sha256:HEX` of its content.
    pub sha256: String,
}

/// The record of a finished step, written after its outputs are in place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// [`RECORD_VERSION`].
    pub record_version: u32,
    /// The slide id (or `cohort`).
    pub slide: String,
    /// The step.
    pub step: String,
    /// The key the step ran under (see [`crate::cohort`]).
    pub key: String,
    /// h2g's version.
    pub h2g_version: String,
    /// What the key was made of: arguments, input fingerprints, upstream digests.
    pub made_of: serde_json::Value,
    /// The outputs, sorted by path.
    pub outputs: Vec<OutputFile>,
    /// SHA-256 over the outputs' paths and hashes: what later steps' keys depend on.
    pub digest: String,
    /// When the step started and finished (RFC 3339 UTC).
    pub started: String,
    /// When the step finished.
    pub finished: String,
    /// Seconds the step ran.
    pub wall_s: f64,
    /// Peak resident memory of the step's process, in MiB, where the system reports it.
    pub peak_rss_mib: Option<f64>,
}

impl Record {
    /// Reads a record; `None` when it is missing or unreadable (a step to run again).
    pub fn load(path: &Path) -> Option<Record> {
        let text = std::fs::read(path).ok()?;
        let r: Record = serde_json::from_slice(&text).ok()?;
        (r.record_version == RECORD_VERSION).then_some(r)
    }

    /// Whether the record's outputs are still in `dir` as recorded: each present with its size
    /// (`rehash`: and its content hash).
    pub fn outputs_intact(&self, dir: &Path, rehash: bool) -> Result<(), DamagedOutput> {
        for o in &self.outputs {
            let p = dir.join(&o.path);
            let file = || o.path.clone();
            let meta = std::fs::metadata(&p).map_err(|_| DamagedOutput::Missing(file()))?;
            if meta.len() != o.bytes {
                return Err(DamagedOutput::Size {
                    file: file(),
                    bytes: meta.len(),
                    recorded: o.bytes,
                });
            }
            if rehash {
                let h = super::fingerprint(&p, super::HashMode::Full).map_err(|source| {
                    DamagedOutput::Unreadable {
                        file: file(),
                        cause: source,
                    }
                })?;
                if h != o.sha256 {
                    return Err(DamagedOutput::Changed(file()));
                }
            }
        }
        Ok(())
    }
}

/// How a step's recorded outputs no longer are what its record says.
#[derive(Debug, thiserror::Error)]
pub enum DamagedOutput {
    /// A file is gone.
    #[error("{0} is missing")]
    Missing(String),
    /// A file has another size.
    #[error("{file} has {bytes} bytes, {recorded} recorded")]
    Size {
        /// The file (relative to the step's folder).
        file: String,
        /// Its size now.
        bytes: u64,
        /// Its recorded size.
        recorded: u64,
    },
    /// A file cannot be read to rehash it.
    #[error("{file}: {cause}")]
    Unreadable {
        /// The file.
        file: String,
        /// Why.
        cause: std::io::Error,
    },
    /// A file's content changed.
    #[error("{0} changed since it was written")]
    Changed(String),
}

/// Lists and hashes every file under `dir` (recursively, sorted), and their digest.
pub fn hash_outputs(dir: &Path) -> std::io::Result<(Vec<OutputFile>, String)> {
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    files.sort();
    let mut out = Vec::with_capacity(files.len());
    let mut d = Sha256::new();
    for rel in files {
        let p = dir.join(&rel);
        let bytes = std::fs::metadata(&p)?.len();
        let sha256 = super::fingerprint(&p, super::HashMode::Full)?;
        d.update(rel.as_bytes());
        d.update([0]);
        d.update(sha256.as_bytes());
        d.update([0]);
        out.push(OutputFile {
            path: rel,
            bytes,
            sha256,
        });
    }
    Ok((out, format!("sha256:{}", crate::digest::hex(&d.finalize()))))
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let p: PathBuf = e.path();
        let t = e.file_type()?;
        if t.is_dir() {
            walk(root, &p, out)?;
        } else if t.is_file() {
            let rel = p.strip_prefix(root).unwrap_or(&p);
            out.push(
                rel.components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/"),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_listed_hashed_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("b.txt"), b"abc").unwrap();
        std::fs::write(dir.path().join("sub/a.txt"), b"").unwrap();
        let (files, digest) = hash_outputs(dir.path()).unwrap();
        assert_eq!(
            files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
            ["b.txt", "sub/a.txt"]
        );
        assert_eq!(files[0].bytes, 3);
        assert!(files[1].sha256.starts_with("sha256:e3b0c442"));
        let r = Record {
            record_version: RECORD_VERSION,
            slide: "s".into(),
            step: "tissue".into(),
            key: "k".into(),
            h2g_version: "0".into(),
            made_of: serde_json::json!({}),
            outputs: files,
            digest: digest.clone(),
            started: String::new(),
            finished: String::new(),
            wall_s: 0.0,
            peak_rss_mib: None,
        };
        assert!(r.outputs_intact(dir.path(), true).is_ok());
        // same size, other content: only a rehash sees it
        std::fs::write(dir.path().join("b.txt"), b"abd").unwrap();
        assert!(r.outputs_intact(dir.path(), false).is_ok());
        assert!(matches!(
            r.outputs_intact(dir.path(), true),
            Err(DamagedOutput::Changed(f)) if f == "b.txt"
        ));
        std::fs::write(dir.path().join("b.txt"), b"abcd").unwrap();
        assert!(matches!(
            r.outputs_intact(dir.path(), false),
            Err(DamagedOutput::Size {
                bytes: 4,
                recorded: 3,
                ..
            })
        ));
        std::fs::write(dir.path().join("b.txt"), b"abc").unwrap();
        std::fs::remove_file(dir.path().join("sub/a.txt")).unwrap();
        assert!(matches!(
            r.outputs_intact(dir.path(), false),
            Err(DamagedOutput::Missing(f)) if f == "sub/a.txt"
        ));
        // the digest depends on names and contents
        std::fs::write(dir.path().join("b.txt"), b"abc").unwrap();
        std::fs::write(dir.path().join("sub/a.txt"), b"").unwrap();
        assert_eq!(hash_outputs(dir.path()).unwrap().1, digest);
        std::fs::rename(dir.path().join("b.txt"), dir.path().join("c.txt")).unwrap();
        assert_ne!(hash_outputs(dir.path()).unwrap().1, digest);
    }
}
