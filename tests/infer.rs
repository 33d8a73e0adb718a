//! Model stage: manifests, ONNX inspection, and `h2g heatmap` with the project's own untrained
//! test models (same contract as the published ones) on the real demo slide.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn h2g() -> Command {
    Command::cargo_bin("h2g").unwrap()
}

/// `h2g heatmap SLIDE --model MODEL -o OUT EXTRA…`.
fn heatmap(
    slide: &Path,
    model: &std::ffi::OsStr,
    out: &Path,
    extra: &[&str],
) -> std::process::Output {
    h2g()
        .arg("heatmap")
        .arg(slide)
        .arg("--model")
        .arg(model)
        .arg("-o")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn model(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models/test")
        .join(name)
}

#[test]
fn models_list_names_the_test_models_as_untrained() {
    let o = h2g().args(["models", "list"]).output().unwrap();
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    for name in [
        "h2g-patch-mobilenetv2",
        "h2g-refinement-unet",
        "superfast-tissue",
    ] {
        assert!(out.contains(name), "{out}");
    }
    let line = out
        .lines()
        .find(|l| l.starts_with("test-patch-classifier"))
        .unwrap();
    assert!(
        line.contains("UNTRAINED") && line.contains("patch_classifier.onnx"),
        "{line}"
    );
    // the channels-first twins are listed too
    for (name, file) in [
        ("test-patch-classifier-nchw", "patch_classifier_nchw.onnx"),
        ("test-refinement-2in-nchw", "refinement_2in_nchw.onnx"),
        ("test-refinement-4ch-nchw", "refinement_4ch_nchw.onnx"),
        ("test-unet-lr-nchw", "unet_lr_nchw.onnx"),
    ] {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} not listed: {out}"));
        assert!(line.contains("UNTRAINED") && line.contains(file), "{line}");
    }
}

