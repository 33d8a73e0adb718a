//! The command runs as library calls, without the command line: `vector::vectorize`,
//! `tissue::run`, `infer::preannotate::preannotate` and `infer::heatmap_run::run_heatmap`,
//! against hand-worked masks and pictures (and the real demo slide where a model runs).

mod common;

use std::path::{Path, PathBuf};

use h2g::infer::preannotate::{
    preannotate, PreMethod, PreannotateError, PreannotateObserver, PreannotateSpec, Preannotated,
    SlideOutcome,
};
use h2g::tissue::{Method, TissueRunError, TissueRunSpec};
use h2g::units::{Length, Resolution};
use h2g::vector::{ClassEncoding, ClassSpec, VectorizeError, VectorizeSpec};

/// A `w × h` mask, 0 outside the given rectangles `(label, x0, y0, x1, y1)` (exclusive ends).
fn mask(w: u32, h: u32, rects: &[(u8, u32, u32, u32, u32)]) -> Vec<u8> {
    let mut m = vec![0u8; (w * h) as usize];
    for &(l, x0, y0, x1, y1) in rects {
        for y in y0..y1 {
            for x in x0..x1 {
                m[(y * w + x) as usize] = l;
            }
        }
    }
    m
}

fn vspec(mask: &Path, output: &Path) -> VectorizeSpec {
    VectorizeSpec {
        mask: mask.to_path_buf(),
        output: output.to_path_buf(),
        classes: Vec::new(),
        downsample: None,
        slide: None,
        mpp: None,
        min_area: None,
        max_hole: None,
        simplify: None,
        qupath_frame: false,
        encoding: ClassEncoding::ColorRgb,
    }
}

#[test]
fn vectorize_counts_each_region_once_per_label_and_places_it_at_the_downsample() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("m.png");
    // two separate squares of label 1, one rectangle of label 2 touching neither
    let m = mask(
        40,
        30,
        &[(1, 2, 2, 6, 6), (1, 20, 2, 24, 6), (2, 5, 20, 15, 25)],
    );
    common::write_gray8(&png, 40, 30, &m);
    let out = dir.path().join("m.geojson");
    let seen = std::sync::Mutex::new(Vec::new());
    let spec = VectorizeSpec {
        downsample: Some(4.0),
        ..vspec(&png, &out)
    };
    let done = h2g::vector::vectorize(&spec, &|d, t| seen.lock().unwrap().push((d, t))).unwrap();
    assert_eq!(done.annotations, 3);
    let per: Vec<(u16, &str, usize)> = done
        .classes
        .iter()
        .map(|c| (c.label, c.name.as_str(), c.annotations))
        .collect();
    assert_eq!(per, vec![(1, "Label 1", 2), (2, "Label 2", 1)]);
    // every row was traced, and the progress says so at the end
    assert_eq!(seen.lock().unwrap().last(), Some(&(30, 30)));
    assert_eq!(
        done.to_string(),
        format!(
            "{}: 3 annotations (2 Label 1, 1 Label 2) → {}",
            png.display(),
            out.display()
        )
    );
    // the file holds them, at level-0 coordinates: label 2 spans x 5..15 → 20..60
    let ann = h2g::vector::read_annotations(&out).unwrap();
    assert_eq!(ann.items.len(), 3);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("[20, 80]") && text.contains("[60, 100]"),
        "{text}"
    );

    // only the classes named, with their names; an area filter in pixels² via --mpp 1, ds 1
    let spec = VectorizeSpec {
        classes: vec!["1=Tumor:#c80000".parse::<ClassSpec>().unwrap()],
        mpp: Some(1.0),
        min_area: Some(17.0),
        ..vspec(&png, &out)
    };
    let done = h2g::vector::vectorize(&spec, &|_, _| {}).unwrap();
    // the 4 × 4 squares are 16 px² < 17: both dropped
    assert_eq!((done.annotations, done.classes.len()), (0, 0));
    assert!(done.to_string().contains("0 annotations (none)"));
}

