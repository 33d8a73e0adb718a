//! A command's outputs as one set: a run that fails part-way leaves the earlier set as it was
//! and no temporary file; a sidecar of an earlier run that this one does not write goes; an
//! output folder that is a file is refused by its name.

use std::path::Path;
use std::process::Command;

use super::common::{cmu_slide, entries, tree};
use super::support::{corpus, BIN};

fn h2g(args: &[&str]) -> (i32, String) {
    let o = Command::new(BIN).args(args).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    (o.status.code().unwrap_or(-1), err)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_tissue_run_failing_after_its_mask_leaves_the_earlier_set_whole() {
    let Some(slide) = cmu_slide() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (code, err) = h2g(&["tissue", s(&slide), "-o", s(&out)]);
    assert_eq!(code, 0, "{err}");
    let first = tree(&out);
    let report = first.keys().find(|k| k.ends_with(".json")).unwrap().clone();
    let listed: serde_json::Value = serde_json::from_slice(&first[&report]).unwrap();
    let names: Vec<&str> = listed["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().all(|n| first.contains_key(*n)), "{names:?}");
    // the GeoJSON's place is taken by a folder: the rerun fails after the TIFF and PNG are done
    let geojson = report.replace(".json", ".geojson");
    std::fs::create_dir(out.join(&geojson)).unwrap();
    let (code, err) = h2g(&["tissue", s(&slide), "-o", s(&out), "--geojson"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is an existing directory"), "{err}");
    // no temporary name (`.NAME.XXXXXX.tmp`) in the message
    assert!(!err.contains(".tif.") && !err.contains(".png."), "{err}");
    assert_eq!(tree(&out), first, "the earlier set changed");
    let mut want: Vec<String> = first.keys().cloned().chain([geojson]).collect();
    want.sort();
    assert_eq!(entries(&out), want, "something new or temporary was left");
}

/// A 2 × 2 8-bit PNG: palette (labels 0 and 1, red and green) or grey.
fn png(path: &Path, palette: bool) {
    let f = std::fs::File::create(path).unwrap();
    let mut e = png::Encoder::new(f, 2, 2);
    if palette {
        e.set_color(png::ColorType::Indexed);
        e.set_palette(vec![255, 0, 0, 0, 255, 0]);
    } else {
        e.set_color(png::ColorType::Grayscale);
    }
    e.set_depth(png::BitDepth::Eight);
    let mut w = e.write_header().unwrap();
    w.write_image_data(&[0, 1, 1, 0]).unwrap();
}

#[test]
fn a_palette_sidecar_of_an_earlier_conversion_goes_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let (pal, grey) = (dir.path().join("pal.png"), dir.path().join("grey.png"));
    png(&pal, true);
    png(&grey, false);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let tif = out.join("m.tif");
    let (code, err) = h2g(&["convert-mask", s(&pal), s(&tif), "-q"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(entries(&out), ["m.palette.json", "m.tif"]);
    let (code, err) = h2g(&["convert-mask", s(&grey), s(&tif), "-q"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(entries(&out), ["m.tif"]);
    // a file of that name that h2g did not write is left alone
    std::fs::write(out.join("m.palette.json"), "my notes").unwrap();
    let (code, err) = h2g(&["convert-mask", s(&grey), s(&tif), "-q"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(entries(&out), ["m.palette.json", "m.tif"]);
}

#[test]
fn an_output_folder_that_is_a_file_is_refused_by_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("taken");
    std::fs::write(&file, "x").unwrap();
    let slide = corpus("white-slide.png");
    let (code, err) = h2g(&["tissue", s(&slide), "-o", s(&file)]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "-o {} is an existing file, not a folder",
            file.display()
        )),
        "{err}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}
