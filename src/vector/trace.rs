//! Tracing the boundaries of a binary mask along pixel edges into valid polygons.
//!
//! Every foreground side that borders background (or the image edge) is a directed edge with
//! the foreground on its right (image coordinates, y down). Edges are linked into rings; at a
//! saddle vertex (two pixels touching only at a corner) the walk turns right, so foreground is
//! 4-connected and diagonal neighbours get separate rings. A ring that comes back to a vertex
//! it already passed is split there, so no ring touches itself: the pieces are simple rings
//! that may touch others at single points, which OGC/GEOS validity allows. Rings with positive
//! signed area are shells, negative ones holes; each hole goes to the smallest shell that
//! contains it. Collinear vertices are dropped; vertices are pixel corners (integers).
//!
//! This walk holds the whole mask; [`super::trace`] gives the same polygons streaming.

use std::collections::HashMap;

/// A closed ring of pixel-corner vertices (first vertex not repeated at the end).
pub type Ring = Vec<(i64, i64)>;

/// A polygon: one shell and its holes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Polygon {
    /// The outer boundary (clockwise on screen, i.e. positive area with y down).
    pub shell: Ring,
    /// The holes (counter-clockwise on screen).
    pub holes: Vec<Ring>,
}

const STEP: [(i64, i64); 4] = [(1, 0), (0, 1), (-1, 0), (0, -1)];

/// Drops polygons whose area (shell minus holes, in mask pixels) is below `min_area` and fills
/// (removes) holes whose area is below `max_hole`, as QuPath's tissue detection does.
pub fn filter_areas(polys: Vec<Polygon>, min_area: f64, max_hole: f64) -> Vec<Polygon> {
    polys
        .into_iter()
        .map(|mut p| {
            p.holes
                .retain(|h| (-signed_area2(h)) as f64 / 2.0 >= max_hole);
            p
        })
        .filter(|p| {
            let a = signed_area2(&p.shell) + p.holes.iter().map(signed_area2).sum::<i64>();
            a as f64 / 2.0 >= min_area
        })
        .collect()
}

