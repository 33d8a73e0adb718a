//! Running one step: the key, the up-to-date check, the memory budget, the child process, the
//! move into place and the record.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use serde_json::json;

use super::engine::Ctx;
use super::plan::{key_args, staging, template, Plan};
use super::record::{hash_outputs, RECORD_VERSION};
use super::{fingerprint, key_of, try_lock, utc_now, Event, Lock, Outcome, Record, Task};

/// The environment variable that asks `h2g` to leave its result (success, or the error that
/// ended it) as JSON in the file it names: how a cohort run learns why a step failed.
pub const RESULT_FILE_ENV: &str = "H2G_RESULT_FILE";

/// The name of that file in a step's staging folder (removed before the outputs are hashed).
pub const RESULT_FILE_NAME: &str = ".h2g-result.json";

/// A memory budget in MiB: a step waits until its estimate fits beside those running; one
/// larger than the whole budget runs alone.
pub(super) struct Budget {
    total: u64,
    used: Mutex<u64>,
    freed: Condvar,
}

impl Budget {
    pub(super) fn new(total: u64) -> Self {
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

/// Locks a slide's (or the cohort's) folder, waiting up to 30 s for processes of a killed run
/// that still hold it to end.
pub(super) fn lock_unit(unit: &Path) -> std::io::Result<Option<Lock>> {
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
pub(super) fn execute(
    ctx: &Ctx,
    id: &str,
    unit: &Path,
    task: &Task,
    p: &Plan,
    lock_fd: std::os::fd::RawFd,
) -> Outcome {
    let a = ctx.spec;
    let step = task.step;
    let name = task.name();
    let name = name.as_str();
    let record_path = unit.join(format!("{name}.record.json"));
    let final_dir = unit.join(name);
    let stage = staging(unit, name);
    let fail = |error: String, log: Option<PathBuf>| {
        let _ = ctx.log.emit(&Event::StepFailed {
            slide: id,
            step: name,
            error: &error,
            log: log.as_deref(),
        });
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
                let _ = ctx.log.emit(&Event::StepSkipped {
                    slide: id,
                    step: name,
                    outcome: "up to date",
                    reason: None,
                    key: Some(&key),
                });
                return Outcome::UpToDate;
            }
            Err(e) => format!("its outputs are damaged ({e})"),
        },
    };
    if a.dry_run {
        return Outcome::WouldRun { reason };
    }
    // the memory the step may take, then the run
    let est = {
        let e = ctx.estimates.lock().unwrap_or_else(|e| e.into_inner());
        e.get(&step).copied().unwrap_or_else(|| step.default_mib())
    };
    let held = ctx.budget.acquire(est);
    let _ = ctx.log.emit(&Event::StepStart {
        slide: id,
        step: name,
        key: &key,
        reason: &reason,
        memory_reserved_mib: held,
    });
    let run = StepRun {
        id,
        unit,
        name,
        record_path: &record_path,
        final_dir: &final_dir,
        stage: &stage,
        key: &key,
    };
    let o = run.run(ctx, p, made_of, lock_fd);
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

/// Where one step runs and what it leaves.
struct StepRun<'a> {
    id: &'a str,
    unit: &'a Path,
    name: &'a str,
    record_path: &'a Path,
    final_dir: &'a Path,
    stage: &'a Path,
    key: &'a str,
}

type StepError = (String, Option<PathBuf>);

impl StepRun<'_> {
    /// Runs the step's process into the staging folder, then moves its outputs into place and
    /// writes the record; its wall time and peak memory (MiB).
    fn run(
        &self,
        ctx: &Ctx,
        p: &Plan,
        made_of: serde_json::Value,
        lock_fd: std::os::fd::RawFd,
    ) -> Result<(f64, Option<f64>), StepError> {
        let (unit, name, stage) = (self.unit, self.name, self.stage);
        let started = utc_now();
        let t0 = Instant::now();
        let io = |what: &str, path: &Path, e: std::io::Error| {
            (format!("cannot {what} {}: {e}", path.display()), None)
        };
        // no record while the outputs change: a kill from here on leaves the step to redo
        match std::fs::remove_file(self.record_path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io("remove", self.record_path, e))
            }
            _ => {}
        }
        remove_stale_records(unit, name).map_err(|e| io("clean", unit, e))?;
        if stage.exists() {
            std::fs::remove_dir_all(stage).map_err(|e| io("remove", stage, e))?;
        }
        std::fs::create_dir_all(stage).map_err(|e| io("create", stage, e))?;
        if let Some((file, text)) = &p.prelude {
            std::fs::write(stage.join(file), text)
                .map_err(|e| io("write", &stage.join(file), e))?;
        }
        let log_path = unit.join("logs").join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path).map_err(|e| io("create", &log_path, e))?;
        // the step's stdout and stderr through one pipe, copied into the log by this process,
        // which keeps their end in memory: the reason of a failure is known even when the log
        // cannot be written (a full disk)
        let (reader, writer) = std::io::pipe().map_err(|e| io("open a pipe for", &log_path, e))?;
        let writer2 = writer
            .try_clone()
            .map_err(|e| io("open a pipe for", &log_path, e))?;
        let result_path = stage.join(RESULT_FILE_NAME);
        let mut cmd = Command::new(&ctx.spec.exe);
        cmd.args(&p.args)
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(writer2)
            .env("RAYON_NUM_THREADS", ctx.threads_per_job.to_string())
            .env(RESULT_FILE_ENV, &result_path);
        let progress_file = unit.join("logs").join(format!("{name}.progress"));
        if ctx.spec.step_progress {
            cmd.env(crate::output::PROGRESS_FILE_ENV, &progress_file);
        }
        super::fault::step_env(&mut cmd);
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl and fcntl are async-signal-safe. The step ends (with SIGTERM, so it
            // removes its unfinished files) if this process dies first; it keeps the slide's
            // lock open, so that a rerun cannot start on the slide while it lives.
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
        let child = cmd.spawn();
        // the pipe's writing ends held by `cmd`: closed, so that the copy ends with the step
        drop(cmd);
        let child = child.map_err(|e| {
            (
                format!("cannot start {}: {e}", ctx.spec.exe.display()),
                None,
            )
        })?;
        let copier = std::thread::spawn(move || Tee::copy(reader, log));
        let waited = wait_with_peak(child.id() as libc::pid_t);
        let tee = copier.join().unwrap_or_default();
        let _ = std::fs::remove_file(&progress_file);
        let (status, peak_mib) = waited.map_err(|e| {
            (
                format!("lost the step's process: {e}"),
                Some(log_path.clone()),
            )
        })?;
        let result = StepResult::take(&result_path);
        if status != 0 {
            let _ = std::fs::remove_dir_all(stage);
            let mut error = match result {
                Some(StepResult { error: Some(e), .. }) => e,
                _ => ended_how(status, &tee.tail),
            };
            if let Some(e) = &tee.log_error {
                error.push_str(&format!(" (its log could not be written: {e})"));
            }
            return Err((error, Some(log_path.clone())));
        }
        let (outputs, digest) =
            hash_outputs(stage).map_err(|e| io("read the outputs in", stage, e))?;
        if self.final_dir.exists() {
            std::fs::remove_dir_all(self.final_dir).map_err(|e| io("remove", self.final_dir, e))?;
        }
        std::fs::rename(stage, self.final_dir)
            .map_err(|e| io("move outputs to", self.final_dir, e))?;
        super::fault::point("after-staging-move");
        let wall_s = t0.elapsed().as_secs_f64();
        let n_out = outputs.len();
        let rec = Record {
            record_version: RECORD_VERSION,
            slide: self.id.to_string(),
            step: name.to_string(),
            key: self.key.to_string(),
            h2g_version: env!("CARGO_PKG_VERSION").to_string(),
            made_of,
            outputs,
            digest,
            started,
            finished: utc_now(),
            wall_s,
            peak_rss_mib: peak_mib,
        };
        write_record(self.record_path, &rec).map_err(|e| io("write", self.record_path, e))?;
        let _ = ctx.log.emit(&Event::StepDone {
            slide: self.id,
            step: name,
            wall_s,
            peak_rss_mib: peak_mib,
            outputs: n_out,
            digest: &rec.digest,
        });
        super::fault::point("between-steps");
        Ok((wall_s, peak_mib))
    }
}

