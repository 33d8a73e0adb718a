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
        self.close()?.persist()
    }

    /// Gives the file its mode and closes it, still under its temporary name.
    fn close(self) -> io::Result<Staged> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = self.mode.unwrap_or(0o666 & !umask());
            self.tmp
                .as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        Ok(Staged {
            tmp: self.tmp.into_temp_path(),
            target: self.target,
            _registered: self._registered,
        })
    }
}

/// A complete file under its temporary name, closed (a set of thousands keeps no descriptor
/// open), waiting for its rename; removed when dropped.
#[derive(Debug)]
struct Staged {
    tmp: tempfile::TempPath,
    target: PathBuf,
    _registered: Registered,
}

impl Staged {
    fn persist(self) -> io::Result<()> {
        self.tmp.persist(&self.target).map_err(|e| e.error)
    }
}

/// The largest earlier report [`OutputSet::commit_with_report`] reads to find the files of the
/// set it replaces (a report is a few KiB; a larger file is not read, and nothing is removed).
pub const MAX_REPORT_BYTES: u64 = 16 << 20;

/// Why a set of outputs could not be put in place, naming the file (never a temporary path).
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}", path.display())]
pub struct CommitError {
    /// The output file.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: io::Error,
}

/// One file of a committed set, as its report lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SetFile {
    /// The file's name in the report's folder (its full path when elsewhere).
    pub file: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// `sha256:HEX` of its content.
    pub sha256: String,
}

/// The outputs of one command, committed as one set: each file is written completely under a
/// temporary name first ([`OutputSet::write_file`], [`OutputSet::add`]); only when every file
/// is complete are they renamed into place, in the order written and the report last
/// ([`OutputSet::commit_with_report`]), after which the files of the earlier set that this run
/// did not write are removed. A set dropped without commit (an error, a panic) removes its
/// temporary files and leaves the earlier set as it was; a signal's
/// [`remove_unfinished`] does the same. Renames of several files cannot be atomic together:
/// the report lists every file of its set with its size and hash, so that a reader
/// ([`verify_set`]) can tell a complete set from one torn by a crash in the renames.
#[derive(Debug, Default)]
pub struct OutputSet {
    staged: Vec<Staged>,
    stale: Vec<PathBuf>,
}

impl OutputSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file written through [`AtomicFile`] (complete: flushed, and synced if wanted);
    /// it stays under its temporary name until the set is committed.
    pub fn add(&mut self, file: AtomicFile) -> io::Result<()> {
        self.staged.push(file.close()?);
        Ok(())
    }

    /// Writes `path` into the set through a buffered writer (see [`write_file`]).
    pub fn write_file<T>(
        &mut self,
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
        self.add(f)?;
        Ok(out)
    }

    /// Writes `value` as pretty JSON into the set (see [`write_json`]).
    pub fn write_json(&mut self, path: &Path, value: &impl serde::Serialize) -> io::Result<()> {
        self.write_file(path, |w| json_to(w, value))
    }

    /// Writes a PNG into the set (see [`write_png`]).
    pub fn write_png(
        &mut self,
        path: &Path,
        width: u32,
        height: u32,
        channels: u8,
        data: &[u8],
    ) -> io::Result<()> {
        self.write_file(path, |w| png_to(w, width, height, channels, data))
    }

    /// Writes an 8-bit RGB PNG into the set (see [`write_png_rgb`]).
    pub fn write_png_rgb(&mut self, path: &Path, img: &crate::slide::RgbImage) -> io::Result<()> {
        self.write_png(path, img.width, img.height, 3, &img.data)
    }

    /// Moves the files of `other` into this set, after its own (sets filled in parallel,
    /// one per task, gathered into one).
    pub fn append(&mut self, other: OutputSet) {
        self.staged.extend(other.staged);
        self.stale.extend(other.stale);
    }

    /// Declares `path` a file that an earlier run may have left as part of this set (an
    /// optional sidecar this run does not write): removed on commit unless this run wrote it.
    pub fn replaces(&mut self, path: &Path) {
        self.stale.push(path.to_path_buf());
    }

    /// The files written so far (their final paths), in order.
    pub fn targets(&self) -> impl Iterator<Item = &Path> {
        self.staged.iter().map(|s| s.target.as_path())
    }

    /// Renames every file into place, in the order written, then removes the declared files
    /// ([`OutputSet::replaces`]) this run did not write.
    pub fn commit(self) -> Result<(), CommitError> {
        let OutputSet { staged, mut stale } = self;
        let written: Vec<PathBuf> = staged.iter().map(|s| s.target.clone()).collect();
        for s in staged {
            let path = s.target.clone();
            s.persist().map_err(|source| CommitError { path, source })?;
        }
        stale.retain(|p| !written.iter().any(|w| same_file_name(w, p)));
        for p in stale {
            remove_stale(&p);
        }
        Ok(())
    }

    /// Writes the report `value` at `report` as the last file of the set, with an `outputs`
    /// list of every other file (name, size, SHA-256), and commits the set (see
    /// [`OutputSet::commit`]). The files the earlier report at `report` listed under the
    /// report's own name (`STEM.KIND.*` beside `STEM.KIND.json`) that this run did not write
    /// are removed too. `value` must serialize to a JSON object.
    pub fn commit_with_report(
        mut self,
        report: &Path,
        value: &impl serde::Serialize,
    ) -> Result<(), CommitError> {
        let err = |source| CommitError {
            path: report.to_path_buf(),
            source,
        };
        let dir = report.parent().unwrap_or(Path::new(""));
        let mut listed = Vec::with_capacity(self.staged.len());
        for s in &self.staged {
            let sha256 = crate::digest::file_sha256(&s.tmp).map_err(|source| CommitError {
                path: s.target.clone(),
                source,
            })?;
            let bytes = std::fs::metadata(&s.tmp)
                .map_err(|source| CommitError {
                    path: s.target.clone(),
                    source,
                })?
                .len();
            listed.push(SetFile {
                file: listed_name(dir, &s.target),
                bytes,
                sha256,
            });
        }
        /// The report's own fields, in its order, then the set.
        #[derive(serde::Serialize)]
        struct WithOutputs<'a, T> {
            #[serde(flatten)]
            report: &'a T,
            outputs: &'a [SetFile],
        }
        let doc = WithOutputs {
            report: value,
            outputs: &listed,
        };
        for old in earlier_set(report) {
            self.stale.push(dir.join(old));
        }
        self.write_json(report, &doc).map_err(err)?;
        self.commit()
    }
}

