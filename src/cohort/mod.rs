//! Cohort runs (`h2g run`): a whole cohort through tissue, patches, segment, vectorize and
//! evaluate, resumable, slides in parallel within a memory budget.
//!
//! Each step of each slide runs as its own `h2g` process (the subcommand of the same name) into
//! a staging folder, which is moved into place when the step succeeds; its record is written
//! last, atomically. A crash, a kill or a bad slide therefore costs at most the steps that were
//! running, and a rerun redoes exactly the steps whose record is missing, stale or damaged. A
//! step is up to date when its record exists, its key (a hash of the step, h2g's version, the
//! step's arguments, the fingerprints of its input files and the digests of the records it
//! depends on) equals the key computed now, and every output the record lists is there with its
//! recorded size (and hash, with [`RunSpec::verify`]).
//!
//! Layout of the output folder:
//! ```text
//! events.jsonl                       every run's events, one JSON object a line
//! summary.json                       the last run's summary (failures listed)
//! slides/ID/STEP/                    a step's outputs (named ID.*); STEP is segment.LABEL and
//!                                    vectorize.LABEL for each design of a run of several
//! slides/ID/STEP.record.json         what it read, how it ran, what it wrote
//! slides/ID/logs/STEP.log            the step's messages (its stderr)
//! cohort/evaluate/                   the cohort's evaluation (report.html, summary.json, ...)
//! ```
//!
//! [`run`] takes a [`RunSpec`], checks it once, and reports what happens to an [`Observer`]
//! (a terminal display, a test, another front end); it returns the run's [`Summary`].

mod engine;
mod exec;
pub mod fault;
mod outcome;
mod plan;
pub mod record;
mod store;
mod table;

use std::path::PathBuf;

use serde::Serialize;

use crate::infer::design::DesignSpec;
use crate::tissue::MethodKind;

pub use crate::naming::valid_id;
pub use engine::run;
pub use exec::{StepResult, RESULT_FILE_ENV, RESULT_FILE_NAME};
pub use outcome::{Event, Failure, Outcome, Summary};
pub use record::{DamagedOutput, OutputFile, Record};
pub use store::{
    available_memory, fingerprint, key_of, try_lock, utc_now, utc_string, EventLog, HashMode, Lock,
};
pub use table::{read_cohort, CohortSlide, TableError};

/// A per-slide step, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Tissue detection (`h2g tissue`): mask, preview, report, GeoJSON.
    Tissue,
    /// The patch grid with tissue and tumour fractions (`h2g patches`, on the tissue step's mask).
    Patches,
    /// Whole-slide segmentation by a design (`h2g segment`).
    Segment,
    /// The segmentation traced into simplified QuPath annotations (`h2g vectorize`).
    Vectorize,
    /// The segmentation against the slide's truth (`h2g evaluate`); then the whole cohort's.
    Evaluate,
}

impl Step {
    /// The step's name: its subcommand, its folder, its record's name.
    pub fn name(self) -> &'static str {
        match self {
            Step::Tissue => "tissue",
            Step::Patches => "patches",
            Step::Segment => "segment",
            Step::Vectorize => "vectorize",
            Step::Evaluate => "evaluate",
        }
    }

    /// The steps whose outputs this one reads.
    pub fn deps(self) -> &'static [Step] {
        match self {
            Step::Patches => &[Step::Tissue],
            Step::Vectorize | Step::Evaluate => &[Step::Segment],
            _ => &[],
        }
    }

    /// Peak memory assumed for a step before one has been measured in this run, in MiB.
    pub fn default_mib(self) -> u64 {
        match self {
            Step::Tissue => 700,
            Step::Patches => 600,
            Step::Segment => 2000,
            Step::Vectorize => 400,
            Step::Evaluate => 600,
        }
    }
}

/// One step of one slide as a run schedules it: the step, and for segment and vectorize in a
/// run of several designs, the design's label. Its name (`segment`, `segment.LABEL`) names its
/// folder, record and log.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Task {
    /// The step.
    pub step: Step,
    /// The design's label, in runs of several designs (segment and vectorize only).
    pub design: Option<String>,
}

impl Task {
    /// A task of a step that is the same for every design.
    pub fn plain(step: Step) -> Task {
        Task { step, design: None }
    }

