//! Slide access: level selection, reading at resolutions no level has, metadata, and the real
//! slides (when present) including the clear refusal of the DICOM file.

mod common;

use std::path::Path;

use assert_cmd::Command;
use h2g::slide::{
    plan_read, read_at, OpenSlideSlide, Slide, SlideError, SlideMeta, SyntheticSlide,
};
use h2g::units::Resolution;
use predicates::prelude::*;

fn synthetic() -> SyntheticSlide {
    SyntheticSlide::new(4000, 3000, &[1.0, 4.0, 16.0])
        .with_property("openslide.mpp-x", "0.25")
        .with_property("openslide.mpp-y", "0.25")
        .with_property("openslide.objective-power", "40")
}

/// Halves `src` by averaging each 2 × 2 block, rounded half up: written for the tests, as the
/// expected value of a read halfway between levels.
fn mean_2x2(src: &h2g::slide::RgbImage) -> h2g::slide::RgbImage {
    let (w, h) = (src.width as usize / 2, src.height as usize / 2);
    let mut data = Vec::with_capacity(3 * w * h);
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let at = |dx: usize, dy: usize| {
                    src.data[3 * ((2 * y + dy) * src.width as usize + 2 * x + dx) + c] as u32
                };
                data.push(((at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1) + 2) / 4) as u8);
            }
        }
    }
    h2g::slide::RgbImage {
        width: w as u32,
        height: h as u32,
        data,
    }
}

#[test]
fn level_selection_by_magnification_and_mpp() {
    let s = synthetic();
    let m = SlideMeta::from_properties(s.properties(), None);
    let p = plan_read(&s, &m, Resolution::Magnification(10.0)).unwrap();
    assert_eq!((p.level, p.exact()), (1, true));
    let p = plan_read(&s, &m, Resolution::Mpp(1.0)).unwrap();
    assert_eq!((p.level, p.exact()), (1, true));
    // 5× has no level: read 10× (level 1) and shrink by 2
    let p = plan_read(&s, &m, Resolution::Magnification(5.0)).unwrap();
    assert_eq!((p.level, p.shrink()), (1, 2.0));
    // finer than level 0: level 0, enlarged
    let p = plan_read(&s, &m, Resolution::Magnification(80.0)).unwrap();
    assert_eq!(p.level, 0);
    assert!(p.shrink() < 1.0);
}

#[test]
fn reading_between_levels_equals_shrinking_the_finer_level() {
    let s = synthetic();
    let m = SlideMeta::from_properties(s.properties(), None);
    let p = plan_read(&s, &m, Resolution::Magnification(5.0)).unwrap();
    let got = read_at(&s, &p, 800, 400, 50, 40).unwrap();
    // level 1 region covering it, averaged 2×2
    let l1 = s.read_region(1, 200, 100, 100, 80).unwrap();
    let want = mean_2x2(&l1);
    assert_eq!(got, want);
    assert_eq!((got.width, got.height), (50, 40));
}

#[test]
fn strip_reads_equal_one_read() {
    let s = synthetic();
    let m = SlideMeta::from_properties(s.properties(), None);
    for mag in [5.0, 10.0, 3.3] {
        let p = plan_read(&s, &m, Resolution::Magnification(mag)).unwrap();
        let one = h2g::slide::read_at_in_strips(&s, &p, (120, 40), (70, 53), 1e12).unwrap();
        let strips = h2g::slide::read_at_in_strips(&s, &p, (120, 40), (70, 53), 500.0).unwrap();
        let diff = one
            .data
            .iter()
            .zip(&strips.data)
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(diff, 0, "{mag}x: {diff} bytes differ");
    }
}

#[test]
fn physical_resolution_without_metadata_is_a_clear_error_until_mpp_is_given() {
    let s = SyntheticSlide::new(1000, 1000, &[1.0, 4.0]);
    let m = SlideMeta::from_properties(s.properties(), None);
    let e = plan_read(&s, &m, Resolution::Magnification(10.0)).unwrap_err();
    assert!(matches!(e, SlideError::NoScale { .. }));
    assert!(e.to_string().contains("--mpp"), "{e}");
    let m = SlideMeta::from_properties(s.properties(), Some(0.25));
    assert_eq!(
        plan_read(&s, &m, Resolution::Magnification(10.0))
            .unwrap()
            .level,
        1
    );
}

