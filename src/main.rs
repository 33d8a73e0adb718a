//! The `h2g` command line: parses arguments and hands each subcommand to the library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("h2g: error: {e:#}");
            ExitCode::from(1)
        }
    }
}
