//! Atomic output files: written under a temporary name beside the target, renamed into place
//! only when complete, and removable by a signal handler if the run is interrupted; and the
//! progress bars of long work.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Temporary files not yet committed or dropped, for [`remove_unfinished`].
static UNFINISHED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The process's umask (read from /proc, else set and restored once).
#[cfg(unix)]
fn umask() -> u32 {
    static MASK: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *MASK.get_or_init(|| {
        let from_proc = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("Umask:"))
                    .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            });
        from_proc.unwrap_or_else(|| {
            // SAFETY: umask only swaps the process's mask; it is put back at once
            let m = unsafe { libc::umask(0o022) };
            unsafe { libc::umask(m) };
            m as u32
        })
    })
}

/// Where an output for `target` may go: the target itself, or the file a symlink points to,
/// and the mode an existing file there has (kept when it is replaced). A directory, a device,
/// a FIFO, a socket or an input of this process is refused, naming the path.
fn writable_target(target: &Path) -> io::Result<(PathBuf, Option<u32>)> {
    let refuse = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{}: {what}; h2g writes outputs only as new or replaced regular files: give \
                 another path",
                target.display()
            ),
        )
    };
    let missing = |e: &io::Error| e.kind() == io::ErrorKind::NotFound;
    let mut path = target.to_path_buf();
    let mut md = match std::fs::symlink_metadata(&path) {
        Ok(m) => Some(m),
        Err(e) if missing(&e) => None,
        Err(e) => return Err(e),
    };
    if md.as_ref().is_some_and(|m| m.file_type().is_symlink()) {
        // a link is written through, deliberately: the file it names is replaced, the link kept
        path = match std::fs::canonicalize(&path) {
            Ok(p) => p,
            // a dangling link: the file it names is created
            Err(e) if missing(&e) => {
                let link = std::fs::read_link(&path)?;
                match path.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                }
            }
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("{}: cannot follow the symlink ({e})", target.display()),
                ))
            }
        };
        md = match std::fs::metadata(&path) {
            Ok(m) => Some(m),
            Err(e) if missing(&e) => None,
            Err(e) => return Err(e),
        };
    }
    let Some(md) = md else {
        return Ok((path, None));
    };
    let ft = md.file_type();
    if ft.is_dir() {
        return Err(refuse("is an existing directory"));
    }
    if !ft.is_file() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            let what = if ft.is_fifo() {
                "is a FIFO (named pipe)"
            } else if ft.is_char_device() || ft.is_block_device() {
                "is a device"
            } else if ft.is_socket() {
                "is a socket"
            } else {
                "is not a regular file"
            };
            return Err(refuse(what));
        }
        #[cfg(not(unix))]
        return Err(refuse("is not a regular file"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Some(input) = crate::guard::input_of(&md) {
            return Err(refuse(&format!(
                "is the same file as the input {} (it would be overwritten)",
                input.display()
            )));
        }
        Ok((path, Some(md.permissions().mode() & 0o7777)))
    }
    #[cfg(not(unix))]
    Ok((path, None))
}

/// A file being written for `target`; it appears at `target` only on [`AtomicFile::commit`].
/// Dropped without commit, the temporary file is removed.
#[derive(Debug)]
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
    mode: Option<u32>,
    _registered: Registered,
}

/// Keeps a temporary path in [`UNFINISHED`] while it lives.
#[derive(Debug)]
struct Registered(PathBuf);

impl Registered {
    fn new(path: &Path) -> Self {
        if let Ok(mut u) = UNFINISHED.lock() {
            u.push(path.to_path_buf());
        }
        Registered(path.to_path_buf())
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut u) = UNFINISHED.lock() {
            u.retain(|p| p != &self.0);
        }
    }
}

/// For tests: with `H2G_HOLD_OUTPUT=1` a command stops for [`HOLD`] once its first output file
/// exists (registered as unfinished, nothing committed), so that a test can signal it at a
/// known moment instead of racing the work. Unset, nothing happens.
pub const HOLD_ENV: &str = "H2G_HOLD_OUTPUT";

