//! Patch tables: exact fractions on known geometry, conservation of area, labels, CSV, errors.

mod common;

use std::sync::Arc;

use assert_cmd::Command;
use h2g::mask::MemoryRows;
use h2g::patches::{
    area_fractions, build_patches, write_csv, MaskFile, PatchError, PatchGrid, PatchLabel,
    PatchSpec, TissueSource,
};
use h2g::slide::{Slide, SlideMeta, SyntheticSlide};
use h2g::tissue::Method;
use proptest::prelude::*;

fn synthetic() -> SyntheticSlide {
    SyntheticSlide::new(4096, 2048, &[1.0, 4.0, 16.0])
        .with_property("openslide.mpp-x", "0.5")
        .with_property("openslide.mpp-y", "0.5")
        .with_property("openslide.objective-power", "20")
}

/// A downsample-`ds` mask of the slide, foreground where `f(level-0 x, y)`.
fn mask_png(
    dir: &std::path::Path,
    name: &str,
    ds: u32,
    f: impl Fn(u32, u32) -> bool,
) -> std::path::PathBuf {
    let (w, h) = (4096 / ds, 2048 / ds);
    let px: Vec<u8> = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .map(|(x, y)| if f(x * ds, y * ds) { 255 } else { 0 })
        .collect();
    let p = dir.join(name);
    common::write_gray8(&p, w, h, &px);
    p
}

#[test]
fn fractions_and_labels_on_known_geometry() {
    let s = synthetic();
    let meta = SlideMeta::from_properties(s.properties(), None);
    let dir = tempfile::tempdir().unwrap();
    // tumour: level-0 x < 2176 (4 whole patch columns of 512 px, then a quarter of the 5th)
    let tumour = mask_png(dir.path(), "tumour.png", 4, |x, _| x < 2176);
    let tissue = mask_png(dir.path(), "tissue.png", 16, |_, _| true);
    let t = build_patches(
        &s,
        &meta,
        &PatchSpec::default(),
        &TissueSource::Mask(MaskFile {
            path: tissue,
            downsample: Some(16.0),
            label: None,
            class: None,
        }),
        Some(&MaskFile {
            path: tumour,
            downsample: Some(4.0),
            label: None,
            class: None,
        }),
        &|_| {},
    )
    .unwrap();
    // 10x on a 20x slide: downsample 2, 512-px footprints: 8 × 4 patches
    assert_eq!((t.grid.cols, t.grid.rows, t.plan.level), (8, 4, 0));
    for p in &t.patches {
        let col = p.x / 512;
        assert_eq!(p.tissue_fraction, 1.0);
        let (want_f, want_l) = match col {
            0..=3 => (1.0, PatchLabel::Tumour),
            4 => (0.25, PatchLabel::Ambiguous), // 0.25 is not > 0.25
            _ => (0.0, PatchLabel::NonTumour),
        };
        assert_eq!(
            (p.tumour_fraction, p.label),
            (Some(want_f), want_l),
            "patch at x {}",
            p.x
        );
    }
    // CSV: kept rows only by default, all with --all
    let mut csv = Vec::new();
    assert_eq!(write_csv(&mut csv, &t, false).unwrap(), 28);
    let text = String::from_utf8(csv).unwrap();
    assert!(text.starts_with(
        "slide,x,y,level,downsample,width,height,tissue_fraction,tumour_fraction,label\n"
    ));
    assert!(text
        .lines()
        .nth(1)
        .unwrap()
        .ends_with(",0,0,0,2,512,512,1.000000,1.000000,tumour"));
    assert_eq!(write_csv(&mut Vec::new(), &t, true).unwrap(), 32);
}

#[test]
fn detected_tissue_keeps_the_disc_and_drops_the_glass() {
    let s = synthetic();
    let meta = SlideMeta::from_properties(s.properties(), None);
    let t = build_patches(
        &s,
        &meta,
        &PatchSpec::default(),
        &TissueSource::Detect(Method::paper()),
        None,
        &|_| {},
    )
    .unwrap();
    let (cx, cy, r) = s.disc();
    for p in &t.patches {
        // patch centre distance to the disc centre
        let d = ((p.x as f64 + 256.0 - cx).powi(2) + (p.y as f64 + 256.0 - cy).powi(2)).sqrt();
        if d + 363.0 < r {
            assert!(
                p.tissue_fraction > 0.99 && p.label == PatchLabel::Unlabelled,
                "{p:?}"
            );
        }
        if d - 363.0 > r {
            assert!(
                p.tissue_fraction < 0.01 && p.label == PatchLabel::Background,
                "{p:?}"
            );
        }
    }
}

