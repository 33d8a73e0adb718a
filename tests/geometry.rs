//! The geo-types face of the vector API, checked with `geo` as an independent oracle: traced
//! label masks are valid OGC multipolygons (geo's own validation), their areas are the labels'
//! pixel counts, labels never overlap (geo's boolean operations), and filling them back gives
//! the mask.

use geo::{Area, BooleanOps, Validation};
use h2g::vector::{fill_labels, trace_labels, PixelRule};
use proptest::prelude::*;

/// A random mask of labels 0..k, blobby enough to make holes, islands and saddles.
fn mask(w: usize, h: usize, k: u8, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut m: Vec<u8> = (0..w * h).map(|_| (next() % k as u64) as u8).collect();
    // one smoothing pass: a pixel takes its left neighbour's label half the time
    for i in 1..w * h {
        if i % w != 0 && next() % 2 == 0 {
            m[i] = m[i - 1];
        }
    }
    m
}

fn check(w: usize, h: usize, k: u8, seed: u64) -> Result<(), TestCaseError> {
    let m = mask(w, h, k, seed);
    let layers = trace_labels(&m, w, None).unwrap();
    for (label, mp) in &layers {
        prop_assert!(mp.is_valid(), "label {label}: {:?}", mp.validation_errors());
        let pixels = m.iter().filter(|&&v| v as u16 == *label).count();
        prop_assert_eq!(mp.unsigned_area(), pixels as f64, "label {}", label);
    }
    for (i, (la, a)) in layers.iter().enumerate() {
        for (lb, b) in &layers[i + 1..] {
            let shared = a.intersection(b).unsigned_area();
            prop_assert!(
                shared < 1e-9,
                "labels {} and {} overlap by {}",
                la,
                lb,
                shared
            );
        }
    }
    let back = fill_labels(&layers, w, h, PixelRule::TopLeft).unwrap();
    prop_assert_eq!(back, m.iter().map(|&v| v as u16).collect::<Vec<_>>());
    let qupath = fill_labels(&layers, w, h, PixelRule::Qupath).unwrap();
    prop_assert_eq!(qupath, m.iter().map(|&v| v as u16).collect::<Vec<_>>());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn traced_label_masks_are_valid_disjoint_and_fill_back(
        w in 1usize..28, h in 1usize..28, k in 2u8..5, seed in any::<u64>()
    ) {
        check(w, h, k, seed)?;
    }
}

#[test]
fn a_checkerboard_is_valid_though_its_squares_touch_at_corners() {
    let (w, h) = (9, 7);
    let m: Vec<u8> = (0..w * h).map(|i| ((i % w + i / w) % 2) as u8).collect();
    let layers = trace_labels(&m, w, None).unwrap();
    assert_eq!(layers.len(), 1, "only label 1 (0 is background)");
    let mp = &layers[0].1;
    assert!(mp.is_valid(), "{:?}", mp.validation_errors());
    assert_eq!(mp.0.len(), m.iter().filter(|&&v| v == 1).count());
    assert_eq!(
        fill_labels(&layers, w, h, PixelRule::TopLeft).unwrap(),
        m.iter().map(|&v| v as u16).collect::<Vec<_>>()
    );
}