/// How long [`HOLD_ENV`] holds a command.
pub const HOLD: std::time::Duration = std::time::Duration::from_secs(60);

fn hold_if_asked() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if std::env::var_os(HOLD_ENV).is_some_and(|v| v == "1") {
        ONCE.call_once(|| std::thread::sleep(HOLD));
    }
}

impl AtomicFile {
    /// Creates `.NAME.XXXXXX.tmp` in the target's directory (so the final rename is atomic).
    /// An error names the directory and why it cannot hold a file.
    pub fn create(target: &Path) -> io::Result<Self> {
        let (target, mode) = writable_target(target)?;
        let target = target.as_path();
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot create a file in {} ({})", dir.display(), e.kind()),
                )
            })?;
        let f = AtomicFile {
            _registered: Registered::new(tmp.path()),
            tmp,
            target: target.to_path_buf(),
            mode,
        };
        hold_if_asked();
        Ok(f)
    }

    /// The open temporary file.
    pub fn file(&self) -> &File {
        self.tmp.as_file()
    }

    /// Gives the file its mode (temporary files start as 0600): the replaced file's, or a new
    /// file's under the umask (0666 less the umask), then renames it over the target.
    pub fn commit(self) -> io::Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = self.mode.unwrap_or(0o666 & !umask());
            self.tmp
                .as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        self.tmp
            .persist(&self.target)
            .map(|_| ())
            .map_err(|e| e.error)
    }
}

/// Writes `path` atomically through a buffered writer: `write` fills it, then the data is
/// flushed and the file moved into place; on any error nothing appears at `path`.
pub fn write_file<T>(
    path: &Path,
    write: impl FnOnce(&mut dyn io::Write) -> io::Result<T>,
) -> io::Result<T> {
    let f = AtomicFile::create(path)?;
    let out = {
        let mut w = io::BufWriter::with_capacity(1 << 16, f.file());
        let out = write(&mut w)?;
        io::Write::flush(&mut w)?;
        out
    };
    f.commit()?;
    Ok(out)
}

/// Writes `value` as pretty JSON (with a final newline) at `path`, atomically.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> io::Result<()> {
    write_file(path, |w| {
        serde_json::to_writer_pretty(&mut *w, value)?;
        w.write_all(b"\n")
    })
}

/// Writes an 8-bit PNG at `path`, atomically: RGB (`channels` 3) or grey (1); 16-bit grey
/// when `data` holds two big-endian bytes per pixel.
pub fn write_png(
    path: &Path,
    width: u32,
    height: u32,
    channels: u8,
    data: &[u8],
) -> io::Result<()> {
    let px = width as usize * height as usize * channels as usize;
    let (color, depth) = match (channels, data.len() == 2 * px) {
        (3, _) => (png::ColorType::Rgb, png::BitDepth::Eight),
        (_, true) => (png::ColorType::Grayscale, png::BitDepth::Sixteen),
        _ => (png::ColorType::Grayscale, png::BitDepth::Eight),
    };
    write_file(path, |w| {
        let mut enc = png::Encoder::new(w, width, height);
        enc.set_color(color);
        enc.set_depth(depth);
        let io_err = |e: png::EncodingError| io::Error::other(e.to_string());
        let mut pw = enc.write_header().map_err(io_err)?;
        pw.write_image_data(data).map_err(io_err)?;
        pw.finish().map_err(io_err)
    })
}

/// Writes a grey PNG (8-bit, or 16-bit when `sixteen`) at `path` row by row, atomically:
/// `row(y, buf)` fills each row's bytes (big-endian for 16 bits).
pub fn write_png_rows(
    path: &Path,
    width: u32,
    height: u32,
    sixteen: bool,
    mut row: impl FnMut(u32, &mut [u8]) -> io::Result<()>,
) -> io::Result<()> {
    write_file(path, |w| {
        let mut enc = png::Encoder::new(w, width, height);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(if sixteen {
            png::BitDepth::Sixteen
        } else {
            png::BitDepth::Eight
        });
        enc.set_compression(png::Compression::Fast);
        let io_err = |e: png::EncodingError| io::Error::other(e.to_string());
        let mut pw = enc.write_header().map_err(io_err)?;
        let mut sw = pw.stream_writer().map_err(io_err)?;
        let mut buf = vec![0u8; width as usize * if sixteen { 2 } else { 1 }];
        for y in 0..height {
            row(y, &mut buf)?;
            io::Write::write_all(&mut sw, &buf)?;
        }
        sw.finish().map_err(io_err)?;
        pw.finish().map_err(io_err)
    })
}

