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

/// A pixel size option's parser: a positive number of µm per pixel, at most
/// [`h2g::units::MAX_MPP`].
pub fn mpp(flag: &'static str) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync {
    number(flag, h2g::units::check_mpp)
}

/// An area option's parser (`--min-area`, `--max-hole`): µm² from 0 to
/// [`h2g::units::MAX_AREA_UM2`].
pub fn area(flag: &'static str) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync {
    number(flag, h2g::units::check_area)
}

/// A parser of a number `flag` takes, checked by `check`.
fn number(
    flag: &'static str,
    check: fn(&str, f64) -> Result<f64, h2g::units::RangeError>,
) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync {
    move |s| {
        let v = s
            .parse::<f64>()
            .map_err(|_| format!("{flag} {s}: not a number"))?;
        check(flag, v).map_err(|e| e.to_string())
    }
}

/// The most patches one inference call takes (`--batch`): 1024 patches of 256 × 256 are
/// 800 MB of input.
pub const MAX_BATCH: usize = 1024;

/// Parses `--batch`: 1 to [`MAX_BATCH`].
pub fn batch(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=MAX_BATCH).contains(&n) => Ok(n),
        _ => Err(format!(
            "--batch {s}: patches per inference call are a whole number from 1 to {MAX_BATCH}"
        )),
    }
}

/// The most threads a `--threads` may ask for; above it a value is a typo, refused. Between
/// the machine's cores and this, it is lowered to the cores, with a warning.
pub const MAX_THREADS: usize = 1024;

/// Parses `--threads`: 0 (every core) or a count, lowered to the machine's cores.
pub fn threads(s: &str) -> Result<usize, String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match s.parse::<usize>() {
        Ok(n) if n <= cores => Ok(n),
        Ok(n) if n <= MAX_THREADS => {
            super::out::noteln!(
                "warning: --threads {n}: this machine has {cores} cores; using {cores}"
            );
            Ok(cores)
        }
        _ => Err(format!(
            "--threads {s}: give 0 (every core) or a whole number up to {MAX_THREADS} \
             (this machine has {cores} cores)"
        )),
    }
}

