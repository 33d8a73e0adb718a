//! The tissue gate of stage 1 (`--gate saturation|fast`) and design I's closing
//! (`segment --design otsu --otsu-closing none|disk5`), on pictures worked by hand.

mod common;

use std::path::Path;

use h2g::infer::heatmap::{heatmap, Gate, HeatmapSpec};
use h2g::infer::manifest::resolve;
use h2g::infer::segment::{segment, Design, DesignParams};
use h2g::infer::{Device, Model};
use h2g::slide::{open_slide, SlideMeta};
use h2g::tissue::Closing;

/// An RGB PNG of `w × h` painted by `f`.
fn picture(path: &Path, w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) {
    let mut px = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            px.extend_from_slice(&f(x, y));
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

#[test]
fn the_two_gates_run_the_patches_each_rule_calls_tissue() {
    if common::runtime().is_none() {
        return;
    }
    if let Err(e) = h2g::infer::load_runtime(None) {
        common::skip(&format!("ONNX Runtime ({e})"));
        return;
    }
    // 2048 × 1024 at 1 µm/px: at 10× (1 µm/px) the test classifier's 256-px patches make an
    // 8 × 4 grid. Left half neutral grey 150: saturation 0 (below the paper's 20), distance
    // from white √3 · 105 = 181.9 > 85 (FAST's tissue). Right half pale pink (250, 220, 250):
    // saturation 255 · 30 / 250 = 30.6 ≥ 20 (tissue), distance from white √(5² + 35² + 5²) =
    // 35.7 ≤ 85 (glass for FAST). Both halves are half-planes whose closings change nothing,
    // and the split at x = 1024 falls on a patch edge (and on pixel 128 of the saturation
    // rule's 1.25× image): saturation runs columns 4..7, FAST columns 0..3, 16 patches each.
    let dir = tempfile::tempdir().unwrap();
    let pic = dir.path().join("halves.png");
    picture(&pic, 2048, 1024, |x, _| {
        if x < 1024 {
            [150, 150, 150]
        } else {
            [250, 220, 250]
        }
    });
    let slide = open_slide(&pic, 1 << 30).unwrap();
    let meta = SlideMeta::from_properties(slide.properties(), Some(1.0));
    let (manifest, path) = resolve("test-patch-classifier").unwrap();
    let mut model = Model::open(&path, 2, Device::Cpu).unwrap();
    for (gate, cols) in [(Gate::Saturation, 4..8), (Gate::Fast, 0..4)] {
        let spec = HeatmapSpec {
            tissue: gate.method(),
            batch: 4,
            ..HeatmapSpec::default()
        };
        let hm = heatmap(&*slide, &meta, &mut model, &manifest, &spec, &|_, _| {}).unwrap();
        assert_eq!((hm.grid.cols, hm.grid.rows), (8, 4), "{gate:?}");
        assert_eq!(hm.ran, 16, "{gate:?}");
        assert_eq!(hm.gate, gate.name());
        // cells that did not run hold 0; those that ran hold the classifier's probability
        for (i, v) in hm.values.iter().enumerate() {
            let col = (i % 8) as u32;
            assert_eq!(*v != 0.0, cols.contains(&col), "{gate:?}: cell {i} = {v}");
        }
    }
}

#[test]
fn design_i_has_no_closing_unless_the_authors_disk_is_asked_for() {
    // a 1024 × 1024 picture (its one level is the 1024 × 1024 thumbnail as it is): an
    // 800 × 800 pink block (200, 60, 150), saturation 255 · 140 / 200 = 178.5, on near-white
    // (250, 245, 250), saturation 5.1, with a 3 × 3 near-white hole inside. Otsu splits the two
    // populations (a threshold between 5 and 178): the block less its hole, 640 000 − 9 =
    // 639 991 pixels, as the paper's design I (no closing); a disk(5) closing fills the hole,
    // every pixel of which lies within 2 of the block, and keeps the block's straight edges:
    // 640 000.
    let dir = tempfile::tempdir().unwrap();
    let pic = dir.path().join("block.png");
    picture(&pic, 1024, 1024, |x, y| {
        let block = (100..900).contains(&x) && (100..900).contains(&y);
        let hole = (500..503).contains(&x) && (500..503).contains(&y);
        if block && !hole {
            [200, 60, 150]
        } else {
            [250, 245, 250]
        }
    });
    let slide = open_slide(&pic, 1 << 30).unwrap();
    let meta = SlideMeta::from_properties(slide.properties(), None);
    for (closing, want) in [(Closing::None, 639_991u64), (Closing::Disk5, 640_000)] {
        let params = DesignParams {
            otsu_closing: closing,
            ..DesignParams::default()
        };
        let seg = segment(
            &*slide,
            &meta,
            Design::Otsu,
            None,
            None,
            &HeatmapSpec::default(),
            &params,
            &|_, _| {},
        )
        .unwrap();
        let n: u64 = seg.grid.data.iter().map(|&v| v as u64).sum();
        assert_eq!((seg.grid.width, seg.grid.height), (1024, 1024));
        assert_eq!(n, want, "{closing:?}");
        assert_eq!(
            seg.grid.data[501 * 1024 + 501],
            u8::from(closing == Closing::Disk5)
        );
    }
}