#[test]
fn inspect_reports_both_refinement_input_forms() {
    if common::runtime().is_none() {
        return;
    }
    let o = h2g()
        .args(["models", "inspect", "--json"])
        .arg(model("refinement_2in.onnx"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let shapes: Vec<&serde_json::Value> = v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["shape"])
        .collect();
    assert_eq!(
        shapes,
        [
            &serde_json::json!([1, 1024, 1024, 3]),
            &serde_json::json!([1, 1024, 1024, 1])
        ]
    );
    assert_eq!(
        v["outputs"][0]["shape"],
        serde_json::json!([1, 1024, 1024, 2])
    );
    assert_eq!(v["header"]["opsets"][0], serde_json::json!(["ai.onnx", 13]));
    let o = h2g()
        .args(["models", "inspect", "--json"])
        .arg(model("refinement_4ch.onnx"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["inputs"][0]["shape"],
        serde_json::json!([1, 1024, 1024, 4])
    );
    // the channels-first twins: [N, C, H, W] in and out
    let shapes = |file: &str| -> (Vec<serde_json::Value>, serde_json::Value) {
        let o = h2g()
            .args(["models", "inspect", "--json"])
            .arg(model(file))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (
            v["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["shape"].clone())
                .collect(),
            v["outputs"][0]["shape"].clone(),
        )
    };
    let n = serde_json::json!(1024);
    assert_eq!(
        shapes("refinement_2in_nchw.onnx"),
        (
            vec![
                serde_json::json!([1, 3, n, n]),
                serde_json::json!([1, 1, n, n])
            ],
            serde_json::json!([1, 2, n, n])
        )
    );
    assert_eq!(
        shapes("refinement_4ch_nchw.onnx").0,
        vec![serde_json::json!([1, 4, n, n])]
    );
    assert_eq!(
        shapes("unet_lr_nchw.onnx").0,
        vec![serde_json::json!([1, 3, n, n])]
    );
    let (ins, out) = shapes("patch_classifier_nchw.onnx");
    assert_eq!(ins[0].as_array().unwrap()[1..], [3, 256, 256]);
    assert_eq!(out.as_array().unwrap()[1], 2);
    // not a model
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("x.onnx");
    std::fs::write(&bad, b"not a model").unwrap();
    let o = h2g()
        .args(["models", "inspect"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not an ONNX model"));
}

#[test]
fn a_missing_runtime_is_a_clear_error() {
    let o = h2g()
        .args([
            "models",
            "inspect",
            "--ort-lib",
            "/nonexistent/libonnxruntime.so.1.31.1",
        ])
        .arg(model("patch_classifier.onnx"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("ONNX Runtime 1.31.1 was not found") && err.contains("scripts/setup.sh"),
        "{err}"
    );
}

#[test]
fn heatmap_on_the_real_slide_writes_tiff_png_and_report() {
    let (Some(_), Some(slide)) = (common::runtime(), common::cmu_slide()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let o = heatmap(&slide, "test-patch-classifier".as_ref(), dir.path(), &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("UNTRAINED"));
    let stem = slide.file_stem().unwrap().to_string_lossy().into_owned();
    let rep: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(format!("{stem}.heatmap.json"))).unwrap(),
    )
    .unwrap();
    // CMU-1-Small-Region: 2220 × 2967 at 20× → 10× grid of 256-px patches, ceil: 5 × 6
    assert_eq!(
        (rep["grid"]["cols"].as_u64(), rep["grid"]["rows"].as_u64()),
        (Some(5), Some(6))
    );
    assert_eq!(rep["grid"]["downsample"].as_f64(), Some(2.0));
    let ran = rep["cells_run"].as_u64().unwrap();
    assert!(ran > 0 && ran < 30, "{ran}");
    // the float32 TIFF: one value per cell, in [0, 1], zero where no patch ran
    let mut dec = tiff::decoder::Decoder::new(
        std::fs::File::open(dir.path().join(format!("{stem}.heatmap.tif"))).unwrap(),
    )
    .unwrap();
    assert_eq!(dec.dimensions().unwrap(), (5, 6));
    let tiff::decoder::DecodingResult::F32(v) = dec.read_image().unwrap() else {
        panic!("not float32")
    };
    assert_eq!(v.iter().filter(|&&x| x != 0.0).count() as u64, ran);
    assert!(v.iter().all(|&x| (0.0..=1.0).contains(&x)));
    assert!(dir.path().join(format!("{stem}.heatmap.png")).is_file());
}

#[test]
fn a_model_that_does_not_fit_the_manifest_is_refused() {
    let (Some(_), Some(slide)) = (common::runtime(), common::cmu_slide()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // a magnification finer than the scan is refused, not upsampled
    let o = heatmap(
        &slide,
        "test-patch-classifier".as_ref(),
        dir.path(),
        &["--at", "400x"],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("finer than the slide's level 0"));
    // a refinement model named as a patch classifier
    let o = heatmap(&slide, "test-refinement-4ch".as_ref(), dir.path(), &[]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a patch classifier"));
    // a two-input model with a patch-classifier manifest beside it
    let m = dir.path().join("odd.onnx");
    std::fs::copy(model("refinement_2in.onnx"), &m).unwrap();
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models/test-patch-classifier.json"),
    )
    .unwrap();
    std::fs::write(dir.path().join("odd.json"), manifest).unwrap();
    let o = heatmap(&slide, m.as_os_str(), &dir.path().join("out"), &[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("takes one image input"), "{err}");
    assert!(!dir.path().join("out").exists(), "nothing written");
}

#[test]
fn a_slide_without_tissue_gives_an_empty_heatmap() {
    if common::runtime().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let white = dir.path().join("glass.png");
    common::write_png(
        &white,
        700,
        500,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        &vec![245u8; 700 * 500 * 3],
        None,
    );
    let o = heatmap(
        &white,
        "test-patch-classifier".as_ref(),
        &dir.path().join("out"),
        &["--mpp", "1.0"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rep: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/glass.heatmap.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(rep["cells_run"].as_u64(), Some(0));
    assert_eq!(
        (rep["grid"]["cols"].as_u64(), rep["grid"]["rows"].as_u64()),
        (Some(3), Some(2))
    );
}

#[test]
fn cuda_is_never_claimed_on_a_cpu_only_runtime() {
    let (Some(_), Some(slide)) = (common::runtime(), common::cmu_slide()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let o = heatmap(
        &slide,
        "test-patch-classifier".as_ref(),
        dir.path(),
        &["--device", "cuda"],
    );
    // the set-up's library is the CPU build: a clear error, not a silent CPU run
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("CUDA execution provider is not available"),
        "{err}"
    );
    assert!(common::entries(dir.path()).is_empty(), "nothing written");
}

#[test]
fn every_design_segments_the_real_slide_with_consistent_outputs() {
    let (Some(_), Some(slide)) = (common::runtime(), common::cmu_slide()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let stem = slide.file_stem().unwrap().to_string_lossy().into_owned();
    for (design, refine) in [
        ("h2g", "test-refinement-2in"),
        ("h2g", "test-refinement-4ch"),
        ("h2g", "test-refinement-2in-nchw"),
        ("h2g", "test-refinement-4ch-nchw"),
        ("pw", "test-refinement-2in"),
        ("unet-lr", "test-unet-lr"),
        ("unet-lr", "test-unet-lr-nchw"),
        ("otsu", "test-refinement-2in"),
    ] {
        let out = dir.path().join(format!("{design}-{refine}"));
        let o = h2g()
            .arg("segment")
            .arg(&slide)
            .args(["--design", design, "--model", "test-patch-classifier"])
            .args(["--refine-model", refine, "-o"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{design}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let rep: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join(format!("{stem}.segment-{design}.json"))).unwrap(),
        )
        .unwrap();
        // CMU-1-Small-Region is 2220 × 2967: the mask at downsample 4 is floor(W/4) × floor(H/4)
        assert_eq!(
            (
                rep["mask"]["width"].as_u64(),
                rep["mask"]["height"].as_u64()
            ),
            (Some(555), Some(741))
        );
        let side = if design == "pw" { 5 } else { 1024 };
        assert_eq!(rep["result"]["width"].as_u64(), Some(side), "{design}");
        assert!(
            rep["result"]["positive_cells"].as_u64().unwrap() > 0,
            "{design}: empty"
        );
        // the GeoJSON rasterizes back to the full-frame mask exactly (QuPath's rule)
        let back = out.join("back.png");
        let o = h2g()
            .arg("rasterize")
            .arg(out.join(format!("{stem}.segment-{design}.geojson")))
            .args(["--size", "555x741", "--downsample", "4", "-o"])
            .arg(&back)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mask = common::read_levels(&out.join(format!("{stem}.segment-{design}.mask.tif")));
        let mut dec =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&back).unwrap()));
        dec.set_transformations(png::Transformations::IDENTITY);
        let mut r = dec.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        r.next_frame(&mut buf).unwrap();
        let back: Vec<u16> = buf[..555 * 741].iter().map(|&v| v as u16).collect();
        assert!(mask[0].data == back, "{design}: GeoJSON and mask differ");
    }
}

#[test]
fn designs_refuse_missing_or_mismatched_models() {
    let (Some(_), Some(slide)) = (common::runtime(), common::cmu_slide()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let o = h2g()
            .arg("segment")
            .arg(&slide)
            .args(args)
            .arg("-o")
            .arg(dir.path().join("o"))
            .output()
            .unwrap();
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    assert!(
        run(&["--design", "h2g", "--model", "test-patch-classifier"]).contains("--refine-model")
    );
    assert!(run(&["--design", "pw"]).contains("--model"));
    // a one-input image model cannot take the heatmap, and the other way round
    assert!(run(&[
        "--design",
        "h2g",
        "--model",
        "test-patch-classifier",
        "--refine-model",
        "test-unet-lr"
    ])
    .contains("--design unet-lr"));
    assert!(run(&[
        "--design",
        "unet-lr",
        "--refine-model",
        "test-refinement-4ch"
    ])
    .contains("--design h2g"));
    assert!(!dir.path().join("o").exists(), "nothing written");
}

#[test]
fn preannotate_runs_many_slides_and_continues_past_a_bad_one() {
    let (Some(_), Some(slide)) = (common::runtime(), common::cmu_slide()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.svs");
    std::fs::write(&bad, b"not a slide").unwrap();
    let out = dir.path().join("out");
    let o = h2g()
        .arg("preannotate")
        .arg(&slide)
        .arg(&bad)
        .args(["--model", "test-patch-classifier", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    // the bad slide is reported and the exit status says so; the good one is done
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("broken.svs") && err.contains("1 of 2 slides failed"),
        "{err}"
    );
    let stem = slide.file_stem().unwrap().to_string_lossy().into_owned();
    let ann = h2g::vector::read_annotations(&out.join(format!("{stem}.preannotate-an2.geojson")))
        .unwrap();
    assert!(!ann.items.is_empty());
    assert!(ann
        .items
        .iter()
        .all(|i| i.class.as_deref() == Some("Tumor")));
    // the annotations' area is the documented rule applied here to the heatmap written beside
    // them: cells over 0.5, closed by a 3 × 3 square (OpenCV's border: the outside neither
    // dilates nor erodes), drawn at downsample 4 (pixel (i, j) takes the cell holding level-0
    // (4i, 4j); floor(W/4) × floor(H/4) pixels), 16 level-0 px² per pixel
    let heat = {
        let f = std::fs::File::open(out.join(format!("{stem}.heatmap.tif"))).unwrap();
        let mut d = tiff::decoder::Decoder::new(std::io::BufReader::new(f)).unwrap();
        let (c, r) = d.dimensions().unwrap();
        let tiff::decoder::DecodingResult::F32(v) = d.read_image().unwrap() else {
            panic!("the heatmap is float32")
        };
        (c as usize, r as usize, v)
    };
    let (cols, rows, hv) = heat;
    let pos: Vec<bool> = hv.iter().map(|&p| p > 0.5).collect();
    let at = |m: &[bool], c: isize, r: isize, outside: bool| {
        if c < 0 || r < 0 || c >= cols as isize || r >= rows as isize {
            outside
        } else {
            m[r as usize * cols + c as usize]
        }
    };
    let morph = |m: &[bool], dilate: bool| -> Vec<bool> {
        (0..rows * cols)
            .map(|i| {
                let (r, c) = ((i / cols) as isize, (i % cols) as isize);
                let mut n = (-1..=1).flat_map(|dr| (-1..=1).map(move |dc| (dr, dc)));
                if dilate {
                    n.any(|(dr, dc)| at(m, c + dc, r + dr, false))
                } else {
                    n.all(|(dr, dc)| at(m, c + dc, r + dr, true))
                }
            })
            .collect()
    };
    let closed = morph(&morph(&pos, true), false);
    let (w0, h0) = (2220usize, 2967usize);
    let side = 512usize; // 256 px at 10× on a 20× slide
    let mut px = 0u64;
    for j in 0..h0 / 4 {
        for i in 0..w0 / 4 {
            let (c, r) = ((4 * i / side).min(cols - 1), (4 * j / side).min(rows - 1));
            px += closed[r * cols + c] as u64;
        }
    }
    let area = common::annotation_area(&ann);
    assert!(px > 0);
    assert_eq!(area, (px * 16) as f64, "GeoJSON area vs the rule's mask");
    assert!(!common::entries(&out).iter().any(|f| f.contains("broken")));
    // AN1: QuPath's tissue detection with the paper's settings, as GeoJSON
    let o = h2g()
        .arg("preannotate")
        .arg(&slide)
        .args(["--method", "an1", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ann =
        h2g::vector::read_annotations(&out.join(format!("{stem}.tissue-qupath.geojson"))).unwrap();
    let area = common::annotation_area(&ann);
    // the annotation covers the mask written beside it, pixel for pixel: its tissue pixels read
    // back from the TIFF times the area of one at the report's downsample
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join(format!("{stem}.tissue-qupath.json"))).unwrap(),
    )
    .unwrap();
    let (dx, dy) = (
        report["downsample_x"].as_f64().unwrap(),
        report["downsample_y"].as_f64().unwrap(),
    );
    let mask = &common::read_levels(&out.join(format!("{stem}.tissue-qupath.tif")))[0];
    let px = mask.data.iter().filter(|&&v| v != 0).count() as f64;
    assert!(px > 100.0, "{px} tissue pixels");
    assert_eq!(report["tissue_pixels"].as_f64(), Some(px));
    // the corners (pixel corners × the downsample) are written on QuPath's 0.01 grid: each
    // moves at most 0.005 in x and y, so the area moves at most 0.01 × the outline's length
    let perimeter: f64 = ann
        .items
        .iter()
        .flat_map(|i| i.polygons.iter().flatten())
        .map(|r| {
            (0..r.len())
                .map(|k| {
                    let (a, b) = (r[k], r[(k + 1) % r.len()]);
                    (a.0 - b.0).hypot(a.1 - b.1)
                })
                .sum::<f64>()
        })
        .sum();
    assert!(
        (area - px * dx * dy).abs() <= 0.01 * perimeter,
        "GeoJSON area {area} vs {px} mask pixels × {dx} × {dy} (outline {perimeter})"
    );
}

/// Serves `body` once per connection for `n` connections on a local port; returns the URL.
fn serve(body: Vec<u8>, n: usize) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(n) {
            let mut s = stream.unwrap();
            let mut req = [0u8; 4096];
            let _ = s.read(&mut req);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    format!("http://127.0.0.1:{port}/model.onnx")
}

#[test]
fn models_fetch_keeps_only_files_whose_sha256_matches() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(model("patch_classifier.onnx")).unwrap();
    let fetch = |url: &str, extra: &[&str]| {
        h2g()
            .args([
                "models",
                "fetch",
                "test-patch-classifier",
                "--url",
                url,
                "--dir",
            ])
            .arg(dir.path())
            .args(extra)
            .output()
            .unwrap()
    };
    // the right bytes: kept under the manifest's file name
    let o = fetch(&serve(good.clone(), 1), &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(dir.path().join("patch_classifier.onnx")).unwrap(),
        good
    );
    // other bytes: refused, nothing left behind
    std::fs::remove_file(dir.path().join("patch_classifier.onnx")).unwrap();
    let o = fetch(&serve(b"tampered".to_vec(), 1), &[]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("sha256"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        common::entries(dir.path()).is_empty(),
        "{:?}",
        common::entries(dir.path())
    );
    // --sha256 takes the place of the manifest's pin: other bytes are kept when it names them
    // (upper case accepted), refused when it names another digest
    let hex = |b: &[u8]| -> String {
        use sha2::Digest;
        sha2::Sha256::digest(b)
            .iter()
            .map(|v| format!("{v:02x}"))
            .collect()
    };
    let mut other = good.clone();
    let last = other.len() - 1;
    other[last] ^= 1;
    let o = fetch(
        &serve(other.clone(), 1),
        &["--sha256", &hex(&other).to_uppercase()],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(dir.path().join("patch_classifier.onnx")).unwrap(),
        other
    );
    // a refused download leaves the file already there as it was; the message names both digests
    let o = fetch(
        &serve(good.clone(), 1),
        &["--sha256", &hex(b"something else")],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&hex(&good)) && err.contains(&hex(b"something else")),
        "{err}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("patch_classifier.onnx")).unwrap(),
        other
    );
    std::fs::remove_file(dir.path().join("patch_classifier.onnx")).unwrap();
    // offline (nothing listening): a clear error
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = l.local_addr().unwrap().port();
        drop(l);
        format!("http://127.0.0.1:{p}/model.onnx")
    };
    let o = fetch(&closed, &[]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot download"));
    // a published model has no direct URL: said so, with where to get it
    let o = h2g()
        .args(["models", "fetch", "h2g-refinement-unet", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no direct download URL"));
}

#[test]
fn the_real_tissue_model_runs_as_a_tissue_method() {
    let (Some(_), Some(slide)) = (common::runtime(), common::cmu_slide()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // a model of another role is refused
    let o = h2g()
        .arg("tissue")
        .arg(&slide)
        .args([
            "--method",
            "model",
            "--model",
            "test-patch-classifier",
            "-o",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a tissue model"));
    let Some(model) = common::shared("models/superfast_tissue/best_unet.onnx") else {
        return;
    };
    let o = h2g()
        .arg("tissue")
        .arg(&slide)
        .args(["--method", "model", "--geojson", "--model"])
        .arg(&model)
        .arg("-o")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stem = slide.file_stem().unwrap().to_string_lossy().into_owned();
    let rep: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(format!("{stem}.tissue-model.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(rep["method"]["model"], "superfast-tissue");
    assert_eq!(rep["method"]["threshold"].as_f64(), Some(0.6));
    // the real model finds the tissue of this slide: about as much as the paper's rule (39 %)
    let f = rep["tissue_fraction"].as_f64().unwrap();
    assert!((0.30..0.45).contains(&f), "{f}");
    assert!(dir
        .path()
        .join(format!("{stem}.tissue-model.geojson"))
        .is_file());
}

#[test]
fn refinement_models_that_do_not_fit_the_design_are_named_by_variant() {
    use h2g::infer::manifest::resolve;
    use h2g::infer::segment::refine;
    use h2g::infer::{Contract, Device, InferError, Model};
    if let Err(e) = h2g::infer::load_runtime(None) {
        common::skip(&format!("ONNX Runtime: {e}"));
        return;
    }
    let n = 1024 * 1024;
    let (image, heat) = (vec![0.5f32; 3 * n], vec![0.25f32; n]);
    let problem = |name: &str, heat: Option<&[f32]>| {
        let (manifest, path) = resolve(name).unwrap();
        let mut m = Model::open(&path, 1, Device::Cpu).unwrap();
        match refine(&mut m, &manifest, &image, heat.map(|h| (h, 1))) {
            Err(InferError::Contract { problem, .. }) => problem,
            other => panic!("{name}: {:?}", other.map(|v| v.labels.len())),
        }
    };
    assert_eq!(
        problem("test-refinement-4ch", None),
        Contract::NeedsHeatmap("4-channel")
    );
    assert_eq!(
        problem("test-refinement-2in", None),
        Contract::NeedsHeatmap("two-input")
    );
    assert_eq!(
        problem("test-refinement-4ch-nchw", None),
        Contract::NeedsHeatmap("4-channel")
    );
    assert_eq!(
        problem("test-refinement-2in-nchw", None),
        Contract::NeedsHeatmap("two-input")
    );
    // all four with the heatmap run: 1024 × 1024 probabilities, the same in either layout
    let mut probs = Vec::new();
    for name in [
        "test-refinement-4ch",
        "test-refinement-2in",
        "test-refinement-4ch-nchw",
        "test-refinement-2in-nchw",
    ] {
        let (manifest, path) = resolve(name).unwrap();
        let mut m = Model::open(&path, 1, Device::Cpu).unwrap();
        let p = refine(&mut m, &manifest, &image, Some((&heat[..], 1)))
            .unwrap()
            .probability;
        assert_eq!(p.len(), n, "{name}");
        probs.push(p);
    }
    // a flat input away from the border: l1 = -1 - 0.5 · (1 + 1 + 1) + 8 · 0.25 = -0.5
    let inner = 1.0 / (1.0 + 0.5f64.exp());
    for p in &probs {
        assert!(
            (p[512 * 1024 + 512] as f64 - inner).abs() < 1e-6,
            "{}",
            p[512 * 1024 + 512]
        );
        assert_eq!(p.len(), probs[0].len());
        let max = p
            .iter()
            .zip(&probs[0])
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(max < 1e-6, "layouts differ by {max}");
    }
}

/// The vertices of a GeoJSON `coordinates` value (a point, or nested arrays of them), in order.
fn vertices(v: &serde_json::Value) -> Vec<(f64, f64)> {
    let a = v.as_array().unwrap();
    if a.first().is_some_and(|x| x.is_number()) {
        return vec![(a[0].as_f64().unwrap(), a[1].as_f64().unwrap())];
    }
    a.iter().flat_map(vertices).collect()
}

/// Each feature's vertices of a GeoJSON file, features in the file's order.
fn feature_vertices(path: &Path) -> Vec<Vec<(f64, f64)>> {
    let g: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let features = g["features"].as_array().unwrap();
    features
        .iter()
        .map(|f| vertices(&f["geometry"]["coordinates"]))
        .collect()
}

/// Asserts that `qupath` holds the features of `file`, in the same order, every vertex moved by
/// exactly `(-bx, -by)`.
fn assert_moved_by(file: &[Vec<(f64, f64)>], qupath: &[Vec<(f64, f64)>], (bx, by): (f64, f64)) {
    assert_eq!(file.len(), qupath.len(), "feature count");
    for (k, (f, q)) in file.iter().zip(qupath).enumerate() {
        assert_eq!(f.len(), q.len(), "feature {k}: vertex count");
        for (i, (a, b)) in f.iter().zip(q).enumerate() {
            assert_eq!(
                (a.0 - bx, a.1 - by),
                *b,
                "feature {k} vertex {i}: file frame {a:?}, QuPath frame {b:?}"
            );
        }
    }
}

/// `h2g preannotate` of fixtures/slides/leica-bounds.scn (OpenSlide's bounds: the main image at
/// (1000, 500) of a 4000 × 3000 collection, its README says) at 0.5 µm/px with `args`, into
/// `dir/sub`, which it returns.
fn preannotate_bounded(dir: &Path, sub: &str, args: &[&str]) -> PathBuf {
    let slide = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/slides/leica-bounds.scn");
    let out = dir.join(sub);
    let o = h2g()
        .arg("preannotate")
        .arg(&slide)
        .args(["--mpp", "0.5", "-o"])
        .arg(&out)
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

#[test]
fn preannotate_an2_in_qupaths_frame_moves_every_vertex_by_the_bounds_origin() {
    if common::runtime().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = |sub: &str, frame: &[&str]| {
        let mut args = vec!["--model", "test-patch-classifier"];
        args.extend_from_slice(frame);
        let out = preannotate_bounded(dir.path(), sub, &args);
        let report: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.join("leica-bounds.preannotate-an2.json")).unwrap(),
        )
        .unwrap();
        (out.join("leica-bounds.preannotate-an2.geojson"), report)
    };
    let (file, file_rep) = run("file", &[]);
    let (qupath, q_rep) = run("qupath", &["--frame", "qupath"]);
    let (alias, _) = run("alias", &["--qupath-frame"]);
    assert_eq!(file_rep["qupath_frame"], false);
    assert_eq!(q_rep["qupath_frame"], true);
    // the two spellings of the flag write the same file
    assert_eq!(
        std::fs::read(&qupath).unwrap(),
        std::fs::read(&alias).unwrap()
    );
    // by hand: at 0.5 µm/px the 10× patches are 512 level-0 px, an 8 × 6 grid of the 4000 ×
    // 3000 slide; the (180, 90, 160) rectangle (file frame 1400..2400 × 800..1400) covers half
    // or more of cells (3, 2) (1536..2048 × 1024..1536: 376/512 of it) and (4, 2) (352 · 376 /
    // 512² = 0.505 of it) only, so two cells run
    assert_eq!(file_rep["cells_run"].as_u64(), Some(2));
    let (f, q) = (feature_vertices(&file), feature_vertices(&qupath));
    // the test classifier puts both over 0.5: one rectangle, 1536..2560 × 1024..1536
    assert_eq!(file_rep["cells_positive"].as_u64(), Some(2));
    assert_eq!(f.len(), 1);
    let extent = f[0]
        .iter()
        .fold((f64::MAX, f64::MIN, f64::MAX, f64::MIN), |a, &(x, y)| {
            (a.0.min(x), a.1.max(x), a.2.min(y), a.3.max(y))
        });
    assert_eq!(extent, (1536.0, 2560.0, 1024.0, 1536.0));
    assert_moved_by(&f, &q, (1000.0, 500.0));
}

#[test]
fn preannotate_an1_in_qupaths_frame_moves_every_vertex_by_the_bounds_origin() {
    let dir = tempfile::tempdir().unwrap();
    let [f, q] = [("file", None), ("qupath", Some("qupath"))].map(|(sub, frame)| {
        let mut args = vec!["--method", "an1"];
        args.extend(frame.iter().flat_map(|f| ["--frame", f]));
        let out = preannotate_bounded(dir.path(), sub, &args);
        feature_vertices(&out.join("leica-bounds.tissue-qupath.geojson"))
    });
    // QuPath's detection at downsample 40 finds the rectangle, one annotation (tests/tissue.rs
    // works it by hand)
    assert_eq!(f.len(), 1);
    assert_moved_by(&f, &q, (1000.0, 500.0));
}

/// A 2048 × 1024 RGB picture (given 1 µm/px): neutral grey 150 left of x = 768, pale pink
/// (250, 220, 250) from there on.
fn grey_and_pink(path: &Path) {
    let (w, h) = (2048usize, 1024usize);
    let mut px = Vec::with_capacity(w * h * 3);
    for _ in 0..h {
        for x in 0..w {
            px.extend_from_slice(if x < 768 {
                &[150, 150, 150]
            } else {
                &[250, 220, 250]
            });
        }
    }
    common::write_png(
        path,
        w as u32,
        h as u32,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        &px,
        None,
    );
}

#[test]
fn heatmap_segment_and_preannotate_reports_name_the_gate_that_ran_and_its_cell_count() {
    if common::runtime().is_none() {
        return;
    }
    // Why the gates must differ here: grey 150 has saturation 0 (under the paper's 20) but lies
    // √3 · 105 = 181.9 from white (over FAST's 85): FAST's tissue, the saturation rule's glass.
    // Pink (250, 220, 250) has saturation 255 · 30 / 250 = 30.6 (tissue for the paper) and lies
    // √(5² + 35² + 5²) = 35.7 from white (glass for FAST). At 10× (1 µm/px) the test
    // classifier's 256-px patches make an 8 × 4 grid; the split at x = 768 is a patch edge and
    // pixel 96 of the saturation rule's 1.25× image, and closings leave half-planes as they
    // are, so FAST runs columns 0..3 (12 patches) and the saturation rule columns 3..8 (20).
    let dir = tempfile::tempdir().unwrap();
    let pic = dir.path().join("halves.png");
    grey_and_pink(&pic);
    // each command, its report and where in it the heatmap's fields are
    let commands: [(&[&str], &str, &str); 3] = [
        (&["heatmap"], "halves.heatmap.json", ""),
        (
            &["segment", "--design", "pw"],
            "halves.segment-pw.json",
            "/heatmap",
        ),
        (&["preannotate"], "halves.preannotate-an2.json", ""),
    ];
    for (command, report, at) in commands {
        for (gate, want, cells) in [
            (None, "saturation", 20),
            (Some("saturation"), "saturation", 20),
            (Some("fast"), "fast", 12),
        ] {
            let out = dir.path().join(format!("{}-{gate:?}", command[0]));
            let o = h2g()
                .args(command)
                .arg(&pic)
                .args(["--model", "test-patch-classifier", "--mpp", "1.0", "-o"])
                .arg(&out)
                .args(gate.iter().flat_map(|g| ["--gate", g]))
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let rep: serde_json::Value =
                serde_json::from_slice(&std::fs::read(out.join(report)).unwrap()).unwrap();
            let what = format!("{command:?} --gate {gate:?}");
            assert_eq!(rep.pointer(&format!("{at}/gate")).unwrap(), want, "{what}");
            assert_eq!(
                rep.pointer(&format!("{at}/cells_run"))
                    .and_then(|v| v.as_u64()),
                Some(cells),
                "{what}"
            );
        }
    }
    // the heatmap report's grid, as worked above
    let rep: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("heatmap-None/halves.heatmap.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        (rep["grid"]["cols"].as_u64(), rep["grid"]["rows"].as_u64()),
        (Some(8), Some(4))
    );
}

#[test]
fn segment_reports_the_contract_each_model_ran_under_and_which_flags_changed_it() {
    let (Some(slide), Some(_)) = (common::cmu_slide(), common::runtime()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = |sub: &str, extra: &[&str]| -> serde_json::Value {
        let out = dir.path().join(sub);
        let o = h2g()
            .arg("segment")
            .arg(&slide)
            .args(["--design", "h2g", "--model", "test-patch-classifier"])
            .args(["--refine-model", "test-contract-doubleunet", "-o"])
            .arg(&out)
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let stem = slide.file_stem().unwrap().to_string_lossy();
        serde_json::from_slice(
            &std::fs::read(out.join(format!("{stem}.segment-h2g.json"))).unwrap(),
        )
        .unwrap()
    };
    // as the manifests say: test-patch-classifier div255 rgb; the DoubleU-Net contract meanstd
    // (ImageNet's), output 1
    let plain = run("plain", &[]);
    let (p, r) = (&plain["patch_model"], &plain["refine_model"]);
    assert_eq!(
        (&p["scaling"], &p["channel_order"]),
        (&"div255".into(), &"rgb".into())
    );
    assert_eq!(p["overridden"], serde_json::json!([]));
    assert_eq!(r["scaling"], "meanstd");
    assert_eq!(r["mean_std"][0], serde_json::json!([0.485, 0.456, 0.406]));
    assert_eq!(r["output"], 1);
    assert_eq!(r["overridden"], serde_json::json!([]));
    // flags replace fields, and the report says which
    let flagged = run(
        "flagged",
        &[
            "--model-scaling",
            "symmetric",
            "--refine-channel-order",
            "bgr",
            "--refine-output",
            "0",
        ],
    );
    let (p, r) = (&flagged["patch_model"], &flagged["refine_model"]);
    assert_eq!(p["scaling"], "symmetric");
    assert_eq!(p["overridden"], serde_json::json!(["scaling"]));
    assert_eq!(
        (&r["channel_order"], &r["output"]),
        (&"bgr".into(), &0.into())
    );
    assert_eq!(
        r["overridden"],
        serde_json::json!(["channel_order", "output"])
    );
}