/// Writes a step's record atomically: to a temporary file beside it, renamed into place.
fn write_record(path: &Path, rec: &Record) -> std::io::Result<()> {
    use std::io::Write as _;
    let f = crate::output::AtomicFile::create(path)?;
    let mut text = serde_json::to_vec_pretty(rec)?;
    text.push(b'\n');
    f.file().write_all(&text)?;
    super::fault::point("inside-record-write");
    f.commit()
}

/// Removes the temporary files of `step`'s record that a killed run left in `unit`
/// (`.STEP.record.json.XXXXXX.tmp`).
fn remove_stale_records(unit: &Path, step: &str) -> std::io::Result<()> {
    let prefix = format!(".{step}.record.json.");
    for e in std::fs::read_dir(unit)? {
        let e = e?;
        let n = e.file_name();
        let n = n.to_string_lossy();
        if n.starts_with(&prefix) && n.ends_with(".tmp") {
            std::fs::remove_file(e.path())?;
        }
    }
    Ok(())
}

/// What `h2g` leaves in the file [`RESULT_FILE_ENV`] names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StepResult {
    /// Whether the command succeeded.
    pub ok: bool,
    /// Why it did not.
    pub error: Option<String>,
}

impl StepResult {
    /// Reads and removes the result file (absent when the process died before writing it).
    fn take(path: &Path) -> Option<StepResult> {
        let bytes = std::fs::read(path).ok()?;
        let _ = std::fs::remove_file(path);
        serde_json::from_slice(&bytes).ok()
    }

