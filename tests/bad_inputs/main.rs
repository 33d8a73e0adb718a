//! The bad-input suite: every file of fixtures/bad-inputs (made by scripts/make_bad_inputs.py),
//! damaged copies of the real demo slide and, when ../shared is present, the real
//! non-conformant DICOM, through the binary. Each must end with its own specific message and
//! exit status, never a panic, and leave nothing half-written behind.

#[path = "../common/mod.rs"]
mod common;
// one module per class of defect, each with its own cases
mod io;
mod limits;
mod outputs;
mod readers;
mod support;

use std::path::Path;
use std::process::Command;

use support::{case, BIN};

#[test]
fn broken_and_hostile_masks_are_refused_with_their_reason() {
    for (file, want) in [
        ("mask-truncated.png", "is truncated"),
        ("mask-bad-crc.png", "is corrupt: CRC error"),
        ("mask-not-png.png", "neither a PNG nor a TIFF file"),
        ("mask-absurd.png", "claims 2147483647 × 2147483647"),
        ("mask-short-data.png", "is corrupt"),
        ("empty-file.png", "the file is empty"),
        ("mask-absurd.tif", "claims 1000000 × 1000000"),
        ("mask-strip-past-end.tif", "is truncated"),
        (
            "mask-float.tif",
            "32-bit floats (a probability map), not integer labels",
        ),
        ("mask-zero-size.tif", "invalid dimensions: 0x0"),
        ("mask-ifd-loop.tif", "a cycle in the list of IFDs"),
        ("mask-not-tiff.tif", "past the end of the file (16 bytes)"),
    ] {
        case(&["convert-mask", file, "{out}/m.tif", "-q"], 1, want);
        case(&["vectorize", file, "-o", "{out}/m.geojson"], 1, want);
    }
    // the PNG CRC message names the chunk plainly
    case(
        &["convert-mask", "mask-bad-crc.png", "{out}/m.tif"],
        1,
        "while decoding IDAT chunk",
    );
    // an empty mask is not an error: no annotations, a valid empty FeatureCollection
    case(
        &["vectorize", "mask-empty.png", "-o", "{out}/m.geojson"],
        0,
        "0 annotations",
    );
}

#[test]
fn invalid_geojson_and_xml_are_refused_with_their_reason() {
    for (file, want) in [
        (
            "geojson-not-json.geojson",
            "is not GeoJSON: EOF while parsing",
        ),
        ("empty-file.geojson", "is not GeoJSON: EOF while parsing"),
        (
            "geojson-nan.geojson",
            "feature 1: ring 0, position 1 is not finite (NaN, Infinity or null)",
        ),
        ("geojson-infinite.geojson", "number out of range"),
        (
            "geojson-huge.geojson",
            "position 1: 1e300 is beyond any slide",
        ),
        (
            "geojson-no-coordinates.geojson",
            "feature 1: a Polygon without coordinates",
        ),
        (
            "geojson-strings.geojson",
            "position 0 is not a pair of numbers: [\"a\",\"b\"]",
        ),
        (
            "geojson-wrong-type.geojson",
            "an object of type 'Topology': not a Feature",
        ),
        ("geojson-deep.geojson", "recursion limit exceeded"),
        (
            "asap-malformed.xml",
            "ends before </ASAP_Annotations>: a truncated or unfinished file",
        ),
        (
            "asap-nan.xml",
            "annotation 1 ('a'), coordinate 1: X=\"NaN\" is not a finite number",
        ),
        (
            "asap-not-numbers.xml",
            "coordinate 0: X=\"one\" is not a finite number",
        ),
    ] {
        case(
            &["rasterize", file, "-o", "{out}/m.png", "--size", "200x200"],
            1,
            want,
        );
    }
    // valid files without polygons: an empty mask, with the skipped features counted
    case(
        &[
            "rasterize",
            "geojson-points-only.geojson",
            "-o",
            "{out}/m.png",
            "--size",
            "9x9",
        ],
        0,
        "0 polygonal annotations (1 without area skipped)",
    );
    case(
        &[
            "rasterize",
            "geojson-short-ring.geojson",
            "-o",
            "{out}/m.png",
            "--size",
            "9x9",
        ],
        0,
        "(1 without area skipped)",
    );
    case(
        &[
            "rasterize",
            "geojson-empty.geojson",
            "-o",
            "{out}/m.png",
            "--size",
            "9x9",
        ],
        0,
        "0 polygonal annotations",
    );
}

