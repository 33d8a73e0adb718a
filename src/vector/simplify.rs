//! Simplifying traced polygons while keeping them valid.
//!
//! Each ring is simplified with Douglas–Peucker over its own vertices (so vertices stay on
//! pixel corners and no new coordinates appear), keeping every vertex where two rings touch.
//! The result is then checked as a whole: no two segments may cross, overlap or touch except
//! at those kept vertices, every ring keeps its orientation, every hole stays inside the shell
//! and outside the other holes. A polygon that fails is simplified again at half the tolerance,
//! down to the traced outline itself, which is always valid.

use std::collections::HashSet;

use super::geom::{meetings, Coord, Meet};
use super::trace::{signed_area2, Polygon, Ring};

/// `poly` simplified with tolerance `tol` (mask pixels), valid by the rules above.
pub fn simplify_polygon(poly: &Polygon, tol: f64) -> Polygon {
    if tol <= 0.0 {
        return poly.clone();
    }
    let pinned = pinned_vertices(poly);
    let mut t = tol;
    for _ in 0..8 {
        let cand = Polygon {
            shell: simplify_ring(&poly.shell, t, &pinned),
            holes: poly
                .holes
                .iter()
                .map(|h| simplify_ring(h, t, &pinned))
                .collect(),
        };
        if is_valid_simplification(poly, &cand, &pinned) {
            return cand;
        }
        t /= 2.0;
        if t < 0.5 {
            break;
        }
    }
    poly.clone()
}

/// The vertices shared by two rings (where they touch): kept by every simplification.
fn pinned_vertices(poly: &Polygon) -> HashSet<(i64, i64)> {
    let mut seen = HashSet::new();
    let mut pinned = HashSet::new();
    for r in std::iter::once(&poly.shell).chain(&poly.holes) {
        for &p in r {
            if !seen.insert(p) {
                pinned.insert(p);
            }
        }
    }
    pinned
}

/// Douglas–Peucker on a closed ring, keeping `pinned` vertices and the two vertices farthest
/// apart (the anchors of a closed ring).
fn simplify_ring(r: &Ring, tol: f64, pinned: &HashSet<(i64, i64)>) -> Ring {
    let n = r.len();
    if n <= 4 {
        return r.clone();
    }
    let mut keep = vec![false; n];
    keep[0] = true;
    // the vertex farthest from vertex 0
    let far = (1..n)
        .max_by_key(|&i| {
            let (dx, dy) = (r[i].0 - r[0].0, r[i].1 - r[0].1);
            dx as i128 * dx as i128 + dy as i128 * dy as i128
        })
        .unwrap_or(n / 2);
    keep[far] = true;
    for (i, p) in r.iter().enumerate() {
        if pinned.contains(p) {
            keep[i] = true;
        }
    }
    let anchors: Vec<usize> = (0..n).filter(|&i| keep[i]).collect();
    let tol2 = tol * tol;
    let mut stack = Vec::new();
    for (k, &a) in anchors.iter().enumerate() {
        let b = anchors[(k + 1) % anchors.len()];
        stack.push((a, if b > a { b } else { b + n }));
    }
    while let Some((a, b)) = stack.pop() {
        if b <= a + 1 {
            continue;
        }
        let (pa, pb) = (r[a % n], r[b % n]);
        let (mut best, mut bi) = (-1.0, a);
        for i in a + 1..b {
            let d = dist2_to_segment(r[i % n], pa, pb);
            if d > best {
                best = d;
                bi = i;
            }
        }
        if best > tol2 {
            keep[bi % n] = true;
            stack.push((a, bi));
            stack.push((bi, b));
        }
    }
    (0..n).filter(|&i| keep[i]).map(|i| r[i]).collect()
}

