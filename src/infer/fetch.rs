//! Downloading model files named by a manifest, verified by SHA-256 before they are kept.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::Digest;

use super::manifest::Manifest;
use crate::output::write_file;

/// Errors fetching a model.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The manifest has no URL a program can download from.
    #[error(
        "model '{name}' has no direct download URL (its sources: {sources}); download {file} \
         there and pass --model PATH/TO/{file}, or give --url"
    )]
    NoUrl {
        name: String,
        file: String,
        sources: String,
    },
    /// Every URL failed.
    #[error("cannot download model '{name}': {detail} (offline? download {file} elsewhere and pass --model PATH)")]
    Download {
        name: String,
        file: String,
        detail: String,
    },
    /// The bytes are not the ones the manifest pins.
    #[error("{url}: sha256 {got}, but the manifest of '{name}' pins {want}: file discarded")]
    Mismatch {
        name: String,
        url: String,
        got: String,
        want: String,
    },
    /// Nothing to verify against.
    #[error(
        "model '{name}' has no pinned sha256: pass --sha256 HEX from its distributor (the file \
         downloaded from {url} hashes to {got}; it was not kept)"
    )]
    Unpinned {
        name: String,
        url: String,
        got: String,
    },
}

/// Downloads `m`'s file into `dir` (from `url`, or the manifest's URLs in order), keeping it
/// only when its SHA-256 equals `sha256` (or the manifest's). Returns the file's path.
pub fn fetch(
    m: &Manifest,
    url: Option<&str>,
    sha256: Option<&str>,
    dir: &Path,
) -> Result<PathBuf, FetchError> {
    let direct =
        |u: &&str| (u.starts_with("http://") || u.starts_with("https://")) && !u.contains(' ');
    let urls: Vec<&str> = match url {
        Some(u) => vec![u],
        None => m.urls.iter().map(String::as_str).filter(direct).collect(),
    };
    if urls.is_empty() {
        return Err(FetchError::NoUrl {
            name: m.name.clone(),
            file: m.file.clone(),
            sources: if m.urls.is_empty() {
                "none listed".into()
            } else {
                m.urls.join(", ")
            },
        });
    }
    let want = sha256
        .map(str::to_ascii_lowercase)
        .or_else(|| m.sha256.clone());
    let file_name = Path::new(&m.file)
        .file_name()
        .map(|f| f.to_owned())
        .unwrap_or_else(|| m.name.clone().into());
    let dest = dir.join(file_name);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_global(Some(Duration::from_secs(3600)))
        .build()
        .into();
    let mut last = String::new();
    for u in urls {
        let resp = match agent.get(u).call() {
            Ok(r) => r,
            Err(e) => {
                last = format!("{u}: {e}");
                continue;
            }
        };
        let mut body = resp.into_body().into_reader();
        let mut got = String::new();
        std::fs::create_dir_all(dir).map_err(|e| FetchError::Download {
            name: m.name.clone(),
            file: m.file.clone(),
            detail: format!("cannot create {}: {e}", dir.display()),
        })?;
        let res = write_file(&dest, |w| {
            let mut h = sha2::Sha256::new();
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = body.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
                w.write_all(&buf[..n])?;
            }
            got = crate::digest::hex(&h.finalize());
            match &want {
                Some(want) if *want == got => Ok(()),
                _ => Err(std::io::Error::other("unverified")),
            }
        });
        match (res, &want) {
            (Ok(()), _) => return Ok(dest),
            (Err(_), Some(want)) if !got.is_empty() && *want != got => {
                return Err(FetchError::Mismatch {
                    name: m.name.clone(),
                    url: u.into(),
                    got,
                    want: want.clone(),
                })
            }
            (Err(_), None) if !got.is_empty() => {
                return Err(FetchError::Unpinned {
                    name: m.name.clone(),
                    url: u.into(),
                    got,
                })
            }
            (Err(e), _) => last = format!("{u}: {e}"),
        }
    }
    Err(FetchError::Download {
        name: m.name.clone(),
        file: m.file.clone(),
        detail: last,
    })
}
