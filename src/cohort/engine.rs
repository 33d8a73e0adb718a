//! The run: checking the spec, slides in parallel, each slide's steps in order, the cohort's
//! evaluation and the summary.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use super::exec::{execute, lock_unit, Budget};
use super::plan::{cohort_table, plan, segment_mask, staging, Plan};
use super::{
    available_memory, read_cohort, utc_now, CohortError, CohortSlide, Event, EventLog, Failure,
    Observer, Outcome, Record, RunSpec, RunStart, Step, Summary, Task,
};
use crate::infer::design::DesignSpec;
use crate::tissue::MethodKind;

/// Settings shared by every slide of a run.
pub(super) struct Ctx<'a> {
    pub spec: &'a RunSpec,
    pub out: PathBuf,
    pub threads_per_job: usize,
    /// Per design (in the spec's order): the model files its segment step reads, by role.
    pub models: Vec<Vec<(String, PathBuf)>>,
    pub log: EventLog,
    pub budget: Budget,
    pub estimates: Mutex<BTreeMap<Step, u64>>,
}

impl Ctx<'_> {
    /// The design a segment or vectorize task runs (the only one when the task names none).
    pub fn design(&self, t: &Task) -> (usize, &DesignSpec) {
        let i = t
            .design
            .as_ref()
            .and_then(|l| self.spec.designs.iter().position(|d| &d.label == l))
            .unwrap_or(0);
        (i, &self.spec.designs[i])
    }

    /// The segment task of design `i`.
    pub fn segment_task(&self, i: usize) -> Task {
        Task {
            step: Step::Segment,
            design: (self.spec.designs.len() > 1).then(|| self.spec.designs[i].label.clone()),
        }
    }

    /// The tasks `t` reads from (those of this run's designs for evaluate).
    pub fn deps(&self, t: &Task) -> Vec<Task> {
        match t.step {
            Step::Patches => vec![Task::plain(Step::Tissue)],
            Step::Vectorize => vec![Task {
                step: Step::Segment,
                design: t.design.clone(),
            }],
            Step::Evaluate => (0..self.spec.designs.len())
                .map(|i| self.segment_task(i))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Each slide's tasks: the steps in order, the design steps once per design.
fn tasks(steps: &[Step], designs: &[DesignSpec]) -> Vec<Task> {
    let mut out = Vec::new();
    for &step in steps {
        if matches!(step, Step::Segment | Step::Vectorize) && designs.len() > 1 {
            out.extend(designs.iter().map(|d| Task {
                step,
                design: Some(d.label.clone()),
            }));
        } else {
            out.push(Task::plain(step));
        }
    }
    out
}

/// The checked parts of a spec: its slides, steps and models.
struct Checked {
    slides: Vec<CohortSlide>,
    steps: Vec<Step>,
    tasks: Vec<Task>,
    models: Vec<Vec<(String, PathBuf)>>,
}

fn check(a: &RunSpec) -> Result<Checked, CohortError> {
    super::fault::configured()?;
    let all = read_cohort(&a.cohort)?;
    for id in &a.only {
        if !all.iter().any(|s| &s.id == id) {
            return Err(CohortError::UnknownSlide {
                id: id.clone(),
                table: a.cohort.clone(),
            });
        }
    }
    let slides: Vec<CohortSlide> = all
        .into_iter()
        .filter(|s| a.only.is_empty() || a.only.contains(&s.id))
        .collect();
    let mut steps = a.steps.clone();
    steps.sort();
    steps.dedup();
    for (flag, value) in [
        ("--min-tissue", a.min_tissue),
        ("--min-tumour", a.min_tumour),
    ] {
        if !(0.0..1.0).contains(&value) {
            return Err(CohortError::Fraction { flag, value });
        }
    }
    if a.patch_size == 0 || a.patch_size > 8192 {
        return Err(CohortError::PatchSize(a.patch_size));
    }
    if !(a.mask_downsample.is_finite() && a.mask_downsample > 0.0) {
        return Err(CohortError::MaskDownsample(a.mask_downsample));
    }
    if a.tissue_method == MethodKind::Model {
        return Err(CohortError::TissueModel);
    }
    a.patch_at
        .parse::<crate::units::Resolution>()
        .map_err(CohortError::PatchAt)?;
    if a.simplify != "0" {
        a.simplify
            .parse::<crate::units::Length>()
            .map_err(CohortError::Simplify)?;
    }
    if a.designs.is_empty() {
        return Err(CohortError::Designs("a run needs at least one design"));
    }
    for (i, d) in a.designs.iter().enumerate() {
        crate::infer::design::check_label(&d.label)?;
        if a.designs[..i].iter().any(|e| e.label == d.label) {
            return Err(CohortError::Designs(
                "two designs have one label: give each its own (--label or the designs file)",
            ));
        }
    }
    // the models, resolved once: their files are inputs of every segment step
    let mut models = Vec::new();
    for d in &a.designs {
        let mut mine = Vec::new();
        if steps.contains(&Step::Segment) {
            for (role, flag, wanted, name) in [
                ("model", "--model", d.kind.uses_model(), &d.model),
                (
                    "refine_model",
                    "--refine-model",
                    d.kind.uses_refine_model(),
                    &d.refine_model,
                ),
            ] {
                match (wanted, name) {
                    (true, None) => {
                        return Err(CohortError::MissingModel {
                            label: d.label.clone(),
                            kind: d.kind.name(),
                            flag,
                        })
                    }
                    (true, Some(n)) => {
                        let (_, path) =
                            crate::infer::manifest::resolve(n).map_err(CohortError::Model)?;
                        mine.push((role.to_string(), path));
                    }
                    (false, _) => {}
                }
            }
        }
        models.push(mine);
    }
    Ok(Checked {
        slides,
        tasks: tasks(&steps, &a.designs),
        steps,
        models,
    })
}

/// Runs a cohort as `spec` says, telling `observer` what happens; the run's summary (also in
/// `summary.json` and the event log). A slide or step that fails is in the summary, not an
/// error: `Err` is for a run that cannot start, or whose summary cannot be written.
pub fn run(spec: &RunSpec, observer: &mut dyn Observer) -> Result<Summary, CohortError> {
    let started = Instant::now();
    let a = spec;
    let Checked {
        slides,
        steps,
        tasks,
        models,
    } = check(a)?;
    let output = &a.output;
    // a dry run writes nothing, not even the folder or its events
    if !a.dry_run {
        std::fs::create_dir_all(output).map_err(|source| CohortError::Output {
            path: output.clone(),
            cause: source,
        })?;
    }
    let out = std::fs::canonicalize(output)
        .or_else(|_| std::path::absolute(output))
        .map_err(|source| CohortError::Output {
            path: output.clone(),
            cause: source,
        })?;
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
    .clamp(1, slides.len().clamp(1, crate::units::MAX_JOBS));
    let budget_mib = a
        .memory_mib
        .unwrap_or_else(|| available_memory().map_or(4096, |b| (b / (1 << 20)) * 4 / 5));
    let log_path = if a.dry_run {
        PathBuf::from("/dev/null")
    } else {
        out.join("events.jsonl")
    };
    let log = EventLog::open(&log_path).map_err(|source| CohortError::EventLog {
        path: log_path.clone(),
        cause: source,
    })?;
    let ctx = Ctx {
        spec: a,
        out: out.clone(),
        threads_per_job: (cores / jobs).max(1),
        models,
        log,
        budget: Budget::new(budget_mib),
        estimates: Mutex::new(BTreeMap::new()),
    };
    let start = RunStart {
        cohort: a.cohort.clone(),
        output: out.clone(),
        steps: steps.clone(),
        tasks: tasks.clone(),
        designs: a.designs.iter().map(|d| d.label.clone()).collect(),
        slides: slides.len(),
        jobs,
        threads_per_job: ctx.threads_per_job,
        memory_budget_mib: budget_mib,
    };
    let (h2g_version, pid) = (env!("CARGO_PKG_VERSION"), std::process::id());
    let _ = ctx.log.emit(&if a.dry_run {
        Event::DryRunStart {
            start: &start,
            h2g_version,
            pid,
        }
    } else {
        Event::RunStart {
            start: &start,
            h2g_version,
            pid,
        }
    });
    observer.started(&start);
    let observer = Mutex::new(observer);
    let tell = |f: &mut dyn FnMut(&mut dyn Observer)| {
        let mut o = observer.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut **o);
    };
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Task, Outcome)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        let mut workers = Vec::new();
        for w in 0..jobs {
            let (ctx, tasks, next, done, results, slides, tell) =
                (&ctx, &tasks, &next, &done, &results, &slides, &tell);
            workers.push(s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(slide) = slides.get(i) else { break };
                let outcomes = process_slide(ctx, slide, tasks, &|task, k| {
                    let file = ctx
                        .out
                        .join("slides")
                        .join(&slide.id)
                        .join("logs")
                        .join(format!("{}.progress", task.name()));
                    tell(&mut |o| o.step_started(w, &slide.id, task, k, tasks.len(), &file));
                });
                let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                tell(&mut |o| o.slide_done(w, n, slides.len(), slide, &outcomes));
                let mut r = results.lock().unwrap_or_else(|e| e.into_inner());
                r.extend(outcomes.into_iter().map(|(st, o)| (i, st, o)));
            }));
        }
        while workers.iter().any(|h| !h.is_finished()) {
            std::thread::sleep(std::time::Duration::from_millis(250));
            tell(&mut |o| o.tick());
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by(|(i, a, _), (j, b, _)| (i, a).cmp(&(j, b)));
    // the cohort's evaluation, over every slide evaluated, when the whole cohort ran
    let mut cohort_outcome = None;
    if steps.contains(&Step::Evaluate) && a.only.is_empty() {
        let evaluated: Vec<&CohortSlide> = slides
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                results.iter().any(|(j, st, o)| {
                    j == i
                        && st.step == Step::Evaluate
                        && matches!(o, Outcome::Ran { .. } | Outcome::UpToDate)
                })
            })
            .map(|(_, s)| s)
            .collect();
        if !evaluated.is_empty() {
            let o = cohort_evaluation(&ctx, &evaluated);
            tell(&mut |ob| ob.cohort_evaluated(&o));
            cohort_outcome = Some(o);
        }
    }
    let summary = summarize(
        &ctx,
        &slides,
        results,
        cohort_outcome,
        started.elapsed().as_secs_f64(),
        jobs,
        budget_mib,
    );
    let _ = ctx.log.emit(&if a.dry_run {
        Event::DryRunEnd(&summary)
    } else {
        Event::RunEnd(&summary)
    });
    // the cohort's summary, from runs over the whole cohort (an --only run, as a workflow
    // engine starts many at once, leaves its summary in the event log)
    if !a.dry_run && a.only.is_empty() {
        let path = out.join("summary.json");
        if let Err(cause) = crate::output::write_json(&path, &summary) {
            return Err(CohortError::Summary {
                path,
                cause,
                summary: Box::new(summary),
            });
        }
    }
    Ok(summary)
}

