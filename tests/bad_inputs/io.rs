//! I/O failures and out-of-range arguments: a full or closed standard output or error, a full
//! disk under `h2g run`, a symlink loop, flags whose values make no sense. Each ends with its
//! own message and status, never a panic.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::support::{case, corpus, BIN};

/// `h2g ARGS` in the corpus folder, its standard output and error sent where asked.
fn run_to(args: &[&str], stdout: Stdio, stderr: Stdio) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(corpus(""))
        .stdout(stdout)
        .stderr(stderr)
        .output()
        .unwrap()
}

fn full() -> Stdio {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap()
        .into()
}

#[test]
fn a_full_standard_output_is_an_error_with_its_reason_not_a_panic() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let mut commands: Vec<Vec<String>> = [
        &["models", "list"][..],
        &["models", "list", "--json"],
        &["models", "show", "test-patch-classifier"],
        &["completions", "bash"],
        &["--help"],
        &["--version"],
        &["run", "--cohort", "cohort-bad-mpp.csv", "--list", "-o", "x"],
    ]
    .iter()
    .map(|a| a.iter().map(|s| s.to_string()).collect())
    .collect();
    if let Some(slide) = super::common::cmu_slide() {
        let s = slide.to_string_lossy().into_owned();
        commands.push(vec!["info".into(), s.clone()]);
        commands.push(vec!["info".into(), s, "--json".into()]);
    }
    for args in &commands {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run_to(&args, full(), Stdio::piped());
        let err = String::from_utf8_lossy(&o.stderr);
        let shown = format!("h2g {}\n{err}", args.join(" "));
        if args[0] == "run" {
            // the table is refused before anything is printed
            assert_eq!(o.status.code(), Some(1), "{shown}");
            assert!(
                err.contains("mpp '-0.5' is not a positive number"),
                "{shown}"
            );
            continue;
        }
        assert_eq!(o.status.code(), Some(1), "{shown}");
        assert_eq!(
            err.trim_end(),
            "h2g: error: cannot write to standard output: No space left on device (os error 28)",
            "{shown}"
        );
    }
}

#[test]
fn a_full_or_closed_standard_error_neither_panics_nor_changes_the_outcome() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.geojson");
    let o = run_to(
        &["vectorize", "mask-good.png", "-o", &out.to_string_lossy()],
        Stdio::null(),
        full(),
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("FeatureCollection"));
    // an error still ends with its status when it cannot be told
    let o = run_to(&["info", "no-such-file.svs"], Stdio::null(), full());
    assert_eq!(o.status.code(), Some(1));
    // a usage error too, and help written to a full standard error's neighbour
    let o = run_to(&["info", "--mpp", "0", "x.svs"], Stdio::null(), full());
    assert_eq!(o.status.code(), Some(2));
    // both full
    let o = run_to(&["models", "list"], full(), full());
    assert_eq!(o.status.code(), Some(1));
    // a reader that went away: no message (the process ends as SIGPIPE ends it, quietly)
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = Command::new(BIN)
        .args(["completions", "zsh"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.is_empty(), "{err}");
    assert!(!o.status.success());
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, found);
        } else if p.extension().is_some_and(|x| x == "rs") {
            found.push(p);
        }
    }
}

#[test]
fn no_source_file_prints_with_the_panicking_macros() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 50, "{files:?}");
    let banned = ["println!", "print!", "eprintln!", "eprint!", "dbg!"];
    let mut found = Vec::new();
    for f in files.iter().filter(|f| !f.ends_with("cli/out.rs")) {
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            if banned.iter().any(|b| line.contains(b)) {
                found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "use the writers of src/cli/out.rs (outln!, noteln!):\n{}",
        found.join("\n")
    );
}