#[test]
fn real_svs_reads_at_a_magnification_it_does_not_store() {
    let Some(path) = common::cmu_slide() else {
        return;
    };
    let s = OpenSlideSlide::open(&path).unwrap();
    let m = SlideMeta::from_properties(s.properties(), None);
    assert_eq!(s.vendor().as_deref(), Some("aperio"));
    assert_eq!(s.level_size(0).unwrap(), (2220, 2967));
    assert_eq!(m.objective, Some(20.0));
    assert!((m.mpp.unwrap().x - 0.499).abs() < 1e-9);
    assert_eq!(s.associated_names().len(), 3);
    // 10× on a 20× single-level slide: level 0 shrunk by 2
    let p = plan_read(&s, &m, Resolution::Magnification(10.0)).unwrap();
    assert_eq!((p.level, p.shrink()), (0, 2.0));
    let got = read_at(&s, &p, 1000, 1000, 64, 48).unwrap();
    let l0 = s.read_region(0, 1000, 1000, 128, 96).unwrap();
    assert_eq!(got, mean_2x2(&l0));
    // real tissue, not blank
    assert!(got.data.iter().any(|&v| v < 200));
}

/// Opens `path` with the direct JPEG tile reader and through OpenSlide alone, requires the
/// direct reader to be in use, and compares at every level the regions `fixed(w, h)` of the
/// level's size plus `random` seeded ones (up to 20 px past the edges, at most `max` pixels
/// wide and high). Returns the number of levels.
fn assert_direct_equals_openslide(
    path: &Path,
    seed: u64,
    random: usize,
    max: (u64, u64),
    fixed: impl Fn(u64, u64) -> Vec<(u64, u64, u32, u32)>,
) -> usize {
    let direct = OpenSlideSlide::open(path).unwrap();
    let plain = OpenSlideSlide::open_with(path, false).unwrap();
    assert!(
        direct.reader().contains("decoded directly"),
        "{}",
        direct.reader()
    );
    assert!(!plain.reader().contains("decoded directly"));
    let mut seed = seed;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for level in 0..direct.level_count() {
        let (w, h) = direct.level_size(level).unwrap();
        let mut rects = fixed(w, h);
        for _ in 0..random {
            let (x, y) = (next(w + 20), next(h + 20));
            rects.push((x, y, 1 + next(max.0) as u32, 1 + next(max.1) as u32));
        }
        for (x, y, rw, rh) in rects {
            let a = direct.read_region(level, x, y, rw, rh).unwrap();
            let b = plain.read_region(level, x, y, rw, rh).unwrap();
            assert!(a == b, "level {level} region {x},{y} {rw}×{rh} differs");
        }
    }
    direct.level_count()
}

#[test]
fn direct_jpeg_tiles_equal_openslide_byte_for_byte_on_a_real_svs() {
    let Some(path) = common::cmu_slide() else {
        return;
    };
    // Aperio RGB-declared JPEG tiles with shared tables (the colour-space override is
    // exercised): whole tiles, the whole slide, the right and bottom edges and beyond them
    let fixed = |w: u64, h: u64| {
        vec![
            (0, 0, 240, 240),
            (0, 0, w as u32, h as u32),
            (w - 5, h - 7, 300, 200),
        ]
    };
    assert_direct_equals_openslide(&path, 0x9E37_79B9_7F4A_7C15, 60, (700, 500), fixed);
}

#[test]
fn direct_jpeg_tiles_equal_openslide_at_every_level_of_a_ycbcr_420_pyramid() {
    // fixtures/slides: libvips, 4:2:0 chroma, shared tables, 5 levels (its README says how made)
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/slides/vips-ycbcr420-pyramid.tif");
    let bytes = std::fs::read(&path).unwrap();
    // the first tile's frame header: three components, luma sampled 2×2 (4:2:0), chroma 1×1
    let sof = bytes.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
    assert_eq!(
        (
            bytes[sof + 9],
            bytes[sof + 11],
            bytes[sof + 14],
            bytes[sof + 17]
        ),
        (3, 0x22, 0x11, 0x11)
    );
    // the whole level, a tile seam, the far corner and beyond it
    let fixed = |w: u64, h: u64| {
        vec![
            (0, 0, w as u32, h as u32),
            (120, 120, 16, 16),
            (w.saturating_sub(3), h.saturating_sub(2), 40, 30),
        ]
    };
    let levels =
        assert_direct_equals_openslide(&path, 0x2545_f491_4f6c_dd1d, 12, (300, 200), fixed);
    assert_eq!(levels, 5);
}

#[test]
fn a_truncated_copy_of_a_real_slide_is_called_damaged() {
    let Some(path) = common::cmu_slide() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.svs");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&cut, &bytes[..300_000]).unwrap();
    Command::cargo_bin("h2g")
        .unwrap()
        .arg("info")
        .arg(&cut)
        .assert()
        .code(1)
        .stderr(
            predicates::str::contains("it is a damaged TIFF").and(predicates::str::contains(
                "past the end of the file (300000 bytes): a truncated copy?",
            )),
        );
}

