//! What docs/cohorts.md promises of `h2g run`, one claim per test, on two copies of the demo
//! slide: a dry run writes nothing; `--verify` sees an output changed in place; a changed
//! upstream output redoes what reads it and nothing else; `--hash full` sees an edit that the
//! sampled fingerprint cannot; the memory budget keeps steps that do not fit from overlapping.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_h2g");

/// Two copies of the demo slide and a cohort table naming them (and `truth` for both, when given).
fn cohort(dir: &Path, slide: &Path, truth: Option<&str>) -> PathBuf {
    for n in ["a", "b"] {
        std::fs::copy(slide, dir.join(format!("{n}.svs"))).unwrap();
    }
    let p = dir.join("cohort.csv");
    let t = truth.unwrap_or("");
    std::fs::write(&p, format!("id,slide,truth\na,a.svs,{t}\nb,b.svs,{t}\n")).unwrap();
    p
}

fn run(cohort: &Path, out: &Path, args: &[&str]) -> Output {
    let o = Command::new(BIN)
        .args(["run", "--cohort"])
        .arg(cohort)
        .arg("-o")
        .arg(out)
        .args(["--threads", "2"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "h2g run {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// (event, slide, step) of every step event, in log order.
fn step_events(out: &Path) -> Vec<(String, String, String)> {
    std::fs::read_to_string(out.join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["step"].is_string())
        .map(|v| {
            (
                v["event"].as_str().unwrap().to_string(),
                v["slide"].as_str().unwrap().to_string(),
                v["step"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The (slide, step) pairs that started in the run whose events begin at `from`.
fn started_since(out: &Path, from: usize) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = step_events(out)[from..]
        .iter()
        .filter(|e| e.0 == "step_start")
        .map(|e| (e.1.clone(), e.2.clone()))
        .collect();
    v.sort();
    v
}

fn pair(slide: &str, step: &str) -> (String, String) {
    (slide.to_string(), step.to_string())
}

/// A file of the step's output folder (the first in name order).
fn an_output(out: &Path, slide: &str, step: &str) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(out.join("slides").join(slide).join(step))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files.remove(0)
}

#[test]
fn a_dry_run_writes_nothing_before_or_after_a_run() {
    let Some(slide) = common::cmu_slide() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let c = cohort(dir.path(), &slide, None);
    let out = dir.path().join("out");
    let o = run(&c, &out, &["--steps", "tissue", "--dry-run"]);
    assert!(!out.exists(), "a dry run made {}", out.display());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not run yet"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    run(&c, &out, &["--steps", "tissue"]);
    let before = common::tree(&out);
    run(&c, &out, &["--steps", "tissue,patches", "--dry-run"]);
    assert!(
        common::tree(&out) == before,
        "a dry run changed the output folder"
    );
}

#[test]
fn verify_redoes_a_step_whose_output_changed_in_place() {
    let Some(slide) = common::cmu_slide() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let c = cohort(dir.path(), &slide, None);
    let out = dir.path().join("out");
    run(&c, &out, &["--steps", "tissue"]);
    // one byte of a's tissue output flipped: same size, so only rehashing can see it
    let f = an_output(&out, "a", "tissue");
    let mut bytes = std::fs::read(&f).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    std::fs::write(&f, &bytes).unwrap();
    let n = step_events(&out).len();
    run(&c, &out, &["--steps", "tissue"]);
    assert_eq!(
        started_since(&out, n),
        [],
        "without --verify nothing is rehashed"
    );
    let n = step_events(&out).len();
    run(&c, &out, &["--steps", "tissue", "--verify"]);
    assert_eq!(started_since(&out, n), [pair("a", "tissue")]);
    assert_ne!(
        std::fs::read(&f).unwrap(),
        bytes,
        "the output was rewritten"
    );
}

#[test]
fn a_changed_upstream_output_redoes_its_readers_and_nothing_else() {
    let Some(slide) = common::cmu_slide() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let c = cohort(dir.path(), &slide, None);
    let out = dir.path().join("out");
    run(&c, &out, &["--steps", "tissue,patches"]);
    // a new tissue method changes b's and a's tissue outputs, so both patch steps must follow;
    // the same run again must then do nothing
    let n = step_events(&out).len();
    run(
        &c,
        &out,
        &["--steps", "tissue,patches", "--tissue-method", "otsu"],
    );
    assert_eq!(
        started_since(&out, n),
        [
            pair("a", "patches"),
            pair("a", "tissue"),
            pair("b", "patches"),
            pair("b", "tissue")
        ]
    );
    let n = step_events(&out).len();
    run(
        &c,
        &out,
        &["--steps", "tissue,patches", "--tissue-method", "otsu"],
    );
    assert_eq!(started_since(&out, n), []);
    // only --patch-size changed: patches redone, tissue kept
    let n = step_events(&out).len();
    run(
        &c,
        &out,
        &[
            "--steps",
            "tissue,patches",
            "--tissue-method",
            "otsu",
            "--patch-size",
            "128",
        ],
    );
    assert_eq!(
        started_since(&out, n),
        [pair("a", "patches"), pair("b", "patches")]
    );
}

#[test]
fn full_hashing_sees_an_edit_in_the_middle_of_a_large_input() {
    let Some(slide) = common::cmu_slide() else {
        return;
    };
    // a 16-bit uncompressed truth at downsample 1 (2220 × 2967 × 2 = 13.2 MB, over the 9 MiB
    // that are always hashed whole)
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (2220u32, 2967u32);
    let mut m = vec![0u16; (w * h) as usize];
    for y in 800..1600 {
        for x in 400..1600 {
            m[(y * w + x) as usize] = 1;
        }
    }
    let truth = dir.path().join("truth.tif");
    {
        let f = std::io::BufWriter::new(std::fs::File::create(&truth).unwrap());
        let mut enc = tiff::encoder::TiffEncoder::new(f).unwrap();
        enc.write_image::<tiff::encoder::colortype::Gray16>(w, h, &m)
            .unwrap();
    }
    let size = std::fs::metadata(&truth).unwrap().len();
    assert!(size > 9 << 20);
    let c = cohort(dir.path(), &slide, Some("truth.tif"));
    // the sampled fingerprint reads the first and last 4 MiB and 16 blocks of 64 KiB spread
    // evenly between; the byte halfway between the 8th and 9th blocks is read by none
    let (edge, block) = (4u64 << 20, 64u64 << 10);
    let span = size - 2 * edge - block;
    let unread = edge + (span * 7 / 15 + block + span * 8 / 15) / 2;
    let edit = |path: &Path| {
        let mut b = std::fs::read(path).unwrap();
        b[unread as usize] ^= 1;
        std::fs::write(path, b).unwrap();
    };
    for (mode, redone) in [("sampled", false), ("full", true)] {
        let out = dir.path().join(format!("out-{mode}"));
        let args = ["--steps", "tissue,patches", "--hash", mode];
        run(&c, &out, &args);
        edit(&truth);
        let n = step_events(&out).len();
        run(&c, &out, &args);
        let want = if redone {
            vec![pair("a", "patches"), pair("b", "patches")]
        } else {
            vec![]
        };
        assert_eq!(started_since(&out, n), want, "--hash {mode}");
    }
}

#[test]
fn steps_larger_than_the_memory_budget_run_one_at_a_time() {
    let Some(slide) = common::cmu_slide() else {
        return;
    };
    // with room for both, the two slides' tissue steps overlap; with a budget below one step's
    // estimate each runs alone
    let overlapped = |memory: &str| {
        let dir = tempfile::tempdir().unwrap();
        let c = cohort(dir.path(), &slide, None);
        let out = dir.path().join("out");
        run(
            &c,
            &out,
            &[
                "--steps",
                "tissue,patches",
                "--jobs",
                "2",
                "--memory",
                memory,
            ],
        );
        let mut running = 0;
        let mut most = 0;
        for (event, _, _) in step_events(&out) {
            match event.as_str() {
                "step_start" => running += 1,
                "step_done" | "step_failed" => running -= 1,
                _ => {}
            }
            most = most.max(running);
        }
        most
    };
    assert_eq!(overlapped("64G"), 2);
    assert_eq!(overlapped("100M"), 1);
}