fn summarize(
    ctx: &Ctx,
    slides: &[CohortSlide],
    results: Vec<(usize, Task, Outcome)>,
    cohort_outcome: Option<Outcome>,
    wall_s: f64,
    jobs: usize,
    memory_budget_mib: u64,
) -> Summary {
    let mut per_step: BTreeMap<Task, BTreeMap<String, usize>> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut peak: Option<f64> = None;
    let mut ran = 0;
    for (i, st, o) in &results {
        *per_step
            .entry(st.clone())
            .or_default()
            .entry(o.word().to_string())
            .or_default() += 1;
        match o {
            Outcome::Failed { error, log } => failures.push(Failure {
                slide: slides[*i].id.clone(),
                file: Some(slides[*i].slide.clone()),
                step: st.clone(),
                error: error.clone(),
                log: log.clone(),
            }),
            Outcome::Ran { peak_mib, .. } => {
                ran += 1;
                if let Some(p) = peak_mib {
                    peak = Some(peak.map_or(*p, |q: f64| q.max(*p)));
                }
            }
            _ => {}
        }
    }
    if let Some(Outcome::Failed { error, log }) = &cohort_outcome {
        failures.push(Failure {
            slide: "cohort".into(),
            file: None,
            step: Task::plain(Step::Evaluate),
            error: error.clone(),
            log: log.clone(),
        });
    }
    let failed_slides: BTreeSet<usize> = results
        .iter()
        .filter(|(_, _, o)| matches!(o, Outcome::Failed { .. }))
        .map(|(i, _, _)| *i)
        .collect();
    Summary {
        finished: utc_now(),
        dry_run: ctx.spec.dry_run,
        wall_s,
        slides: slides.len(),
        slides_failed: failed_slides.len(),
        steps_ran: ran,
        steps: per_step,
        slides_per_hour: (ran > 0).then(|| slides.len() as f64 * 3600.0 / wall_s),
        peak_step_rss_mib: peak,
        jobs,
        threads_per_job: ctx.threads_per_job,
        memory_budget_mib,
        cohort_evaluation: cohort_outcome.as_ref().map(Outcome::word),
        failures,
        outcomes: results
            .into_iter()
            .map(|(i, st, o)| (slides[i].id.clone(), st, o))
            .collect(),
        cohort_outcome,
    }
}

