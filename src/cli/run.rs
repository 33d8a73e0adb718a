//! `h2g run --cohort cohort.csv --steps tissue,patches,segment,vectorize,evaluate -o OUT`: a
//! whole cohort, resumable, slides in parallel within a memory budget.
//!
//! Each step of each slide runs as its own `h2g` process (the subcommand of the same name) into
//! a staging folder, which is moved into place when the step succeeds; its record is written
//! last. A crash, a kill or a bad slide therefore costs at most the steps that were running, and
//! a rerun redoes exactly the steps whose record is missing, stale or damaged.
//!
//! Layout of OUT:
//! ```text
//! events.jsonl                       every run's events, one JSON object a line
//! summary.json                       the last run's summary (failures listed)
//! slides/ID/STEP/                    a step's outputs (named ID.*)
//! slides/ID/STEP.record.json         what it read, how it ran, what it wrote
//! slides/ID/logs/STEP.log            the step's messages (its stderr)
//! cohort/evaluate/                   the cohort's evaluation (report.html, summary.json, ...)
//! ```

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::ValueEnum;
use h2g::batch::record::{hash_outputs, RECORD_VERSION};
use h2g::batch::{
    available_memory, fingerprint, key_of, read_cohort, try_lock, utc_now, CohortSlide, EventLog,
    HashMode, Record,
};
use h2g::infer::segment::Design;
use serde_json::json;

/// A per-slide step, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub(crate) enum Step {
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
    pub(crate) fn name(self) -> &'static str {
        match self {
            Step::Tissue => "tissue",
            Step::Patches => "patches",
            Step::Segment => "segment",
            Step::Vectorize => "vectorize",
            Step::Evaluate => "evaluate",
        }
    }

    /// The steps whose outputs this one reads.
    fn deps(self) -> &'static [Step] {
        match self {
            Step::Patches => &[Step::Tissue],
            Step::Vectorize | Step::Evaluate => &[Step::Segment],
            _ => &[],
        }
    }

    /// Peak memory assumed for a step before one has been measured in this run, in MiB.
    fn default_mib(self) -> u64 {
        match self {
            Step::Tissue => 700,
            Step::Patches => 600,
            Step::Segment => 2000,
            Step::Vectorize => 400,
            Step::Evaluate => 600,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TissueMethod {
    Saturation,
    Otsu,
    Fast,
    Qupath,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The cohort table (CSV): `slide` (file), optional `id`, `truth` (tumour mask or QuPath
    /// GeoJSON), `truth_downsample`, `grade`, `mpp`. Relative paths are from the table's folder.
    #[arg(long)]
    cohort: PathBuf,
    /// Output folder (see the layout in the README); reruns into it resume.
    #[arg(short, long, required_unless_present = "list")]
    output: Option<PathBuf>,
    /// Print the cohort's slides (id, files, grade) as JSON Lines on stdout, and stop: a check
    /// of the table, and the slide list for workflow engines.
    #[arg(long)]
    list: bool,
    /// The steps to run, in any order; each runs after those it reads from.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "tissue,patches,segment,vectorize,evaluate"
    )]
    steps: Vec<Step>,
    /// Only these slide ids (comma-separated); the cohort's evaluation is left out.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Tissue detection method of the tissue step.
    #[arg(long, value_enum, default_value_t = TissueMethod::Saturation)]
    tissue_method: TissueMethod,
    /// Patch side in pixels (patches step).
    #[arg(long, default_value_t = 256)]
    patch_size: u32,
    /// Patch resolution (patches step): 10x, 1.0um, ds:4 or level:2.
    #[arg(long, default_value = "10x")]
    patch_at: String,
    /// Keep patches whose tissue fraction is above this (patches step).
    #[arg(long, default_value_t = 0.25)]
    min_tissue: f64,
    /// Tumour when the tumour fraction is above this (patches step).
    #[arg(long, default_value_t = 0.25)]
    min_tumour: f64,
    /// The design of the segment step.
    #[arg(long, value_enum, default_value_t = Design::H2g)]
    design: Design,
    /// Patch classifier (designs h2g, pw): a built-in name or an .onnx path.
    #[arg(long)]
    model: Option<String>,
    /// Refinement network (designs h2g, unet-lr): a built-in name or an .onnx path.
    #[arg(long)]
    refine_model: Option<String>,
    /// Level-0 pixels per pixel of the segmentation mask.
    #[arg(long, default_value_t = 4.0, value_parser = super::positive_f64)]
    mask_downsample: f64,
    /// Simplification of the vectorize step's outlines: 2um, 1.5px, or 0 for exact pixel edges.
    #[arg(long, default_value = "2um")]
    simplify: String,
    /// For GeoJSON truths: the tumour class (default: every polygon).
    #[arg(long)]
    truth_class: Option<String>,
    /// Slides processed at once (0: one per 4 cores, within the memory budget).
    #[arg(short, long, default_value_t = 0)]
    jobs: usize,
    /// Cores for the whole run (0: all); each slide's steps get their share.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Memory budget for the steps running at once, e.g. 8G or 6000M (default: 80 % of the
    /// memory available at the start).
    #[arg(long)]
    memory: Option<String>,
    /// Input fingerprints: sampled (size and 8.5 MiB of content; fast) or full (every byte).
    #[arg(long, value_enum, default_value_t = HashMode::Sampled)]
    hash: HashMode,
    /// Rehash recorded outputs before skipping a step (default: sizes only).
    #[arg(long)]
    verify: bool,
    /// Show what would run and why, without running.
    #[arg(long)]
    dry_run: bool,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// No progress display.
    #[arg(short, long)]
    quiet: bool,
    /// Where inference runs (segment step).
    #[arg(long, value_enum, default_value_t = h2g::infer::Device::Cpu)]
    device: h2g::infer::Device,
    /// The ONNX Runtime shared library (default: the set-up's, H2G_ORT_LIB, ORT_DYLIB_PATH).
    #[arg(long)]
    ort_lib: Option<PathBuf>,
}

/// What became of one step of one slide.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Ran { wall_s: f64, peak_mib: Option<f64> },
    UpToDate,
    WouldRun(String),
    NotApplicable(String),
    Blocked(String),
    Failed { error: String, log: Option<PathBuf> },
}