#[test]
fn bad_slides_zero_tissue_and_mismatched_masks_are_named() {
    for (file, want) in [
        ("text.svs", "not a slide format OpenSlide"),
        (
            "empty-file.svs",
            "cannot be opened as a slide: the file is empty",
        ),
        ("no-such-file.svs", "no-such-file.svs"),
    ] {
        case(&["info", file], 1, want);
        case(&["tissue", file, "-o", "{out}"], 1, want);
    }
    // a flat picture is no slide for `info`; tissue detection takes one, given its pixel size
    case(
        &["info", "white-slide.png"],
        1,
        "a flat PNG/JPEG picture, not a whole-slide image",
    );
    case(
        &["tissue", "white-slide.png", "-o", "{out}"],
        1,
        "records no pixel size or objective power; pass --mpp",
    );
    // a slide without tissue
    case(
        &["tissue", "white-slide.png", "-o", "{out}", "--mpp", "8"],
        1,
        "no tissue found on white-slide.png",
    );
    case(
        &[
            "patches",
            "white-slide.png",
            "-o",
            "{out}/p.csv",
            "--mpp",
            "1",
            "--at",
            "ds:1",
        ],
        1,
        "no tissue in any patch of white-slide.png",
    );
    let Some(slide) = common::cmu_slide() else {
        return;
    };
    let s = slide.to_string_lossy();
    // a mask that does not belong to the slide
    case(
        &[
            "patches",
            &s,
            "-o",
            "{out}/p.csv",
            "--mask",
            "mask-good.png",
        ],
        1,
        "is 64 × 48, which is the slide (2220 × 2967) at no whole downsample",
    );
    case(
        &[
            "patches",
            &s,
            "-o",
            "{out}/p.csv",
            "--mask",
            "mask-good.png",
            "--mask-downsample",
            "4",
        ],
        1,
        "at downsample 4 gives 555 × 741 (rounded down; 555 × 742 rounded up)",
    );
    case(
        &[
            "vectorize",
            "mask-good.png",
            "-o",
            "{out}/v.geojson",
            "--slide",
            &s,
        ],
        1,
        "is 64 × 48, which is the slide (2220 × 2967) at no whole downsample",
    );
    // damaged copies of the real slide: cut short, and tile data overwritten
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(&slide).unwrap();
    let cut = dir.path().join("cut.svs");
    std::fs::write(&cut, &bytes[..300_000]).unwrap();
    let mut garbled = bytes.clone();
    for (i, b) in garbled[900_000..920_000].iter_mut().enumerate() {
        *b = (i * 37 % 256) as u8;
    }
    let bad_tiles = dir.path().join("bad-tiles.svs");
    std::fs::write(&bad_tiles, &garbled).unwrap();
    let (cut, bad_tiles) = (cut.to_string_lossy(), bad_tiles.to_string_lossy());
    case(
        &["info", &cut],
        1,
        "it is a damaged TIFF: its structure continues at byte 1275950, past the end of the file (300000 bytes)",
    );
    for args in [
        vec!["tissue", &*bad_tiles, "-o", "{out}"],
        vec!["patches", &*bad_tiles, "-o", "{out}/p.csv"],
        vec!["region", &*bad_tiles, "--at", "1.25x", "-o", "{out}/r.png"],
    ] {
        case(&args, 1, "OpenSlide failed: Not a JPEG file");
    }
    // the real non-conformant DICOM
    if let Some(dcm) = common::shared("slides/pathml_small_dicom.dcm") {
        case(
            &["info", &dcm.to_string_lossy()],
            1,
            "it is a DICOM file, which OpenSlide",
        );
    }
}

#[test]
fn bad_cohort_tables_are_refused_before_anything_runs() {
    for (file, want) in [
        (
            "cohort-no-slide-column.csv",
            "no column 'slide' (the slide file); columns: id, path",
        ),
        (
            "cohort-duplicate-ids.csv",
            "line 3: id 'a' is already used on line 2",
        ),
        (
            "cohort-bad-mpp.csv",
            "line 2: mpp '-0.5' is not a positive number",
        ),
    ] {
        case(
            &["run", "--cohort", file, "-o", "{out}", "--design", "otsu"],
            1,
            want,
        );
    }
    case(
        &[
            "evaluate",
            "--cohort",
            "evaluate-bad-columns.csv",
            "-o",
            "{out}",
        ],
        1,
        "no column 'truth'",
    );
}

