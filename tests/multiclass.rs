//! Multiclass models end to end: `h2g segment` with the 4-class contract models of
//! scripts/make_contract_models.py (classes Background, Tumor, Benign, In situ) on the real demo
//! slide. The labels are recomputed here from the probability pages h2g wrote (argmax over the
//! background's 1 − Σ and the class bands, written out in this file), the per-class masks from
//! the label mask, the GeoJSON classes from the manifest; the contract errors are matched by
//! variant. scripts/contract_parity.py checks the same run against onnxruntime and OpenCV.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tiff::decoder::{Decoder, DecodingResult};

fn h2g() -> Command {
    Command::cargo_bin("h2g").unwrap()
}

const CLASSES: [&str; 3] = ["Tumor", "Benign", "In situ"];

/// Every page of a TIFF as (width, height, values as f64, PageName).
fn pages(path: &Path) -> Vec<(u32, u32, Vec<f64>, Option<String>)> {
    let mut d = Decoder::new(File::open(path).unwrap()).unwrap();
    let mut out = Vec::new();
    loop {
        let (w, h) = d.dimensions().unwrap();
        let name = d.get_tag_ascii_string(tiff::tags::Tag::Unknown(285)).ok();
        let v: Vec<f64> = match d.read_image().unwrap() {
            DecodingResult::F32(v) => v.into_iter().map(f64::from).collect(),
            DecodingResult::U8(v) => v.into_iter().map(f64::from).collect(),
            _ => panic!("{}: neither 8-bit nor float samples", path.display()),
        };
        out.push((w, h, v, name));
        // a pyramid's reduced levels are not pages of bands: stop at the first subfile
        if !d.more_images() || out.len() == 16 {
            break;
        }
        d.next_image().unwrap();
    }
    out
}

/// The class (0 background) of probabilities `fg` of the classes after the background, by
/// argmax over (1 − Σ fg, fg), and whether the best two are clearly apart.
fn argmax_with_background(fg: &[f64]) -> (u8, bool) {
    let mut p = vec![1.0 - fg.iter().sum::<f64>()];
    p.extend_from_slice(fg);
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[b].partial_cmp(&p[a]).unwrap().then(a.cmp(&b)));
    (order[0] as u8, p[order[0]] - p[order[1]] > 1e-5)
}

fn segment(slide: &Path, out: &Path, design: &str) -> serde_json::Value {
    let o = h2g()
        .arg("segment")
        .arg(slide)
        .args(["--design", design])
        .args(["--model", "test-contract-patch-4class"])
        .args(["--refine-model", "test-contract-refine-4class"])
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    for c in CLASSES {
        assert!(stderr.contains(c), "the summary names {c}: {stderr}");
    }
    let stem = slide.file_stem().unwrap().to_string_lossy();
    let json = out.join(format!("{stem}.segment-{design}.json"));
    serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap()
}

fn file(r: &serde_json::Value, key: &str) -> PathBuf {
    PathBuf::from(r["files"][key].as_str().unwrap())
}

