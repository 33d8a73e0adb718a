//! `h2g models list|show|inspect|init|fetch`: the built-in model manifests, what an ONNX file
//! holds, and a manifest drafted from one (`h2g::infer::manifest::draft`).

use super::out::{note, noteln, out, outln};
use std::path::PathBuf;
use std::process::ExitCode;

use h2g::infer::fetch::fetch;
use h2g::infer::manifest::{built_in, draft, find, resolve, search_dirs, write_manifest, Role};
use h2g::infer::models_text::{default_name, init_text, inspect_text, list_text, show_text};
use h2g::infer::{inspect, load_runtime};

pub type Args = super::args::Nested<Sub>;

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// The models h2g knows (manifests in models/*.json): role, contract, whether trained, and
    /// where the file was found.
    List {
        /// Print JSON (the full manifests).
        #[arg(long)]
        json: bool,
    },
    /// Download a model's file (verified by its SHA-256) into DIR (default .deps/models, which
    /// --model NAME searches).
    Fetch {
        /// The model's name (h2g models list).
        name: String,
        /// Download from this URL instead of the manifest's.
        #[arg(long)]
        url: Option<String>,
        /// Expected SHA-256 (needed when the manifest pins none).
        #[arg(long)]
        sha256: Option<String>,
        /// Where to put it.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// One model's manifest (a built-in name, or an .onnx path with its manifest): contract,
    /// scaling, channel order and the output used.
    Show {
        /// The model: a built-in name or an .onnx path.
        model: String,
        /// Print the manifest as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Draft a manifest for an ONNX file from its inputs and outputs (layout, size, inputs,
    /// outputs); the fields the file cannot tell are set to defaults and listed on stderr.
    Init {
        /// The .onnx file.
        model: PathBuf,
        /// What the model is for.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The manifest's name (default: the file's stem).
        #[arg(long)]
        name: Option<String>,
        /// Where to write the manifest (MODEL.json beside MODEL.onnx is found by --model
        /// MODEL.onnx).
        #[arg(short, long)]
        output: PathBuf,
        /// Replace an existing manifest (never anything but a regular file).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        lib: super::model_args::OrtLibArg,
    },
    /// Inputs, outputs, shapes, IR version, producer and opsets of an ONNX file.
    Inspect {
        /// The .onnx file.
        model: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        lib: super::model_args::OrtLibArg,
    },
}

/// A model's role on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    /// A patch classifier (stage 1).
    PatchClassifier,
    /// A refinement network (stage 2).
    Refinement,
    /// A tissue segmenter.
    Tissue,
    /// A feature extractor (the clustering stage).
    FeatureExtractor,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::PatchClassifier => Role::PatchClassifier,
            RoleArg::Refinement => Role::Refinement,
            RoleArg::Tissue => Role::Tissue,
            RoleArg::FeatureExtractor => Role::FeatureExtractor,
        }
    }
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    match a.command {
        Sub::List { json: true } => outln!("{}", serde_json::to_string_pretty(&built_in())?)?,
        Sub::List { json: false } => out!("{}", list_text(&built_in()))?,
        Sub::Fetch {
            name,
            url,
            sha256,
            dir,
        } => {
            let m = find(&name).ok_or_else(|| {
                anyhow::anyhow!("unknown model '{name}' (h2g models list shows the known ones)")
            })?;
            let dir = dir.unwrap_or_else(default_fetch_dir);
            let path = fetch(&m, url.as_deref(), sha256.as_deref(), &dir)?;
            noteln!("{}: {} (sha256 verified)", m.name, path.display());
        }
        Sub::Show { model, json } => {
            let (m, path) = resolve(&model)?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&m)?)?;
            } else {
                out!("{}", show_text(&m, &path))?;
            }
        }
        Sub::Init {
            model,
            role,
            name,
            output,
            force,
            lib,
        } => {
            load_runtime(lib.ort_lib.as_deref())?;
            let name = name.unwrap_or_else(|| default_name(&model));
            let d = draft(&inspect(&model)?, role.into(), &name)?;
            write_manifest(&output, &d.manifest, force)?;
            note!("{}", init_text(&model, &output, &d.check));
        }
        Sub::Inspect { model, json, lib } => {
            load_runtime(lib.ort_lib.as_deref())?;
            let info = inspect(&model)?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&info)?)?;
            } else {
                out!("{}", inspect_text(&info))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `.deps/models` of the repository the binary was built in (searched by `--model NAME`), else
/// of the current directory.
fn default_fetch_dir() -> PathBuf {
    search_dirs()
        .into_iter()
        .find(|d| d.ends_with(".deps/models"))
        .unwrap_or_else(|| PathBuf::from(".deps/models"))
}