#[test]
fn vectorize_refuses_settings_it_cannot_honour_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("m.png");
    common::write_gray8(&png, 8, 8, &mask(8, 8, &[(1, 1, 1, 4, 4)]));
    let out = dir.path().join("never.geojson");
    let run = |spec: VectorizeSpec| h2g::vector::vectorize(&spec, &|_, _| {}).unwrap_err();
    let e = run(VectorizeSpec {
        qupath_frame: true,
        ..vspec(&png, &out)
    });
    assert!(matches!(e, VectorizeError::FrameNeedsSlide), "{e}");
    let e = run(VectorizeSpec {
        classes: vec![ClassSpec {
            label: 70_000,
            name: "Big".into(),
            color: [0, 0, 0],
        }],
        ..vspec(&png, &out)
    });
    assert!(
        matches!(e, VectorizeError::Label { label: 70_000, .. }),
        "{e}"
    );
    let e = run(VectorizeSpec {
        simplify: Some(Length::Um(2.0)),
        ..vspec(&png, &out)
    });
    assert!(matches!(e, VectorizeError::NoPixelSize), "{e}");
    let e = run(vspec(&dir.path().join("missing.png"), &out));
    assert!(matches!(e, VectorizeError::Mask(_)), "{e}");
    assert!(!out.exists());
}

/// A white `w × h` RGB picture with a pink rectangle `(x0, y0, x1, y1)`.
fn picture(path: &Path, w: u32, h: u32, (x0, y0, x1, y1): (u32, u32, u32, u32)) {
    let mut px = vec![255u8; (w * h * 3) as usize];
    for y in y0..y1 {
        for x in x0..x1 {
            let i = ((y * w + x) * 3) as usize;
            px[i..i + 3].copy_from_slice(&[200, 100, 150]);
        }
    }
    common::write_png(
        path,
        w,
        h,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        &px,
        None,
    );
}

fn tspec(slide: &Path, output: &Path, method: Method) -> TissueRunSpec {
    TissueRunSpec {
        slide: slide.to_path_buf(),
        output: output.to_path_buf(),
        name: None,
        method,
        at: Some(Resolution::Level(0)),
        mpp: None,
        tile: 64,
        geojson: true,
        qupath_frame: false,
        threads: 0,
        ort_lib: None,
    }
}

#[test]
fn tissue_run_finds_the_rectangle_and_names_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let pic = dir.path().join("pic.png");
    picture(&pic, 200, 100, (50, 30, 110, 70));
    let out = dir.path().join("out");
    // saturation 255·(200 − 100)/200 = 127.5 ≥ 20 inside, 0 on white; the closings keep a
    // rectangle as it is: 60 × 40 pixels of tissue
    let r = h2g::tissue::run(&tspec(&pic, &out, Method::paper()), None).unwrap();
    assert_eq!((r.width, r.height, r.tissue_pixels), (200, 100, 2400));
    assert!((r.tissue_fraction - 0.12).abs() < 1e-12);
    let names: Vec<String> = ["tif", "png", "json", "geojson"]
        .iter()
        .map(|e| format!("pic.tissue-saturation.{e}"))
        .collect();
    let mut want = names.clone();
    want.sort();
    assert_eq!(common::entries(&out), want);
    // --name renames every file
    let spec = TissueRunSpec {
        name: Some("s1".into()),
        ..tspec(&pic, &out, Method::paper())
    };
    let r = h2g::tissue::run(&spec, None).unwrap();
    assert_eq!(r.files.mask, out.join("s1.tissue-saturation.tif"));
}

#[test]
fn tissue_run_refuses_fast_parameters_out_of_range_and_bad_names() {
    let dir = tempfile::tempdir().unwrap();
    let pic = dir.path().join("pic.png");
    picture(&pic, 32, 32, (8, 8, 24, 24));
    let out = dir.path().join("out");
    let fast = |distance, radius| Method::Fast { distance, radius };
    for m in [fast(85.0, 61), fast(-1.0, 4), fast(f64::NAN, 4)] {
        let e = h2g::tissue::run(&tspec(&pic, &out, m), None).unwrap_err();
        assert!(matches!(e, TissueRunError::FastParams { .. }), "{e}");
    }
    let spec = TissueRunSpec {
        name: Some("../up".into()),
        ..tspec(&pic, &out, Method::paper())
    };
    let e = h2g::tissue::run(&spec, None).unwrap_err();
    assert!(matches!(e, TissueRunError::Naming(_)), "{e}");
    assert!(!out.exists(), "nothing made for refused settings");
}

/// Records what the run tells its observer.
#[derive(Default)]
struct Heard(Vec<(usize, usize, PathBuf, bool)>);

impl PreannotateObserver for Heard {
    fn slide_done(&mut self, k: usize, n: usize, o: &SlideOutcome) {
        self.0.push((k, n, o.slide.clone(), o.result.is_ok()));
    }
}

