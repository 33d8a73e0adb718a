//! What every case of the bad-input suite shares: the corpus, the binary, and the check that
//! a run ends with its own message and status, no panic and nothing half-written.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const BIN: &str = env!("CARGO_BIN_EXE_h2g");

/// A file of `fixtures/bad-inputs` (the folder itself for "").
pub fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/bad-inputs")
        .join(name)
}

/// Runs `h2g ARGS` (`{out}` in an argument becomes a fresh folder's path) and checks the exit
/// status, that stderr holds `want`, that nothing panicked, and on failure that the folder is
/// empty.
pub fn case(args: &[&str], code: i32, want: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let argv: Vec<String> = args
        .iter()
        .map(|a| a.replace("{out}", &out.to_string_lossy()))
        .collect();
    let o = Command::new(BIN)
        .args(&argv)
        .current_dir(corpus(""))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    let shown = format!("h2g {}\n{err}", argv.join(" "));
    assert!(!err.contains("panicked"), "{shown}");
    assert_eq!(o.status.code(), Some(code), "{shown}");
    assert!(err.contains(want), "wanted '{want}' in:\n{shown}");
    if code != 0 {
        let left = super::common::entries(&out);
        // `tissue` and the like create their output folder; nothing may be in it
        assert!(left.is_empty(), "{shown}\nleft behind: {left:?}");
    }
}
