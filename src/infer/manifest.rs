//! Model manifests: what a model expects and what its output means (`models/*.json`, built into
//! the binary), and where its file is found.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What a model is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Stage 1: a patch classifier (one probability per patch).
    PatchClassifier,
    /// Stage 2: the refinement network (low-resolution image + heatmap → mask).
    Refinement,
    /// A tissue segmenter.
    Tissue,
}

/// Tensor layout of image inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// From the model: last dimension 1–4 → channels-last, else channels-first (FAST's rule).
    #[default]
    Auto,
    /// Batch, height, width, channels.
    Nhwc,
    /// Batch, channels, height, width.
    Nchw,
}

/// How pixel values (0–255) become model inputs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scaling {
    /// x / 255.
    Div255,
    /// (x − min) / (max − min) over all pixels and channels of the image.
    Minmax,
}

impl Layout {
    /// The layout of an input of `shape` under this setting: `Auto` follows FAST's rule (last
    /// dimension 1–4 → channels-last, else channels-first).
    pub fn resolve(self, shape: &[i64]) -> Layout {
        match self {
            Layout::Auto if matches!(shape.last(), Some(1..=4)) => Layout::Nhwc,
            Layout::Auto => Layout::Nchw,
            l => l,
        }
    }
}

impl Scaling {
    /// The (low, high) pair mapped to (0, 1) for 8-bit `data`: (0, 255), or its min and max
    /// over all pixels and channels (a flat image maps its value to 0).
    pub fn range(self, data: &[u8]) -> (f32, f32) {
        match self {
            Scaling::Div255 => (0.0, 255.0),
            Scaling::Minmax => {
                let (a, b) = data
                    .iter()
                    .fold((255u8, 0u8), |(a, b), &v| (a.min(v), b.max(v)));
                (a as f32, (b as f32).max(a as f32 + 1.0))
            }
        }
    }
}

/// One input of the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputSpec {
    /// Channel count.
    pub channels: u32,
    /// "image", "heatmap" or "image+heatmap".
    pub role: String,
}

/// The meaning of the output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputSpec {
    /// "softmax" or "sigmoid".
    pub kind: String,
    /// The channel holding the probability of interest.
    pub channel: usize,
    /// In words.
    pub meaning: String,
}

/// A model manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Short name (`--model NAME`).
    pub name: String,
    /// What it is for.
    pub role: Role,
    /// Whether it is a trained model (false: the project's own test stand-ins).
    pub trained: bool,
    /// File name (relative to a models folder).
    pub file: String,
    /// SHA-256 of the file, when pinned.
    pub sha256: Option<String>,
    /// Where it can be downloaded.
    pub urls: Vec<String>,
    /// Its licence.
    pub licence: String,
    /// Input layout.
    pub layout: Layout,
    /// Input side in pixels (square).
    pub size: u32,
    /// Inputs, in the order the model declares them (matched by channel count).
    pub inputs: Vec<InputSpec>,
    /// Channel order of image inputs ("rgb").
    pub channel_order: String,
    /// Pixel scaling.
    pub scaling: Scaling,
    /// Objective magnification the model expects (patch classifiers).
    pub magnification: Option<f64>,
    /// Output meaning.
    pub output: OutputSpec,
    /// Decision threshold.
    pub threshold: f64,
    /// Free notes.
    pub notes: String,
}

const BUILT_IN: [(&str, &str); 11] = [
    (
        "h2g-patch-mobilenetv2",
        include_str!("../../models/h2g-patch-mobilenetv2.json"),
    ),
    (
        "h2g-refinement-unet",
        include_str!("../../models/h2g-refinement-unet.json"),
    ),
    (
        "superfast-tissue",
        include_str!("../../models/superfast-tissue.json"),
    ),
    (
        "test-patch-classifier",
        include_str!("../../models/test-patch-classifier.json"),
    ),
    (
        "test-refinement-2in",
        include_str!("../../models/test-refinement-2in.json"),
    ),
    (
        "test-refinement-4ch",
        include_str!("../../models/test-refinement-4ch.json"),
    ),
    (
        "test-unet-lr",
        include_str!("../../models/test-unet-lr.json"),
    ),
    (
        "test-patch-classifier-nchw",
        include_str!("../../models/test-patch-classifier-nchw.json"),
    ),
    (
        "test-refinement-2in-nchw",
        include_str!("../../models/test-refinement-2in-nchw.json"),
    ),
    (
        "test-refinement-4ch-nchw",
        include_str!("../../models/test-refinement-4ch-nchw.json"),
    ),
    (
        "test-unet-lr-nchw",
        include_str!("../../models/test-unet-lr-nchw.json"),
    ),
];

/// The manifests built into the binary.
pub fn built_in() -> Vec<Manifest> {
    BUILT_IN
        .iter()
        .filter_map(|(_, text)| serde_json::from_str(text).ok())
        .collect()
}

/// The built-in manifest called `name`.
pub fn find(name: &str) -> Option<Manifest> {
    built_in().into_iter().find(|m| m.name == name)
}