#[test]
fn tumour_label_selects_one_class_of_a_label_mask() {
    let s = synthetic();
    let meta = SlideMeta::from_properties(s.properties(), None);
    let dir = tempfile::tempdir().unwrap();
    // labels: 1 (stroma) on the left half, 2 (tumour) on the right half
    let (w, h) = (1024u32, 512u32);
    let px: Vec<u8> = (0..h)
        .flat_map(|_| (0..w).map(|x| if x < 512 { 1 } else { 2 }))
        .collect();
    let p = dir.path().join("labels.png");
    common::write_gray8(&p, w, h, &px);
    let all_tissue = mask_png(dir.path(), "tissue.png", 16, |_, _| true);
    let t = build_patches(
        &s,
        &meta,
        &PatchSpec::default(),
        &TissueSource::Mask(MaskFile {
            path: all_tissue,
            downsample: None,
            label: None,
            class: None,
        }),
        Some(&MaskFile {
            path: p,
            downsample: None,
            label: Some(2),
            class: None,
        }),
        &|_| {},
    )
    .unwrap();
    for q in &t.patches {
        assert_eq!(
            q.label,
            if q.x < 2048 {
                PatchLabel::NonTumour
            } else {
                PatchLabel::Tumour
            }
        );
    }
}

#[test]
fn a_mask_of_the_wrong_scale_is_refused() {
    let s = synthetic();
    let meta = SlideMeta::from_properties(s.properties(), None);
    let dir = tempfile::tempdir().unwrap();
    let tumour = mask_png(dir.path(), "tumour.png", 4, |x, _| x < 100);
    let e = build_patches(
        &s,
        &meta,
        &PatchSpec::default(),
        &TissueSource::Detect(Method::paper()),
        Some(&MaskFile {
            path: tumour.clone(),
            downsample: Some(8.0),
            label: None,
            class: None,
        }),
        &|_| {},
    )
    .unwrap_err();
    assert!(matches!(e, PatchError::MaskSize { .. }), "{e}");
    assert!(
        e.to_string().contains("1024 × 512") && e.to_string().contains("--mask-downsample"),
        "{e}"
    );
    // and from the command line: exit 1, nothing written
    let Some(slide) = common::cmu_slide() else {
        return;
    };
    let out = dir.path().join("p.csv");
    let run = Command::cargo_bin("h2g")
        .unwrap()
        .arg("patches")
        .arg(&slide)
        .arg("-o")
        .arg(&out)
        .arg("--mask")
        .arg(&tumour)
        .args(["--mask-downsample", "4"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert!(!out.exists());
}

#[test]
fn cli_patches_and_export_on_the_real_slide() {
    let Some(slide) = common::cmu_slide() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // a real-slide-sized downsample-4 mask (floor(2220/4) × floor(2967/4)) with a tumour disc
    let (w, h) = (555u32, 741u32);
    let px: Vec<u8> = (0..h)
        .flat_map(|y| {
            (0..w).map(move |x| {
                u8::from((x as i32 - 280).pow(2) + (y as i32 - 370).pow(2) < 150 * 150)
            })
        })
        .collect();
    let mask = dir.path().join("mask.png");
    common::write_gray8(&mask, w, h, &px);
    let csv = dir.path().join("p.csv");
    let exp = dir.path().join("png");
    let patches = |extra: &[&str]| {
        Command::cargo_bin("h2g")
            .unwrap()
            .arg("patches")
            .arg(&slide)
            .arg("-o")
            .arg(&csv)
            .arg("--mask")
            .arg(&mask)
            .args(["--mask-downsample", "4", "--export"])
            .arg(&exp)
            .args(extra)
            .output()
            .unwrap()
    };
    let run = patches(&[]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let rows = std::fs::read_to_string(&csv).unwrap().lines().count() - 1;
    let pngs = std::fs::read_dir(&exp).unwrap().count();
    assert!(rows > 0 && rows == pngs, "{rows} rows, {pngs} PNGs");
    assert!(std::fs::read_dir(&exp).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with("_tumour.png")));

    // the CSV and the PNGs are one set: a rerun keeping fewer patches removes the PNGs of the
    // earlier export that it did not write, and leaves files not named as an export alone
    std::fs::write(exp.join("notes.png"), b"mine").unwrap();
    let names = || -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&exp)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let fewer = patches(&["--min-tissue", "0.9"]);
    assert!(
        fewer.status.success(),
        "{}",
        String::from_utf8_lossy(&fewer.stderr)
    );
    let csv_text = std::fs::read_to_string(&csv).unwrap();
    let rows2 = csv_text.lines().count() - 1;
    assert!(rows2 > 0 && rows2 < rows, "{rows2} rows after {rows}");
    let stem = slide.file_stem().unwrap().to_string_lossy();
    let mut want: Vec<String> = csv_text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{stem}_x{}_y{}_{}.png", f[1], f[2], f[9])
        })
        .chain(["notes.png".to_string()])
        .collect();
    want.sort();
    assert_eq!(names(), want);
    // a run that fails (a missing mask) leaves the earlier set as it was, and no new file
    let before = (csv_text.clone(), names());
    let bad = Command::cargo_bin("h2g")
        .unwrap()
        .arg("patches")
        .arg(&slide)
        .arg("-o")
        .arg(&csv)
        .args(["--mask", "no-such-mask.png", "--export"])
        .arg(&exp)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!((std::fs::read_to_string(&csv).unwrap(), names()), before);
    // an export folder that is a file is named, before anything is read or written
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let other_csv = dir.path().join("q.csv");
    let o = Command::cargo_bin("h2g")
        .unwrap()
        .arg("patches")
        .arg(&slide)
        .arg("-o")
        .arg(&other_csv)
        .arg("--export")
        .arg(&file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "--export {}: is an existing file, not a folder",
            file.display()
        )),
        "{err}"
    );
    assert!(!other_csv.exists());
}