/// Parses an input file's path, refusing a symlink loop by name (the system says only "too
/// many levels of symbolic links", and a reader that asks whether the file exists, "no such
/// file"); whether the file exists and what it holds is for its reader to say.
pub fn input(s: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(s);
    match std::fs::metadata(&path) {
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Err(format!(
            "{s} is a symlink loop: its links lead back to themselves and never to a file; \
             point the link at the real file"
        )),
        _ => Ok(path),
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
    #[arg(long, value_parser = mpp("--mpp"))]
    pub mpp: Option<f64>,
}

/// The slide a command reads, and its pixel size for slides that record none.
#[derive(Debug, clap::Args)]
pub struct SlideArgs {
    /// The slide.
    #[arg(value_parser = input)]
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
    #[arg(long, default_value_t = 16, value_parser = batch)]
    pub batch: usize,
}

/// A design of the paper, its networks and the resolution of its mask.
#[derive(Debug, clap::Args)]
pub struct DesignArgs {
    /// Which design of the paper's ablation study.
    #[arg(long, value_enum, default_value_t = h2g::infer::segment::Design::H2g)]
    pub design: h2g::infer::segment::Design,
    /// The design's label, which names its outputs (`STEM.segment-LABEL.*`) and its rows in the
    /// evaluation (default: the design's name), e.g. mob-km-pw.
    #[arg(long)]
    pub label: Option<String>,
    #[command(flatten)]
    pub models: ModelArgs,
    /// Pyramid level the refinement network reads: auto (the coarsest level of at least
    /// 1024 × 1024, the paper's rule; level 0 when none is), lowest (FAST's published
    /// pipeline, whatever its size) or a level number.
    #[arg(long, default_value_t = h2g::infer::refine_input::RefineLevel::Auto)]
    pub refine_level: h2g::infer::refine_input::RefineLevel,
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
    #[command(flatten)]
    pub contract: ContractArgs,
}

/// Parses an output choice: a whole number is an index, anything else a name.
fn output_ref(s: &str) -> Result<h2g::infer::manifest::OutputRef, String> {
    s.parse()
        .map_err(|e: std::convert::Infallible| e.to_string())
}

/// Overrides of the models' manifests: how pixels are scaled, the channel order, which output
/// is used (`--model-*`: the patch classifier, or the tissue model; `--refine-*`: the
/// refinement network).
#[derive(Debug, Clone, clap::Args)]
pub struct ContractArgs {
    /// Override the patch classifier's (tissue model's) pixel scaling.
    #[arg(long, value_enum, value_name = "SCALING")]
    pub model_scaling: Option<h2g::infer::manifest::Scaling>,
    /// Per-channel means for --model-scaling meanstd, 0-1 scale, in the model's channel order.
    #[arg(long, value_delimiter = ',', num_args = 1.., value_name = "M,M,M")]
    pub model_mean: Option<Vec<f64>>,
    /// Per-channel standard deviations for --model-scaling meanstd (0-1 scale, each > 0).
    #[arg(long, value_delimiter = ',', num_args = 1.., value_name = "S,S,S")]
    pub model_std: Option<Vec<f64>>,
    /// Override the patch classifier's (tissue model's) colour channel order.
    #[arg(long, value_enum, value_name = "ORDER")]
    pub model_channel_order: Option<h2g::infer::manifest::ChannelOrder>,
    /// Which output of the patch classifier (tissue model) to use: its index or its name.
    #[arg(long, value_parser = output_ref, value_name = "NAME|INDEX")]
    pub model_output: Option<h2g::infer::manifest::OutputRef>,
    /// Override the refinement network's pixel scaling.
    #[arg(long, value_enum, value_name = "SCALING")]
    pub refine_scaling: Option<h2g::infer::manifest::Scaling>,
    /// Per-channel means for --refine-scaling meanstd, 0-1 scale, in the model's channel order.
    #[arg(long, value_delimiter = ',', num_args = 1.., value_name = "M,M,M")]
    pub refine_mean: Option<Vec<f64>>,
    /// Per-channel standard deviations for --refine-scaling meanstd (0-1 scale, each > 0).
    #[arg(long, value_delimiter = ',', num_args = 1.., value_name = "S,S,S")]
    pub refine_std: Option<Vec<f64>>,
    /// Override the refinement network's colour channel order.
    #[arg(long, value_enum, value_name = "ORDER")]
    pub refine_channel_order: Option<h2g::infer::manifest::ChannelOrder>,
    /// Which output of the refinement network to use: its index or its name (DoubleU-Net: 1).
    #[arg(long, value_parser = output_ref, value_name = "NAME|INDEX")]
    pub refine_output: Option<h2g::infer::manifest::OutputRef>,
}

impl ContractArgs {
    /// The library's form; `refinement`: whether the command runs a refinement network (the
    /// `--refine-*` flags are an error where it does not).
    pub fn overrides(
        &self,
        refinement: bool,
    ) -> anyhow::Result<h2g::infer::manifest::ContractOverrides> {
        use h2g::infer::manifest::{ContractOverrides, ManifestOverrides};
        let refine = ManifestOverrides {
            scaling: self.refine_scaling,
            mean: self.refine_mean.clone(),
            std: self.refine_std.clone(),
            channel_order: self.refine_channel_order,
            output: self.refine_output.clone(),
        };
        if !refinement && !refine.is_empty() {
            anyhow::bail!(
                "--refine-scaling, --refine-mean, --refine-std, --refine-channel-order and \
                 --refine-output apply to the refinement network, which this command does not \
                 run: use --model-* for its model"
            );
        }
        Ok(ContractOverrides {
            model: ManifestOverrides {
                scaling: self.model_scaling,
                mean: self.model_mean.clone(),
                std: self.model_std.clone(),
                channel_order: self.model_channel_order,
                output: self.model_output.clone(),
            },
            refine,
        })
    }
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
    #[arg(long, default_value_t = 0, value_parser = threads)]
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

/// The coordinate frame of the GeoJSON a tissue mask is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FrameKind {
    /// Level-0 pixels of the slide file (OpenSlide's frame).
    #[value(alias = "openslide")]
    File,
    /// QuPath's frame: level-0 pixels minus the OpenSlide bounds origin (MRXS, Leica SCN, some
    /// NDPI), where QuPath puts (0, 0).
    Qupath,
}

/// `--frame` for the commands that write annotations from a tissue mask.
#[derive(Debug, clap::Args)]
pub struct FrameArg {
    /// Coordinate frame of the GeoJSON (openslide is an alias of file).
    #[arg(long, value_enum, default_value_t = FrameKind::File)]
    pub frame: FrameKind,
}

impl FrameArg {
    /// Whether the GeoJSON is in QuPath's frame.
    pub fn qupath(&self) -> bool {
        self.frame == FrameKind::Qupath
    }
}

/// Stage 1's tissue gate.
#[derive(Debug, clap::Args)]
pub struct GateArg {
    /// Tissue rule that decides which patches run: saturation (the paper: S ≥ 20 at 1.25x,
    /// closings) or fast (FAST: distance from white > 85, disk closing of radius 4).
    #[arg(long, value_enum, default_value_t = h2g::infer::heatmap::Gate::Saturation)]
    pub gate: h2g::infer::heatmap::Gate,
}

/// The closing of design I (`segment --design otsu`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OtsuClosing {
    /// None: the paper's design I (1024 × 1024 thumbnail, HSV, Otsu on saturation).
    None,
    /// A disk of radius 5: the variant the authors evaluated.
    Disk5,
}

/// `--otsu-closing` for design I.
#[derive(Debug, clap::Args)]
pub struct OtsuClosingArg {
    /// Closing after Otsu for --design otsu.
    #[arg(long, value_enum, default_value_t = OtsuClosing::None)]
    pub otsu_closing: OtsuClosing,
}

impl OtsuClosingArg {
    /// The library's closing.
    pub fn closing(&self) -> h2g::tissue::Closing {
        match self.otsu_closing {
            OtsuClosing::None => h2g::tissue::Closing::None,
            OtsuClosing::Disk5 => h2g::tissue::Closing::Disk5,
        }
    }
}
