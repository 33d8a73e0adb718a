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

/// Parses `--batch` ([`h2g::units::parse_batch`]).
pub fn batch(s: &str) -> Result<usize, String> {
    h2g::units::parse_batch(s).map_err(|e| e.to_string())
}

/// Parses `--threads` ([`h2g::units::threads_for`] this machine), warning when it is lowered.
pub fn threads(s: &str) -> Result<usize, String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let t = h2g::units::threads_for(s, cores).map_err(|e| e.to_string())?;
    if t.lowered() {
        super::out::noteln!(
            "warning: --threads {}: this machine has {cores} cores; using {cores}",
            t.asked
        );
    }
    Ok(t.used)
}

/// Parses `--jobs` ([`h2g::units::parse_jobs`]).
pub fn jobs(s: &str) -> Result<usize, String> {
    h2g::units::parse_jobs(s).map_err(|e| e.to_string())
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
