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