/// Writes an 8-bit RGB image as a PNG at `path`, atomically.
pub fn write_png_rgb(path: &Path, img: &crate::slide::RgbImage) -> io::Result<()> {
    write_png(path, img.width, img.height, 3, &img.data)
}

/// The environment variable naming a file to keep a step's progress line in, for the `h2g run`
/// that started it (its stderr is a log file, not a terminal).
pub const PROGRESS_FILE_ENV: &str = "H2G_PROGRESS_FILE";

/// Where a bar draws when `h2g run` asked for the progress line in a file: the last line drawn,
/// replaced atomically at each flush.
#[derive(Debug)]
struct ProgressFile {
    path: PathBuf,
    line: Mutex<String>,
}

impl indicatif::TermLike for ProgressFile {
    fn width(&self) -> u16 {
        100
    }
    fn move_cursor_up(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn write_line(&self, s: &str) -> io::Result<()> {
        self.write_str(s)
    }
    fn write_str(&self, s: &str) -> io::Result<()> {
        if !s.trim().is_empty() {
            if let Ok(mut l) = self.line.lock() {
                *l = s.trim().to_string();
            }
        }
        Ok(())
    }
    fn clear_line(&self) -> io::Result<()> {
        Ok(())
    }
    fn flush(&self) -> io::Result<()> {
        let line = self.line.lock().map(|l| l.clone()).unwrap_or_default();
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        std::fs::write(&tmp, line)?;
        std::fs::rename(&tmp, &self.path)
    }
}

/// A progress bar on stderr for `len` steps (a spinner showing its message when `None`), drawn only
/// when `enabled` and stderr is a terminal, or, under `h2g run`, into its progress file.
pub fn progress(len: Option<u64>, message: &str, enabled: bool) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    use std::io::IsTerminal;
    let file = std::env::var_os(PROGRESS_FILE_ENV).filter(|p| !p.is_empty());
    if !enabled || (!io::stderr().is_terminal() && file.is_none()) {
        return ProgressBar::hidden();
    }
    let target = match file {
        Some(path) if !io::stderr().is_terminal() => Some(ProgressDrawTarget::term_like_with_hz(
            Box::new(ProgressFile {
                path: path.into(),
                line: Mutex::new(String::new()),
            }),
            4,
        )),
        _ => None,
    };
    let bar = match len {
        Some(n) => {
            let b = ProgressBar::new(n);
            b.set_style(
                ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            b
        }
        None => {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            b
        }
    };
    bar.set_message(message.to_string());
    if let Some(t) = target {
        bar.set_draw_target(t);
    }
    bar
}

/// Removes every temporary output not yet committed; for signal handlers, after which the
/// process should exit.
pub fn remove_unfinished() {
    // try_lock: never block inside a signal handler's thread on a lock held elsewhere
    if let Ok(u) = UNFINISHED.try_lock() {
        for p in u.iter() {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    /// The registry is process-wide (as the signal handler needs): tests that create or clear
    /// unfinished files must not run at the same time.
    static REGISTRY: Mutex<()> = Mutex::new(());

    #[test]
    fn commit_renames_and_drop_removes() {
        let _serial = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        let a = AtomicFile::create(&target).unwrap();
        a.file().write_all(b"data").unwrap();
        assert!(!target.exists());
        a.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"data");
        let b = AtomicFile::create(&dir.path().join("other.bin")).unwrap();
        drop(b);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn interrupted_outputs_are_removed() {
        let _serial = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let a = AtomicFile::create(&dir.path().join("x.tif")).unwrap();
        let tmp = a.tmp.path().to_path_buf();
        assert!(tmp.exists());
        remove_unfinished();
        assert!(!tmp.exists());
        drop(a);
    }
}