#[test]
fn blank_glass_has_no_patches() {
    let s = synthetic().without_tissue();
    let meta = SlideMeta::from_properties(s.properties(), None);
    let e = build_patches(
        &s,
        &meta,
        &PatchSpec::default(),
        &TissueSource::Detect(Method::fast()),
        None,
        &|_| {},
    )
    .unwrap_err();
    assert!(matches!(e, PatchError::NoTissue { .. }), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// Labels follow the thresholds: kept iff tissue > min; tumour iff > min; non-tumour iff 0.
    #[test]
    fn labels_follow_the_thresholds(tissue in 0.0f64..=1.0, tumour in prop_oneof![Just(0.0f64), 0.0f64..=1.0], mt in 0.0f64..0.9, mu in 0.0f64..0.9) {
        let r = h2g::patches::LabelRule { min_tissue: mt, min_tumour: mu };
        let l = r.label(tissue, Some(tumour));
        prop_assert_eq!(l.kept(), tissue > mt && (tumour > mu || tumour == 0.0));
        prop_assert_eq!(l == PatchLabel::Tumour, tissue > mt && tumour > mu);
        prop_assert_eq!(l == PatchLabel::NonTumour, tissue > mt && tumour == 0.0 && tumour <= mu);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    /// Σ fraction × patch area = mask area inside the grid, and every fraction is in [0, 1].
    #[test]
    fn fractions_conserve_area(
        mw in 1u32..40, mh in 1u32..40, ds in 1u32..9, size in 1u32..20, pds in 1u32..5, seed in any::<u64>()
    ) {
        let (w0, h0) = (mw as u64 * ds as u64, mh as u64 * ds as u64);
        let grid = PatchGrid::new(w0, h0, size, pds as f64);
        prop_assume!(!grid.is_empty());
        let mask: Vec<u8> = (0..mw * mh).map(|i| ((i as u64 + 1).wrapping_mul(seed | 1) >> 7).is_multiple_of(3) as u8).collect();
        let mut rows = MemoryRows::new(Arc::new(mask.clone()), mw as usize);
        let f = area_fractions(&mut rows, mw, mh, (ds as f64, ds as f64), &grid, |v: u8| v != 0, |_| {}).unwrap();
        prop_assert!(f.iter().all(|v| (0.0..=1.0).contains(v)));
        let side = grid.side();
        let (gw, gh) = (grid.cols as f64 * side, grid.rows as f64 * side);
        let mut want = 0.0;
        for y in 0..mh {
            for x in 0..mw {
                if mask[(y * mw + x) as usize] != 0 {
                    let ox = ((x + 1) as f64 * ds as f64).min(gw) - (x as f64 * ds as f64).min(gw);
                    let oy = ((y + 1) as f64 * ds as f64).min(gh) - (y as f64 * ds as f64).min(gh);
                    want += ox * oy;
                }
            }
        }
        let got: f64 = f.iter().sum::<f64>() * side * side;
        prop_assert!((got - want).abs() < 1e-6 * want.max(1.0), "got {got}, want {want}");
    }
}

#[test]
fn geojson_annotations_give_the_same_fractions_as_the_mask() {
    let s = synthetic();
    let meta = SlideMeta::from_properties(s.properties(), None);
    let dir = tempfile::tempdir().unwrap();
    let gj = dir.path().join("ann.geojson");
    std::fs::write(
        &gj,
        r#"{"type": "FeatureCollection", "features": [
          {"type": "Feature", "id": "a", "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [2176, 0], [2176, 2048], [0, 2048], [0, 0]]]},
           "properties": {"objectType": "annotation", "classification": {"name": "Tumor", "colorRGB": -3670016}}},
          {"type": "Feature", "id": "b", "geometry": {"type": "Polygon", "coordinates": [[[3000, 0], [4096, 0], [4096, 2048], [3000, 2048], [3000, 0]]]},
           "properties": {"objectType": "annotation", "classification": "Stroma"}}]}"#,
    )
    .unwrap();
    let tissue = mask_png(dir.path(), "tissue.png", 16, |_, _| true);
    let t = build_patches(
        &s,
        &meta,
        &PatchSpec::default(),
        &TissueSource::Mask(MaskFile {
            path: tissue,
            downsample: Some(16.0),
            label: None,
            class: None,
        }),
        Some(&MaskFile {
            path: gj,
            downsample: None,
            label: None,
            class: Some("Tumor".into()),
        }),
        &|_| {},
    )
    .unwrap();
    for p in &t.patches {
        let want = match p.x / 512 {
            0..=3 => 1.0,
            4 => 0.25,
            _ => 0.0,
        };
        assert_eq!(p.tumour_fraction, Some(want), "patch at x {}", p.x);
    }
}
