//! The terminal display of `h2g run`: a bar over the slides, a line per worker with its slide,
//! step and the step's own progress line, and a line per finished step (plain lines off a
//! terminal), as the run's [`Observer`], and the summary printed when it ends.

use super::out::noteln;
use std::path::PathBuf;

use h2g::cohort::{CohortSlide, Observer, Outcome, RunStart, Summary, Task};

/// The terminal display: a bar over the slides, a line per worker with its slide, step and the
/// step's own progress line, and a line per finished step (plain lines off a terminal).
pub struct Display {
    quiet: bool,
    show: bool,
    multi: indicatif::MultiProgress,
    overall: indicatif::ProgressBar,
    lines: Vec<indicatif::ProgressBar>,
    /// Per worker: the line's prefix and the file its step keeps its progress in.
    watching: Vec<Option<(String, PathBuf)>>,
    any_failed: bool,
}

impl Display {
    pub fn new(quiet: bool, show: bool) -> Self {
        let multi = indicatif::MultiProgress::new();
        if !show {
            multi.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let overall = multi.add(indicatif::ProgressBar::new(0));
        overall.set_style(
            indicatif::ProgressStyle::with_template("slides [{bar:30}] {pos}/{len} {msg} ({eta})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        Display {
            quiet,
            show,
            multi,
            overall,
            lines: Vec::new(),
            watching: Vec::new(),
            any_failed: false,
        }
    }

    fn say(&self, line: String) {
        if self.show {
            self.multi.suspend(|| noteln!("{line}"));
        } else if !self.quiet {
            noteln!("{line}");
        }
    }

    pub fn finish(&self) {
        for l in &self.lines {
            l.finish_and_clear();
        }
        self.overall.finish_and_clear();
    }
}

impl Observer for Display {
    fn started(&mut self, s: &RunStart) {
        self.overall.set_length(s.slides as u64);
        self.lines = (0..s.jobs)
            .map(|_| {
                let line = self.multi.add(indicatif::ProgressBar::new_spinner());
                line.set_style(
                    indicatif::ProgressStyle::with_template("  {spinner} {msg} {elapsed}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                if self.show {
                    line.enable_steady_tick(std::time::Duration::from_millis(200));
                }
                line
            })
            .collect();
        self.watching = vec![None; s.jobs];
        if !self.quiet {
            let names: Vec<&str> = s.steps.iter().map(|st| st.name()).collect();
            self.say(format!(
                "h2g run: {} slides × {} ({}), {} at a time, {} threads each, memory budget {} MiB → {}",
                s.slides,
                s.steps.len(),
                names.join(","),
                s.jobs,
                s.threads_per_job,
                s.memory_budget_mib,
                s.output.display()
            ));
        }
    }

    fn step_started(
        &mut self,
        worker: usize,
        slide: &str,
        step: &Task,
        k: usize,
        n: usize,
        progress_file: &std::path::Path,
    ) {
        let prefix = format!("{slide}: {} ({}/{n})", step.name(), k + 1);
        if let Some(line) = self.lines.get(worker) {
            line.reset_elapsed();
            line.set_message(prefix.clone());
        }
        if let Some(w) = self.watching.get_mut(worker) {
            *w = Some((prefix, progress_file.to_path_buf()));
        }
    }

    fn slide_done(
        &mut self,
        worker: usize,
        done: usize,
        total: usize,
        slide: &CohortSlide,
        outcomes: &[(Task, Outcome)],
    ) {
        if let Some(w) = self.watching.get_mut(worker) {
            *w = None;
        }
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
            self.say(format!(
                "[{done}/{total}] {}: failed (every step): {}",
                slide.id, errors[0]
            ));
        } else {
            for (step, o) in outcomes {
                self.say(format!(
                    "[{done}/{total}] {}: {} {o}",
                    slide.id,
                    step.name()
                ));
            }
        }
        self.overall.inc(1);
        if !errors.is_empty() && !self.any_failed {
            self.any_failed = true;
            self.overall.set_message("(some failed)");
        }
    }

    fn tick(&mut self) {
        if !self.show {
            return;
        }
        for (line, item) in self.lines.iter().zip(&self.watching) {
            if let Some((prefix, file)) = item {
                if let Ok(text) = std::fs::read_to_string(file) {
                    line.set_message(format!("{prefix} · {}", text.trim()));
                }
            }
        }
    }

    fn cohort_evaluated(&mut self, o: &Outcome) {
        self.say(format!("cohort: evaluate {o}"));
    }
}

/// The run's counts and failures on stderr.
pub fn print_summary(summary: &Summary) {
    let counts: Vec<String> = summary
        .steps
        .iter()
        .map(|(st, m)| {
            let parts: Vec<String> = m.iter().map(|(w, n)| format!("{n} {w}")).collect();
            format!("{}: {}", st.name(), parts.join(", "))
        })
        .collect();
    noteln!(
        "h2g run: {} slides in {:.1} s; {}",
        summary.slides,
        summary.wall_s,
        counts.join("; ")
    );
    if summary.failures.is_empty() {
        return;
    }
    let cohort_failed = matches!(summary.cohort_outcome, Some(Outcome::Failed { .. }));
    noteln!(
        "h2g run: {} failed slides ({} steps):",
        summary.slides_failed + usize::from(cohort_failed),
        summary.failures.len()
    );
    // one line per slide and error: the steps that failed with it
    let mut lines: Vec<(&str, &str, Vec<String>)> = Vec::new();
    for f in &summary.failures {
        match lines
            .iter_mut()
            .find(|(s, e, _)| *s == f.slide && *e == f.error)
        {
            Some(l) => l.2.push(f.step.name()),
            None => lines.push((&f.slide, &f.error, vec![f.step.name()])),
        }
    }
    for (sl, er, st) in lines {
        noteln!("  {sl} ({}): {er}", st.join(", "));
    }
}
