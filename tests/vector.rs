//! Masks → polygons → masks must be the identity, and every traced ring simple and oriented.

use std::collections::HashSet;

use h2g::vector::{rasterize, signed_area2, trace, PixelRule, Polygon};
use proptest::prelude::*;

fn to_f64(polys: &[Polygon]) -> Vec<Vec<Vec<(f64, f64)>>> {
    polys
        .iter()
        .map(|p| {
            std::iter::once(&p.shell)
                .chain(&p.holes)
                .map(|r| r.iter().map(|&(x, y)| (x as f64, y as f64)).collect())
                .collect()
        })
        .collect()
}

fn check(mask: &[bool], w: usize, h: usize) -> Result<(), TestCaseError> {
    let polys = trace(mask, w, h);
    for p in &polys {
        prop_assert!(signed_area2(&p.shell) > 0, "shell orientation");
        for r in std::iter::once(&p.shell).chain(&p.holes) {
            let uniq: HashSet<_> = r.iter().collect();
            prop_assert_eq!(uniq.len(), r.len(), "a ring visits a vertex twice: {:?}", r);
            prop_assert!(r.len() >= 4);
            // axis-aligned, no collinear vertices
            for i in 0..r.len() {
                let (a, b, c) = (r[(i + r.len() - 1) % r.len()], r[i], r[(i + 1) % r.len()]);
                prop_assert!(
                    (a.0 == b.0) != (b.0 == c.0),
                    "collinear or diagonal at {:?}",
                    b
                );
            }
        }
        for hole in &p.holes {
            prop_assert!(signed_area2(hole) < 0, "hole orientation");
        }
    }
    let area: i64 = polys
        .iter()
        .map(|p| signed_area2(&p.shell) + p.holes.iter().map(signed_area2).sum::<i64>())
        .sum();
    prop_assert_eq!(area, 2 * mask.iter().filter(|&&b| b).count() as i64, "area");
    let f = to_f64(&polys);
    prop_assert_eq!(
        rasterize(&f, w, h, PixelRule::TopLeft),
        mask.to_vec(),
        "top-left round trip"
    );
    prop_assert_eq!(
        rasterize(&f, w, h, PixelRule::Centre),
        mask.to_vec(),
        "centre round trip"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn random_masks_round_trip(w in 1usize..24, h in 1usize..24, density in 1u64..9, seed in any::<u64>()) {
        let mask: Vec<bool> = (0..w * h)
            .map(|i| {
                let mut z = seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                z ^= z >> 31;
                z = z.wrapping_mul(0xBF58_476D_1CE4_E5B9);
                (z >> 40) % 10 < density
            })
            .collect();
        check(&mask, w, h)?;
    }

    #[test]
    fn checkerboards_and_nested_frames(n in 1usize..20, k in 1usize..4) {
        // a checkerboard: every contact diagonal
        let cb: Vec<bool> = (0..n * n).map(|i| (i / n + i % n) % 2 == 0).collect();
        check(&cb, n, n)?;
        // frames in frames: holes in holes, touching nothing
        let m = 4 * k + 3;
        let fr: Vec<bool> = (0..m * m).map(|i| { let (x, y) = (i % m, i / m); let d = x.min(y).min(m - 1 - x).min(m - 1 - y); d % 2 == 0 }).collect();
        check(&fr, m, m)?;
    }
}

#[test]
fn full_and_empty_masks() {
    let polys = trace(&[true; 12], 4, 3);
    assert_eq!(polys.len(), 1);
    assert_eq!(polys[0].shell, vec![(0, 0), (4, 0), (4, 3), (0, 3)]);
    assert!(trace(&[false; 12], 4, 3).is_empty());
}
