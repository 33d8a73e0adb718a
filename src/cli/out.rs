//! The command line's one way to print. Standard output is written through [`write_out`] (macros
//! `out!`, `outln!`), which reports a failed write as a [`StdoutError`] for `main` to turn into a
//! message and exit status 1; standard error through [`write_note`] (`note!`, `noteln!`), which drops a
//! failed write: the process has nowhere left to say it, and must not panic over it.

use std::io::Write as _;

/// A write to standard output failed: a full disk (`> /dev/full`), a closed pipe, a broken
/// terminal.
#[derive(Debug, thiserror::Error)]
#[error("cannot write to standard output: {0}")]
pub struct StdoutError(pub std::io::Error);

impl StdoutError {
    /// Whether the reader went away (`h2g … | head`): the quiet end of Unix tools.
    pub fn is_broken_pipe(&self) -> bool {
        self.0.kind() == std::io::ErrorKind::BrokenPipe
    }
}

/// Writes `args` to standard output and flushes it, so that a failure is seen here and not at
/// exit, where it would be lost.
pub fn write_out(args: std::fmt::Arguments) -> Result<(), StdoutError> {
    let mut o = std::io::stdout().lock();
    o.write_fmt(args)
        .and_then(|()| o.flush())
        .map_err(StdoutError)
}

/// Writes raw `bytes` to standard output and flushes it.
pub fn out_bytes(bytes: &[u8]) -> Result<(), StdoutError> {
    let mut o = std::io::stdout().lock();
    o.write_all(bytes)
        .and_then(|()| o.flush())
        .map_err(StdoutError)
}

/// Writes `args` to standard error, ignoring a failure.
pub fn write_note(args: std::fmt::Arguments) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// Like `print!`, returning `Result<(), StdoutError>`.
macro_rules! out {
    ($($t:tt)*) => {
        $crate::cli::out::write_out(format_args!($($t)*))
    };
}

/// Like `println!`, returning `Result<(), StdoutError>`.
macro_rules! outln {
    ($($t:tt)*) => {
        $crate::cli::out::write_out(format_args!("{}\n", format_args!($($t)*)))
    };
}

/// Like `eprint!`, without a panic when standard error cannot be written.
macro_rules! note {
    ($($t:tt)*) => {
        $crate::cli::out::write_note(format_args!($($t)*))
    };
}

/// Like `eprintln!`, without a panic when standard error cannot be written.
macro_rules! noteln {
    ($($t:tt)*) => {
        $crate::cli::out::write_note(format_args!("{}\n", format_args!($($t)*)))
    };
}

pub(crate) use {note, noteln, out, outln};