fn dist2_to_segment(p: (i64, i64), a: (i64, i64), b: (i64, i64)) -> f64 {
    let (px, py) = (p.0 as f64, p.1 as f64);
    let (ax, ay, bx, by) = (a.0 as f64, a.1 as f64, b.0 as f64, b.1 as f64);
    let (dx, dy) = (bx - ax, by - ay);
    let l2 = dx * dx + dy * dy;
    let t = if l2 == 0.0 {
        0.0
    } else {
        (((px - ax) * dx + (py - ay) * dy) / l2).clamp(0.0, 1.0)
    };
    let (qx, qy) = (ax + t * dx - px, ay + t * dy - py);
    qx * qx + qy * qy
}

fn is_valid_simplification(orig: &Polygon, cand: &Polygon, pinned: &HashSet<(i64, i64)>) -> bool {
    let rings: Vec<&[(i64, i64)]> = std::iter::once(&cand.shell)
        .chain(&cand.holes)
        .map(|r| r.as_slice())
        .collect();
    // every ring keeps at least a triangle and its orientation
    let origs = std::iter::once(&orig.shell).chain(&orig.holes);
    for (r, o) in rings.iter().zip(origs) {
        let a = signed_area2(&r.to_vec());
        if r.len() < 3 || a == 0 || (a > 0) != (signed_area2(o) > 0) {
            return false;
        }
    }
    let mut ok = true;
    meetings(&rings, |c| {
        let fine = match c.how {
            Meet::Touch(p) => {
                let ends = |(ri, si): (usize, usize)| {
                    let r = rings[ri];
                    (r[si], r[(si + 1) % r.len()])
                };
                let (a, b) = (ends(c.a), ends(c.b));
                pinned.contains(&p) && (a.0 == p || a.1 == p) && (b.0 == p || b.1 == p)
            }
            _ => false,
        };
        ok &= fine;
        fine
    });
    if !ok {
        return false;
    }
    // holes inside the shell, and not inside one another
    let bbox = |r: &[(i64, i64)]| {
        r.iter().fold(
            (i64::MAX, i64::MAX, i64::MIN, i64::MIN),
            |(a, b, c, d), &(x, y)| (a.min(x), b.min(y), c.max(x), d.max(y)),
        )
    };
    let boxes: Vec<_> = rings.iter().map(|r| bbox(r)).collect();
    for (i, h) in cand.holes.iter().enumerate() {
        let Some(&p) = h.iter().find(|p| !pinned.contains(p)) else {
            continue;
        };
        if !inside(&cand.shell, p) {
            return false;
        }
        for (j, other) in cand.holes.iter().enumerate() {
            let b = boxes[j + 1];
            if j != i && p.0 > b.0 && p.0 < b.2 && p.1 > b.1 && p.1 < b.3 && inside(other, p) {
                return false;
            }
        }
    }
    true
}

