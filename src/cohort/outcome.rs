//! What became of each step, the run's summary and the events of its log, as typed records.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::{RunStart, Task};

/// What became of one step of one slide.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// It ran and succeeded.
    Ran {
        /// Wall time in seconds.
        wall_s: f64,
        /// Peak resident memory of its process in MiB.
        peak_mib: Option<f64>,
    },
    /// Its record shows it up to date.
    UpToDate,
    /// It would run (a dry run), for this reason.
    WouldRun {
        /// Why.
        reason: String,
    },
    /// It does not apply to this slide.
    NotApplicable {
        /// Why.
        reason: String,
    },
    /// It could not run because an input step did not succeed.
    Blocked {
        /// Why.
        reason: String,
    },
    /// It failed.
    Failed {
        /// The step's own error, or how its process ended.
        error: String,
        /// Its log.
        log: Option<PathBuf>,
    },
}

impl Outcome {
    /// One or two words: `ran`, `up to date`, `would run`, `not applicable`, `blocked`, `failed`.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Ran { .. } => "ran",
            Outcome::UpToDate => "up to date",
            Outcome::WouldRun { .. } => "would run",
            Outcome::NotApplicable { .. } => "not applicable",
            Outcome::Blocked { .. } => "blocked",
            Outcome::Failed { .. } => "failed",
        }
    }

    /// Whether the step's outputs are (or, in a dry run, would be) there.
    pub fn ok(&self) -> bool {
        matches!(
            self,
            Outcome::Ran { .. } | Outcome::UpToDate | Outcome::WouldRun { .. }
        )
    }

    pub(crate) fn failed(error: impl Into<String>) -> Outcome {
        Outcome::Failed {
            error: error.into(),
            log: None,
        }
    }
}

impl std::fmt::Display for Outcome {
    /// The word, with the step's time, error or reason.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())?;
        match self {
            Outcome::Ran { wall_s, peak_mib } => {
                write!(f, " in {wall_s:.1} s")?;
                if let Some(m) = peak_mib {
                    write!(f, ", peak {m:.0} MiB")?;
                }
                Ok(())
            }
            Outcome::Failed { error, log } => {
                write!(f, ": {error}")?;
                if let Some(l) = log {
                    write!(f, " (log: {})", l.display())?;
                }
                Ok(())
            }
            Outcome::WouldRun { reason }
            | Outcome::NotApplicable { reason }
            | Outcome::Blocked { reason } => write!(f, ": {reason}"),
            Outcome::UpToDate => Ok(()),
        }
    }
}

/// A failed step in the summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// The slide's id (`cohort` for the cohort's evaluation).
    pub slide: String,
    /// The slide file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// The step (`segment.LABEL` for a design's step in a run of several).
    pub step: Task,
    /// What went wrong.
    pub error: String,
    /// The step's log.
    pub log: Option<PathBuf>,
}

/// What a run did (`summary.json`, the `run_end` event, `h2g run --json`).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// When it ended (RFC 3339 UTC).
    pub finished: String,
    /// Whether it was a dry run.
    pub dry_run: bool,
    /// Wall time in seconds.
    pub wall_s: f64,
    /// Slides in the run.
    pub slides: usize,
    /// Slides with at least one failed step.
    pub slides_failed: usize,
    /// Steps that ran.
    pub steps_ran: usize,
    /// Per step, how many slides ended each way (by [`Outcome::word`]).
    pub steps: BTreeMap<Task, BTreeMap<String, usize>>,
    /// Slides per hour, when any step ran.
    pub slides_per_hour: Option<f64>,
    /// The largest peak resident memory of a step, in MiB.
    pub peak_step_rss_mib: Option<f64>,
    /// Slides at once.
    pub jobs: usize,
    /// Threads each step got.
    pub threads_per_job: usize,
    /// The memory budget.
    pub memory_budget_mib: u64,
    /// What became of the cohort's evaluation, when it was due.
    pub cohort_evaluation: Option<&'static str>,
    /// Every failed step.
    pub failures: Vec<Failure>,
    /// The outcome of every step of every slide, in table order: (slide id, step, outcome).
    #[serde(skip)]
    pub outcomes: Vec<(String, Task, Outcome)>,
    /// The cohort evaluation's outcome.
    #[serde(skip)]
    pub cohort_outcome: Option<Outcome>,
}

impl Summary {
    /// Whether nothing failed.
    pub fn success(&self) -> bool {
        self.failures.is_empty()
    }
}

/// One line of `events.jsonl` (a `time` field is added when it is written).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event<'a> {
    /// A run starts.
    RunStart {
        /// What it is about to do.
        #[serde(flatten)]
        start: &'a RunStart,
        /// h2g's version.
        h2g_version: &'static str,
        /// The run's process id.
        pid: u32,
    },
    /// A dry run starts (not written: a dry run writes nothing).
    DryRunStart {
        /// What it is about to look at.
        #[serde(flatten)]
        start: &'a RunStart,
        /// h2g's version.
        h2g_version: &'static str,
        /// The run's process id.
        pid: u32,
    },
    /// A step starts.
    StepStart {
        /// The slide.
        slide: &'a str,
        /// The step's name.
        step: &'a str,
        /// Its key.
        key: &'a str,
        /// Why it runs.
        reason: &'a str,
        /// Memory reserved for it.
        memory_reserved_mib: u64,
    },
    /// A step succeeded.
    StepDone {
        /// The slide.
        slide: &'a str,
        /// The step's name.
        step: &'a str,
        /// Wall time.
        wall_s: f64,
        /// Peak resident memory.
        peak_rss_mib: Option<f64>,
        /// Output files.
        outputs: usize,
        /// Digest of the outputs.
        digest: &'a str,
    },
    /// A step did not run.
    StepSkipped {
        /// The slide.
        slide: &'a str,
        /// The step's name.
        step: &'a str,
        /// `up to date`, `not applicable`, `blocked`.
        outcome: &'static str,
        /// Why, when not up to date.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<&'a str>,
        /// The key, when up to date.
        #[serde(skip_serializing_if = "Option::is_none")]
        key: Option<&'a str>,
    },
    /// A step failed.
    StepFailed {
        /// The slide.
        slide: &'a str,
        /// The step's name.
        step: &'a str,
        /// What went wrong.
        error: &'a str,
        /// Its log.
        log: Option<&'a std::path::Path>,
    },
    /// A slide cannot be worked on at all.
    SlideFailed {
        /// The slide.
        slide: &'a str,
        /// Its file.
        file: &'a std::path::Path,
        /// What went wrong.
        error: &'a str,
    },
    /// A run ended.
    RunEnd(&'a Summary),
    /// A dry run ended.
    DryRunEnd(&'a Summary),
}