fn pspec(slides: Vec<PathBuf>, output: &Path, method: PreMethod) -> PreannotateSpec {
    PreannotateSpec {
        slides,
        output: output.to_path_buf(),
        method,
        model: None,
        threshold: None,
        closing: 1,
        min_area: 0.0,
        max_hole: 0.0,
        mask_downsample: 4.0,
        min_tissue: 0.5,
        batch: 16,
        qupath_frame: false,
        mpp: None,
        runtime: h2g::infer::Runtime::default(),
        gate: Default::default(),
    }
}

#[test]
fn preannotate_refuses_unusable_settings_before_any_slide() {
    let dir = tempfile::tempdir().unwrap();
    let mut heard = Heard::default();
    let spec = PreannotateSpec {
        min_area: -1.0,
        ..pspec(vec!["a.svs".into()], dir.path(), PreMethod::An1)
    };
    let e = preannotate(&spec, &mut heard).unwrap_err();
    assert!(matches!(e, PreannotateError::Areas { .. }), "{e}");
    let spec = pspec(vec!["a.svs".into()], dir.path(), PreMethod::An2);
    let e = preannotate(&spec, &mut heard).unwrap_err();
    assert!(matches!(e, PreannotateError::NoModel), "{e}");
    assert!(heard.0.is_empty());
}

#[test]
fn preannotate_an1_goes_past_a_bad_slide_and_reports_each() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.svs");
    std::fs::write(&bad, b"not a slide").unwrap();
    let pic = dir.path().join("pic.png");
    // 400 × 300 px at 2 µm: AN1 (QuPath's detection at 20 µm) sees a 40 × 30 image; the
    // rectangle, 600 × 400 µm = 240 000 µm², is above AN1's 100 000 µm² and half the picture
    picture(&pic, 400, 300, (50, 50, 350, 250));
    let out = dir.path().join("out");
    let spec = PreannotateSpec {
        mpp: Some(2.0),
        ..pspec(vec![bad.clone(), pic.clone()], &out, PreMethod::An1)
    };
    let mut heard = Heard::default();
    let outcomes = preannotate(&spec, &mut heard).unwrap();
    assert_eq!(
        heard.0,
        vec![(0, 2, bad.clone(), false), (1, 2, pic.clone(), true)]
    );
    assert!(matches!(
        outcomes[0].result,
        Err(PreannotateError::Slide(_))
    ));
    match &outcomes[1].result {
        Ok(Preannotated::An1 {
            slide,
            tissue_fraction,
            geojson,
        }) => {
            assert_eq!(slide, &pic);
            // worked by hand: QuPath's downsample 20 / 2 = 10 gives 40 × 30 pixels, the rectangle
            // 30 × 20 of them, grey (200 + 100 + 150 + 1) / 3 = 150 on white 255. ImageJ's 3 × 3
            // mean, (sum + 4) / 9: an edge pixel inside (6 · 150 + 3 · 255 + 4) / 9 = 185 < 200
            // stays, a corner (4 · 150 + 5 · 255 + 4) / 9 = 208 does not, a pixel outside at most
            // (3 · 150 + 6 · 255 + 4) / 9 = 220; the median keeps the rest (5 of 9 beside a corner):
            // 596 pixels, one outline enclosing 596 ≥ 250 (100 000 µm² at 20 µm), no hole
            assert_eq!(*tissue_fraction, 596.0 / 1200.0);
            assert_eq!(
                geojson.as_deref(),
                Some(out.join("pic.tissue-qupath.geojson").as_path())
            );
            // and the annotation covers those pixels: 596 of 10 × 10 level-0 pixels each, one
            // rectangle of 300 × 200 less four corner squares, in the picture's own frame
            let ann = h2g::vector::read_annotations(geojson.as_deref().unwrap()).unwrap();
            let polys: Vec<_> = ann.items.iter().flat_map(|i| i.polygons.iter()).collect();
            assert_eq!(polys.len(), 1);
            assert_eq!(common::shoelace(&polys[0][0]), 59_600.0);
            let xs = polys[0][0].iter().map(|p| p.0);
            let ys = polys[0][0].iter().map(|p| p.1);
            assert_eq!(
                (xs.clone().fold(f64::MAX, f64::min), xs.fold(0.0, f64::max)),
                (50.0, 350.0)
            );
            assert_eq!(
                (ys.clone().fold(f64::MAX, f64::min), ys.fold(0.0, f64::max)),
                (50.0, 250.0)
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!common::entries(&out).iter().any(|f| f.contains("broken")));
}

#[test]
fn heatmap_run_covers_the_slide_with_its_grid_and_writes_what_it_reports() {
    let (Some(lib), Some(slide)) = (common::runtime(), common::cmu_slide()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let spec = h2g::infer::heatmap_run::HeatmapRunSpec {
        slide: slide.clone(),
        model: "test-patch-classifier".into(),
        output: dir.path().to_path_buf(),
        name: Some("hm".into()),
        min_tissue: 0.5,
        batch: 8,
        at: None,
        gate: Default::default(),
        mpp: None,
        runtime: h2g::infer::Runtime {
            threads: 2,
            ort_lib: Some(lib),
            ..Default::default()
        },
    };
    let last = std::sync::Mutex::new((0, 0));
    let run = h2g::infer::heatmap_run::run_heatmap(&spec, &|d, t| *last.lock().unwrap() = (d, t))
        .unwrap();
    let r = &run.report;
    // the grid: ceil(level-0 size / a patch's level-0 side), from the slide's own size
    let (w0, h0) = h2g::slide::open_slide(&slide, 1 << 34)
        .unwrap()
        .level_size(0)
        .unwrap();
    let side = r.grid.patch as f64 * r.grid.downsample;
    assert_eq!(r.grid.level0_side, side);
    assert_eq!(
        (r.grid.cols as u64, r.grid.rows as u64),
        (
            (w0 as f64 / side).ceil() as u64,
            (h0 as f64 / side).ceil() as u64
        )
    );
    assert!(r.cells_run > 0 && r.cells_run <= (r.grid.cols * r.grid.rows) as usize);
    assert!(!r.trained && r.model == "test-patch-classifier");
    assert_eq!(r.threads, 2);
    // the progress reached the patches that ran
    assert_eq!(last.lock().unwrap().0, r.cells_run as u64);
    // the files are the ones named by the one producer, and the report on disk is this one
    for (f, ext) in [
        (&r.files.tiff, "tif"),
        (&r.files.png, "png"),
        (&run.json, "json"),
    ] {
        assert_eq!(f, &dir.path().join(format!("hm.heatmap.{ext}")));
        assert!(f.is_file(), "{}", f.display());
    }
    let mut on_disk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&run.json).unwrap()).unwrap();
    // the file adds its set's listing: the TIFF and the PNG, in that order
    let set = on_disk.as_object_mut().unwrap().remove("outputs").unwrap();
    let listed: Vec<&str> = set
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["hm.heatmap.tif", "hm.heatmap.png"]);
    // both sides through the same text and parser (serde_json's float parsing may differ from
    // the value in memory by an ulp)
    let in_memory: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(r).unwrap()).unwrap();
    assert_eq!(on_disk, in_memory);
    assert_eq!(on_disk["grid"]["cols"], r.grid.cols);
}