impl Outcome {
    fn word(&self) -> &'static str {
        match self {
            Outcome::Ran { .. } => "ran",
            Outcome::UpToDate => "up to date",
            Outcome::WouldRun(_) => "would run",
            Outcome::NotApplicable(_) => "not applicable",
            Outcome::Blocked(_) => "blocked",
            Outcome::Failed { .. } => "failed",
        }
    }
    /// What became of the step, with its time, error or reason.
    fn describe(&self) -> String {
        let detail = match self {
            Outcome::Ran { wall_s, peak_mib } => format!(
                " in {wall_s:.1} s{}",
                peak_mib
                    .map(|m| format!(", peak {m:.0} MiB"))
                    .unwrap_or_default()
            ),
            Outcome::Failed { error, log } => format!(
                ": {error}{}",
                log.as_ref()
                    .map(|l| format!(" (log: {})", l.display()))
                    .unwrap_or_default()
            ),
            Outcome::WouldRun(r) | Outcome::NotApplicable(r) | Outcome::Blocked(r) => {
                format!(": {r}")
            }
            Outcome::UpToDate => String::new(),
        };
        format!("{}{detail}", self.word())
    }
    fn ok(&self) -> bool {
        matches!(
            self,
            Outcome::Ran { .. } | Outcome::UpToDate | Outcome::WouldRun(_)
        )
    }
}

/// The command of a step, and what its key is made of.
struct Plan {
    args: Vec<String>,
    /// Input files to fingerprint, by role.
    inputs: Vec<(String, PathBuf)>,
    /// The output digests of the records this step reads outputs of, by name.
    upstream: Vec<(String, String)>,
    /// A file to write into the staging folder before the step runs.
    prelude: Option<(String, String)>,
}

/// Settings shared by every slide of a run.
struct Ctx<'a> {
    a: &'a Args,
    out: PathBuf,
    exe: PathBuf,
    threads_per_job: usize,
    models: Vec<(String, PathBuf)>,
    log: EventLog,
    budget: Budget,
    estimates: Mutex<BTreeMap<Step, u64>>,
    /// Steps keep their progress line in a file for the display.
    show_progress: bool,
}

/// A memory budget in MiB: a step waits until its estimate fits beside those running; one
/// larger than the whole budget runs alone.
struct Budget {
    total: u64,
    used: Mutex<u64>,
    freed: Condvar,
}

impl Budget {
    fn new(total: u64) -> Self {
        Budget {
            total,
            used: Mutex::new(0),
            freed: Condvar::new(),
        }
    }
    fn acquire(&self, mib: u64) -> u64 {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        while *used > 0 && *used + mib > self.total {
            used = self.freed.wait(used).unwrap_or_else(|e| e.into_inner());
        }
        *used += mib;
        mib
    }
    fn release(&self, mib: u64) {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        *used = used.saturating_sub(mib);
        self.freed.notify_all();
    }
}

