//! What a run keeps on disk beside the outputs: input fingerprints, step keys, timestamps, the
//! event log and the locks.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How input files are fingerprinted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum HashMode {
    /// The size and SHA-256 of the first and last 4 MiB and of 16 blocks of 64 KiB spread
    /// between: milliseconds for a slide of gigabytes, blind only to an edit confined to the
    /// unread middle of a file larger than 9 MiB.
    #[default]
    Sampled,
    /// SHA-256 of every byte.
    Full,
}

const EDGE: u64 = 4 << 20;
const BLOCK: u64 = 64 << 10;
const BLOCKS: u64 = 16;

/// Fingerprints a file: `sha256:HEX` (full) or `sampled-sha256:HEX` over its size and sampled
/// content; files up to 9 MiB are always hashed whole.
pub fn fingerprint(path: &Path, mode: HashMode) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let size = f.metadata()?.len();
    let mut h = Sha256::new();
    if mode == HashMode::Full || size <= 2 * EDGE + BLOCKS * BLOCK {
        std::io::copy(&mut f, &mut h)?;
        return Ok(format!("sha256:{}", crate::digest::hex(&h.finalize())));
    }
    h.update(size.to_le_bytes());
    let mut buf = vec![0u8; EDGE as usize];
    let mut read_at = |f: &mut std::fs::File, at: u64, len: u64, h: &mut Sha256| {
        f.seek(SeekFrom::Start(at))?;
        let b = &mut buf[..len as usize];
        f.read_exact(b)?;
        h.update(&*b);
        Ok::<_, std::io::Error>(())
    };
    read_at(&mut f, 0, EDGE, &mut h)?;
    let span = size - 2 * EDGE - BLOCK;
    for i in 0..BLOCKS {
        read_at(&mut f, EDGE + span * i / (BLOCKS - 1), BLOCK, &mut h)?;
    }
    read_at(&mut f, size - EDGE, EDGE, &mut h)?;
    Ok(format!(
        "sampled-sha256:{}",
        crate::digest::hex(&h.finalize())
    ))
}

/// SHA-256 of a JSON value's compact text, as hex: the key of a step.
pub fn key_of(value: &serde_json::Value) -> String {
    crate::digest::sha256_hex(value.to_string().as_bytes())
}

/// The current time as RFC 3339 UTC with milliseconds, e.g. `2026-11-27T04:31:02.125Z`.
pub fn utc_now() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    utc_string(d.as_secs(), d.subsec_millis())
}

/// Formats seconds since the Unix epoch (UTC) as RFC 3339 with milliseconds.
pub fn utc_string(secs: u64, millis: u32) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // civil date from days since 1970-01-01 (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// An append-only JSON Lines log shared by concurrent processes: each event is one `write` to a
/// file opened with `O_APPEND`, so lines of several writers never interleave.
#[derive(Debug)]
pub struct EventLog {
    file: std::fs::File,
}

impl EventLog {
    /// Opens (creating) the log at `path`.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(EventLog { file })
    }

    /// Appends `event` with a `time` field.
    pub fn emit(&self, event: &super::Event) -> std::io::Result<()> {
        let mut m = serde_json::Map::new();
        m.insert("time".into(), utc_now().into());
        if let serde_json::Value::Object(f) = serde_json::to_value(event)? {
            m.extend(f);
        }
        let mut line = serde_json::Value::Object(m).to_string();
        line.push('\n');
        (&self.file).write_all(line.as_bytes())
    }
}

/// Memory the machine can give now (`MemAvailable` of /proc/meminfo), in bytes.
pub fn available_memory() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// An exclusive lock on a file, held until dropped; [`try_lock`] refuses one held elsewhere.
/// A process started with the lock's descriptor kept open ([`Lock::fd`]) holds it too, until
/// it ends.
#[derive(Debug)]
pub struct Lock {
    file: std::fs::File,
}

impl Lock {
    /// The lock's descriptor, to hand to a child process.
    pub fn fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.file.as_raw_fd()
    }
}

/// Takes the lock file `path` (created if missing) without waiting; `Ok(None)` when another
/// process holds it.
pub fn try_lock(path: &Path) -> std::io::Result<Option<Lock>> {
    use std::os::fd::AsRawFd;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    // SAFETY: flock on a descriptor this function owns.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        Ok(Some(Lock { file }))
    } else {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            Ok(None)
        } else {
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_strings_match_known_dates() {
        assert_eq!(utc_string(0, 0), "1970-01-01T00:00:00.000Z");
        // 2000-02-29 (leap day of a century leap year) 12:34:56
        assert_eq!(utc_string(951_827_696, 7), "2000-02-29T12:34:56.007Z");
        // 2026-11-27 06:30:53 (as `date -u -d @1795761053` prints it)
        assert_eq!(utc_string(1_795_761_053, 999), "2026-11-27T06:30:53.999Z");
        assert_eq!(utc_string(4_107_542_399, 0), "2100-02-28T23:59:59.000Z");
    }

    #[test]
    fn sampled_fingerprint_sees_size_edges_and_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let n = 12 << 20;
        let data: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        let a = fingerprint(&p, HashMode::Sampled).unwrap();
        assert!(a.starts_with("sampled-sha256:"));
        assert_eq!(a, fingerprint(&p, HashMode::Sampled).unwrap());
        let full = fingerprint(&p, HashMode::Full).unwrap();
        assert!(full.starts_with("sha256:"));
        // a byte changed in the head, the tail, or in a sampled block changes the fingerprint
        let span = n as u64 - 2 * EDGE - BLOCK;
        for at in [10u64, n as u64 - 3, EDGE + span * 5 / 15 + 17] {
            let mut d = data.clone();
            d[at as usize] ^= 1;
            std::fs::write(&p, &d).unwrap();
            assert_ne!(fingerprint(&p, HashMode::Sampled).unwrap(), a, "byte {at}");
        }
        // so does the size; a small file is always hashed whole
        std::fs::write(&p, &data[..n - 1]).unwrap();
        assert_ne!(fingerprint(&p, HashMode::Sampled).unwrap(), a);
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            fingerprint(&p, HashMode::Sampled).unwrap(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn locks_exclude_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".lock");
        let a = try_lock(&p).unwrap();
        assert!(a.is_some());
        assert!(try_lock(&p).unwrap().is_none());
        drop(a);
        assert!(try_lock(&p).unwrap().is_some());
    }

    #[test]
    fn events_are_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.jsonl");
        let log = EventLog::open(&p).unwrap();
        std::thread::scope(|s| {
            for t in 0..4 {
                let log = &log;
                s.spawn(move || {
                    let pad = "y".repeat(300);
                    for i in 0..200 {
                        let step = format!("{t}-{i}");
                        log.emit(&super::super::Event::StepFailed {
                            slide: &pad,
                            step: &step,
                            error: "x",
                            log: None,
                        })
                        .unwrap();
                    }
                });
            }
        });
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 800);
        assert!(lines
            .iter()
            .all(|v| v["event"] == "step_failed" && v["time"].is_string()));
    }
}