/// `target`'s name as a report in `dir` lists it.
fn listed_name(dir: &Path, target: &Path) -> String {
    let canon = |p: &Path| std::fs::canonicalize(p).ok();
    match (target.parent(), target.file_name()) {
        (Some(p), Some(n)) if p == dir || canon(p).is_some_and(|c| Some(c) == canon(dir)) => {
            n.to_string_lossy().into_owned()
        }
        _ => target.to_string_lossy().into_owned(),
    }
}

fn same_file_name(a: &Path, b: &Path) -> bool {
    a == b
        || (a.file_name() == b.file_name()
            && std::fs::canonicalize(a.parent().unwrap_or(Path::new("."))).ok()
                == std::fs::canonicalize(b.parent().unwrap_or(Path::new("."))).ok())
}

/// The files an earlier report at `report` lists that are named after it (`STEM.KIND.json`
/// lists `STEM.KIND.*`), plain names in its folder; nothing when it is missing, unreadable,
/// larger than [`MAX_REPORT_BYTES`] or has no `outputs` list.
fn earlier_set(report: &Path) -> Vec<String> {
    let Some(prefix) = report
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".json"))
        .map(|stem| format!("{stem}."))
    else {
        return Vec::new();
    };
    let small = std::fs::metadata(report).is_ok_and(|m| m.is_file() && m.len() <= MAX_REPORT_BYTES);
    let Some(doc) = small
        .then(|| std::fs::read(report).ok())
        .flatten()
        .and_then(|t| serde_json::from_slice::<serde_json::Value>(&t).ok())
    else {
        return Vec::new();
    };
    let Some(files) = doc.get("outputs").and_then(|o| o.as_array()) else {
        return Vec::new();
    };
    files
        .iter()
        .filter_map(|f| f.get("file")?.as_str())
        .filter(|n| {
            n.starts_with(&prefix)
                && !n.ends_with(".json")
                && Path::new(n).file_name().is_some_and(|f| f == *n)
        })
        .map(str::to_string)
        .collect()
}

/// Removes a file of an earlier set: only a regular file (or a link, not what it names) that
/// is no input of this run; a failure leaves it (it is an old file, not a half-written one).
fn remove_stale(path: &Path) {
    let is_file = std::fs::symlink_metadata(path)
        .is_ok_and(|m| m.file_type().is_file() || m.file_type().is_symlink());
    if is_file && writable_target(path).is_ok() {
        let _ = std::fs::remove_file(path);
    }
}