/// The report's classes, the per-class masks against the label mask, and the GeoJSON classes.
fn check_classes_and_masks(r: &serde_json::Value, labels: &[f64]) {
    let classes = r["classes"].as_array().unwrap();
    let names: Vec<&str> = classes
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, CLASSES);
    let colours: Vec<&serde_json::Value> = classes.iter().map(|c| &c["color"]).collect();
    // the manifest's colours, and the default palette's third for "In situ", which has none
    assert_eq!(colours[0], &serde_json::json!([200, 0, 0]));
    assert_eq!(colours[1], &serde_json::json!([0, 150, 255]));
    assert_eq!(colours[2], &serde_json::json!([255, 200, 0]));
    for (k, c) in classes.iter().enumerate() {
        let v = (k + 1) as f64;
        let n = labels.iter().filter(|&&l| l == v).count();
        assert_eq!(c["cells"].as_u64().unwrap() as usize, n, "{}", names[k]);
    }
    let positive = labels.iter().filter(|&&l| l != 0.0).count();
    assert_eq!(
        r["result"]["positive_cells"].as_u64().unwrap() as usize,
        positive
    );
    // one 0/1 mask per class, equal to the label mask's class, in class order
    let mask = &pages(&file(r, "mask"))[0];
    let masks = r["files"]["class_masks"].as_array().unwrap();
    assert_eq!(masks.len(), 3);
    for (k, m) in masks.iter().enumerate() {
        let p = PathBuf::from(m.as_str().unwrap());
        let want = ["tumor", "benign", "in-situ"][k];
        assert!(
            p.to_string_lossy().ends_with(&format!(".{want}.mask.tif")),
            "{}",
            p.display()
        );
        let m = &pages(&p)[0];
        assert_eq!((m.0, m.1), (mask.0, mask.1));
        let v = (k + 1) as f64;
        let wrong =
            m.2.iter()
                .zip(&mask.2)
                .filter(|(a, b)| **a != f64::from(**b == v))
                .count();
        assert_eq!(wrong, 0, "{want}: mask pixels off");
    }
    // the GeoJSON: every feature one of the classes, with its colour; every class present
    let gj: serde_json::Value =
        serde_json::from_slice(&std::fs::read(file(r, "geojson")).unwrap()).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for f in gj["features"].as_array().unwrap() {
        let c = &f["properties"]["classification"];
        let name = c["name"].as_str().unwrap();
        let k = CLASSES.iter().position(|&n| n == name).expect(name);
        // QuPath's colorRGB: 0xFF alpha, then red, green, blue, as a signed 32-bit integer
        let rgb: Vec<u32> = colours[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        let packed = (0xFF00_0000u32 | rgb[0] << 16 | rgb[1] << 8 | rgb[2]) as i32;
        assert_eq!(c["colorRGB"].as_i64(), Some(i64::from(packed)), "{name}");
        seen.insert(name.to_string());
    }
    for name in names {
        if labels
            .iter()
            .any(|&l| l == (CLASSES.iter().position(|&n| n == name).unwrap() + 1) as f64)
        {
            assert!(seen.contains(name), "no {name} annotation");
        }
    }
}

#[test]
fn a_four_class_cascade_labels_by_argmax_and_writes_every_class() {
    let (Some(slide), Some(_)) = (common::cmu_slide(), common::runtime()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let r = segment(&slide, dir.path(), "h2g");
    // the probability map: three named float pages of 1024 × 1024
    let prob = pages(&file(&r, "probability"));
    assert_eq!(prob.len(), 3);
    for (k, p) in prob.iter().enumerate() {
        assert_eq!((p.0, p.1), (1024, 1024));
        assert_eq!(p.3.as_deref(), Some(CLASSES[k]));
    }
    let labels = &pages(&file(&r, "result"))[0].2;
    assert_eq!(labels.len(), 1024 * 1024);
    let (mut clear, mut off) = (0, 0);
    let mut counts = [0usize; 4];
    for (i, &label) in labels.iter().enumerate() {
        let fg = [prob[0].2[i], prob[1].2[i], prob[2].2[i]];
        let (want, apart) = argmax_with_background(&fg);
        counts[want as usize] += 1;
        if apart {
            clear += 1;
            off += usize::from(label != f64::from(want));
        }
    }
    assert_eq!(off, 0, "labels off the argmax of the probabilities");
    assert!(clear > labels.len() * 99 / 100, "{clear}");
    // the contract model is made so that every class occurs on this slide
    assert!(counts.iter().all(|&c| c > 1000), "{counts:?}");
    check_classes_and_masks(&r, labels);
    // the heatmap: a page per class, and the cascade read all three
    let hm = pages(&PathBuf::from(r["files"]["heatmap"][0].as_str().unwrap()));
    assert_eq!(
        hm.iter().map(|p| p.3.clone().unwrap()).collect::<Vec<_>>(),
        CLASSES
    );
}

#[test]
fn a_four_class_patch_wise_design_labels_cells_from_the_heatmap_bands() {
    let (Some(slide), Some(_)) = (common::cmu_slide(), common::runtime()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let r = segment(&slide, dir.path(), "pw");
    let hm = pages(&PathBuf::from(r["files"]["heatmap"][0].as_str().unwrap()));
    let labels = &pages(&file(&r, "result"))[0].2;
    assert_eq!(labels.len(), hm[0].2.len());
    let mut seen = [0usize; 4];
    for (i, &label) in labels.iter().enumerate() {
        let fg = [hm[0].2[i], hm[1].2[i], hm[2].2[i]];
        let (want, apart) = argmax_with_background(&fg);
        if apart {
            assert_eq!(label, f64::from(want), "cell {i}: {fg:?}");
        }
        seen[label as usize] += 1;
    }
    // cells no patch ran on are background: the bands are 0 there
    assert!(
        seen[0] > 0 && seen.iter().filter(|&&n| n > 0).count() >= 3,
        "{seen:?}"
    );
    // the patch-wise design runs no refinement: no probability map
    assert!(r["files"]["probability"].is_null(), "{}", r["files"]);
    let positive = labels.iter().filter(|&&l| l != 0.0).count();
    assert_eq!(
        r["result"]["positive_cells"].as_u64().unwrap() as usize,
        positive
    );
}

/// A copy of a contract manifest beside a copy of its model in `dir`, edited by `edit`.
fn edited(dir: &Path, name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join(format!("{name}.json"))).unwrap()).unwrap();
    let model = root.join(m["file"].as_str().unwrap());
    let copy = dir.join(model.file_name().unwrap());
    std::fs::copy(&model, &copy).unwrap();
    edit(&mut m);
    m["sha256"] = serde_json::Value::Null;
    std::fs::write(copy.with_extension("json"), m.to_string()).unwrap();
    copy
}