/// A design's name as on the command line and in file names (`h2g`, `unet-lr`, …).
fn design_name(d: Design) -> String {
    d.to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

/// Parses 8G, 6000M, 512MiB, 2GB or a plain number of MiB into MiB.
fn parse_mib(s: &str) -> anyhow::Result<u64> {
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
        _ => bail!("--memory '{s}' is not a memory size such as 8G or 6000M"),
    }
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let all = read_cohort(&a.cohort)?;
    if a.list {
        for s in &all {
            println!("{}", serde_json::to_string(s)?);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let output = a.output.clone().context("--output is needed")?;
    for id in &a.only {
        if !all.iter().any(|s| &s.id == id) {
            bail!(
                "--only {id}: no slide with that id in {}",
                a.cohort.display()
            );
        }
    }
    let slides: Vec<CohortSlide> = all
        .iter()
        .filter(|s| a.only.is_empty() || a.only.contains(&s.id))
        .cloned()
        .collect();
    let mut steps = a.steps.clone();
    steps.sort();
    steps.dedup();
    for (name, v) in [
        ("--min-tissue", a.min_tissue),
        ("--min-tumour", a.min_tumour),
    ] {
        if !(0.0..1.0).contains(&v) {
            bail!("{name} must be in [0, 1), not {v}");
        }
    }
    if a.patch_size == 0 || a.patch_size > 8192 {
        bail!("--patch-size must be between 1 and 8192");
    }
    a.patch_at
        .parse::<h2g::units::Resolution>()
        .map_err(|e| anyhow::anyhow!("--patch-at: {e}"))?;
    if a.simplify != "0" {
        a.simplify
            .parse::<h2g::units::Length>()
            .map_err(|e| anyhow::anyhow!("--simplify: {e}"))?;
    }
    // the models, resolved once: their files are inputs of every segment step
    let mut models = Vec::new();
    if steps.contains(&Step::Segment) {
        let need = |arg: &Option<String>, flag: &str| -> anyhow::Result<()> {
            if arg.is_none() {
                bail!("--design {} needs {flag}", design_name(a.design));
            }
            Ok(())
        };
        if matches!(a.design, Design::H2g | Design::Pw) {
            need(&a.model, "--model")?;
        }
        if matches!(a.design, Design::H2g | Design::UnetLr) {
            need(&a.refine_model, "--refine-model")?;
        }
        for (role, name) in [("model", &a.model), ("refine_model", &a.refine_model)] {
            let wanted = match role {
                "model" => matches!(a.design, Design::H2g | Design::Pw),
                _ => matches!(a.design, Design::H2g | Design::UnetLr),
            };
            if let (true, Some(n)) = (wanted, name) {
                let (_, path) = h2g::infer::manifest::resolve(n).map_err(anyhow::Error::msg)?;
                models.push((role.to_string(), path));
            }
        }
    }
    // a dry run writes nothing, not even the folder or its events
    if !a.dry_run {
        std::fs::create_dir_all(&output)
            .with_context(|| format!("cannot create {}", output.display()))?;
    }
    let out = std::fs::canonicalize(&output)
        .or_else(|_| std::path::absolute(&output))
        .with_context(|| format!("cannot resolve {}", output.display()))?;
    let cores = if a.threads > 0 {
        a.threads
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    };
    let jobs = if a.jobs > 0 {
        a.jobs
    } else {
        cores.div_ceil(4)
    }
    .clamp(1, slides.len().max(1));
    let budget_mib = match &a.memory {
        Some(m) => parse_mib(m)?,
        None => available_memory().map_or(4096, |b| (b / (1 << 20)) * 4 / 5),
    };
    let log_path = if a.dry_run {
        PathBuf::from("/dev/null")
    } else {
        out.join("events.jsonl")
    };
    let log = EventLog::open(&log_path)
        .with_context(|| format!("cannot write {}", log_path.display()))?;
    let ctx = Ctx {
        a: &a,
        out: out.clone(),
        exe: std::env::current_exe().context("cannot find the h2g executable")?,
        threads_per_job: (cores / jobs).max(1),
        models,
        log,
        budget: Budget::new(budget_mib),
        estimates: Mutex::new(BTreeMap::new()),
        show_progress: !a.quiet && std::io::stderr().is_terminal(),
    };
    let show = ctx.show_progress;
    let step_names: Vec<&str> = steps.iter().map(|s| s.name()).collect();
    let _ = ctx.log.emit(
        if a.dry_run { "dry_run_start" } else { "run_start" },
        json!({"cohort": a.cohort, "output": out, "steps": step_names, "slides": slides.len(),
               "jobs": jobs, "threads_per_job": ctx.threads_per_job, "memory_budget_mib": budget_mib,
               "h2g_version": env!("CARGO_PKG_VERSION"), "pid": std::process::id()}),
    );
    let multi = indicatif::MultiProgress::new();
    if !show {
        multi.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let overall = multi.add(indicatif::ProgressBar::new(slides.len() as u64));
    overall.set_style(
        indicatif::ProgressStyle::with_template("slides [{bar:30}] {pos}/{len} {msg} ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let say = |line: String| {
        if show {
            multi.suspend(|| eprintln!("{line}"));
        } else if !a.quiet {
            eprintln!("{line}");
        }
    };
    if !a.quiet {
        say(format!(
            "h2g run: {} slides × {} ({}), {jobs} at a time, {} threads each, memory budget {budget_mib} MiB → {}",
            slides.len(),
            steps.len(),
            step_names.join(","),
            ctx.threads_per_job,
            out.display()
        ));
    }
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Step, Outcome)>> = Mutex::new(Vec::new());
    // one line per worker: its slide, step, and the step's own progress line (read from the
    // file the step keeps it in)
    let lines: Vec<indicatif::ProgressBar> = (0..jobs)
        .map(|_| {
            let line = multi.add(indicatif::ProgressBar::new_spinner());
            line.set_style(
                indicatif::ProgressStyle::with_template("  {spinner} {msg} {elapsed}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            if show {
                line.enable_steady_tick(std::time::Duration::from_millis(200));
            }
            line
        })
        .collect();
    let watching: Mutex<Vec<Option<(String, PathBuf)>>> = Mutex::new(vec![None; jobs]);
    std::thread::scope(|s| {
        let mut workers = Vec::new();
        for (w, line) in lines.iter().enumerate() {
            let (ctx, steps, next, done, results, watching) =
                (&ctx, &steps, &next, &done, &results, &watching);
            let (say, overall) = (&say, &overall);
            let slides = &slides;
            workers.push(s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(slide) = slides.get(i) else { break };
                    let outcomes = process_slide(ctx, slide, steps, &|step, k| {
                        let prefix =
                            format!("{}: {} ({}/{})", slide.id, step.name(), k + 1, steps.len());
                        line.reset_elapsed();
                        line.set_message(prefix.clone());
                        let file = ctx
                            .out
                            .join("slides")
                            .join(&slide.id)
                            .join("logs")
                            .join(format!("{}.progress", step.name()));
                        if let Ok(mut wt) = watching.lock() {
                            wt[w] = Some((prefix, file));
                        }
                    });
                    if let Ok(mut wt) = watching.lock() {
                        wt[w] = None;
                    }
                    let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                    // a slide that failed as a whole (missing, locked): one line
                    let errors: Vec<&String> = outcomes
                        .iter()
                        .filter_map(|(_, o)| match o {
                            Outcome::Failed { error, .. } => Some(error),
                            _ => None,
                        })
                        .collect();
                    let whole = outcomes.len() > 1
                        && errors.len() == outcomes.len()
                        && errors.iter().all(|e| *e == errors[0]);
                    if whole {
                        say(format!(
                            "[{n}/{}] {}: failed (every step): {}",
                            slides.len(),
                            slide.id,
                            errors[0]
                        ));
                    }
                    for (step, o) in outcomes.iter().filter(|_| !whole) {
                        say(format!(
                            "[{n}/{}] {}: {} {}",
                            slides.len(),
                            slide.id,
                            step.name(),
                            o.describe()
                        ));
                    }
                    overall.inc(1);
                    let mut r = results.lock().unwrap_or_else(|e| e.into_inner());
                    r.extend(outcomes.into_iter().map(|(st, o)| (i, st, o)));
                    if r.iter()
                        .any(|(_, _, o)| matches!(o, Outcome::Failed { .. }))
                    {
                        overall.set_message("(some failed)");
                    }
                }
                line.finish_and_clear();
            }));
        }
        while show && workers.iter().any(|h| !h.is_finished()) {
            std::thread::sleep(std::time::Duration::from_millis(250));
            let wt = watching.lock().map(|w| w.clone()).unwrap_or_default();
            for (line, item) in lines.iter().zip(wt) {
                if let Some((prefix, file)) = item {
                    if let Ok(text) = std::fs::read_to_string(&file) {
                        line.set_message(format!("{prefix} · {}", text.trim()));
                    }
                }
            }
        }
    });
    overall.finish_and_clear();
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, st, _)| (*i, *st));
    // the cohort's evaluation, over every slide evaluated, when the whole cohort ran
    let mut cohort_outcome = None;
    if steps.contains(&Step::Evaluate) && a.only.is_empty() {
        let evaluated: Vec<&CohortSlide> = slides
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                results.iter().any(|(j, st, o)| {
                    j == i
                        && *st == Step::Evaluate
                        && matches!(o, Outcome::Ran { .. } | Outcome::UpToDate)
                })
            })
            .map(|(_, s)| s)
            .collect();
        if !evaluated.is_empty() {
            let o = cohort_evaluation(&ctx, &evaluated);
            say(format!("cohort: evaluate {}", o.describe()));
            cohort_outcome = Some(o);
        }
    }
    // the summary
    let mut per_step: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut peak: Option<f64> = None;
    let mut ran = 0;
    for (i, st, o) in &results {
        *per_step
            .entry(st.name())
            .or_default()
            .entry(o.word())
            .or_default() += 1;
        match o {
            Outcome::Failed { error, log } => failures.push(json!({
                "slide": slides[*i].id, "file": slides[*i].slide, "step": st.name(),
                "error": error, "log": log,
            })),
            Outcome::Ran { peak_mib, .. } => {
                ran += 1;
                if let Some(p) = peak_mib {
                    peak = Some(peak.map_or(*p, |q: f64| q.max(*p)));
                }
            }
            _ => {}
        }
    }
    let cohort_failed = matches!(cohort_outcome, Some(Outcome::Failed { .. }));
    if let Some(Outcome::Failed { error, log }) = &cohort_outcome {
        failures.push(json!({"slide": "cohort", "step": "evaluate", "error": error, "log": log}));
    }
    let failed_slides: std::collections::BTreeSet<usize> = results
        .iter()
        .filter(|(_, _, o)| matches!(o, Outcome::Failed { .. }))
        .map(|(i, _, _)| *i)
        .collect();
    let wall = started.elapsed().as_secs_f64();
    let summary = json!({
        "finished": utc_now(), "dry_run": a.dry_run, "wall_s": wall,
        "slides": slides.len(), "slides_failed": failed_slides.len(),
        "steps_ran": ran, "steps": per_step,
        "slides_per_hour": (ran > 0).then(|| slides.len() as f64 * 3600.0 / wall),
        "peak_step_rss_mib": peak, "jobs": jobs, "threads_per_job": ctx.threads_per_job,
        "memory_budget_mib": budget_mib,
        "cohort_evaluation": cohort_outcome.as_ref().map(|o| o.word()),
        "failures": failures,
    });
    let _ = ctx.log.emit(
        if a.dry_run { "dry_run_end" } else { "run_end" },
        summary.clone(),
    );
    // the cohort's summary, from runs over the whole cohort (an --only run, as a workflow
    // engine starts many at once, leaves its summary in the event log)
    if !a.dry_run && a.only.is_empty() {
        h2g::output::write_json(&out.join("summary.json"), &summary)
            .with_context(|| format!("cannot write {}", out.join("summary.json").display()))?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    }
    if !a.quiet {
        let counts: Vec<String> = per_step
            .iter()
            .map(|(st, m)| {
                let parts: Vec<String> = m.iter().map(|(w, n)| format!("{n} {w}")).collect();
                format!("{st}: {}", parts.join(", "))
            })
            .collect();
        eprintln!(
            "h2g run: {} slides in {wall:.1} s; {}",
            slides.len(),
            counts.join("; ")
        );
        if !failures.is_empty() {
            eprintln!(
                "h2g run: {} failed slides ({} steps):",
                failed_slides.len() + usize::from(cohort_failed),
                failures.len()
            );
            // one line per slide and error: the steps that failed with it
            let mut lines: Vec<(String, String, Vec<String>)> = Vec::new();
            for f in &failures {
                let (sl, st, er) = (
                    f["slide"].as_str().unwrap_or("").to_string(),
                    f["step"].as_str().unwrap_or("").to_string(),
                    f["error"].as_str().unwrap_or("").to_string(),
                );
                match lines.iter_mut().find(|(a, e, _)| *a == sl && *e == er) {
                    Some(l) => l.2.push(st),
                    None => lines.push((sl, er, vec![st])),
                }
            }
            for (sl, er, st) in lines {
                eprintln!("  {sl} ({}): {er}", st.join(", "));
            }
        }
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Runs `steps` of one slide in order, under the slide's lock.
fn process_slide(
    ctx: &Ctx,
    s: &CohortSlide,
    steps: &[Step],
    on_step: &dyn Fn(Step, usize),
) -> Vec<(Step, Outcome)> {
    let unit = ctx.out.join("slides").join(&s.id);
    let mut out: Vec<(Step, Outcome)> = Vec::new();
    let fail_all = |error: String| {
        steps
            .iter()
            .map(|st| {
                (
                    *st,
                    Outcome::Failed {
                        error: error.clone(),
                        log: None,
                    },
                )
            })
            .collect::<Vec<_>>()
    };
    // the slide's folder and lock (a dry run only reads)
    let lock = if ctx.a.dry_run {
        None
    } else {
        if let Err(e) = std::fs::create_dir_all(unit.join("logs")) {
            return fail_all(format!("cannot create {}: {e}", unit.display()));
        }
        match lock_unit(&unit) {
            Ok(Some(l)) => Some(l),
            Ok(None) => {
                return fail_all(format!(
                    "another h2g run is working on this slide ({} is locked)",
                    unit.join(".lock").display()
                ))
            }
            Err(e) => return fail_all(format!("cannot lock {}: {e}", unit.display())),
        }
    };
    let lock_fd = lock.as_ref().map_or(-1, |l| l.fd());
    if !s.slide.is_file() {
        let error = format!("{}: no such slide file", s.slide.display());
        let _ = ctx.log.emit(
            "slide_failed",
            json!({"slide": s.id, "file": s.slide, "error": error}),
        );
        return fail_all(error);
    }
    for (k, &step) in steps.iter().enumerate() {
        on_step(step, k);
        // a step whose inputs failed in this run is blocked
        let failed_dep = step.deps().iter().find(|d| {
            out.iter()
                .any(|(st, o)| st == *d && !o.ok() && !matches!(o, Outcome::NotApplicable(_)))
        });
        let pending_dep = step.deps().iter().find(|d| {
            out.iter()
                .any(|(st, o)| st == *d && matches!(o, Outcome::WouldRun(_)))
        });
        let o = if let Some(d) = failed_dep {
            Outcome::Blocked(format!("its input step {} did not succeed", d.name()))
        } else if let Some(d) = pending_dep {
            Outcome::WouldRun(format!("after {}, if its outputs change", d.name()))
        } else if step == Step::Evaluate && s.truth.is_none() {
            Outcome::NotApplicable("no truth in the cohort table".into())
        } else {
            match plan(ctx, s, step, &unit) {
                Ok(p) => execute(ctx, &s.id, &unit, step.name(), step, &p, lock_fd),
                // an input step neither asked for nor done before: the user's to fix
                Err(e) => {
                    let _ = ctx.log.emit(
                        "step_failed",
                        json!({"slide": s.id, "step": step.name(), "error": e}),
                    );
                    Outcome::Failed {
                        error: e,
                        log: None,
                    }
                }
            }
        };
        match &o {
            Outcome::NotApplicable(r) | Outcome::Blocked(r) => {
                let _ = ctx.log.emit(
                    "step_skipped",
                    json!({"slide": s.id, "step": step.name(), "outcome": o.word(), "reason": r}),
                );
            }
            _ => {}
        }
        out.push((step, o));
    }
    out
}

/// Replaces run-specific paths in an argument by placeholders, for the key.
fn template(arg: &str, subs: &[(&Path, &str)]) -> String {
    let mut t = arg.to_string();
    for (p, name) in subs {
        let ps = p.to_string_lossy();
        if !ps.is_empty() {
            t = t.replace(ps.as_ref(), name);
        }
    }
    t
}

/// The arguments that make a step's key: run paths as placeholders, and without `--threads`,
/// which changes how fast a step runs, not what it writes.
fn key_args(args: &[String], subs: &[(&Path, &str)]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut it = args.iter();
    while let Some(x) = it.next() {
        if x == "--threads" {
            it.next();
            continue;
        }
        out.push(template(x, subs));
    }
    out
}

/// The staging folder of a step.
fn staging(unit: &Path, step: &str) -> PathBuf {
    unit.join(format!(".{step}.partial"))
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The command and key inputs of a slide's step; `Err` when an input step has no valid record.
fn plan(ctx: &Ctx, sl: &CohortSlide, step: Step, unit: &Path) -> Result<Plan, String> {
    let a = ctx.a;
    let stage = staging(unit, step.name());
    let id = &sl.id;
    let mut args: Vec<String> = Vec::new();
    let mut inputs = vec![("slide".to_string(), sl.slide.clone())];
    let mut upstream = Vec::new();
    let mut prelude = None;
    let mpp = |args: &mut Vec<String>| {
        if let Some(m) = sl.mpp {
            args.extend(["--mpp".into(), m.to_string()]);
        }
    };
    let method = TissueMethod::to_possible_value(&a.tissue_method)
        .map(|v| v.get_name().to_string())
        .unwrap_or_default();
    let design = design_name(a.design);
    for d in step.deps() {
        let rec = unit.join(format!("{}.record.json", d.name()));
        match Record::load(&rec) {
            Some(r) if r.outputs_intact(&unit.join(d.name()), false).is_ok() => {
                upstream.push((d.name().to_string(), r.digest))
            }
            _ => {
                return Err(format!(
                "needs the {} step's outputs, which are missing or incomplete: add {} to --steps",
                d.name(),
                d.name()
            ))
            }
        }
    }
    match step {
        Step::Tissue => {
            args.extend(
                [
                    "tissue",
                    &s(&sl.slide),
                    "-o",
                    &s(&stage),
                    "--name",
                    id,
                    "--method",
                    &method,
                    "--geojson",
                ]
                .map(String::from),
            );
            mpp(&mut args);
        }
        Step::Patches => {
            args.extend(
                [
                    "patches",
                    &s(&sl.slide),
                    "-o",
                    &s(&stage.join(format!("{id}.patches.csv"))),
                    "--tissue",
                    &s(&unit
                        .join("tissue")
                        .join(format!("{id}.tissue-{method}.tif"))),
                    "--size",
                    &a.patch_size.to_string(),
                    "--at",
                    &a.patch_at,
                    "--min-tissue",
                    &a.min_tissue.to_string(),
                    "--min-tumour",
                    &a.min_tumour.to_string(),
                ]
                .map(String::from),
            );
            if let Some(t) = &sl.truth {
                args.extend(["--mask".into(), s(t)]);
                inputs.push(("truth".into(), t.clone()));
                if let Some(d) = sl.truth_downsample {
                    args.extend(["--mask-downsample".into(), d.to_string()]);
                }
                if let (Some(c), true) = (&a.truth_class, h2g::vector::is_geojson_path(t)) {
                    args.extend(["--tumour-class".into(), c.clone()]);
                }
            }
            mpp(&mut args);
        }
        Step::Segment => {
            args.extend(
                [
                    "segment",
                    &s(&sl.slide),
                    "-o",
                    &s(&stage),
                    "--name",
                    id,
                    "--design",
                    &design,
                    "--mask-downsample",
                    &a.mask_downsample.to_string(),
                    "--threads",
                    &ctx.threads_per_job.to_string(),
                ]
                .map(String::from),
            );
            for (role, path) in &ctx.models {
                let flag = if role == "model" {
                    "--model"
                } else {
                    "--refine-model"
                };
                args.extend([flag.into(), s(path)]);
                inputs.push((role.clone(), path.clone()));
            }
            if matches!(a.device, h2g::infer::Device::Cuda) {
                args.extend(["--device".into(), "cuda".into()]);
            }
            if let Some(l) = &a.ort_lib {
                args.extend(["--ort-lib".into(), s(l)]);
            }
            mpp(&mut args);
        }
        Step::Vectorize => {
            let (name, colour) = if matches!(a.design, Design::Otsu) {
                ("Tissue", "#50a050")
            } else {
                ("Tumor", "#c80000")
            };
            args.extend(
                [
                    "vectorize",
                    &s(&unit
                        .join("segment")
                        .join(format!("{id}.segment-{design}.mask.tif"))),
                    "-o",
                    &s(&stage.join(format!("{id}.annotations.geojson"))),
                    "--slide",
                    &s(&sl.slide),
                    "--downsample",
                    &a.mask_downsample.to_string(),
                    "--class",
                    &format!("1={name}:{colour}"),
                ]
                .map(String::from),
            );
            if a.simplify != "0" {
                args.extend(["--simplify".into(), a.simplify.clone()]);
            }
            mpp(&mut args);
        }
        Step::Evaluate => {
            let truth = sl.truth.clone().ok_or("no truth in the cohort table")?;
            inputs.push(("truth".into(), truth.clone()));
            let row = cohort_row(
                sl,
                &design,
                &truth,
                &unit
                    .join("segment")
                    .join(format!("{id}.segment-{design}.mask.tif")),
                a.mask_downsample,
            );
            prelude = Some((
                "cohort.csv".to_string(),
                format!("{}\n{row}\n", COHORT_HEADER),
            ));
            args.extend(
                [
                    "evaluate",
                    "--cohort",
                    &s(&stage.join("cohort.csv")),
                    "-o",
                    &s(&stage),
                ]
                .map(String::from),
            );
            if let Some(c) = &a.truth_class {
                args.extend(["--truth-class".into(), c.clone()]);
            }
        }
    }
    Ok(Plan {
        args,
        inputs,
        upstream,
        prelude,
    })
}

const COHORT_HEADER: &str =
    "slide,design,truth,prediction,truth_downsample,prediction_downsample,mpp,grade,image,width,height";

/// The slide's level-0 size and pixel size, from the segment step's report.
fn segment_level0(pred: &Path) -> Option<(u64, u64, Option<f64>)> {
    let report = pred.with_file_name(
        pred.file_name()?
            .to_string_lossy()
            .replace(".mask.tif", ".json"),
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(report).ok()?).ok()?;
    let l = &v["level0"];
    Some((
        l["width"].as_u64()?,
        l["height"].as_u64()?,
        l["mpp"].as_f64(),
    ))
}

/// One row of an evaluation cohort table (CSV-quoted).
fn cohort_row(sl: &CohortSlide, design: &str, truth: &Path, pred: &Path, ds: f64) -> String {
    let level0 = segment_level0(pred);
    let q = |v: &str| {
        if v.contains([',', '"', '\n']) {
            format!("\"{}\"", v.replace('"', "\"\""))
        } else {
            v.to_string()
        }
    };
    [
        q(&sl.id),
        q(design),
        q(&s(truth)),
        q(&s(pred)),
        sl.truth_downsample
            .map(|d| d.to_string())
            .unwrap_or_default(),
        ds.to_string(),
        sl.mpp
            .or(level0.and_then(|l| l.2))
            .map(|m| m.to_string())
            .unwrap_or_default(),
        q(&sl.grade),
        q(&s(&sl.slide)),
        level0.map(|l| l.0.to_string()).unwrap_or_default(),
        level0.map(|l| l.1.to_string()).unwrap_or_default(),
    ]
    .join(",")
}

/// The cohort's evaluation over the slides evaluated in this run.
fn cohort_evaluation(ctx: &Ctx, evaluated: &[&CohortSlide]) -> Outcome {
    let unit = ctx.out.join("cohort");
    if !ctx.a.dry_run {
        if let Err(e) = std::fs::create_dir_all(unit.join("logs")) {
            return Outcome::Failed {
                error: format!("cannot create {}: {e}", unit.display()),
                log: None,
            };
        }
    }
    let design = design_name(ctx.a.design);
    let mut text = format!("{COHORT_HEADER}\n");
    let mut upstream = Vec::new();
    for sl in evaluated {
        let su = ctx.out.join("slides").join(&sl.id);
        let Some(truth) = &sl.truth else {
            continue;
        };
        text.push_str(&cohort_row(
            sl,
            &design,
            truth,
            &su.join("segment")
                .join(format!("{}.segment-{design}.mask.tif", sl.id)),
            ctx.a.mask_downsample,
        ));
        text.push('\n');
        for step in ["evaluate", "segment"] {
            match Record::load(&su.join(format!("{step}.record.json"))) {
                Some(r) => upstream.push((format!("{}/{step}", sl.id), r.digest)),
                None => {
                    return Outcome::Failed {
                        error: format!("{}: the {step} step has no record", sl.id),
                        log: None,
                    }
                }
            }
        }
    }
    let locked = if ctx.a.dry_run {
        None
    } else {
        Some(lock_unit(&unit))
    };
    let lock = match locked {
        None => None,
        Some(Ok(Some(l))) => Some(l),
        Some(Ok(None)) => {
            return Outcome::Failed {
                error: format!("another h2g run holds {}", unit.join(".lock").display()),
                log: None,
            }
        }
        Some(Err(e)) => {
            return Outcome::Failed {
                error: format!("cannot lock {}: {e}", unit.display()),
                log: None,
            }
        }
    };
    let stage = staging(&unit, "evaluate");
    let mut args: Vec<String> = [
        "evaluate",
        "--cohort",
        &s(&stage.join("cohort.csv")),
        "-o",
        &s(&stage),
    ]
    .map(String::from)
    .into();
    if let Some(c) = &ctx.a.truth_class {
        args.extend(["--truth-class".into(), c.clone()]);
    }
    let p = Plan {
        args,
        inputs: Vec::new(),
        upstream,
        prelude: Some(("cohort.csv".into(), text)),
    };
    execute(
        ctx,
        "cohort",
        &unit,
        "evaluate",
        Step::Evaluate,
        &p,
        lock.as_ref().map_or(-1, |l| l.fd()),
    )
}

/// Locks a slide's (or the cohort's) folder, waiting up to 30 s for processes of a killed run
/// that still hold it to end.
fn lock_unit(unit: &Path) -> std::io::Result<Option<h2g::batch::Lock>> {
    let t0 = Instant::now();
    loop {
        match try_lock(&unit.join(".lock"))? {
            Some(l) => return Ok(Some(l)),
            None if t0.elapsed().as_secs() < 30 => {
                std::thread::sleep(std::time::Duration::from_millis(100))
            }
            None => return Ok(None),
        }
    }
}

/// Runs one step unless its record shows it up to date.
fn execute(
    ctx: &Ctx,
    id: &str,
    unit: &Path,
    name: &str,
    step: Step,
    p: &Plan,
    lock_fd: std::os::fd::RawFd,
) -> Outcome {
    let a = ctx.a;
    let record_path = unit.join(format!("{name}.record.json"));
    let final_dir = unit.join(name);
    let stage = staging(unit, name);
    let fail = |error: String, log: Option<PathBuf>| {
        let _ = ctx.log.emit(
            "step_failed",
            json!({"slide": id, "step": name, "error": error, "log": log}),
        );
        Outcome::Failed { error, log }
    };
    // the key: the step, h2g's version, its arguments (run paths as placeholders), the inputs'
    // fingerprints, the upstream records' digests
    let mut subs: Vec<(&Path, &str)> =
        vec![(&stage, "{stage}"), (unit, "{unit}"), (&ctx.out, "{out}")];
    for (role, path) in &p.inputs {
        subs.push((path, role));
    }
    subs.sort_by_key(|(p, _)| std::cmp::Reverse(p.as_os_str().len()));
    let mut fps = serde_json::Map::new();
    for (role, path) in &p.inputs {
        match fingerprint(path, a.hash) {
            Ok(f) => {
                fps.insert(role.clone(), f.into());
            }
            Err(e) => {
                return fail(
                    format!("cannot read {} ({role}): {e}", path.display()),
                    None,
                )
            }
        }
    }
    let ups: serde_json::Map<String, serde_json::Value> = p
        .upstream
        .iter()
        .map(|(n, d)| (n.clone(), d.clone().into()))
        .collect();
    let made_of = json!({
        "step": name,
        "args": key_args(&p.args, &subs),
        "prelude": p.prelude.as_ref().map(|(f, t)| json!([f, template(t, &subs)])),
        "inputs": fps, "upstream": ups, "hash": a.hash,
    });
    let key = key_of(&json!({"made_of": made_of, "h2g_version": env!("CARGO_PKG_VERSION")}));
    let reason = match Record::load(&record_path) {
        None if record_path.exists() => "its record is unreadable".to_string(),
        None => "not run yet".to_string(),
        Some(r) if r.key != key => "its inputs or parameters changed".to_string(),
        Some(r) => match r.outputs_intact(&final_dir, a.verify) {
            Ok(()) => {
                let _ = ctx.log.emit(
                    "step_skipped",
                    json!({"slide": id, "step": name, "outcome": "up to date", "key": key}),
                );
                return Outcome::UpToDate;
            }
            Err(e) => format!("its outputs are damaged ({e})"),
        },
    };
    if a.dry_run {
        return Outcome::WouldRun(reason);
    }
    // the memory the step may take, then the run
    let est = {
        let e = ctx.estimates.lock().unwrap_or_else(|e| e.into_inner());
        e.get(&step).copied().unwrap_or_else(|| step.default_mib())
    };
    let held = ctx.budget.acquire(est);
    let _ = ctx.log.emit(
        "step_start",
        json!({"slide": id, "step": name, "key": key, "reason": reason, "memory_reserved_mib": held}),
    );
    let o = run_child(
        ctx,
        id,
        unit,
        name,
        p,
        &record_path,
        &final_dir,
        &stage,
        &key,
        made_of,
        lock_fd,
    );
    ctx.budget.release(held);
    match o {
        Ok((wall_s, peak_mib)) => {
            if let Some(m) = peak_mib {
                // later steps of this kind reserve what this one took, and a margin
                let mut e = ctx.estimates.lock().unwrap_or_else(|e| e.into_inner());
                let new = (m * 1.25).ceil() as u64;
                e.entry(step)
                    .and_modify(|v| *v = (*v).max(new))
                    .or_insert(new);
            }
            Outcome::Ran { wall_s, peak_mib }
        }
        Err((error, log)) => fail(error, log),
    }
}

/// Runs the step's process into the staging folder, then moves its outputs into place and
/// writes the record; its wall time and peak memory (MiB).
#[allow(clippy::too_many_arguments)]
fn run_child(
    ctx: &Ctx,
    id: &str,
    unit: &Path,
    name: &str,
    p: &Plan,
    record_path: &Path,
    final_dir: &Path,
    stage: &Path,
    key: &str,
    made_of: serde_json::Value,
    lock_fd: std::os::fd::RawFd,
) -> Result<(f64, Option<f64>), (String, Option<PathBuf>)> {
    let started = utc_now();
    let t0 = Instant::now();
    let io = |what: &str, path: &Path, e: std::io::Error| {
        (format!("cannot {what} {}: {e}", path.display()), None)
    };
    // no record while the outputs change: a kill from here on leaves the step to redo
    match std::fs::remove_file(record_path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(io("remove", record_path, e))
        }
        _ => {}
    }
    if stage.exists() {
        std::fs::remove_dir_all(stage).map_err(|e| io("remove", stage, e))?;
    }
    std::fs::create_dir_all(stage).map_err(|e| io("create", stage, e))?;
    if let Some((file, text)) = &p.prelude {
        std::fs::write(stage.join(file), text).map_err(|e| io("write", &stage.join(file), e))?;
    }
    let log_path = unit.join("logs").join(format!("{name}.log"));
    let log = std::fs::File::create(&log_path).map_err(|e| io("create", &log_path, e))?;
    let log2 = log.try_clone().map_err(|e| io("open", &log_path, e))?;
    let mut cmd = Command::new(&ctx.exe);
    cmd.args(&p.args)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .env("RAYON_NUM_THREADS", ctx.threads_per_job.to_string());
    let progress_file = unit.join("logs").join(format!("{name}.progress"));
    if ctx.show_progress {
        cmd.env(h2g::output::PROGRESS_FILE_ENV, &progress_file);
    }
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl and fcntl are async-signal-safe. The step ends (with SIGTERM, so it
        // removes its unfinished files) if this process dies first; it keeps the slide's lock
        // open, so that a rerun cannot start on the slide while it lives.
        let parent = std::process::id();
        unsafe {
            cmd.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                // the parent died before prctl took effect
                if libc::getppid() as u32 != parent {
                    libc::_exit(1);
                }
                libc::fcntl(lock_fd, libc::F_SETFD, 0);
                Ok(())
            });
        }
    }
    let child = cmd
        .spawn()
        .map_err(|e| (format!("cannot start {}: {e}", ctx.exe.display()), None))?;
    let waited = wait_with_peak(child.id() as libc::pid_t);
    let _ = std::fs::remove_file(&progress_file);
    let (status, peak_mib) = waited.map_err(|e| {
        (
            format!("lost the step's process: {e}"),
            Some(log_path.clone()),
        )
    })?;
    if status != 0 {
        let _ = std::fs::remove_dir_all(stage);
        return Err((failure_message(status, &log_path), Some(log_path.clone())));
    }
    let (outputs, digest) = hash_outputs(stage).map_err(|e| io("read the outputs in", stage, e))?;
    if final_dir.exists() {
        std::fs::remove_dir_all(final_dir).map_err(|e| io("remove", final_dir, e))?;
    }
    std::fs::rename(stage, final_dir).map_err(|e| io("move outputs to", final_dir, e))?;
    let wall_s = t0.elapsed().as_secs_f64();
    let n_out = outputs.len();
    let rec = Record {
        record_version: RECORD_VERSION,
        slide: id.to_string(),
        step: name.to_string(),
        key: key.to_string(),
        h2g_version: env!("CARGO_PKG_VERSION").to_string(),
        made_of,
        outputs,
        digest,
        started,
        finished: utc_now(),
        wall_s,
        peak_rss_mib: peak_mib,
    };
    h2g::output::write_json(record_path, &rec).map_err(|e| io("write", record_path, e))?;
    let _ = ctx.log.emit(
        "step_done",
        json!({"slide": id, "step": name, "wall_s": wall_s, "peak_rss_mib": peak_mib,
               "outputs": n_out, "digest": rec.digest}),
    );
    Ok((wall_s, peak_mib))
}

