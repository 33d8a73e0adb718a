//! The `h2g` command line: parses arguments and hands each subcommand to the library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

use cli::out::{noteln, StdoutError};

fn main() -> ExitCode {
    // `h2g … | head`: a closed pipe ends the process quietly, by SIGPIPE, as for other Unix
    // tools; where the signal is ignored (a parent's choice), the write error ends it quietly
    // too (below).
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let args = match cli::Cli::try_parse() {
        Ok(a) => a,
        Err(e) => return clap_exit(&e),
    };
    // one command per process: no output of it may replace a file it reads
    h2g::guard::protect_inputs();
    // Ctrl-C, SIGTERM (cluster schedulers) or SIGHUP: remove half-written outputs, then stop.
    let _ = ctrlc::set_handler(|| {
        h2g::output::remove_unfinished();
        noteln!("h2g: interrupted; unfinished outputs removed");
        std::process::exit(130);
    });
    h2g::cohort::fault::step_process_started();
    // the result, for `h2g run` when it started this process as a step (H2G_RESULT_FILE)
    match cli::run(args) {
        Ok(end) => {
            let ok = end.code == ExitCode::SUCCESS;
            h2g::cohort::StepResult::leave(ok, end.failure.filter(|_| !ok));
            end.code
        }
        Err(e) => {
            let quiet = e.chain().any(|c| {
                c.downcast_ref::<StdoutError>()
                    .is_some_and(StdoutError::is_broken_pipe)
            });
            let msg = message(&e);
            if !quiet {
                noteln!("h2g: error: {msg}");
            }
            h2g::cohort::StepResult::leave(false, Some(msg));
            ExitCode::from(if quiet { BROKEN_PIPE } else { 1 })
        }
    }
}

/// The exit status of a run whose reader went away while the SIGPIPE signal was ignored: that
/// of a shell's process ended by SIGPIPE (128 + 13).
const BROKEN_PIPE: u8 = 141;

/// Prints clap's help, version or usage error and ends as clap would, but with exit status 1
/// and a message when the help or version cannot be written to standard output.
fn clap_exit(e: &clap::Error) -> ExitCode {
    let written = e
        .print()
        .map_err(StdoutError)
        .and_then(|()| cli::out::out_bytes(b""));
    match written {
        Err(w) if !e.use_stderr() => {
            if w.is_broken_pipe() {
                return ExitCode::from(BROKEN_PIPE);
            }
            noteln!("h2g: error: {w}");
            ExitCode::from(1)
        }
        _ => ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2)),
    }
}

/// The error and its causes, `: `-separated, leaving out a cause whose text the message already
/// holds (errors that print their cause themselves).
fn message(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if msg.is_empty() {
            msg = text;
        } else if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
    }
    msg
}