    /// Its name: the step's, then `.LABEL` for a design's step in a run of several.
    pub fn name(&self) -> String {
        match &self.design {
            Some(l) => format!("{}.{l}", self.step.name()),
            None => self.step.name().to_string(),
        }
    }
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl Serialize for Task {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

/// Everything a cohort run needs; checked once by [`run`] before anything is written.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The cohort table (see [`read_cohort`]).
    pub cohort: PathBuf,
    /// The output folder; reruns into it resume.
    pub output: PathBuf,
    /// The steps to run, in any order; each runs after those it reads from.
    pub steps: Vec<Step>,
    /// Only these slide ids (the cohort's evaluation is then left out).
    pub only: Vec<String>,
    /// Tissue detection method of the tissue step (not `model`).
    pub tissue_method: MethodKind,
    /// Patch side in pixels (patches step), 1 to 8192.
    pub patch_size: u32,
    /// Patch resolution (patches step): `10x`, `1.0um`, `ds:4` or `level:2`.
    pub patch_at: String,
    /// Keep patches whose tissue fraction is above this, in [0, 1).
    pub min_tissue: f64,
    /// Tumour when the tumour fraction is above this, in [0, 1).
    pub min_tumour: f64,
    /// The designs the segment and vectorize steps run, each under its label (at least one).
    /// With one design the steps are named `segment` and `vectorize`; with several, each
    /// design's are `segment.LABEL` and `vectorize.LABEL`, and evaluate compares them all.
    pub designs: Vec<DesignSpec>,
    /// Level-0 pixels per pixel of the segmentation mask (positive).
    pub mask_downsample: f64,
    /// The segment step's stage-1 tissue gate (designs h2g, pw).
    pub gate: crate::infer::heatmap::Gate,
    /// Simplification of the vectorize step's outlines (`2um`, `1.5px`), or `0` for exact edges.
    pub simplify: String,
    /// For GeoJSON truths: the tumour class (default: every polygon).
    pub truth_class: Option<String>,
    /// The cohort's evaluation covers only the slides of this split (`split` column).
    pub eval_split: Option<String>,
    /// The designs the cohort's Tukey HSD compares.
    pub tukey_family: crate::stats::Family,
    /// Label-mask classes the evaluations compare one by one (`evaluate --classes`); empty:
    /// binary masks, positive = non-zero.
    pub eval_classes: Vec<crate::eval::LabelClass>,
    /// Slides processed at once (0: one per 4 cores, within the memory budget; at most
    /// [`MAX_JOBS`](crate::units::MAX_JOBS)).
    pub jobs: usize,
    /// Cores for the whole run (0: all); each slide's steps get their share.
    pub threads: usize,
    /// Memory budget in MiB for the steps running at once (default: 80 % of the memory
    /// available at the start); see [`parse_memory`].
    pub memory_mib: Option<u64>,
    /// How input files are fingerprinted.
    pub hash: HashMode,
    /// Rehash recorded outputs before skipping a step (default: sizes only).
    pub verify: bool,
    /// Decide what would run and why, writing nothing.
    pub dry_run: bool,
    /// Where inference runs (segment step).
    pub device: crate::infer::Device,
    /// The ONNX Runtime shared library handed to the segment step.
    pub ort_lib: Option<PathBuf>,
    /// The `h2g` executable that runs each step.
    pub exe: PathBuf,
    /// Whether steps keep their progress line in a file for a display
    /// ([`Observer::step_started`] names it).
    pub step_progress: bool,
}

/// Why a cohort run could not start (a step or a slide that fails is an [`Outcome`] instead).
#[derive(Debug, thiserror::Error)]
pub enum CohortError {
    /// The cohort table is unusable.
    #[error(transparent)]
    Table(#[from] TableError),
    /// `only` names a slide the table does not have.
    #[error("--only {id}: no slide with that id in {}", table.display())]
    UnknownSlide {
        /// The id given.
        id: String,
        /// The cohort table.
        table: PathBuf,
    },
    /// A fraction outside [0, 1).
    #[error("{flag} must be in [0, 1), not {value}")]
    Fraction {
        /// The option.
        flag: &'static str,
        /// The value given.
        value: f64,
    },
    /// A patch size out of range.
    #[error("--patch-size must be between 1 and 8192, not {0}")]
    PatchSize(u32),
    /// A mask downsample that is not a positive number.
    #[error("--mask-downsample must be a positive number, not {0}")]
    MaskDownsample(f64),
    /// A patch resolution that does not parse.
    #[error("--patch-at: {0}")]
    PatchAt(crate::units::UnitParseError),
    /// A simplification length that does not parse.
    #[error("--simplify: {0}")]
    Simplify(crate::units::UnitParseError),
    /// The tissue step cannot run a model.
    #[error(
        "--tissue-method model is not available in h2g run; use saturation, otsu, fast or qupath"
    )]
    TissueModel,
    /// The design needs a model that was not given.
    #[error("design {label} ({kind}) needs {flag}")]
    MissingModel {
        /// The design's label.
        label: String,
        /// Its kind.
        kind: &'static str,
        /// The option (or designs-file column) that names the model.
        flag: &'static str,
    },
    /// No design, or two with one label.
    #[error("{0}")]
    Designs(&'static str),
    /// A designs file or label that cannot be used.
    #[error(transparent)]
    Design(#[from] crate::infer::design::DesignError),
    /// A model that cannot be found.
    #[error(transparent)]
    Model(#[from] crate::infer::manifest::ResolveError),
    /// A memory size that does not parse.
    #[error("--memory '{0}' is not a memory size such as 8G or 6000M")]
    Memory(String),
    /// The output folder cannot be made or resolved.
    #[error("cannot create {}: {cause}", path.display())]
    Output {
        /// The folder.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// The event log cannot be opened.
    #[error("cannot write {}: {cause}", path.display())]
    EventLog {
        /// The log.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// `H2G_FAULT` is set to something that is not a fault point.
    #[error(transparent)]
    Fault(#[from] fault::FaultError),
    /// The summary cannot be written (the run itself ended: its summary is here, so that
    /// what failed can still be told, e.g. on a full disk).
    #[error("cannot write {}: {cause}", path.display())]
    Summary {
        /// The summary file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
        /// What the run did.
        summary: Box<Summary>,
    },
}

/// Parses 8G, 6000M, 512MiB, 2GB or a plain number of MiB into MiB.
///
/// ```
/// assert_eq!(h2g::cohort::parse_memory("8G").unwrap(), 8192);
/// assert_eq!(h2g::cohort::parse_memory("6000M").unwrap(), 6000);
/// assert!(h2g::cohort::parse_memory("lots").is_err());
/// ```
pub fn parse_memory(s: &str) -> Result<u64, CohortError> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mul) = if let Some(n) = t
        .strip_suffix("gib")
        .or_else(|| t.strip_suffix("gb"))
        .or_else(|| t.strip_suffix('g'))
    {
        (n, 1024.0)
    } else if let Some(n) = t
        .strip_suffix("mib")
        .or_else(|| t.strip_suffix("mb"))
        .or_else(|| t.strip_suffix('m'))
    {
        (n, 1.0)
    } else {
        (t.as_str(), 1.0)
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v * mul >= 1.0 && v * mul < 1e9 => {
            Ok((v * mul) as u64)
        }
        _ => Err(CohortError::Memory(s.to_string())),
    }
}

/// What a run is about to do, as it tells its [`Observer`] (and its `run_start` event).
#[derive(Debug, Clone, Serialize)]
pub struct RunStart {
    /// The cohort table.
    pub cohort: PathBuf,
    /// The output folder (absolute).
    pub output: PathBuf,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Each slide's tasks, in order (the steps, per design where a step is).
    pub tasks: Vec<Task>,
    /// The designs' labels.
    pub designs: Vec<String>,
    /// Slides in this run.
    pub slides: usize,
    /// Slides at once.
    pub jobs: usize,
    /// Threads each step gets.
    pub threads_per_job: usize,
    /// The memory budget.
    pub memory_budget_mib: u64,
}

/// What a front end hears of a run. Calls come from the run's worker threads, one at a time;
/// every method has a default that does nothing.
pub trait Observer: Send {
    /// The run starts.
    fn started(&mut self, _start: &RunStart) {}
    /// Worker `worker` starts step `k` (0-based) of `n` on `slide`; with
    /// [`RunSpec::step_progress`], the step keeps its progress line in `progress_file`.
    fn step_started(
        &mut self,
        _worker: usize,
        _slide: &str,
        _task: &Task,
        _k: usize,
        _n: usize,
        _progress_file: &std::path::Path,
    ) {
    }
    /// Worker `worker` finished `slide`, the `done`-th of `total`, with these outcomes.
    fn slide_done(
        &mut self,
        _worker: usize,
        _done: usize,
        _total: usize,
        _slide: &CohortSlide,
        _outcomes: &[(Task, Outcome)],
    ) {
    }
    /// About four times a second while steps run (to refresh a display).
    fn tick(&mut self) {}
    /// The cohort's evaluation ended so.
    fn cohort_evaluated(&mut self, _outcome: &Outcome) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct Silent;

impl Observer for Silent {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes_parse() {
        assert_eq!(parse_memory("8G").unwrap(), 8192);
        assert_eq!(parse_memory("1.5gib").unwrap(), 1536);
        assert_eq!(parse_memory("6000M").unwrap(), 6000);
        assert_eq!(parse_memory("512").unwrap(), 512);
        for bad in ["", "-1G", "G", "NaNG", "0", "0.1m", "1e12"] {
            assert!(parse_memory(bad).is_err(), "{bad}");
        }
    }
}