/// Even-odd test of a point that lies on no edge of `r`, exactly (half-open crossing rule).
fn inside(r: &[(i64, i64)], p: (i64, i64)) -> bool {
    let n = r.len();
    let mut c = false;
    for i in 0..n {
        let (a, b) = (r[i], r[(i + 1) % n]);
        if (a.1 > p.1) != (b.1 > p.1) {
            // is p left of the edge's crossing at height p.1?
            let o = i64::orient(a, b, p);
            let up = b.1 > a.1;
            if (o > 0) == up {
                c = !c;
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::{trace, PixelRule};

    fn staircase_disc(n: usize) -> (Vec<bool>, usize) {
        let c = n as f64 / 2.0;
        let fg = (0..n * n)
            .map(|i| {
                let (x, y) = ((i % n) as f64 + 0.5 - c, (i / n) as f64 + 0.5 - c);
                let r = (x * x + y * y).sqrt();
                r < c * 0.9 && r > c * 0.3
            })
            .collect();
        (fg, n)
    }

    #[test]
    fn a_staircase_disc_loses_most_vertices_and_stays_close() {
        let (fg, n) = staircase_disc(120);
        let polys = trace(&fg, n, n);
        assert_eq!(polys.len(), 1);
        let p = &polys[0];
        let s = simplify_polygon(p, 1.0);
        let count = |p: &Polygon| p.shell.len() + p.holes.iter().map(Vec::len).sum::<usize>();
        assert!(count(&s) * 3 < count(p), "{} → {}", count(p), count(&s));
        // the area moves by less than the tolerance times the perimeter
        let area = |p: &Polygon| {
            (signed_area2(&p.shell) + p.holes.iter().map(signed_area2).sum::<i64>()) as f64 / 2.0
        };
        let perim = count(p) as f64 * 2.0;
        assert!((area(&s) - area(p)).abs() < perim);
        // and every pixel it changes lies within the tolerance band of the outline
        let to_f = |p: &Polygon| -> Vec<Vec<(f64, f64)>> {
            std::iter::once(&p.shell)
                .chain(&p.holes)
                .map(|r| r.iter().map(|&(x, y)| (x as f64, y as f64)).collect())
                .collect()
        };
        let back = crate::vector::rasterize(&[to_f(&s)], n, n, PixelRule::Centre);
        let changed = back.iter().zip(&fg).filter(|(a, b)| a != b).count();
        assert!(changed < count(p), "{changed} pixels changed");
    }

    #[test]
    fn touching_rings_keep_their_touch_point_and_stay_valid() {
        // the hole touches the outside (and so the shell) diagonally at corner (1, 1)
        let rows = [".######", "#.....#", "#.....#", "#######"];
        let fg: Vec<bool> = rows
            .iter()
            .flat_map(|r| r.bytes().map(|b| b == b'#'))
            .collect();
        let polys = trace(&fg, 7, 4);
        assert_eq!(polys.len(), 1);
        let p = &polys[0];
        assert_eq!(p.holes.len(), 1);
        let pins = pinned_vertices(p);
        assert!(pins.contains(&(1, 1)));
        for tol in [0.5, 1.0, 3.0, 10.0] {
            let s = simplify_polygon(p, tol);
            assert!(s.shell.contains(&(1, 1)) && s.holes[0].contains(&(1, 1)));
            assert!(is_valid_simplification(p, &s, &pins), "tol {tol}: {s:?}");
        }
    }

    #[test]
    fn crossings_are_rejected() {
        let shell: Ring = vec![(0, 0), (10, 0), (10, 10), (0, 10)];
        let bow = Polygon {
            shell: shell.clone(),
            holes: vec![vec![(2, 2), (2, 12), (4, 4), (8, 2)]],
        };
        let orig = Polygon {
            shell,
            holes: vec![vec![(2, 2), (2, 8), (8, 8), (8, 2)]],
        };
        assert!(!is_valid_simplification(&orig, &bow, &HashSet::new()));
        assert!(is_valid_simplification(&orig, &orig, &HashSet::new()));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        #[test]
        fn simplified_random_masks_stay_valid(w in 2usize..40, h in 2usize..40, seed in proptest::prelude::any::<u64>(), tol in 0.5f64..6.0) {
            let mut rng = crate::sampling::Rng::new(seed);
            // blobs: a coarse random grid upsampled, so outlines have long staircases
            let coarse: Vec<bool> = (0..64).map(|_| rng.next_u64().is_multiple_of(2)).collect();
            let fg: Vec<bool> = (0..w * h)
                .map(|i| coarse[((i / w) * 8 / h) * 8 + (i % w) * 8 / w] ^ rng.next_u64().is_multiple_of(23))
                .collect();
            for p in trace(&fg, w, h) {
                let pins = pinned_vertices(&p);
                proptest::prop_assert!(is_valid_simplification(&p, &p, &pins), "traced polygon judged invalid");
                let s = simplify_polygon(&p, tol);
                proptest::prop_assert!(is_valid_simplification(&p, &s, &pins));
                proptest::prop_assert!(s.shell.len() <= p.shell.len());
            }
        }
    }
}
