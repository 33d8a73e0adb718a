//! Flag groups several subcommands share, declared once and flattened into each (a command
//! words a flag's help its own way with `mut_arg` where its meaning there is narrower), and the
//! value parsers.

use std::path::PathBuf;

/// Parses a positive, finite float.
pub fn positive_f64(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a positive number")),
    }
}

/// Parses a memory size (8G, 6000M) into MiB.
pub fn memory_mib(s: &str) -> Result<u64, String> {
    h2g::cohort::parse_memory(s).map_err(|e| e.to_string())
}

/// The pixel size of slides that record none.
#[derive(Debug, clap::Args)]
pub struct MppArg {
    /// Level-0 pixel size in µm, for slides without one.
    #[arg(long, value_parser = positive_f64)]
    pub mpp: Option<f64>,
}

/// The slide a command reads, and its pixel size for slides that record none.
#[derive(Debug, clap::Args)]
pub struct SlideArgs {
    /// The slide.
    pub slide: PathBuf,
    #[command(flatten)]
    pub mpp: MppArg,
}

/// Where a command writes a slide's outputs, and the stem they are named by.
#[derive(Debug, clap::Args)]
pub struct OutputArgs {
    /// Output directory.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Name the outputs NAME.* instead of by the slide file's stem.
    #[arg(long)]
    pub name: Option<String>,
}

/// The patch classifier's grid over the tissue (stage 1).
#[derive(Debug, clap::Args)]
pub struct PatchRunArgs {
    /// Minimum tissue fraction of a patch for it to run.
    #[arg(long, default_value_t = 0.5)]
    pub min_tissue: f64,
    /// Patches per inference call.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
}

/// A design of the paper, its networks and the resolution of its mask.
#[derive(Debug, clap::Args)]
pub struct DesignArgs {
    /// Which design of the paper's ablation study.
    #[arg(long, value_enum, default_value_t = h2g::infer::segment::Design::H2g)]
    pub design: h2g::infer::segment::Design,
    #[command(flatten)]
    pub models: ModelArgs,
    /// Level-0 pixels per pixel of the full-frame mask.
    #[arg(long, default_value_t = 4.0, value_parser = positive_f64)]
    pub mask_downsample: f64,
}

/// The two networks of the designs of the paper.
#[derive(Debug, clap::Args)]
pub struct ModelArgs {
    /// Patch classifier (designs h2g, pw): a built-in name or an .onnx path.
    #[arg(long)]
    pub model: Option<String>,
    /// Refinement network (designs h2g, unet-lr): a built-in name or an .onnx path.
    #[arg(long)]
    pub refine_model: Option<String>,
}

/// The ONNX Runtime library.
#[derive(Debug, clap::Args)]
pub struct OrtLibArg {
    /// The ONNX Runtime shared library (default: the set-up's, H2G_ORT_LIB, ORT_DYLIB_PATH).
    #[arg(long)]
    pub ort_lib: Option<PathBuf>,
}

/// Options of every command that runs a model beside patch readers.
#[derive(Debug, clap::Args)]
pub struct RuntimeArgs {
    /// Cores to use, for ONNX Runtime and the patch readers together (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Patch reader threads kept apart from inference (taken from --threads); 0 lets readers
    /// share every core with inference. Default: one per 8 cores from 8 cores up, else 0.
    #[arg(long)]
    pub read_threads: Option<usize>,
    /// Where inference runs; cuda fails clearly when unavailable (never a silent CPU run).
    #[arg(long, value_enum, default_value_t = h2g::infer::Device::Cpu)]
    pub device: h2g::infer::Device,
    #[command(flatten)]
    pub lib: OrtLibArg,
}

impl RuntimeArgs {
    /// The library's form of these options.
    pub fn runtime(&self) -> h2g::infer::Runtime {
        h2g::infer::Runtime {
            threads: self.threads,
            read_threads: self.read_threads,
            device: self.device,
            ort_lib: self.lib.ort_lib.clone(),
            ..Default::default()
        }
    }
}

/// A command made of subcommands (`models list`, `stats tukey`).
#[derive(Debug, clap::Args)]
pub struct Nested<S: clap::Subcommand> {
    #[command(subcommand)]
    pub command: S,
}
