//! Simplification as one topology, checked with oracles the code under test does not use:
//! geo's OGC validity and boolean intersection, and a brute-force point-in-polygon sampling of
//! random multi-label masks written here.

use geo::{Area, BooleanOps, Validation};
use h2g::vector::{simplify_topology, trace, Polygon};
use proptest::prelude::*;

/// A `w × h` mask of labels 0..=3: a coarse random grid of blobs, scaled up, with noise.
fn labels(w: usize, h: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let coarse: Vec<u8> = (0..36).map(|_| (next() % 4) as u8).collect();
    (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            let c = coarse[(y * 6 / h) * 6 + x * 6 / w];
            if next() % 13 == 0 {
                (next() % 4) as u8
            } else {
                c
            }
        })
        .collect()
}

/// Every non-zero label traced, as (label, polygon).
fn traced(lab: &[u8], w: usize, h: usize) -> Vec<(u8, Polygon)> {
    (1..=3u8)
        .flat_map(|l| {
            let fg: Vec<bool> = lab.iter().map(|&v| v == l).collect();
            trace(&fg, w, h).into_iter().map(move |p| (l, p))
        })
        .collect()
}

fn rings(p: &Polygon) -> impl Iterator<Item = &Vec<(i64, i64)>> {
    std::iter::once(&p.shell).chain(&p.holes)
}

fn to_geo(p: &Polygon) -> geo::Polygon<f64> {
    let ls = |r: &Vec<(i64, i64)>| {
        geo::LineString::from(
            r.iter()
                .map(|&(x, y)| (x as f64, y as f64))
                .collect::<Vec<_>>(),
        )
    };
    geo::Polygon::new(ls(&p.shell), p.holes.iter().map(ls).collect())
}

/// Even-odd over all rings of `p`; `q` never lies on an edge (sample points are off the grid).
fn contains(p: &Polygon, q: (f64, f64)) -> bool {
    let mut inside = false;
    for r in rings(p) {
        let n = r.len();
        for i in 0..n {
            let (a, b) = (r[i], r[(i + 1) % n]);
            let (ay, by) = (a.1 as f64, b.1 as f64);
            if (ay > q.1) != (by > q.1) {
                let x = a.0 as f64 + (q.1 - ay) * (b.0 - a.0) as f64 / (by - ay);
                if q.0 < x {
                    inside = !inside;
                }
            }
        }
    }
    inside
}

fn dist_to_segment(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let l2 = dx * dx + dy * dy;
    let t = if l2 == 0.0 {
        0.0
    } else {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / l2).clamp(0.0, 1.0)
    };
    ((a.0 + t * dx - p.0).powi(2) + (a.1 + t * dy - p.1).powi(2)).sqrt()
}

/// The unit pixel edges of the mask where `differs(v, u)` holds between the two sides (the
/// outside of the image counting as label 0).
fn edges(lab: &[u8], w: usize, h: usize, differs: impl Fn(u8, u8) -> bool) -> Vec<[(f64, f64); 2]> {
    let at = |x: i64, y: i64| {
        if x < 0 || y < 0 || x >= w as i64 || y >= h as i64 {
            0
        } else {
            lab[y as usize * w + x as usize]
        }
    };
    let mut out = Vec::new();
    for y in 0..=h as i64 {
        for x in 0..=w as i64 {
            if differs(at(x, y), at(x - 1, y)) {
                out.push([(x as f64, y as f64), (x as f64, y as f64 + 1.0)]);
            }
            if differs(at(x, y), at(x, y - 1)) {
                out.push([(x as f64, y as f64), (x as f64 + 1.0, y as f64)]);
            }
        }
    }
    out
}

fn near(p: (f64, f64), es: &[[(f64, f64); 2]], d: f64) -> bool {
    es.iter()
        .any(|e| dist_to_segment(p, e[0], e[1]) <= d + 1e-9)
}

/// Every oracle on one mask at one tolerance; `Err` names the first failure.
fn check(lab: &[u8], w: usize, h: usize, tol: f64) -> Result<(), String> {
    check_with(lab, w, h, tol, simplify_topology)
}