/// `h2g patches SLIDE -o OUT` in `dir` (a picture slide, read without OpenSlide's formats).
fn patches_to(dir: &Path, out: &str) -> std::process::Output {
    Command::new(BIN)
        .args(["patches", "s.png", "--mpp", "0.5", "-o", out])
        .current_dir(dir)
        .output()
        .unwrap()
}

/// A 512 × 512 pink picture `s.png` in `dir`, a slide of two by two patches at 0.5 µm/px.
fn pink_slide(dir: &Path) {
    let pink: Vec<u8> = (0..512 * 512).flat_map(|_| [220u8, 120, 200]).collect();
    common::write_png(
        &dir.join("s.png"),
        512,
        512,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        &pink,
        None,
    );
}

#[cfg(unix)]
#[test]
fn no_output_replaces_an_input_a_fifo_or_a_directory_and_links_are_written_through() {
    use std::os::unix::fs::{symlink, FileTypeExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pink_slide(d);
    let before = std::fs::read(d.join("s.png")).unwrap();
    symlink("s.png", d.join("link.csv")).unwrap();
    std::fs::hard_link(d.join("s.png"), d.join("hard.csv")).unwrap();
    // the input itself, a symlink to it, a hard link of it: refused, the input untouched
    for out in ["s.png", "link.csv", "hard.csv"] {
        let o = patches_to(d, out);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{out}: {err}");
        assert!(
            err.contains("is the same file as the input s.png"),
            "{out}: {err}"
        );
        assert_eq!(std::fs::read(d.join("s.png")).unwrap(), before, "{out}");
    }
    assert!(std::fs::symlink_metadata(d.join("link.csv"))
        .unwrap()
        .file_type()
        .is_symlink());
    // a FIFO and a directory are refused and left as they are
    let fifo = d.join("pipe.csv");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.map(|s| s.success()).unwrap_or(false) {
        let o = patches_to(d, "pipe.csv");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains("is a FIFO"), "{err}");
        assert!(std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo());
    }
    std::fs::create_dir(d.join("dir.csv")).unwrap();
    let o = patches_to(d, "dir.csv");
    assert!(String::from_utf8_lossy(&o.stderr).contains("is an existing directory"));
    assert!(d.join("dir.csv").is_dir());
    // a symlink to a new file: the file is written, the link kept
    symlink("real.csv", d.join("to-real.csv")).unwrap();
    let o = patches_to(d, "to-real.csv");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::symlink_metadata(d.join("to-real.csv"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(d.join("real.csv"))
        .unwrap()
        .starts_with("slide,x,y,"));
    // a replaced file keeps its mode
    std::fs::set_permissions(d.join("real.csv"), std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(patches_to(d, "real.csv").status.success());
    let mode = std::fs::metadata(d.join("real.csv"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    // nothing half-written is left: no temporary files
    let left: Vec<String> = common::entries(d)
        .into_iter()
        .filter(|f| f.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[cfg(unix)]
#[test]
fn new_outputs_honour_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pink_slide(d);
    for (mask, want) in [("077", 0o600), ("022", 0o644), ("002", 0o664)] {
        let out = format!("p{mask}.csv");
        let o = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "umask {mask} && exec \"$0\" patches s.png --mpp 0.5 -o {out}"
            ))
            .arg(BIN)
            .current_dir(d)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mode = std::fs::metadata(d.join(&out))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, want, "umask {mask}");
    }
}

#[test]
fn models_init_with_force_never_writes_over_the_model_it_reads() {
    if common::runtime().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.onnx");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models/test/patch_classifier.onnx"),
        &model,
    )
    .unwrap();
    let before = std::fs::read(&model).unwrap();
    let o = Command::new(BIN)
        .args(["models", "init"])
        .arg(&model)
        .args(["--role", "patch-classifier", "--force", "-o"])
        .arg(&model)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("is the same file as the input"), "{err}");
    assert_eq!(std::fs::read(&model).unwrap(), before);
}