/// Runs `steps` of one slide in order, under the slide's lock.
fn process_slide(
    ctx: &Ctx,
    s: &CohortSlide,
    tasks: &[Task],
    on_step: &dyn Fn(&Task, usize),
) -> Vec<(Task, Outcome)> {
    let unit = ctx.out.join("slides").join(&s.id);
    let mut out: Vec<(Task, Outcome)> = Vec::new();
    let fail_all = |error: String| {
        tasks
            .iter()
            .map(|t| (t.clone(), Outcome::failed(error.clone())))
            .collect::<Vec<_>>()
    };
    // the slide's folder and lock (a dry run only reads)
    let lock = if ctx.spec.dry_run {
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
        let _ = ctx.log.emit(&Event::SlideFailed {
            slide: &s.id,
            file: &s.slide,
            error: &error,
        });
        return fail_all(error);
    }
    for (k, task) in tasks.iter().enumerate() {
        on_step(task, k);
        let step = task.step;
        let name = task.name();
        let deps = ctx.deps(task);
        // a step whose inputs failed in this run is blocked
        let failed_dep = deps.iter().find(|d| {
            out.iter()
                .any(|(st, o)| st == *d && !o.ok() && !matches!(o, Outcome::NotApplicable { .. }))
        });
        let pending_dep = deps.iter().find(|d| {
            out.iter()
                .any(|(st, o)| st == *d && matches!(o, Outcome::WouldRun { .. }))
        });
        let o = if let Some(d) = failed_dep {
            Outcome::Blocked {
                reason: format!("its input step {} did not succeed", d.name()),
            }
        } else if let Some(d) = pending_dep {
            Outcome::WouldRun {
                reason: format!("after {}, if its outputs change", d.name()),
            }
        } else if step == Step::Evaluate && s.truth.is_none() {
            Outcome::NotApplicable {
                reason: "no truth in the cohort table".into(),
            }
        } else {
            match plan(ctx, s, task, &unit) {
                Ok(p) => execute(ctx, &s.id, &unit, task, &p, lock_fd),
                // an input step neither asked for nor done before: the user's to fix
                Err(e) => {
                    let e = e.to_string();
                    let _ = ctx.log.emit(&Event::StepFailed {
                        slide: &s.id,
                        step: &name,
                        error: &e,
                        log: None,
                    });
                    Outcome::failed(e)
                }
            }
        };
        if let Outcome::NotApplicable { reason } | Outcome::Blocked { reason } = &o {
            let _ = ctx.log.emit(&Event::StepSkipped {
                slide: &s.id,
                step: &name,
                outcome: o.word(),
                reason: Some(reason),
                key: None,
            });
        }
        out.push((task.clone(), o));
    }
    out
}