/// Waits for a child process; its wait status and peak resident memory (MiB).
fn wait_with_peak(pid: libc::pid_t) -> std::io::Result<(i32, Option<f64>)> {
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for the child `pid` this process spawned.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: as above; the pointers are to locals that outlive the call.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    // Linux reports ru_maxrss in KiB
    let peak = (ru.ru_maxrss > 0).then(|| ru.ru_maxrss as f64 / 1024.0);
    Ok((status, peak))
}

/// What went wrong, from the wait status and the step's log: its last `h2g: error:` line.
fn failure_message(status: i32, log: &Path) -> String {
    let mut last_error = None;
    let mut last_line = None;
    if let Ok(f) = std::fs::File::open(log) {
        for l in std::io::BufReader::new(f).lines().map_while(Result::ok) {
            let l = l.trim().to_string();
            if let Some(e) = l.strip_prefix("h2g: error: ") {
                last_error = Some(e.to_string());
            } else if let Some(e) = l.strip_prefix("error: ") {
                // a row's error of `h2g evaluate`
                last_error.get_or_insert_with(|| e.to_string());
            }
            if !l.is_empty() {
                last_line = Some(l);
            }
        }
    }
    let how = if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        let name = match sig {
            libc::SIGKILL => " (SIGKILL: out of memory?)",
            libc::SIGSEGV => " (SIGSEGV)",
            libc::SIGABRT => " (SIGABRT)",
            libc::SIGTERM => " (SIGTERM)",
            _ => "",
        };
        format!("killed by signal {sig}{name}")
    } else {
        format!("exit status {}", libc::WEXITSTATUS(status))
    };
    match (last_error, last_line) {
        (Some(e), _) => e,
        (None, Some(l)) => format!("{how}: {l}"),
        (None, None) => how,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes_parse() {
        assert_eq!(parse_mib("8G").unwrap(), 8192);
        assert_eq!(parse_mib("1.5gib").unwrap(), 1536);
        assert_eq!(parse_mib("6000M").unwrap(), 6000);
        assert_eq!(parse_mib("512").unwrap(), 512);
        for bad in ["", "-1G", "G", "NaNG", "0", "0.1m", "1e12"] {
            assert!(parse_mib(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn budget_admits_within_total_and_one_oversized_alone() {
        let b = std::sync::Arc::new(Budget::new(1000));
        let a1 = b.acquire(600);
        // a second 600 waits until the first is released
        let b2 = b.clone();
        let t = std::thread::spawn(move || {
            let h = b2.acquire(600);
            b2.release(h);
        });
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(!t.is_finished());
        assert_eq!(*b.used.lock().unwrap(), 600);
        b.release(a1);
        t.join().unwrap();
        // larger than the whole budget: runs when nothing else does
        let big = b.acquire(5000);
        assert_eq!(*b.used.lock().unwrap(), 5000);
        b.release(big);
        assert_eq!(*b.used.lock().unwrap(), 0);
    }

    #[test]
    fn templates_hide_run_paths() {
        let subs: Vec<(&Path, &str)> = vec![
            (Path::new("/o/slides/a/.tissue.partial"), "{stage}"),
            (Path::new("/o/slides/a"), "{unit}"),
            (Path::new("/data/a.svs"), "slide"),
        ];
        assert_eq!(
            template("/o/slides/a/.tissue.partial/a.csv", &subs),
            "{stage}/a.csv"
        );
        assert_eq!(template("/data/a.svs", &subs), "slide");
        assert_eq!(
            template("/o/slides/a/tissue/x.tif", &subs),
            "{unit}/tissue/x.tif"
        );
    }
}