/// How a set on disk differs from what its report lists.
#[derive(Debug, thiserror::Error)]
pub enum TornSet {
    /// The report cannot be read or lists no outputs.
    #[error("{}: no readable report with an outputs list ({why})", report.display())]
    Report {
        /// The report.
        report: PathBuf,
        /// Why.
        why: String,
    },
    /// A listed file is missing, has another size, or another content.
    #[error("{}: {file} is not the file the report lists ({why}): run the command again", report.display())]
    File {
        /// The report.
        report: PathBuf,
        /// The file, as listed.
        file: String,
        /// What differs.
        why: String,
    },
}

/// Checks that every file the report at `report` lists under `outputs` is there with its
/// recorded size and hash: a set committed by [`OutputSet::commit_with_report`] and not torn
/// or changed since.
pub fn verify_set(report: &Path) -> Result<Vec<SetFile>, TornSet> {
    let bad = |why: String| TornSet::Report {
        report: report.to_path_buf(),
        why,
    };
    let md = std::fs::metadata(report).map_err(|e| bad(e.to_string()))?;
    if md.len() > MAX_REPORT_BYTES {
        return Err(bad(format!(
            "{} bytes, more than a report's {MAX_REPORT_BYTES}",
            md.len()
        )));
    }
    let text = std::fs::read(report).map_err(|e| bad(e.to_string()))?;
    #[derive(serde::Deserialize)]
    struct Listing {
        outputs: Vec<SetFile>,
    }
    let l: Listing = serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))?;
    let dir = report.parent().unwrap_or(Path::new(""));
    for f in &l.outputs {
        let torn = |why: String| TornSet::File {
            report: report.to_path_buf(),
            file: f.file.clone(),
            why,
        };
        let p = dir.join(&f.file);
        let len = std::fs::metadata(&p)
            .map_err(|_| torn("missing".into()))?
            .len();
        if len != f.bytes {
            return Err(torn(format!("{len} bytes, {} listed", f.bytes)));
        }
        let h = crate::digest::file_sha256(&p).map_err(|e| torn(e.to_string()))?;
        if h != f.sha256 {
            return Err(torn("other content".into()));
        }
    }
    Ok(l.outputs)
}

/// Writes `path` atomically through a buffered writer: `write` fills it, then the data is
/// flushed and the file moved into place; on any error nothing appears at `path`.
pub fn write_file<T>(
    path: &Path,
    write: impl FnOnce(&mut dyn io::Write) -> io::Result<T>,
) -> io::Result<T> {
    let mut set = OutputSet::new();
    let out = set.write_file(path, write)?;
    set.commit().map_err(|e| e.source)?;
    Ok(out)
}

/// Writes `value` as pretty JSON (with a final newline) at `path`, atomically.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> io::Result<()> {
    write_file(path, |w| json_to(w, value))
}

fn json_to(w: &mut dyn io::Write, value: &impl serde::Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, value)?;
    w.write_all(b"\n")
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
    write_file(path, |w| png_to(w, width, height, channels, data))
}