    /// Writes the result where [`RESULT_FILE_ENV`] asks, if it does; for `h2g`'s `main`.
    pub fn leave(ok: bool, error: Option<String>) {
        if let Some(p) = std::env::var_os(RESULT_FILE_ENV) {
            let _ = crate::output::write_json(Path::new(&p), &StepResult { ok, error });
        }
    }
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

/// The most of a step's output kept in memory: its last lines, for the reason of a failure.
const TAIL_BYTES: usize = 16 * 1024;

/// What copying a step's output into its log leaves: the output's end, and the error that
/// stopped the log being written, if one did.
#[derive(Default)]
struct Tee {
    tail: Vec<u8>,
    log_error: Option<std::io::Error>,
}

impl Tee {
    /// Copies `from` into `log` until the step closes it, keeping the last [`TAIL_BYTES`];
    /// after a failed write to the log, only keeps them.
    fn copy(mut from: impl std::io::Read, mut log: impl std::io::Write) -> Tee {
        let mut tee = Tee::default();
        let mut buf = [0u8; 8192];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            if tee.log_error.is_none() {
                if let Err(e) = log.write_all(&buf[..n]) {
                    tee.log_error = Some(e);
                }
            }
            tee.tail.extend_from_slice(&buf[..n]);
            if tee.tail.len() > TAIL_BYTES {
                let cut = tee.tail.len() - TAIL_BYTES;
                tee.tail.drain(..cut);
            }
        }
        tee
    }
}

