//! The inputs of a command, so that no output replaces one. Readers record the files they open
//! ([`register_input`]); the atomic writer (`output::AtomicFile`) refuses an output
//! that is the same file (by device and inode: through symlinks and hard links). The `h2g`
//! binary turns this on for its one command per process ([`protect_inputs`]); a long-lived
//! library caller that runs many operations turns it on only if every file it reads must stay
//! untouched for the rest of the process.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static ON: AtomicBool = AtomicBool::new(false);
static INPUTS: Mutex<Vec<(u64, u64, PathBuf)>> = Mutex::new(Vec::new());

/// From now on, every file a reader opens is protected from being replaced by an output of
/// this process.
pub fn protect_inputs() {
    ON.store(true, Ordering::SeqCst);
}

/// Records `path` as an input (when [`protect_inputs`] is on). A path that cannot be asked
/// its metadata is not recorded: its reader reports it.
pub fn register_input(path: &Path) {
    if !ON.load(Ordering::SeqCst) {
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(md), Ok(mut v)) = (std::fs::metadata(path), INPUTS.lock()) {
            if !v.iter().any(|(d, i, _)| *d == md.dev() && *i == md.ino()) {
                v.push((md.dev(), md.ino(), path.to_path_buf()));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// The recorded input that the file of `md` is, if any.
#[cfg(unix)]
pub fn input_of(md: &std::fs::Metadata) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let v = INPUTS.lock().ok()?;
    v.iter()
        .find(|(d, i, _)| *d == md.dev() && *i == md.ino())
        .map(|(_, _, p)| p.clone())
}

/// An input that cannot be read as a file: refused before it is opened.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Not a regular file: a directory, a FIFO, a device, a socket.
    #[error(
        "{}: is {kind}, not a regular file: give the path of the file itself (a FIFO would \
         block, a device never end)",
        path.display()
    )]
    NotRegular {
        /// The input.
        path: PathBuf,
        /// What it is: "a directory", "a FIFO (named pipe)", "a character device", …
        kind: &'static str,
    },
    /// A symlink whose links lead back to themselves (the system says only "too many levels
    /// of symbolic links"; a reader asking whether the file exists would say "no such file").
    #[error(
        "{} is a symlink loop: its links lead back to themselves and never to a file; point \
         the link at the real file",
        path.display()
    )]
    SymlinkLoop {
        /// The input.
        path: PathBuf,
    },
}

/// Checks, before it is opened (opening a FIFO blocks), that `path` is a regular file (through
/// symlinks, a loop of which is named as one); `-` (standard input) and a path that does not
/// exist pass: the reader reports the latter.
pub fn check_regular(path: &Path) -> Result<(), InputError> {
    if path.as_os_str() == "-" {
        return Ok(());
    }
    let md = match std::fs::metadata(path) {
        Ok(md) => md,
        Err(e) if is_loop(&e) => {
            return Err(InputError::SymlinkLoop {
                path: path.to_path_buf(),
            })
        }
        Err(_) => return Ok(()),
    };
    let ft = md.file_type();
    if ft.is_file() {
        return Ok(());
    }
    let kind = if ft.is_dir() {
        "a directory"
    } else {
        special_kind(&ft)
    };
    Err(InputError::NotRegular {
        path: path.to_path_buf(),
        kind,
    })
}

#[cfg(unix)]
fn is_loop(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

#[cfg(not(unix))]
fn is_loop(_: &std::io::Error) -> bool {
    false
}

#[cfg(unix)]
fn special_kind(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "a special file"
}

/// [`check_regular`], then [`register_input`].
pub fn open_input(path: &Path) -> Result<(), InputError> {
    check_regular(path)?;
    register_input(path);
    Ok(())
}

/// Raises the process's soft limit on open files towards `want` (never above the hard limit,
/// never lowering it), for work that holds many slides open at once (the sampler keeps every
/// slide of a cohort open: a few descriptors each). Returns the soft limit now in force, or
/// `None` when it cannot be read.
pub fn raise_open_files(want: u64) -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    // rlim_t is u64 on the Linux targets h2g builds for
    let target: libc::rlim_t = want.min(lim.rlim_max);
    if target > lim.rlim_cur {
        let raised = libc::rlimit {
            rlim_cur: target,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: as above
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return Some(target);
        }
    }
    Some(lim.rlim_cur)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_pass() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"x").unwrap();
        assert!(check_regular(&f).is_ok());
        assert!(check_regular(&dir.path().join("missing")).is_ok());
        assert!(check_regular(Path::new("-")).is_ok());
        let e = check_regular(dir.path()).unwrap_err();
        assert!(matches!(
            e,
            InputError::NotRegular {
                kind: "a directory",
                ..
            }
        ));
        let e = check_regular(Path::new("/dev/null")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/dev/null: is a character device, not a regular file: give the path of the file \
             itself (a FIFO would block, a device never end)"
        );
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        let e = check_regular(&a).unwrap_err();
        assert!(
            matches!(e, InputError::SymlinkLoop { ref path } if *path == a),
            "{e}"
        );
    }

    #[test]
    fn the_open_file_limit_only_ever_rises() {
        let now = raise_open_files(0).expect("getrlimit");
        // asking for less changes nothing
        assert_eq!(raise_open_files(now / 2), Some(now));
        // asking for more gives at least as much (up to the hard limit)
        let more = raise_open_files(now + 16).expect("getrlimit");
        assert!(more >= now);
        assert_eq!(raise_open_files(0), Some(more));
    }
}