#[test]
fn classes_that_do_not_fit_the_model_are_errors_that_say_so() {
    let (Some(slide), Some(_)) = (common::cmu_slide(), common::runtime()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        let o = h2g()
            .arg("segment")
            .arg(&slide)
            .args(args)
            .arg("-o")
            .arg(dir.path().join("out"))
            .output()
            .unwrap();
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    // three classes named for a 4-channel output
    let three = edited(dir.path(), "test-contract-patch-4class", |m| {
        m["classes"].as_array_mut().unwrap().pop();
    });
    let e = run(&[
        "--design".as_ref(),
        "pw".as_ref(),
        "--model".as_ref(),
        three.as_os_str(),
    ]);
    assert!(e.contains("[N, 3], one channel per class"), "{e}");
    // a name that cannot name a QuPath class and a file
    let bad = edited(dir.path(), "test-contract-refine-4class", |m| {
        m["classes"][2]["name"] = "Benign/DCIS".into();
    });
    let e = run(&[
        "--design".as_ref(),
        "h2g".as_ref(),
        "--model".as_ref(),
        "test-contract-patch-4class".as_ref(),
        "--refine-model".as_ref(),
        bad.as_os_str(),
    ]);
    assert!(
        e.contains("\"Benign/DCIS\"") && e.contains("letters, digits"),
        "{e}"
    );
    // a binary heatmap (one band) into the 6-channel refinement
    let e = run(&[
        "--design".as_ref(),
        "h2g".as_ref(),
        "--model".as_ref(),
        "test-patch-classifier".as_ref(),
        "--refine-model".as_ref(),
        "test-contract-refine-4class".as_ref(),
    ]);
    assert!(
        e.contains(
            "input with 6 channels: expected 3 (image) or 4 (image + the heatmap's 1 band(s))"
        ),
        "{e}"
    );
    assert!(
        !dir.path().join("out").exists()
            || common::entries(&dir.path().join("out"))
                .iter()
                .all(|f| !f.contains("segment"))
    );
    // AN2 pre-annotates tumour: a multiclass classifier is refused before any slide
    let o = h2g()
        .arg("preannotate")
        .arg(&slide)
        .args([
            "--method",
            "an2",
            "--model",
            "test-contract-patch-4class",
            "-o",
        ])
        .arg(dir.path().join("an2"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("has 4 classes") && e.contains("--design pw"),
        "{e}"
    );
}

#[test]
fn models_init_drafts_the_classes_of_a_multiclass_refinement() {
    if common::runtime().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("mine.onnx");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models/test/contract/refine_4class.onnx"),
        &model,
    )
    .unwrap();
    let o = h2g()
        .args(["models", "init"])
        .arg(&model)
        .args(["--role", "refinement", "-o"])
        .arg(model.with_extension("json"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model.with_extension("json")).unwrap()).unwrap();
    assert_eq!(m["layout"], "nhwc");
    assert_eq!(
        m["inputs"],
        serde_json::json!([{"channels": 6, "role": "image+heatmap"}])
    );
    let names: Vec<&str> = m["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Background", "Class 1", "Class 2", "Class 3"]);
}

#[test]
fn models_show_lists_the_classes_and_the_rule() {
    let o = h2g()
        .args(["models", "show", "test-contract-refine-4class"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("over 4 classes (Background, Tumor, Benign, In situ), one per channel; labels by argmax"),
        "{out}"
    );
}
