//! `h2g models list|show|inspect|init|fetch`: the built-in model manifests, what an ONNX file
//! holds, and a manifest drafted from one (`h2g::infer::manifest::draft`).

use std::path::PathBuf;
use std::process::ExitCode;

use h2g::infer::fetch::fetch;
use h2g::infer::manifest::{
    built_in, draft, find, locate, resolve, search_dirs, write_manifest, Manifest, Role,
};
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
        lib: super::args::OrtLibArg,
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

/// A model's role on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    /// A patch classifier (stage 1).
    PatchClassifier,
    /// A refinement network (stage 2).
    Refinement,
    /// A tissue segmenter.
    Tissue,
}

/// The manifest's output choice and scaling, in words ("output 1, symmetric, bgr").
fn contract_words(m: &Manifest) -> String {
    let out = match &m.output.tensor {
        Some(t) => format!("output {t}"),
        None => "single output".into(),
    };
    let scaling = match (&m.mean, &m.std) {
        (Some(mean), Some(std)) => format!("{} mean {mean:?} std {std:?}", m.scaling.name()),
        _ => m.scaling.name().to_string(),
    };
    format!("{out}, {scaling}, {}", m.channel_order.name())
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
                    "{:<28} {:<17} {:<9} {}×{} {}, {}{}",
                    m.name,
                    serde_json::to_value(m.role)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    if m.trained { "trained" } else { "UNTRAINED" },
                    m.size,
                    m.size,
                    contract_words(&m),
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
        Sub::Show { model, json } => {
            let (m, path) = resolve(&model)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&m)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!("{} ({})", m.name, path.display());
            println!(
                "  role {}, {}, layout {:?}, {}×{}",
                serde_json::to_value(m.role)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                if m.trained { "trained" } else { "UNTRAINED" },
                m.layout,
                m.size,
                m.size
            );
            for (i, inp) in m.inputs.iter().enumerate() {
                println!("  input {i}: {} channel(s), {}", inp.channels, inp.role);
            }
            println!("  scaling and channels: {}", contract_words(&m));
            println!(
                "  output: {} channel {} ({}), threshold {}",
                m.output.kind, m.output.channel, m.output.meaning, m.threshold
            );
            for (i, o) in m.outputs.iter().enumerate() {
                println!("  file output {i}: '{}' {:?}", o.name, o.shape);
            }
            if let Some(x) = m.magnification {
                println!("  magnification {x}x");
            }
            Ok(ExitCode::SUCCESS)
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
            let info = inspect(&model)?;
            let role = match role {
                RoleArg::PatchClassifier => Role::PatchClassifier,
                RoleArg::Refinement => Role::Refinement,
                RoleArg::Tissue => Role::Tissue,
            };
            let name = name.unwrap_or_else(|| {
                model
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "model".into())
            });
            let d = draft(&info, role, &name)?;
            write_manifest(&output, &d.manifest, force)?;
            eprintln!(
                "wrote {}; check these (set by default, not read from the file):",
                output.display()
            );
            for c in &d.check {
                eprintln!("  {c}");
            }
            if output != model.with_extension("json") {
                eprintln!(
                    "(--model {} finds a manifest only as {})",
                    model.display(),
                    model.with_extension("json").display()
                );
            }
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
