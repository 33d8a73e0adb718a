//! Hierarchical sampling: uniform at every stage on an unbalanced cohort, deterministic, and
//! the CLI's files.

mod common;

use assert_cmd::Command;
use h2g::sampling::{Rng, SamplingTree};

/// Asserts `count` of `n` draws is within 5 standard deviations of probability `p`.
fn near(count: usize, n: usize, p: f64, what: &str) {
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    let d = (count as f64 - n as f64 * p).abs();
    assert!(
        d <= 5.0 * sd.max(1.0),
        "{what}: {count} of {n}, expected {:.0} ± {:.0}",
        n as f64 * p,
        5.0 * sd
    );
}

#[test]
fn every_stage_is_uniform_on_an_unbalanced_cohort() {
    // grade I: one slide, 1000 patches, one class; grade II: three slides with 1, 10 and 100
    // patches; slide 3 has 95 tumour patches and 5 non-tumour, split over two clusters.
    let mut items: Vec<(usize, String, String, String)> = Vec::new();
    for _ in 0..1000 {
        items.push((0, "I".into(), "tumour".into(), String::new()));
    }
    items.push((1, "II".into(), "tumour".into(), String::new()));
    for _ in 0..10 {
        items.push((2, "II".into(), "non-tumour".into(), String::new()));
    }
    for i in 0..95 {
        items.push((
            3,
            "II".into(),
            "tumour".into(),
            if i < 90 { "a" } else { "b" }.into(),
        ));
    }
    for _ in 0..5 {
        items.push((3, "II".into(), "non-tumour".into(), String::new()));
    }
    let tree = SamplingTree::build(
        items
            .iter()
            .map(|(s, g, c, k)| (*s, g.as_str(), c.as_str(), k.as_str())),
    );
    let n = 120_000;
    let mut rng = Rng::new(42);
    let draws: Vec<_> = (0..n).map(|_| tree.draw(&mut rng).unwrap()).collect();
    let count = |f: &dyn Fn(&h2g::sampling::Draw) -> bool| draws.iter().filter(|d| f(d)).count();
    // stage 1: grades
    near(count(&|d| d.grade == 0), n, 0.5, "grade I");
    // stage 2: slides within grade II
    let in_ii = count(&|d| d.grade == 1);
    for s in 1..=3 {
        near(
            count(&|d| d.slide == s),
            in_ii,
            1.0 / 3.0,
            "slide within grade II",
        );
    }
    // stage 3: classes within slide 3
    let s3 = count(&|d| d.slide == 3);
    let s3_tumour = count(&|d| d.slide == 3 && items[d.patch].2 == "tumour");
    near(s3_tumour, s3, 0.5, "tumour within slide 3");
    // stage 4: clusters within slide 3's tumour class (90 patches in a, 5 in b: still ½ each)
    near(
        count(&|d| d.slide == 3 && items[d.patch].3 == "b"),
        s3_tumour,
        0.5,
        "cluster b",
    );
    // stage 5: patches within a cluster are uniform: cluster b's 5 patches
    let b: Vec<usize> = (0..items.len()).filter(|&i| items[i].3 == "b").collect();
    let in_b = count(&|d| items[d.patch].3 == "b");
    for &i in &b {
        near(
            count(&|d| d.patch == i),
            in_b,
            0.2,
            "patch within cluster b",
        );
    }
    // the single-patch slide always yields its patch
    assert!(draws
        .iter()
        .filter(|d| d.slide == 1)
        .all(|d| d.patch == 1000));
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn cohort(dir: &std::path::Path, slide: &str) -> std::path::PathBuf {
    let head = "slide,x,y,level,downsample,width,height,tissue_fraction,tumour_fraction,label\n";
    let rows: String = (0..6)
        .map(|i| {
            format!(
                "s,{},512,0,2,512,512,1.0,{},{}\n",
                i * 512,
                if i < 3 { "0.9" } else { "0" },
                if i < 3 { "tumour" } else { "non-tumour" }
            )
        })
        .collect();
    write(
        dir,
        "a.csv",
        &format!("{head}{rows}s,0,0,0,2,512,512,0.1,,background\n"),
    );
    write(dir, "cohort.csv", &format!("slide,patches,grade,split\n{slide},a.csv,I,train\n{slide},a.csv,II,train\n{slide},a.csv,III,test\n"))
}

#[test]
fn cli_draws_are_deterministic_and_respect_the_split() {
    let dir = tempfile::tempdir().unwrap();
    let c = cohort(dir.path(), "nowhere.svs");
    let run = |out: &str, seed: &str| {
        let o = Command::cargo_bin("h2g")
            .unwrap()
            .arg("sample")
            .arg(&c)
            .arg("-o")
            .arg(dir.path().join(out))
            .args([
                "--batches",
                "5",
                "--batch-size",
                "8",
                "--seed",
                seed,
                "--split",
                "train",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read_to_string(dir.path().join(out)).unwrap()
    };
    let (a, b, c2) = (run("a.out", "7"), run("b.out", "7"), run("c.out", "8"));
    assert_eq!(a, b);
    assert_ne!(a, c2);
    assert_eq!(a.lines().count(), 41);
    assert!(a
        .lines()
        .skip(1)
        .all(|l| !l.contains(",III,") && !l.contains("background")));
    assert!(
        a.starts_with("batch,index,grade,slide,class,cluster,x,y,level,downsample,width,height\n")
    );
}

#[test]
fn cli_reports_a_missing_column() {
    let dir = tempfile::tempdir().unwrap();
    let c = write(dir.path(), "cohort.csv", "slide,grade\nx.svs,I\n");
    let o = Command::cargo_bin("h2g")
        .unwrap()
        .arg("sample")
        .arg(&c)
        .arg("-o")
        .arg(dir.path().join("d.csv"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    // the cohort table's reader is the one of run and evaluate: same wording
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cohort.csv: no column 'patches' (columns: slide, grade)"),
        "{err}"
    );
    assert!(!dir.path().join("d.csv").exists());
}

#[test]
fn cli_npy_holds_the_drawn_pixels() {
    let Some(slide) = common::cmu_slide() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let c = cohort(dir.path(), &slide.display().to_string());
    let npy = dir.path().join("x.npy");
    let o = Command::cargo_bin("h2g")
        .unwrap()
        .arg("sample")
        .arg(&c)
        .arg("-o")
        .arg(dir.path().join("d.csv"))
        .args(["--batches", "2", "--batch-size", "3", "--npy"])
        .arg(&npy)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(&npy).unwrap();
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert!(
        String::from_utf8_lossy(&bytes[10..10 + header_len]).contains("'shape': (6, 256, 256, 3)")
    );
    assert_eq!(bytes.len(), 10 + header_len + 6 * 256 * 256 * 3);
    // the first drawn patch's pixels are what the slide gives at 10x there
    let draws = std::fs::read_to_string(dir.path().join("d.csv")).unwrap();
    let f: Vec<&str> = draws.lines().nth(1).unwrap().split(',').collect();
    let (x, y): (u64, u64) = (f[6].parse().unwrap(), f[7].parse().unwrap());
    let s = h2g::slide::OpenSlideSlide::open(&slide).unwrap();
    let plan = h2g::slide::ReadPlan {
        level: 0,
        level_downsample: 1.0,
        target_downsample: 2.0,
    };
    let img = h2g::slide::read_at(&s, &plan, x, y, 256, 256).unwrap();
    assert!(bytes[10 + header_len..10 + header_len + img.data.len()] == img.data[..]);
    // labels: 1 for tumour, 0 for non-tumour, in draw order
    let labels = std::fs::read(dir.path().join("x.labels.npy")).unwrap();
    let hl = u16::from_le_bytes([labels[8], labels[9]]) as usize;
    let want: Vec<u8> = draws
        .lines()
        .skip(1)
        .map(|l| u8::from(l.split(',').nth(4) == Some("tumour")))
        .collect();
    assert_eq!(&labels[10 + hl..], &want[..]);
}