/// Twice the signed area (shoelace, y down: shells positive).
pub fn signed_area2(r: &Ring) -> i64 {
    let n = r.len();
    (0..n)
        .map(|i| {
            let (a, b) = (r[i], r[(i + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum()
}

/// Traces the foreground (`fg[y·w + x]`) of a `w × h` mask into polygons by walking the
/// boundary edges of the whole mask held in memory: the reference that the streaming
/// [`super::trace`] is checked against, kept for that purpose.
pub fn trace_walk(fg: &[bool], w: usize, h: usize) -> Vec<Polygon> {
    assemble(walk_rings(fg, w, h))
}

/// The rings of [`trace_walk`], before they are grouped into polygons.
fn walk_rings(fg: &[bool], w: usize, h: usize) -> Vec<Ring> {
    let at = |x: i64, y: i64| {
        x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h && fg[y as usize * w + x as usize]
    };
    // outgoing edge directions at each vertex, as a 4-bit set
    let mut out: HashMap<(i64, i64), u8> = HashMap::new();
    for y in 0..h as i64 {
        for x in 0..w as i64 {
            if !at(x, y) {
                continue;
            }
            if !at(x, y - 1) {
                *out.entry((x, y)).or_default() |= 1 << 0;
            }
            if !at(x + 1, y) {
                *out.entry((x + 1, y)).or_default() |= 1 << 1;
            }
            if !at(x, y + 1) {
                *out.entry((x + 1, y + 1)).or_default() |= 1 << 2;
            }
            if !at(x - 1, y) {
                *out.entry((x, y + 1)).or_default() |= 1 << 3;
            }
        }
    }
    let mut starts: Vec<(i64, i64)> = out.keys().copied().collect();
    starts.sort_unstable_by_key(|&(x, y)| (y, x));
    let mut rings: Vec<Ring> = Vec::new();
    for s in starts {
        while let Some(&bits) = out.get(&s).filter(|b| **b != 0) {
            let d0 = bits.trailing_zeros() as usize;
            walk(&mut out, s, d0, &mut rings);
        }
    }
    rings
}

/// Follows edges from `start` leaving in direction `d`, splitting off a ring at every revisit.
fn walk(out: &mut HashMap<(i64, i64), u8>, start: (i64, i64), mut d: usize, rings: &mut Vec<Ring>) {
    // path of (vertex, direction leaving it)
    let mut path: Vec<((i64, i64), usize)> = Vec::new();
    let mut seen: HashMap<(i64, i64), usize> = HashMap::new();
    let mut v = start;
    loop {
        if let Some(b) = out.get_mut(&v) {
            *b &= !(1 << d);
        }
        seen.insert(v, path.len());
        path.push((v, d));
        let n = (v.0 + STEP[d].0, v.1 + STEP[d].1);
        if let Some(&i) = seen.get(&n) {
            // a loop from path[i] back to n: split it off
            let lp: Vec<((i64, i64), usize)> = path.drain(i..).collect();
            for (u, _) in &lp {
                seen.remove(u);
            }
            rings.push(simplify(&lp));
            if path.is_empty() && n == start {
                // back at the start with nothing pending; continue only if edges remain here
                match next_dir(out, n, d) {
                    Some(nd) => {
                        v = n;
                        d = nd;
                        continue;
                    }
                    None => return,
                }
            }
        }
        match next_dir(out, n, d) {
            Some(nd) => {
                v = n;
                d = nd;
            }
            None => {
                // dead end cannot happen on a closed boundary; keep what was walked as a ring
                if path.len() >= 4 {
                    rings.push(simplify(&path));
                }
                return;
            }
        }
    }
}

/// The unused outgoing direction at `v` after arriving in direction `d`: right turn first
/// (stays around the same foreground pixel), then straight, then left.
fn next_dir(out: &HashMap<(i64, i64), u8>, v: (i64, i64), d: usize) -> Option<usize> {
    let bits = *out.get(&v)?;
    [(d + 1) % 4, d, (d + 3) % 4]
        .into_iter()
        .find(|&nd| bits & (1 << nd) != 0)
}

/// Keeps the vertices where the direction changes.
fn simplify(lp: &[((i64, i64), usize)]) -> Ring {
    let n = lp.len();
    (0..n)
        .filter(|&i| lp[i].1 != lp[(i + n - 1) % n].1)
        .map(|i| lp[i].0)
        .collect()
}

/// Shells (positive area) with their holes (negative area), each hole in its smallest
/// containing shell. The rings are traced ones (edges along pixel sides, no two crossing).
///
/// Near-linear in the number of edges: from the middle of a hole's leftmost side, the first
/// ring side met going left is on the boundary of the same foreground (the pixels between are
/// one row of it): that foreground's shell, or another of its holes, whose owner is then this
/// hole's too. Holes are resolved from the left, so that other hole is always placed first;
/// the nearest side to the left comes from one sweep down the rows over the vertical sides.
pub(super) fn assemble(rings: Vec<Ring>) -> Vec<Polygon> {
    let rings: Vec<Ring> = rings.into_iter().filter(|r| r.len() >= 4).collect();
    let shell: Vec<bool> = rings.iter().map(|r| signed_area2(r) > 0).collect();
    // vertical sides (x, top, bottom, ring) and one probe per hole (x, row, ring), with rows
    // doubled so that a probe's row (2·top + 1) falls strictly inside the sides that span it
    let mut sides: Vec<(i64, i64, i64, usize)> = Vec::new();
    let mut probes: Vec<(i64, i64, usize)> = Vec::new();
    for (k, r) in rings.iter().enumerate() {
        let mut left: Option<(i64, i64)> = None;
        for i in 0..r.len() {
            let (a, b) = (r[i], r[(i + 1) % r.len()]);
            if a.0 == b.0 && a.1 != b.1 {
                let top = a.1.min(b.1);
                sides.push((a.0, 2 * top, 2 * a.1.max(b.1), k));
                if !shell[k] && left.is_none_or(|(x, _)| a.0 < x) {
                    left = Some((a.0, 2 * top + 1));
                }
            }
        }
        if let Some((x, y)) = left {
            probes.push((x, y, k));
        }
    }
    sides.sort_unstable_by_key(|s| s.1);
    probes.sort_unstable_by_key(|p| p.1);
    // the nearest side to the left of each probe: a sweep down the rows
    let mut first_left: Vec<Option<usize>> = vec![None; rings.len()];
    let mut active: std::collections::BTreeSet<(i64, i64, usize)> = Default::default();
    let mut ends: std::collections::BinaryHeap<std::cmp::Reverse<(i64, i64, i64, usize)>> =
        Default::default();
    let mut next = 0;
    for &(x, y, k) in &probes {
        while next < sides.len() && sides[next].1 < y {
            let (sx, top, bottom, r) = sides[next];
            active.insert((sx, top, r));
            ends.push(std::cmp::Reverse((bottom, sx, top, r)));
            next += 1;
        }
        while let Some(&std::cmp::Reverse((bottom, sx, top, r))) = ends.peek() {
            if bottom > y {
                break;
            }
            active.remove(&(sx, top, r));
            ends.pop();
        }
        first_left[k] = active.range(..(x, i64::MIN, 0)).next_back().map(|s| s.2);
    }
    // owners, from the leftmost hole on
    probes.sort_unstable_by_key(|p| p.0);
    let mut owner: Vec<Option<usize>> = (0..rings.len()).map(|k| shell[k].then_some(k)).collect();
    for &(_, _, k) in &probes {
        owner[k] = first_left[k].and_then(|r| owner[r]);
    }
    // shells in their order, each with its holes in theirs
    let mut slot: Vec<Option<usize>> = vec![None; rings.len()];
    let mut polys: Vec<Polygon> = Vec::new();
    for k in 0..rings.len() {
        if shell[k] {
            slot[k] = Some(polys.len());
            polys.push(Polygon {
                shell: Vec::new(),
                holes: Vec::new(),
            });
        }
    }
    for (k, ring) in rings.into_iter().enumerate() {
        if shell[k] {
            if let Some(i) = slot[k] {
                polys[i].shell = ring;
            }
        } else if let Some(i) = owner[k].and_then(|s| slot[s]) {
            polys[i].holes.push(ring);
        }
    }
    polys
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bbox(r: &Ring) -> (i64, i64, i64, i64) {
        r.iter().fold(
            (i64::MAX, i64::MAX, i64::MIN, i64::MIN),
            |(a, b, c, d), &(x, y)| (a.min(x), b.min(y), c.max(x), d.max(y)),
        )
    }

    /// Even-odd point in ring (the point is never on an edge here).
    fn contains(r: &Ring, p: (f64, f64)) -> bool {
        let n = r.len();
        let mut inside = false;
        for i in 0..n {
            let (a, b) = (r[i], r[(i + 1) % n]);
            let (ay, by) = (a.1 as f64, b.1 as f64);
            if (ay > p.1) != (by > p.1) {
                let x = a.0 as f64 + (p.1 - ay) * (b.0 - a.0) as f64 / (by - ay);
                if p.0 < x {
                    inside = !inside;
                }
            }
        }
        inside
    }

    /// The reference for [`assemble`]: each hole in the smallest shell that contains a point
    /// just inside the foreground beside its first edge (a test of every shell).
    fn assemble_by_containment(rings: Vec<Ring>) -> Vec<Polygon> {
        let (shells, holes): (Vec<Ring>, Vec<Ring>) = rings
            .into_iter()
            .filter(|r| r.len() >= 4)
            .partition(|r| signed_area2(r) > 0);
        let areas: Vec<i64> = shells.iter().map(signed_area2).collect();
        let boxes: Vec<(i64, i64, i64, i64)> = shells.iter().map(bbox).collect();
        let mut polys: Vec<Polygon> = shells
            .into_iter()
            .map(|shell| Polygon {
                shell,
                holes: Vec::new(),
            })
            .collect();
        for hole in holes {
            let (a, b) = (hole[0], hole[1 % hole.len()]);
            let d = ((b.0 - a.0).signum(), (b.1 - a.1).signum());
            let right = (-d.1, d.0);
            let p = (
                (a.0 + b.0) as f64 / 2.0 + 0.25 * right.0 as f64,
                (a.1 + b.1) as f64 / 2.0 + 0.25 * right.1 as f64,
            );
            let owner = (0..polys.len())
                .filter(|&i| {
                    let (x0, y0, x1, y1) = boxes[i];
                    p.0 > x0 as f64
                        && p.0 < x1 as f64
                        && p.1 > y0 as f64
                        && p.1 < y1 as f64
                        && contains(&polys[i].shell, p)
                })
                .min_by_key(|&i| areas[i]);
            if let Some(i) = owner {
                polys[i].holes.push(hole);
            }
        }
        polys
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// The sweep that places holes gives what testing every shell gives: nested islands,
        /// holes touching shells or each other at corners, all of it.
        #[test]
        fn holes_go_to_the_shell_testing_every_shell_gives(w in 1usize..28, h in 1usize..28, density in 0.2f64..0.9, seed in any::<u64>()) {
            let mut x = seed | 1;
            let fg: Vec<bool> = (0..w * h)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % 1000) as f64 / 1000.0 < density
                })
                .collect();
            let rings = walk_rings(&fg, w, h);
            prop_assert_eq!(assemble(rings.clone()), assemble_by_containment(rings));
        }
    }

    fn mask(rows: &[&str]) -> (Vec<bool>, usize, usize) {
        let w = rows[0].len();
        (
            rows.iter()
                .flat_map(|r| r.bytes().map(|b| b == b'#'))
                .collect(),
            w,
            rows.len(),
        )
    }

    #[test]
    fn small_objects_and_small_holes_are_filtered() {
        // a 5×5 block with a 1-px hole, and a lone pixel
        let (m, w, h) = mask(&["#####..", "#####..", "##.##..", "#####..", "#####.#"]);
        let p = filter_areas(trace_walk(&m, w, h), 2.0, 2.0);
        assert_eq!(p.len(), 1, "the lone pixel (area 1) is dropped");
        assert!(p[0].holes.is_empty(), "the 1-px hole is filled");
        let p = filter_areas(trace_walk(&m, w, h), 0.0, 0.0);
        assert_eq!(
            (p.len(), p.iter().map(|q| q.holes.len()).sum::<usize>()),
            (2, 1)
        );
    }

    #[test]
    fn one_pixel_is_a_unit_square() {
        let (m, w, h) = mask(&["#"]);
        assert_eq!(
            trace_walk(&m, w, h),
            vec![Polygon {
                shell: vec![(0, 0), (1, 0), (1, 1), (0, 1)],
                holes: vec![]
            }]
        );
    }

    #[test]
    fn diagonal_neighbours_are_separate_polygons() {
        let (m, w, h) = mask(&["#.", ".#"]);
        let p = trace_walk(&m, w, h);
        assert_eq!(p.len(), 2);
        assert!(p.iter().all(|q| q.shell.len() == 4 && q.holes.is_empty()));
    }

    #[test]
    fn ring_with_hole_and_island() {
        let (m, w, h) = mask(&["#####", "#...#", "#.#.#", "#...#", "#####"]);
        let mut p = trace_walk(&m, w, h);
        p.sort_by_key(|q| -signed_area2(&q.shell));
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].holes.len(), 1);
        assert_eq!(
            signed_area2(&p[0].shell) + signed_area2(&p[0].holes[0]),
            2 * 16
        );
        assert_eq!(p[1].shell, vec![(2, 2), (3, 2), (3, 3), (2, 3)]);
    }

    #[test]
    fn a_hole_touching_the_shell_at_a_corner_is_split_off() {
        // the background at (1,1) touches the outside diagonally through (0,0)? no: (0,0) is
        // foreground; background (1,1)-(2,2) diagonal pair inside a frame
        let (m, w, h) = mask(&["####", "#.##", "##.#", "####"]);
        let p = trace_walk(&m, w, h);
        assert_eq!(p.len(), 1);
        // background is 8-connected: the two diagonal pixels form one hole region, traced as two
        // simple holes touching at a point
        assert_eq!(p[0].holes.len(), 2);
        let area: i64 =
            signed_area2(&p[0].shell) + p[0].holes.iter().map(signed_area2).sum::<i64>();
        assert_eq!(area, 2 * 14);
    }
}