/// The cohort's evaluation over the slides evaluated in this run.
fn cohort_evaluation(ctx: &Ctx, evaluated: &[&CohortSlide]) -> Outcome {
    let unit = ctx.out.join("cohort");
    if !ctx.spec.dry_run {
        if let Err(e) = std::fs::create_dir_all(unit.join("logs")) {
            return Outcome::failed(format!("cannot create {}: {e}", unit.display()));
        }
    }
    let mut rows: Vec<(&CohortSlide, &str, PathBuf)> = Vec::new();
    let mut upstream = Vec::new();
    for sl in evaluated {
        let su = ctx.out.join("slides").join(&sl.id);
        if sl.truth.is_none() {
            continue;
        }
        let mut reads = vec![Task::plain(Step::Evaluate)];
        for (i, d) in ctx.spec.designs.iter().enumerate() {
            let t = ctx.segment_task(i);
            rows.push((sl, &d.label, segment_mask(&su, &t, &sl.id, &d.label)));
            reads.push(t);
        }
        for t in reads {
            let name = t.name();
            match Record::load(&su.join(format!("{name}.record.json"))) {
                Some(r) => upstream.push((format!("{}/{name}", sl.id), r.digest)),
                None => {
                    return Outcome::failed(format!("{}: the {name} step has no record", sl.id))
                }
            }
        }
    }
    let rows: Vec<(&CohortSlide, &str, &Path)> =
        rows.iter().map(|(s, l, p)| (*s, *l, p.as_path())).collect();
    let text = match cohort_table(&rows, ctx.spec.mask_downsample) {
        Ok(t) => t,
        Err(e) => return Outcome::failed(format!("cannot write the evaluation table: {e}")),
    };
    let lock = if ctx.spec.dry_run {
        None
    } else {
        match lock_unit(&unit) {
            Ok(Some(l)) => Some(l),
            Ok(None) => {
                return Outcome::failed(format!(
                    "another h2g run holds {}",
                    unit.join(".lock").display()
                ))
            }
            Err(e) => return Outcome::failed(format!("cannot lock {}: {e}", unit.display())),
        }
    };
    let stage = staging(&unit, Step::Evaluate.name());
    let mut args: Vec<String> = vec![
        "evaluate".into(),
        "--cohort".into(),
        stage.join("cohort.csv").to_string_lossy().into_owned(),
        "-o".into(),
        stage.to_string_lossy().into_owned(),
    ];
    if let Some(c) = &ctx.spec.truth_class {
        args.extend(["--truth-class".into(), c.clone()]);
    }
    if let Some(s) = &ctx.spec.eval_split {
        args.extend(["--split".into(), s.clone()]);
    }
    args.extend(super::plan::classes_args(&ctx.spec.eval_classes));
    match &ctx.spec.tukey_family {
        crate::stats::Family::All => {}
        crate::stats::Family::Only(v) => {
            args.extend(["--tukey-designs".into(), v.join(",")]);
        }
        crate::stats::Family::Exclude(v) => {
            args.extend(["--tukey-exclude".into(), v.join(",")]);
        }
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
        &Task::plain(Step::Evaluate),
        &p,
        lock.as_ref().map_or(-1, |l| l.fd()),
    )
}