#[test]
fn segment_run_names_the_network_a_design_lacks_and_writes_what_it_reports() {
    use h2g::infer::segment::Design;
    use h2g::infer::segment_run::{run_segment, SegmentRunError, SegmentRunSpec};
    let dir = tempfile::tempdir().unwrap();
    let spec = |design, slide: &Path| SegmentRunSpec {
        slide: slide.to_path_buf(),
        output: dir.path().join("seg"),
        name: None,
        design,
        label: None,
        model: None,
        refine_model: None,
        refine_level: Default::default(),
        mask_downsample: 4.0,
        qupath_frame: false,
        min_tissue: 0.5,
        batch: 16,
        gate: Default::default(),
        otsu_closing: h2g::tissue::Closing::None,
        mpp: None,
        runtime: h2g::infer::Runtime::default(),
    };
    // the missing network is named before the runtime or the slide is looked at
    if common::runtime().is_some() {
        let e = run_segment(&spec(Design::Pw, Path::new("none.svs")), &|_, _| {}).unwrap_err();
        assert!(
            matches!(
                e,
                SegmentRunError::MissingModel {
                    flag: "--model",
                    ..
                }
            ),
            "{e}"
        );
    }
    let Some(slide) = common::cmu_slide() else {
        return common::skip("the demo slide (run scripts/setup.sh)");
    };
    // otsu runs no network: one annotation per outline the GeoJSON holds
    let run = run_segment(&spec(Design::Otsu, &slide), &|_, _| {}).unwrap();
    let r = &run.output.report;
    assert!(!run.untrained);
    let stem = slide.file_stem().unwrap().to_string_lossy().into_owned();
    assert_eq!(
        r.files.geojson,
        dir.path().join(format!("seg/{stem}.segment-otsu.geojson"))
    );
    let ann = h2g::vector::read_annotations(&r.files.geojson).unwrap();
    assert_eq!(ann.items.len(), r.annotations);
    assert_eq!((r.result.width, r.result.height), (1024, 1024));
    assert!(r.result.positive_cells > 0 && r.result.positive_cells < 1024 * 1024);
}