#[test]
fn real_jpeg2000_svs_without_scale_metadata() {
    let Some(path) = common::shared("slides/tcga-cr-7395-01a-01-ts1.svs") else {
        return;
    };
    let s = OpenSlideSlide::open(&path).unwrap();
    let m = SlideMeta::from_properties(s.properties(), None);
    assert_eq!((m.mpp, m.objective), (None, None));
    assert_eq!(s.level_count(), 2);
    let img = s.read_region(1, 1000, 800, 64, 64).unwrap();
    assert!(
        img.data.iter().any(|&v| v < 200),
        "JPEG 2000 tiles decode to tissue"
    );
    assert!(plan_read(&s, &m, Resolution::Magnification(10.0)).is_err());
}

#[test]
fn cli_info_on_real_slides_and_the_dicom_refusal() {
    if let Some(path) = common::cmu_slide() {
        let out = Command::cargo_bin("h2g")
            .unwrap()
            .arg("info")
            .arg(&path)
            .arg("--json")
            .output()
            .unwrap();
        assert!(out.status.success());
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["objective"], 20.0);
        assert_eq!(v["levels"][0]["width"], 2220);
    }
    if let Some(dcm) = common::shared("slides/pathml_small_dicom.dcm") {
        let out = Command::cargo_bin("h2g")
            .unwrap()
            .arg("info")
            .arg(&dcm)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("pathml_small_dicom.dcm") && err.contains("DICOM"),
            "{err}"
        );
    }
    let out = Command::cargo_bin("h2g")
        .unwrap()
        .args(["info", "no-such-slide.svs"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such file"));
}

#[test]
fn cli_convert_mask_errors_exit_nonzero_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.png");
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\n garbage").unwrap();
    let out = Command::cargo_bin("h2g")
        .unwrap()
        .arg("convert-mask")
        .arg(&bad)
        .arg(dir.path().join("o.tif"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.png"));
    assert_eq!(common::entries(dir.path()), vec!["bad.png"]);
}

#[test]
fn cli_convert_mask_takes_its_scale_from_the_slide() {
    let Some(path) = common::cmu_slide() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // the mask QuPath / the H2G-Net script exports at downsample 4: floor(2220/4) × floor(2967/4)
    let (w, h) = (555u32, 741u32);
    let mask = dir.path().join("mask.png");
    common::write_gray8(&mask, w, h, &common::labels(w, h, 2, 1));
    let out = dir.path().join("mask.tif");
    let run = Command::cargo_bin("h2g")
        .unwrap()
        .arg("convert-mask")
        .arg(&mask)
        .arg(&out)
        .arg("--slide")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(!String::from_utf8_lossy(&run.stderr).contains("warning"));
    let s = OpenSlideSlide::open(&out).unwrap();
    let m = SlideMeta::from_properties(s.properties(), None);
    assert!((m.mpp.unwrap().x - 0.499 * 4.0).abs() < 1e-3, "{:?}", m.mpp);
    // a mask of the wrong size for that downsample is an error naming both sizes, and the
    // earlier output stays as it was
    let before = std::fs::read(&out).unwrap();
    let run = Command::cargo_bin("h2g")
        .unwrap()
        .arg("convert-mask")
        .arg(&mask)
        .arg(&out)
        .arg("--slide")
        .arg(&path)
        .args(["--downsample", "8"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains(
            "the mask is 555 × 741, but the slide (2220 × 2967) at downsample 8 gives 277 × 370"
        ),
        "{err}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), before);
}

#[test]
fn cli_region_reads_at_a_magnification() {
    let Some(path) = common::cmu_slide() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.png");
    let run = Command::cargo_bin("h2g")
        .unwrap()
        .arg("region")
        .arg(&path)
        .args([
            "--at", "5x", "--x", "400", "--y", "800", "--width", "100", "--height", "60", "-o",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap()));
    let r = dec.read_info().unwrap();
    assert_eq!(
        (r.info().width, r.info().height, r.info().color_type),
        (100, 60, png::ColorType::Rgb)
    );
    // a physical resolution on a slide without scale: exit 1 and the hint
    if let Some(tcga) = common::shared("slides/tcga-cr-7395-01a-01-ts1.svs") {
        let run = Command::cargo_bin("h2g")
            .unwrap()
            .arg("region")
            .arg(&tcga)
            .args(["--at", "10x", "-o"])
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&run.stderr).contains("--mpp"));
    }
}
