//! `h2g models list|inspect`: the built-in model manifests, and what an ONNX file holds.

use std::path::PathBuf;
use std::process::ExitCode;

use h2g::infer::fetch::fetch;
use h2g::infer::manifest::{built_in, find, locate, search_dirs};
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
    /// Inputs, outputs, shapes, IR version, producer and opsets of an ONNX file.
    Inspect {
        /// The .onnx file.
        model: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        lib: super::args::OrtLibArg,
    },
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    match a.command {
        Sub::List { json } => {
            let ms = built_in();
            if json {
                println!("{}", serde_json::to_string_pretty(&ms)?);
                return Ok(ExitCode::SUCCESS);
            }
            for m in ms {
                let found = locate(&m)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "not found (pass --model PATH)".into());
                println!(
                    "{:<24} {:<17} {:<9} {}×{} {}, {}{}",
                    m.name,
                    serde_json::to_value(m.role)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    if m.trained { "trained" } else { "UNTRAINED" },
                    m.size,
                    m.size,
                    serde_json::to_value(m.scaling)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    m.magnification
                        .map(|x| format!("{x}x, "))
                        .unwrap_or_default(),
                    found
                );
            }
            Ok(ExitCode::SUCCESS)
        }
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
            eprintln!("{}: {} (sha256 verified)", m.name, path.display());
            Ok(ExitCode::SUCCESS)
        }
        Sub::Inspect { model, json, lib } => {
            load_runtime(lib.ort_lib.as_deref())?;
            let info = inspect(&model)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&info)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!("{}", info.path.display());
            println!(
                "  IR version {}, producer '{}', opsets {}",
                info.header.ir_version,
                info.header.producer,
                info.header
                    .opsets
                    .iter()
                    .map(|(d, v)| format!("{d} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            for (what, list) in [("input ", &info.inputs), ("output", &info.outputs)] {
                for t in list {
                    println!("  {what} {:<24} {} {:?}", t.name, t.element, t.shape);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `.deps/models` of the repository the binary was built in (searched by `--model NAME`), else
/// of the current directory.
fn default_fetch_dir() -> PathBuf {
    search_dirs()
        .into_iter()
        .find(|d| d.ends_with(".deps/models"))
        .unwrap_or_else(|| PathBuf::from(".deps/models"))
}
