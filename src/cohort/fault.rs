//! Fault injection for tests: `H2G_FAULT=<point>[:<n>]` makes `h2g run` die at once (SIGKILL,
//! as a kill from outside would) the `n`-th time (default 1) it reaches the named point, so that
//! a test can stop a run at an exact moment and check what a resume makes of it. Unset, it does
//! nothing. The points (docs/cohorts.md, "Fault injection"):
//!
//! - `after-staging-move`: a step's outputs moved into place, its record not yet written;
//! - `inside-record-write`: a step's record written to its temporary file, not yet renamed;
//! - `between-steps`: a step's record committed, the next step not started;
//! - `in-step`: the `n`-th step process the run starts kills the run (its parent) as it starts,
//!   then holds [`IN_STEP_HOLD`] before going on with its work, as a long step would: it must
//!   end with the run.
//!
//! `H2G_STEP_TRACE=<file>` makes every step process append its arguments to `file`, one line
//! each, as it starts: a count of the steps really executed that owes nothing to the run's
//! own bookkeeping.

use std::io::Write as _;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// The environment variable that names a fault point (and the how-many-th time it fires).
pub const FAULT_ENV: &str = "H2G_FAULT";

/// The environment variable naming a file each step process appends its arguments to.
pub const STEP_TRACE_ENV: &str = "H2G_STEP_TRACE";

/// The fault points, in the order a step meets them.
pub const POINTS: [&str; 4] = [
    "in-step",
    "after-staging-move",
    "inside-record-write",
    "between-steps",
];

/// How long a step process that killed its run (`in-step`) waits before going on.
pub const IN_STEP_HOLD: Duration = Duration::from_secs(10);

/// A value of [`FAULT_ENV`] that is not a fault point.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{FAULT_ENV}='{value}' is not a fault point: use one of in-step, after-staging-move, \
     inside-record-write or between-steps, optionally followed by :N (N from 1), or unset it"
)]
pub struct FaultError {
    /// The value found.
    pub value: String,
}

/// A parsed [`FAULT_ENV`]: the point and the how-many-th time it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// One of [`POINTS`].
    pub point: &'static str,
    /// Fires when the point is reached for the `nth` time (1-based).
    pub nth: u64,
}

impl std::str::FromStr for Fault {
    type Err = FaultError;
    fn from_str(s: &str) -> Result<Self, FaultError> {
        let bad = || FaultError {
            value: s.to_string(),
        };
        let (name, nth) = match s.split_once(':') {
            Some((p, n)) => (p, n.parse::<u64>().map_err(|_| bad())?),
            None => (s, 1),
        };
        let point = POINTS.into_iter().find(|p| *p == name).ok_or_else(bad)?;
        if nth == 0 {
            return Err(bad());
        }
        Ok(Fault { point, nth })
    }
}

/// The fault this process was started with: `Ok(None)` when [`FAULT_ENV`] is unset or empty.
pub fn configured() -> Result<Option<Fault>, FaultError> {
    match std::env::var(FAULT_ENV) {
        Ok(v) if !v.is_empty() => v.parse().map(Some),
        Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(v)) => Err(FaultError {
            value: v.to_string_lossy().into_owned(),
        }),
    }
}

fn fault() -> Option<Fault> {
    static FAULT: OnceLock<Option<Fault>> = OnceLock::new();
    *FAULT.get_or_init(|| configured().ok().flatten())
}

/// Times the configured point was reached in this process.
static REACHED: AtomicU64 = AtomicU64::new(0);

/// Counts `name` and stops this process dead when it is the configured point reached for the
/// configured time; does nothing otherwise (and always when [`FAULT_ENV`] is unset).
pub fn point(name: &str) {
    if let Some(f) = fault() {
        if f.point == name && REACHED.fetch_add(1, Ordering::SeqCst) + 1 == f.nth {
            die();
        }
    }
}

/// Ends this process at once, as SIGKILL from outside would: no destructor, no handler, no
/// buffered output flushed.
fn die() -> ! {
    // SAFETY: kill and _exit take plain integers and do not return to Rust code that could
    // observe a half-done state; _exit only if the signal somehow did not end the process.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
        libc::_exit(137)
    }
}

/// Sets up a step process's environment: no fault of the run's own, except `in-step` for the
/// process that is the `n`-th started.
pub(super) fn step_env(cmd: &mut Command) {
    cmd.env_remove(FAULT_ENV);
    if let Some(f) = fault() {
        if f.point == "in-step" && REACHED.fetch_add(1, Ordering::SeqCst) + 1 == f.nth {
            cmd.env(FAULT_ENV, "in-step");
        }
    }
}

/// For `h2g`'s `main`, as a step process starts (one `h2g run` started: [`super::RESULT_FILE_ENV`]
/// set): appends its arguments to [`STEP_TRACE_ENV`]'s file, and, with `H2G_FAULT=in-step`,
/// kills the run (its parent, when that is this same executable) and holds [`IN_STEP_HOLD`].
/// Nothing for other processes.
pub fn step_process_started() {
    if std::env::var_os(super::RESULT_FILE_ENV).is_none() {
        return;
    }
    if let Some(path) = std::env::var_os(STEP_TRACE_ENV).filter(|p| !p.is_empty()) {
        let mut line = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
        line.push('\n');
        // one write to an O_APPEND file: lines of concurrent steps do not interleave
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = f.write_all(line.as_bytes());
        }
    }
    if fault().is_some_and(|f| f.point == "in-step") {
        // SAFETY: getppid takes nothing and returns a plain integer.
        let parent = unsafe { libc::getppid() };
        // only a parent that is this very executable (`h2g run`), never a shell that set the
        // variables by hand
        let exe = |p: &str| std::fs::canonicalize(p).ok();
        if exe(&format!("/proc/{parent}/exe")).is_some()
            && exe(&format!("/proc/{parent}/exe")) == exe("/proc/self/exe")
        {
            // SAFETY: kill takes plain integers.
            unsafe {
                libc::kill(parent, libc::SIGKILL);
            }
            std::thread::sleep(IN_STEP_HOLD);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_values_parse_or_name_the_fix() {
        assert_eq!(
            "between-steps".parse::<Fault>(),
            Ok(Fault {
                point: "between-steps",
                nth: 1
            })
        );
        assert_eq!(
            "inside-record-write:7".parse::<Fault>(),
            Ok(Fault {
                point: "inside-record-write",
                nth: 7
            })
        );
        for bad in [
            "",
            "nowhere",
            "in-step:0",
            "in-step:",
            "in-step:-1",
            "in-step:x",
            "after-staging-move:2:3",
            "Between-Steps",
        ] {
            let e = bad.parse::<Fault>().unwrap_err();
            assert_eq!(e.value, bad);
            assert!(e.to_string().contains("use one of in-step"), "{e}");
        }
    }
}