#[test]
fn out_of_range_flags_are_refused_naming_the_value_and_the_range() {
    let mpp = "a pixel size is a number of µm per pixel above 0 and at most 1000";
    for v in ["1e300", "0", "-1", "nan", "inf", "1000.5"] {
        let f = format!("--mpp={v}");
        for args in [
            vec!["info", "x.svs", &f],
            vec!["tissue", "x.svs", "-o", "{out}", &f],
            vec!["patches", "x.svs", "-o", "{out}/p.csv", &f],
            vec!["convert-mask", "mask-good.png", "{out}/m.tif", &f],
            vec!["vectorize", "mask-good.png", "-o", "{out}/v.geojson", &f],
        ] {
            case(&args, 2, mpp);
        }
    }
    case(
        &["info", "x.svs", "--mpp", "1e300"],
        2,
        "--mpp 1e300: a pixel size",
    );
    case(
        &[
            "convert-mask",
            "mask-good.png",
            "{out}/m.tif",
            "--slide",
            "x.svs",
            "--slide-mpp",
            "0",
        ],
        2,
        "--slide-mpp 0.0: a pixel size",
    );
    for (flag, v, shown) in [
        ("--min-area", "nan", "NaN"),
        ("--min-area", "-1", "-1.0"),
        ("--max-hole", "inf", "inf"),
        ("--max-hole", "nan", "NaN"),
        ("--min-area", "1e20", "1e20"),
    ] {
        let want = format!("{flag} {shown}: an area is a number of µm² from 0 to 1e12");
        let f = format!("{flag}={v}");
        case(
            &["vectorize", "mask-good.png", "-o", "{out}/v.geojson", &f],
            2,
            &want,
        );
        case(&["tissue", "x.svs", "-o", "{out}", &f], 2, &want);
    }
    for v in ["0", "1025", "-3", "x"] {
        case(
            &["heatmap", "x.svs", "-o", "{out}", &format!("--batch={v}")],
            2,
            &format!("--batch {v}: patches per inference call are a whole number from 1 to 1024"),
        );
    }
    for v in ["100000", "257", "-1", "x"] {
        case(
            &[
                "run",
                "--cohort",
                "c.csv",
                "-o",
                "{out}",
                &format!("--jobs={v}"),
            ],
            2,
            &format!(
                "--jobs {v}: give 0 (one slide per 4 cores) or a whole number of slides up to 256"
            ),
        );
    }
    for v in ["100000", "1025", "-1"] {
        let f = format!("--threads={v}");
        for args in [
            vec!["tissue", "x.svs", "-o", "{out}", &f],
            vec!["heatmap", "x.svs", "-o", "{out}", &f],
            vec!["run", "--cohort", "c.csv", "-o", "{out}", &f],
        ] {
            case(
                &args,
                2,
                &format!("--threads {v}: give 0 (every core) or a whole number up to 1024"),
            );
        }
    }
}

#[test]
fn threads_beyond_the_machine_are_lowered_with_a_warning() {
    let cores = std::thread::available_parallelism().unwrap().get();
    if cores >= 1024 {
        return;
    }
    let n = (cores + 1).to_string();
    // the flag is read (and lowered) before the missing slide is found
    case(
        &["tissue", "no-such-file.svs", "-o", "{out}", "--threads", &n],
        1,
        &format!("warning: --threads {n}: this machine has {cores} cores; using {cores}"),
    );
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_is_named_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.svs"), dir.path().join("b.svs"));
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    let a = a.to_string_lossy();
    let want = format!("{a} is a symlink loop: its links lead back to themselves");
    for args in [
        vec!["info", &*a],
        vec!["tissue", &*a, "-o", "{out}"],
        vec!["patches", &*a, "-o", "{out}/p.csv"],
        vec!["region", &*a, "--at", "1.25x", "-o", "{out}/r.png"],
        vec!["vectorize", &*a, "-o", "{out}/v.geojson"],
        vec!["convert-mask", &*a, "{out}/m.tif"],
        vec![
            "vectorize",
            "mask-good.png",
            "-o",
            "{out}/v.geojson",
            "--slide",
            &*a,
        ],
    ] {
        case(&args, 1, &want);
    }
}

/// Whether `unshare ARGS true` works here: a mount namespace of this process's own.
fn unshare_works(args: &[&str]) -> bool {
    Command::new("unshare")
        .args(args)
        .args([
            "sh",
            "-c",
            "mount -t tmpfs -o size=16k none /mnt 2>/dev/null || exit 1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn a_step_on_a_full_disk_reports_no_space_left_not_an_exit_status() {
    // a really full filesystem: a small tmpfs in a mount namespace of the test's own (as an
    // unprivileged user through a user namespace, or as root), filled before the run
    let unshare: &[&str] = if unshare_works(&["--user", "--map-root-user", "--mount"]) {
        &["--user", "--map-root-user", "--mount"]
    } else if unshare_works(&["--mount"]) {
        &["--mount"]
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but no full filesystem can be made here (unshare and mount)"
        );
        eprintln!("skipped: no mount namespace here (unshare) to make a full filesystem in");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    super::pink_slide(d);
    std::fs::write(d.join("cohort.csv"), "slide,mpp\ns.png,0.5\n").unwrap();
    let disk = d.join("disk");
    std::fs::create_dir(&disk).unwrap();
    let script = "mount -t tmpfs -o size=64k none \"$1\" || exit 99; mkdir \"$1/o\"; \
                  dd if=/dev/zero of=\"$1/fill\" bs=4k 2>/dev/null; \
                  exec \"$2\" run --cohort \"$3\" -o \"$1/o\" --steps tissue --design otsu";
    let o = Command::new("unshare")
        .args(unshare)
        .args(["sh", "-c", script, "sh"])
        .arg(&disk)
        .arg(BIN)
        .arg(d.join("cohort.csv"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(99), "{err}");
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("exit status"), "{err}");
    // the step's own reason, kept by the run though the log could not hold it
    assert!(
        err.contains("s: tissue failed: ")
            && err.contains(
                "No space left on device (os error 28) (its log could not be written: No space \
                 left on device (os error 28))"
            ),
        "{err}"
    );
}