fn check_with(
    lab: &[u8],
    w: usize,
    h: usize,
    tol: f64,
    simplify: impl Fn(&[Polygon], f64) -> Vec<Polygon>,
) -> Result<(), String> {
    let orig = traced(lab, w, h);
    let polys: Vec<Polygon> = orig.iter().map(|(_, p)| p.clone()).collect();
    let simp = simplify(&polys, tol);
    if simp.len() != polys.len() {
        return Err(format!("{} polygons in, {} out", polys.len(), simp.len()));
    }
    let label: Vec<u8> = orig.iter().map(|(l, _)| *l).collect();
    // OGC validity (geo) and no collinear vertex, the ring's start included
    for (i, p) in simp.iter().enumerate() {
        let g = to_geo(p);
        if !g.is_valid() {
            return Err(format!("polygon {i} invalid for geo: {p:?}"));
        }
        for r in rings(p) {
            let n = r.len();
            for k in 0..n {
                let (a, b, c) = (r[(k + n - 1) % n], r[k], r[(k + 1) % n]);
                let cross = (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0);
                if cross == 0 {
                    return Err(format!("collinear vertex {b:?} in polygon {i}: {r:?}"));
                }
            }
        }
    }
    // no two polygons overlap (geo's boolean ops)
    let geos: Vec<geo::Polygon<f64>> = simp.iter().map(to_geo).collect();
    for i in 0..geos.len() {
        for j in i + 1..geos.len() {
            let a = geos[i].intersection(&geos[j]).unsigned_area();
            if a > 1e-6 {
                return Err(format!(
                    "polygons {i} (label {}) and {j} (label {}) overlap by {a}",
                    label[i], label[j]
                ));
            }
        }
    }
    // sampled: covered at most once; the union and each label move only near the boundaries
    let outer = edges(lab, w, h, |a, b| (a == 0) != (b == 0));
    let between = edges(lab, w, h, |a, b| a != b);
    let k = 3;
    for sy in 0..h * k {
        for sx in 0..w * k {
            let q = (
                (sx as f64 + 0.4142) / k as f64,
                (sy as f64 + 0.2718) / k as f64,
            );
            let had = lab[(q.1 as usize) * w + q.0 as usize];
            let now: Vec<usize> = (0..simp.len()).filter(|&i| contains(&simp[i], q)).collect();
            if now.len() > 1 {
                return Err(format!("{q:?} is covered by polygons {now:?}"));
            }
            let now_label = now.first().map_or(0, |&i| label[i]);
            if (had == 0) != (now_label == 0) && !near(q, &outer, 2.0 * tol) {
                return Err(format!(
                    "{q:?} was label {had}, is {now_label}: farther than 2 × {tol} from the outline"
                ));
            }
            if had != now_label && !near(q, &between, 2.0 * tol) {
                return Err(format!(
                    "{q:?} was label {had}, is {now_label}: far from every boundary"
                ));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(120))]
    #[test]
    fn random_label_masks_simplify_to_a_valid_shared_topology(
        w in 3usize..36, h in 3usize..36, seed in any::<u64>(), tol in 0.5f64..5.0
    ) {
        let lab = labels(w, h, seed);
        if let Err(e) = check(&lab, w, h, tol) {
            prop_assert!(false, "{}", e);
        }
    }
}

#[test]
fn zero_tolerance_changes_nothing() {
    let (w, h) = (30, 20);
    let lab = labels(w, h, 11);
    let polys: Vec<Polygon> = traced(&lab, w, h).into_iter().map(|(_, p)| p).collect();
    assert_eq!(simplify_topology(&polys, 0.0), polys);
}

#[test]
fn neighbouring_classes_on_a_staircase_share_one_simplified_boundary() {
    // regression: each polygon simplified on its own overlapped its neighbour; a diagonal
    // staircase between label 1 (left) and 2 (right), and 3 as an island touching both
    let (w, h) = (60usize, 40usize);
    let lab: Vec<u8> = (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            if (25..31).contains(&x) && (5..9).contains(&y) {
                3
            } else if x < 10 + y * 3 / 4 {
                1
            } else {
                2
            }
        })
        .collect();
    for tol in [0.5, 1.0, 2.0, 4.0, 8.0] {
        check(&lab, w, h, tol).unwrap_or_else(|e| panic!("tol {tol}: {e}"));
    }
    // the simplified staircase is far shorter than the traced one
    let polys: Vec<Polygon> = traced(&lab, w, h).into_iter().map(|(_, p)| p).collect();
    let s = simplify_topology(&polys, 2.0);
    let count = |ps: &[Polygon]| ps.iter().flat_map(rings).map(Vec::len).sum::<usize>();
    assert!(
        count(&s) * 3 < count(&polys),
        "{} → {}",
        count(&polys),
        count(&s)
    );
}

#[test]
fn holes_islands_and_diagonal_touches_stay_in_place() {
    // a ring of 1 holding 2 with a hole of 0 holding an island of 3; diagonal contacts
    let rows = [
        "1111111111111111",
        "1222222222222221",
        "1220000000000221",
        "1220033330000221",
        "1220030030000221",
        "1220033330000221",
        "1220000000000221",
        "1222222222222221",
        "1111111111111111",
        "0000000000000000",
        "1010101010101010",
        "0101010101010101",
    ];
    let w = rows[0].len();
    let lab: Vec<u8> = rows
        .iter()
        .flat_map(|r| r.bytes().map(|b| b - b'0'))
        .collect();
    for tol in [0.5, 1.0, 3.0, 10.0] {
        check(&lab, w, rows.len(), tol).unwrap_or_else(|e| panic!("tol {tol}: {e}"));
    }
}

#[test]
fn the_oracle_catches_polygons_simplified_one_by_one() {
    // the old way (each polygon alone) overlaps or leaves gaps between classes: the checks
    // above must see it, or they prove nothing
    let alone = |ps: &[Polygon], tol: f64| -> Vec<Polygon> {
        ps.iter()
            .map(|p| h2g::vector::simplify_polygon(p, tol))
            .collect()
    };
    let failed = (0..40u64)
        .filter(|&seed| check_with(&labels(30, 30, seed), 30, 30, 3.0, alone).is_err())
        .count();
    eprintln!("simplified one by one, {failed} of 40 masks fail the checks");
    assert!(failed >= 10, "only {failed} of 40 masks caught");
    for seed in 0..40u64 {
        check(&labels(30, 30, seed), 30, 30, 3.0).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    }
}
