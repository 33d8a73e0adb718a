//! The `h2g` command line: parses arguments and hands each subcommand to the library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // `h2g … | head`: a closed pipe ends the process quietly, as for other Unix tools, instead
    // of a panic in println!
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let args = cli::Cli::parse();
    // one command per process: no output of it may replace a file it reads
    h2g::guard::protect_inputs();
    // Ctrl-C, SIGTERM (cluster schedulers) or SIGHUP: remove half-written outputs, then stop.
    let _ = ctrlc::set_handler(|| {
        h2g::output::remove_unfinished();
        eprintln!("h2g: interrupted; unfinished outputs removed");
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
            let msg = message(&e);
            eprintln!("h2g: error: {msg}");
            h2g::cohort::StepResult::leave(false, Some(msg));
            ExitCode::from(1)
        }
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