fn png_to(
    w: &mut dyn io::Write,
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
    let mut enc = png::Encoder::new(w, width, height);
    enc.set_color(color);
    enc.set_depth(depth);
    let io_err = |e: png::EncodingError| io::Error::other(e.to_string());
    let mut pw = enc.write_header().map_err(io_err)?;
    pw.write_image_data(data).map_err(io_err)?;
    pw.finish().map_err(io_err)
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

    /// Names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_set_that_fails_leaves_the_old_set_and_no_temporary_file() {
        let _serial = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        for (n, v) in [
            ("s.k.tif", "old tif"),
            ("s.k.png", "old png"),
            ("s.k.json", "{}"),
        ] {
            std::fs::write(p(n), v).unwrap();
        }
        let mut set = OutputSet::new();
        set.write_file(&p("s.k.tif"), |w| w.write_all(b"new tif"))
            .unwrap();
        set.write_png(&p("s.k.png"), 1, 1, 1, &[7]).unwrap();
        let e = set
            .write_file(&p("s.k.geojson"), |_| -> io::Result<()> {
                Err(io::Error::other("disk full"))
            })
            .unwrap_err();
        assert_eq!(e.to_string(), "disk full");
        // two files complete, under temporary names, until the set goes
        assert_eq!(names(dir.path()).len(), 5);
        assert_eq!(UNFINISHED.lock().unwrap().len(), 2);
        drop(set);
        assert_eq!(names(dir.path()), ["s.k.json", "s.k.png", "s.k.tif"]);
        assert_eq!(std::fs::read(p("s.k.tif")).unwrap(), b"old tif");
        assert_eq!(std::fs::read(p("s.k.png")).unwrap(), b"old png");
        assert!(UNFINISHED.lock().unwrap().is_empty());
    }

    #[test]
    fn a_report_lists_its_set_and_the_earlier_sets_leftovers_go() {
        let _serial = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        let report = p("s.k.json");
        // the first run: a TIFF and a GeoJSON
        let mut set = OutputSet::new();
        set.write_file(&p("s.k.tif"), |w| w.write_all(b"abc"))
            .unwrap();
        set.write_file(&p("s.k.geojson"), |w| w.write_all(b"{}"))
            .unwrap();
        set.commit_with_report(&report, &serde_json::json!({"run": 1}))
            .unwrap();
        let listed = verify_set(&report).unwrap();
        assert_eq!(
            listed[0],
            SetFile {
                file: "s.k.tif".into(),
                bytes: 3,
                sha256: format!("sha256:{}", crate::digest::sha256_hex(b"abc")),
            }
        );
        assert_eq!(listed[1].file, "s.k.geojson");
        // a file beside the set that it does not list, and one another command owns
        std::fs::write(p("s.k.notes.txt"), "mine").unwrap();
        std::fs::write(p("s.heatmap.tif"), "other").unwrap();
        // the second run writes no GeoJSON: the earlier one goes, nothing else
        let mut set = OutputSet::new();
        set.write_file(&p("s.k.tif"), |w| w.write_all(b"abcd"))
            .unwrap();
        set.commit_with_report(&report, &serde_json::json!({"run": 2}))
            .unwrap();
        assert_eq!(
            names(dir.path()),
            ["s.heatmap.tif", "s.k.json", "s.k.notes.txt", "s.k.tif"]
        );
        let text = std::fs::read_to_string(&report).unwrap();
        assert!(
            text.starts_with("{\n  \"run\": 2,\n  \"outputs\": [\n"),
            "{text}"
        );
        assert_eq!(verify_set(&report).unwrap().len(), 1);
        // a set torn between renames (a TIFF of another run): the reader knows
        std::fs::write(p("s.k.tif"), "abce").unwrap();
        assert_eq!(
            verify_set(&report).unwrap_err().to_string(),
            format!(
                "{}: s.k.tif is not the file the report lists (other content): run the command \
                 again",
                report.display()
            )
        );
        std::fs::remove_file(p("s.k.tif")).unwrap();
        assert!(matches!(
            verify_set(&report),
            Err(TornSet::File { why, .. }) if why == "missing"
        ));
    }

    #[test]
    fn a_declared_sidecar_goes_unless_written_and_errors_name_no_temporary_path() {
        let _serial = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let (tif, side) = (dir.path().join("m.tif"), dir.path().join("m.palette.json"));
        std::fs::write(&side, "{}").unwrap();
        let mut set = OutputSet::new();
        set.write_file(&tif, |w| w.write_all(b"x")).unwrap();
        set.write_json(&side, &1).unwrap();
        set.replaces(&side);
        set.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&side).unwrap(), "1\n");
        let mut set = OutputSet::new();
        set.write_file(&tif, |w| w.write_all(b"y")).unwrap();
        set.replaces(&side);
        set.commit().unwrap();
        assert_eq!(names(dir.path()), ["m.tif"]);
        // a report that is a folder: refused by its own name, the set left as it was
        let report = dir.path().join("m.json");
        std::fs::create_dir(&report).unwrap();
        let mut set = OutputSet::new();
        set.write_file(&tif, |w| w.write_all(b"z")).unwrap();
        let e = set
            .commit_with_report(&report, &serde_json::json!({}))
            .unwrap_err();
        let msg = format!("{e}: {}", e.source);
        assert!(msg.contains("m.json: is an existing directory"), "{msg}");
        assert!(
            !msg.contains(".m.tif.") && !msg.contains(".m.json."),
            "{msg}"
        );
        assert_eq!(names(dir.path()), ["m.json", "m.tif"]);
        assert_eq!(std::fs::read(&tif).unwrap(), b"y");
    }
}