/// How a step that left no result ended (a crash, a signal, an error it could only print),
/// with the last line of its output.
fn ended_how(status: i32, tail: &[u8]) -> String {
    let text = String::from_utf8_lossy(tail);
    // a progress line redrawn with carriage returns: its last state
    let last_line = text
        .lines()
        .filter_map(|l| l.rsplit('\r').map(str::trim).find(|p| !p.is_empty()))
        .next_back();
    let how = if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        match signal_name(sig) {
            Some((name, why)) => format!("killed by {name}{why}"),
            None => format!("killed by signal {sig}"),
        }
    } else {
        match libc::WEXITSTATUS(status) {
            // the message of an error it could not leave in its result file (a full disk)
            1 => {
                if let Some(msg) = last_line.and_then(|l| l.strip_prefix("h2g: error: ")) {
                    return msg.to_string();
                }
                "exit status 1".to_string()
            }
            101 => "crashed (exit status 101, a panic)".to_string(),
            code => format!("exit status {code}"),
        }
    };
    match last_line {
        Some(l) => format!("{how}: {l}"),
        None => how,
    }
}

/// The name of signal `sig` and what it usually means.
fn signal_name(sig: i32) -> Option<(&'static str, &'static str)> {
    Some(match sig {
        libc::SIGKILL => ("SIGKILL", " (out of memory?)"),
        libc::SIGSEGV => ("SIGSEGV", " (crashed)"),
        libc::SIGBUS => ("SIGBUS", " (crashed: a file it mapped was cut short?)"),
        libc::SIGILL => ("SIGILL", " (crashed)"),
        libc::SIGFPE => ("SIGFPE", " (crashed)"),
        libc::SIGABRT => ("SIGABRT", " (aborted)"),
        libc::SIGTERM => ("SIGTERM", ""),
        libc::SIGINT => ("SIGINT", ""),
        libc::SIGHUP => ("SIGHUP", ""),
        libc::SIGPIPE => ("SIGPIPE", ""),
        libc::SIGXFSZ => ("SIGXFSZ", " (file size limit exceeded)"),
        libc::SIGXCPU => ("SIGXCPU", " (CPU time limit exceeded)"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// A log on a full disk.
    struct Full;
    impl std::io::Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::from_raw_os_error(libc::ENOSPC))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_end_of_a_steps_output_is_kept_when_its_log_cannot_be_written() {
        let mut text = "x".repeat(3 * TAIL_BYTES).into_bytes();
        text.extend_from_slice(b"\nh2g: error: cannot write m.tif: disk full\n");
        let tee = Tee::copy(&text[..], Full);
        assert_eq!(tee.tail.len(), TAIL_BYTES);
        assert!(tee.tail.ends_with(b"disk full\n"));
        assert_eq!(
            tee.log_error.map(|e| e.raw_os_error()),
            Some(Some(libc::ENOSPC))
        );
        // its own message, when it could not leave it in its result file
        assert_eq!(
            ended_how(1 << 8, &tee.tail),
            "cannot write m.tif: disk full"
        );
        // a log that takes it all keeps it all
        let mut log = Vec::new();
        let tee = Tee::copy(&text[..], &mut log);
        assert!(tee.log_error.is_none());
        assert_eq!(log, text);
    }

    #[test]
    fn a_step_that_crashed_or_was_killed_is_named_so() {
        let panic = b"thread 'main' panicked at src/x.rs:1:1:\nboom\n";
        assert_eq!(
            ended_how(101 << 8, panic),
            "crashed (exit status 101, a panic): boom"
        );
        assert_eq!(
            ended_how(libc::SIGKILL, b""),
            "killed by SIGKILL (out of memory?)"
        );
        assert_eq!(
            ended_how(libc::SIGSEGV, b"tiles 3/9\rtiles 4/9\r"),
            "killed by SIGSEGV (crashed): tiles 4/9"
        );
        assert_eq!(ended_how(3 << 8, b""), "exit status 3");
        assert_eq!(ended_how(1 << 8, b"usage\n"), "exit status 1: usage");
        assert_eq!(ended_how(60, b""), "killed by signal 60");
    }
}