/// Folders searched for model files, in order: `$H2G_MODELS`, `models/` and `.deps/models/` of
/// the repository the binary was built in (found from the executable), then of the current
/// directory.
pub fn search_dirs() -> Vec<PathBuf> {
    let mut d = Vec::new();
    if let Some(v) = std::env::var_os("H2G_MODELS").filter(|v| !v.is_empty()) {
        d.extend(std::env::split_paths(&v));
    }
    if let Ok(exe) = std::env::current_exe() {
        for up in exe.ancestors().skip(1).take(4) {
            if up.join("Cargo.toml").is_file() {
                d.push(up.join("models"));
                d.push(up.join(".deps/models"));
            }
        }
    }
    d.push(PathBuf::from("models"));
    d.push(PathBuf::from(".deps/models"));
    d
}

/// Where `m`'s file is, if anywhere in the search folders.
pub fn locate(m: &Manifest) -> Option<PathBuf> {
    search_dirs()
        .into_iter()
        .map(|d| d.join(&m.file))
        .find(|p| p.is_file())
}

/// Why a model named on the command line cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// A path ending in `.onnx` that is not a file.
    #[error("model file {0} does not exist")]
    NoFile(String),
    /// The manifest beside the model cannot be read.
    #[error("manifest {}: {cause}", path.display())]
    ReadManifest {
        /// The manifest file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// The manifest beside the model is not a valid manifest.
    #[error("manifest {}: {cause}", path.display())]
    BadManifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        cause: serde_json::Error,
    },
    /// An `.onnx` file with no manifest beside it and no built-in one of its file name.
    #[error(
        "no manifest for {model}: put one beside it as {} (see models/*.json), or name a \
         built-in model ({built_in})",
        beside.display()
    )]
    NoManifest {
        /// The model as given.
        model: String,
        /// Where its manifest would be.
        beside: PathBuf,
        /// The built-in names.
        built_in: String,
    },
    /// A name that is no built-in model.
    #[error("unknown model '{name}' (built in: {built_in})")]
    Unknown {
        /// The name given.
        name: String,
        /// The built-in names.
        built_in: String,
    },
    /// A built-in model whose file is in none of the search folders.
    #[error("model '{name}' ({file}) is not in {searched}; pass --model PATH/TO/{file}")]
    NotInstalled {
        /// The model's name.
        name: String,
        /// Its file name.
        file: String,
        /// The folders searched, comma-separated.
        searched: String,
    },
}

/// A model given on the command line: a built-in name, or a path to an `.onnx` file (with its
/// manifest from a `FILE.json` beside it, or the built-in manifest whose file name matches).
pub fn resolve(arg: &str) -> Result<(Manifest, PathBuf), ResolveError> {
    let p = Path::new(arg);
    if p.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
        || p.is_file()
    {
        if !p.is_file() {
            return Err(ResolveError::NoFile(arg.to_string()));
        }
        let side = p.with_extension("json");
        if side.is_file() {
            let text =
                std::fs::read_to_string(&side).map_err(|source| ResolveError::ReadManifest {
                    path: side.clone(),
                    cause: source,
                })?;
            let m: Manifest =
                serde_json::from_str(&text).map_err(|source| ResolveError::BadManifest {
                    path: side.clone(),
                    cause: source,
                })?;
            return Ok((m, p.to_path_buf()));
        }
        let fname = p.file_name().and_then(|f| f.to_str()).unwrap_or("");
        return built_in()
            .into_iter()
            .find(|m| Path::new(&m.file).file_name().and_then(|f| f.to_str()) == Some(fname))
            .map(|m| (m, p.to_path_buf()))
            .ok_or_else(|| ResolveError::NoManifest {
                model: arg.to_string(),
                beside: side.clone(),
                built_in: names(),
            });
    }
    let m = find(arg).ok_or_else(|| ResolveError::Unknown {
        name: arg.to_string(),
        built_in: names(),
    })?;
    let path = locate(&m).ok_or_else(|| ResolveError::NotInstalled {
        name: m.name.clone(),
        file: m.file.clone(),
        searched: search_dirs()
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })?;
    Ok((m, path))
}

fn names() -> String {
    built_in()
        .iter()
        .map(|m| m.name.clone())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_manifest_parses() {
        assert_eq!(built_in().len(), BUILT_IN.len());
        for (name, _) in BUILT_IN {
            assert_eq!(find(name).map(|m| m.name), Some(name.to_string()));
        }
        let r = find("h2g-refinement-unet").unwrap();
        assert_eq!(r.inputs.len(), 2);
        assert_eq!(r.scaling, Scaling::Minmax);
    }

    #[test]
    fn test_models_are_found_and_match_their_pinned_sha256() {
        for name in [
            "test-patch-classifier",
            "test-refinement-2in",
            "test-refinement-4ch",
            "test-unet-lr",
            "test-patch-classifier-nchw",
            "test-refinement-2in-nchw",
            "test-refinement-4ch-nchw",
            "test-unet-lr-nchw",
        ] {
            let (m, path) = resolve(name).unwrap();
            assert!(!m.trained);
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(Some(crate::digest::sha256_hex(&bytes)), m.sha256, "{name}");
        }
        assert!(matches!(
            resolve("no-such-model"),
            Err(ResolveError::Unknown { name, .. }) if name == "no-such-model"
        ));
        assert!(matches!(
            resolve("missing/model.onnx"),
            Err(ResolveError::NoFile(f)) if f == "missing/model.onnx"
        ));
    }
}
