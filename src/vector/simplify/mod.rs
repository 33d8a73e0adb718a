//! Simplifying traced polygons as one topology, so that neighbours stay neighbours.
//!
//! The rings of all polygons (every label together) are cut into *arcs*: the pieces of
//! boundary between *nodes*, the pixel corners where three or more regions meet, where two
//! pixels touch only at a corner, or where two rings touch. A boundary between two labels is one
//! arc used by both polygons (in opposite directions); a ring that meets nothing else is one
//! closed arc. Each arc is simplified once, with Douglas–Peucker over its own vertices in a
//! canonical direction (so the same from either side), its ends fixed; the vertices stay pixel
//! corners and no new coordinates appear. Neighbouring annotations therefore share their
//! simplified boundary exactly: no overlap, no gap.
//!
//! The simplified arcs are then checked together: no two segments cross, overlap or touch
//! except consecutive ones and arcs at their common node; no node and no isolated ring falls on
//! the other side of a shortcut (so holes stay in their shells, islands in their holes); the
//! arcs leave every node in their original order; every ring keeps at least three vertices
//! and its orientation. An arc in a failed check is simplified again at half its tolerance,
//! down to its traced form (tolerance below half a pixel), for both of its sides at once; the
//! traced arcs themselves always pass. Finally collinear vertices (a node where a ring runs
//! straight on, the start included) are dropped from each ring.

use std::collections::{HashMap, HashSet};

use super::geom::{meet, segment_meetings, Coord, Meet};
use super::trace::{signed_area2, Polygon, Ring};

type P = (i64, i64);

/// `poly` simplified with tolerance `tol` (mask pixels) on its own: [`simplify_topology`] of one
/// polygon.
pub fn simplify_polygon(poly: &Polygon, tol: f64) -> Polygon {
    simplify_topology(std::slice::from_ref(poly), tol)
        .pop()
        .unwrap_or_else(|| poly.clone())
}

/// The polygons `polys` (traced: vertices on pixel corners, edges along pixel sides, of any
/// labels, not overlapping) simplified together with tolerance `tol` in mask pixels, in the
/// same order, by the rules of this module. `tol <= 0` returns them unchanged.
pub fn simplify_topology(polys: &[Polygon], tol: f64) -> Vec<Polygon> {
    if tol.is_nan() || tol <= 0.0 || polys.is_empty() {
        return polys.to_vec();
    }
    let mut topo = Topology::build(polys);
    for a in &mut topo.arcs {
        a.tol = tol;
        a.simplify();
    }
    // repair: every arc in a failed check halves its tolerance, both sides at once
    for _round in 0..64 {
        let bad = topo.failures();
        if bad.is_empty() {
            break;
        }
        for i in bad {
            let a = &mut topo.arcs[i];
            a.tol = if a.tol / 2.0 < 0.5 { 0.0 } else { a.tol / 2.0 };
            a.simplify();
        }
    }
    // traced arcs never fail; if the rounds ran out, what still fails goes back to them
    loop {
        let bad = topo.failures();
        if bad.is_empty() {
            break;
        }
        for i in bad {
            topo.arcs[i].tol = 0.0;
            topo.arcs[i].simplify();
        }
    }
    topo.polygons()
}

/// A piece of boundary between nodes (`closed`: a whole ring meeting nothing else).
struct Arc {
    /// The traced vertices in canonical direction; an open arc starts and ends at nodes, a
    /// closed one starts at its smallest vertex (not repeated at the end).
    orig: Vec<P>,
    closed: bool,
    tol: f64,
    /// Indices into `orig` of the vertices kept, ascending.
    keep: Vec<usize>,
}

impl Arc {
    fn simplify(&mut self) {
        let n = self.orig.len();
        if self.tol <= 0.0 || n <= 2 {
            self.keep = (0..n).collect();
            return;
        }
        let o = &self.orig;
        let mut keep = vec![false; n];
        keep[0] = true;
        let last = if self.closed { n } else { n - 1 };
        if !self.closed {
            keep[n - 1] = true;
        }
        // a closed arc, or one that starts and ends at the same node, also keeps the vertex
        // farthest from its start
        if self.closed || o[0] == o[n - 1] {
            let far = (1..n - 1 + self.closed as usize)
                .max_by_key(|&i| {
                    let (dx, dy) = (o[i].0 - o[0].0, o[i].1 - o[0].1);
                    (
                        dx as i128 * dx as i128 + dy as i128 * dy as i128,
                        usize::MAX - i,
                    )
                })
                .unwrap_or(1);
            keep[far] = true;
        }
        let tol2 = self.tol * self.tol;
        let anchors: Vec<usize> = (0..n).filter(|&i| keep[i]).chain([last]).collect();
        let at = |i: usize| o[i % n];
        let mut stack: Vec<(usize, usize)> = anchors.windows(2).map(|w| (w[0], w[1])).collect();
        while let Some((a, b)) = stack.pop() {
            if b <= a + 1 {
                continue;
            }
            let (pa, pb) = (at(a), at(b));
            let (mut best, mut bi) = (-1.0, a);
            for i in a + 1..b {
                let d = dist2_to_segment(at(i), pa, pb);
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
        // a closed arc stays at least a triangle
        if self.closed && keep.iter().filter(|&&k| k).count() < 3 {
            let kept: Vec<usize> = (0..n).filter(|&i| keep[i]).collect();
            let (pa, pb) = (o[kept[0]], o[*kept.last().unwrap_or(&0)]);
            if let Some(i) = (0..n).filter(|&i| !keep[i]).max_by(|&i, &j| {
                dist2_to_segment(o[i], pa, pb).total_cmp(&dist2_to_segment(o[j], pa, pb))
            }) {
                keep[i] = true;
            }
        }
        self.keep = (0..n).filter(|&i| keep[i]).collect();
    }

    fn simplified(&self) -> Vec<P> {
        self.keep.iter().map(|&i| self.orig[i]).collect()
    }

    /// The kept vertex pairs with the traced chain between them: (first, last) indices into
    /// `orig`, `last` possibly `n` (back to the start) for a closed arc.
    fn chains(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let n = self.orig.len();
        let wrap = self.closed.then(|| (*self.keep.last().unwrap_or(&0), n));
        self.keep.windows(2).map(|w| (w[0], w[1])).chain(wrap)
    }
}

/// One ring as the arcs it runs along: (arc, whether it runs against the arc's direction).
type RingArcs = Vec<(usize, bool)>;

struct Topology {
    arcs: Vec<Arc>,
    /// Per polygon: shell then holes.
    rings: Vec<Vec<RingArcs>>,
    /// Sign of each ring's traced area.
    signs: Vec<Vec<i64>>,
    nodes: HashSet<P>,
}

impl Topology {
    fn build(polys: &[Polygon]) -> Topology {
        // every vertex, indexed by column and by row, to cut edges where another ring's
        // vertex lies on them
        let mut by_x: HashMap<i64, Vec<i64>> = HashMap::new();
        let mut by_y: HashMap<i64, Vec<i64>> = HashMap::new();
        for p in polys {
            for r in rings_of(p) {
                for &(x, y) in r {
                    by_x.entry(x).or_default().push(y);
                    by_y.entry(y).or_default().push(x);
                }
            }
        }
        for v in by_x.values_mut().chain(by_y.values_mut()) {
            v.sort_unstable();
            v.dedup();
        }
        let refine = |r: &Ring| -> Ring {
            let n = r.len();
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                let (a, b) = (r[i], r[(i + 1) % n]);
                out.push(a);
                let between = |line: &Vec<i64>, lo: i64, hi: i64| {
                    let s = line.partition_point(|&v| v <= lo);
                    let e = line.partition_point(|&v| v < hi);
                    line[s..e.max(s)].to_vec()
                };
                if a.0 == b.0 && a.1 != b.1 {
                    let ys = between(&by_x[&a.0], a.1.min(b.1), a.1.max(b.1));
                    if a.1 < b.1 {
                        out.extend(ys.iter().map(|&y| (a.0, y)));
                    } else {
                        out.extend(ys.iter().rev().map(|&y| (a.0, y)));
                    }
                } else if a.1 == b.1 && a.0 != b.0 {
                    let xs = between(&by_y[&a.1], a.0.min(b.0), a.0.max(b.0));
                    if a.0 < b.0 {
                        out.extend(xs.iter().map(|&x| (x, a.1)));
                    } else {
                        out.extend(xs.iter().rev().map(|&x| (x, a.1)));
                    }
                }
            }
            out
        };
        let refined: Vec<Vec<Ring>> = polys
            .iter()
            .map(|p| rings_of(p).map(refine).collect())
            .collect();
        // nodes: where other than two boundary segments meet
        let mut segs: HashSet<(P, P)> = HashSet::new();
        for r in refined.iter().flatten() {
            let n = r.len();
            for i in 0..n {
                let (a, b) = (r[i], r[(i + 1) % n]);
                segs.insert(if a < b { (a, b) } else { (b, a) });
            }
        }
        let mut degree: HashMap<P, u32> = HashMap::new();
        for &(a, b) in &segs {
            *degree.entry(a).or_default() += 1;
            *degree.entry(b).or_default() += 1;
        }
        drop(segs);
        let nodes: HashSet<P> = degree
            .into_iter()
            .filter(|&(_, d)| d != 2)
            .map(|(p, _)| p)
            .collect();
        let mut arcs: Vec<Arc> = Vec::new();
        let mut key: HashMap<(P, P), usize> = HashMap::new();
        let mut add = |piece: Vec<P>, closed: bool| -> (usize, bool) {
            let k = piece.len();
            let (fwd, bwd) = if closed {
                ((piece[0], piece[1]), (piece[0], piece[k - 1]))
            } else {
                ((piece[0], piece[1]), (piece[k - 1], piece[k - 2]))
            };
            let reversed = bwd < fwd;
            let canon = if reversed { bwd } else { fwd };
            let id = *key.entry(canon).or_insert_with(|| {
                let mut orig = piece;
                if reversed {
                    orig.reverse();
                    if closed {
                        orig.rotate_right(1);
                    }
                }
                arcs.push(Arc {
                    orig,
                    closed,
                    tol: 0.0,
                    keep: Vec::new(),
                });
                arcs.len() - 1
            });
            (id, reversed)
        };
        let mut rings = Vec::with_capacity(polys.len());
        let mut signs = Vec::with_capacity(polys.len());
        for (p, refined) in polys.iter().zip(&refined) {
            let mut pr = Vec::new();
            for r in refined {
                let n = r.len();
                match (0..n).find(|&i| nodes.contains(&r[i])) {
                    None => {
                        // a closed arc from its smallest vertex
                        let m = (0..n).min_by_key(|&i| r[i]).unwrap_or(0);
                        let mut piece = r.clone();
                        piece.rotate_left(m);
                        pr.push(vec![add(piece, true)]);
                    }
                    Some(s) => {
                        let mut arcs_of = Vec::new();
                        let mut piece = vec![r[s]];
                        for k in 1..=n {
                            let v = r[(s + k) % n];
                            piece.push(v);
                            if nodes.contains(&v) {
                                arcs_of.push(add(std::mem::replace(&mut piece, vec![v]), false));
                            }
                        }
                        pr.push(arcs_of);
                    }
                }
            }
            rings.push(pr);
            signs.push(
                std::iter::once(&p.shell)
                    .chain(&p.holes)
                    .map(|r| signed_area2(r).signum())
                    .collect(),
            );
        }
        Topology {
            arcs,
            rings,
            signs,
            nodes,
        }
    }

    /// A ring's vertices from its arcs as simplified now, collinear vertices dropped.
    fn ring(&self, ra: &RingArcs) -> Ring {
        let mut v: Vec<P> = Vec::new();
        for &(a, rev) in ra {
            let arc = &self.arcs[a];
            let mut s = arc.simplified();
            if rev {
                s.reverse();
                if arc.closed {
                    s.rotate_right(1);
                }
            }
            if !arc.closed {
                s.pop(); // the next arc starts there
            }
            v.extend(s);
        }
        drop_collinear(v)
    }

    fn polygons(&self) -> Vec<Polygon> {
        self.rings
            .iter()
            .map(|pr| {
                let mut rs = pr.iter().map(|ra| self.ring(ra));
                let shell = rs.next().unwrap_or_default();
                Polygon {
                    shell,
                    holes: rs.collect(),
                }
            })
            .collect()
    }

    /// The arcs taking part in a failed check (see the module comment), ascending.
    fn failures(&self) -> Vec<usize> {
        let mut bad = vec![false; self.arcs.len()];
        let simp: Vec<Vec<P>> = self.arcs.iter().map(Arc::simplified).collect();
        // 1. segments meet only where they should
        let mut segs: Vec<(P, P)> = Vec::new();
        let mut owner: Vec<(usize, usize)> = Vec::new();
        for (a, s) in simp.iter().enumerate() {
            let k = s.len();
            let m = if self.arcs[a].closed { k } else { k - 1 };
            for i in 0..m {
                segs.push((s[i], s[(i + 1) % k]));
                owner.push((a, i));
            }
        }
        segment_meetings(&segs, |x, y, how| {
            let ((ax, ix), (ay, iy)) = (owner[x], owner[y]);
            let fine = match how {
                Meet::Touch(p) => {
                    let ends = |s: (P, P)| s.0 == p || s.1 == p;
                    let both = ends(segs[x]) && ends(segs[y]);
                    let consecutive = ax == ay && {
                        let k = simp[ax].len();
                        let m = if self.arcs[ax].closed { k } else { k - 1 };
                        ix.abs_diff(iy) == 1 || (self.arcs[ax].closed && ix.abs_diff(iy) == m - 1)
                    };
                    both && (consecutive || self.nodes.contains(&p))
                }
                _ => false,
            };
            if !fine {
                bad[ax] = true;
                bad[ay] = true;
            }
            true
        });
        // 2. no node or isolated ring on the other side of a shortcut
        let mut points: Vec<P> = self.nodes.iter().copied().collect();
        points.extend(self.arcs.iter().filter(|a| a.closed).map(|a| a.orig[0]));
        let points = PointIndex::new(points);
        for (a, arc) in self.arcs.iter().enumerate() {
            if bad[a] {
                continue;
            }
            let n = arc.orig.len();
            for (i, j) in arc.chains() {
                if j <= i + 1 {
                    continue;
                }
                let chain: Vec<P> = (i..=j).map(|k| arc.orig[k % n]).collect();
                if swept_holds_a_point(&chain, &points) {
                    bad[a] = true;
                    break;
                }
            }
        }
        // 3. arcs leave each node in their original order
        let mut ends: HashMap<P, Vec<(usize, P, P)>> = HashMap::new();
        for (a, arc) in self.arcs.iter().enumerate() {
            if arc.closed || arc.orig.len() < 2 {
                continue;
            }
            let (o, s) = (&arc.orig, &simp[a]);
            let (n, k) = (o.len(), s.len());
            ends.entry(o[0]).or_default().push((a, o[1], s[1]));
            ends.entry(o[n - 1])
                .or_default()
                .push((a, o[n - 2], s[k - 2]));
        }
        for (node, mut es) in ends {
            if es.len() < 3 {
                continue;
            }
            let dir = |p: P| (p.0 - node.0, p.1 - node.1);
            es.sort_by(|x, y| angle_cmp(dir(x.1), dir(y.1)));
            let m = es.len();
            let descents = (0..m)
                .filter(|&i| {
                    angle_cmp(dir(es[i].2), dir(es[(i + 1) % m].2)) != std::cmp::Ordering::Less
                })
                .count();
            if descents != 1 {
                for e in &es {
                    bad[e.0] = true;
                }
            }
        }
        // 4. rings keep three vertices and their orientation
        for (pr, sg) in self.rings.iter().zip(&self.signs) {
            for (ra, &sign) in pr.iter().zip(sg) {
                let r = self.ring(ra);
                if r.len() < 3 || signed_area2(&r).signum() != sign {
                    for &(a, _) in ra {
                        bad[a] = true;
                    }
                }
            }
        }
        (0..bad.len())
            .filter(|&a| bad[a] && self.arcs[a].tol > 0.0)
            .collect()
    }
}

/// The points a shortcut must not pass over, found by box: sorted by x for tall, narrow
/// boxes, and in square cells for the rest, so that a box meets about the points near it
/// (holes stacked in one column, or spread in a row, cost no scan of all of them per box).
struct PointIndex {
    by_x: Vec<P>,
    cells: HashMap<P, Vec<P>>,
}

/// The side of a [`PointIndex`] cell, in mask pixels.
const CELL: i64 = 64;

impl PointIndex {
    fn new(mut points: Vec<P>) -> Self {
        points.sort_unstable();
        let mut cells: HashMap<P, Vec<P>> = HashMap::new();
        for &p in &points {
            cells
                .entry((p.0.div_euclid(CELL), p.1.div_euclid(CELL)))
                .or_default()
                .push(p);
        }
        PointIndex {
            by_x: points,
            cells,
        }
    }

    /// Whether `f` holds for a point in the box `[x0, x1] × [y0, y1]`.
    fn any_in(&self, (x0, y0, x1, y1): (i64, i64, i64, i64), mut f: impl FnMut(P) -> bool) -> bool {
        let s = self.by_x.partition_point(|&p| p < (x0, i64::MIN));
        let e = self.by_x.partition_point(|&p| p <= (x1, i64::MAX));
        let (cx0, cy0, cx1, cy1) = (
            x0.div_euclid(CELL),
            y0.div_euclid(CELL),
            x1.div_euclid(CELL),
            y1.div_euclid(CELL),
        );
        let ncells = (cx1 - cx0 + 1).saturating_mul(cy1 - cy0 + 1);
        let inside = |p: P| p.0 >= x0 && p.0 <= x1 && p.1 >= y0 && p.1 <= y1;
        if ncells as usize >= e - s {
            return self.by_x[s..e].iter().any(|&p| inside(p) && f(p));
        }
        (cx0..=cx1).any(|cx| {
            (cy0..=cy1).any(|cy| {
                self.cells
                    .get(&(cx, cy))
                    .is_some_and(|v| v.iter().any(|&p| inside(p) && f(p)))
            })
        })
    }
}

/// Whether a point of `points` other than the chain's ends lies inside, or on the closing
/// side of, the region between `chain` and the straight shortcut from its last vertex back to
/// its first (even-odd: exactly the points whose side of the ring changes).
fn swept_holds_a_point(chain: &[P], points: &PointIndex) -> bool {
    let (a, b) = (chain[0], chain[chain.len() - 1]);
    let (mut x0, mut y0, mut x1, mut y1) = (i64::MAX, i64::MAX, i64::MIN, i64::MIN);
    for &(x, y) in chain {
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
    }
    points.any_in((x0, y0, x1, y1), |p| {
        if p == a || p == b {
            return false;
        }
        if matches!(meet(a, b, p, p), Meet::Touch(_)) {
            return true;
        }
        let n = chain.len();
        let mut inside = false;
        for i in 0..n {
            let (u, v) = (chain[i], chain[(i + 1) % n]);
            if (u.1 > p.1) != (v.1 > p.1) {
                let o = i64::orient(u, v, p);
                if (o > 0) == (v.1 > u.1) {
                    inside = !inside;
                }
            }
        }
        inside
    })
}

fn rings_of(p: &Polygon) -> impl Iterator<Item = &Ring> {
    std::iter::once(&p.shell).chain(&p.holes)
}

/// Orders directions by angle from +x, turning towards +y, exactly.
fn angle_cmp(u: P, v: P) -> std::cmp::Ordering {
    let half = |p: P| (p.1 < 0 || (p.1 == 0 && p.0 < 0)) as u8;
    half(u).cmp(&half(v)).then_with(|| {
        let c = u.0 as i128 * v.1 as i128 - u.1 as i128 * v.0 as i128;
        0.cmp(&c)
    })
}

/// Drops every vertex lying strictly between its two neighbours on a straight line, the ring's
/// first vertex included.
fn drop_collinear(r: Vec<P>) -> Vec<P> {
    let between = |a: P, q: P, b: P| {
        i64::orient(a, q, b) == 0
            && ((q.0 - a.0) as i128 * (b.0 - q.0) as i128
                + (q.1 - a.1) as i128 * (b.1 - q.1) as i128)
                > 0
    };
    let mut out: Vec<P> = Vec::with_capacity(r.len());
    for p in r {
        while out.len() >= 2 && between(out[out.len() - 2], out[out.len() - 1], p) {
            out.pop();
        }
        out.push(p);
    }
    loop {
        let n = out.len();
        if n < 3 {
            break;
        }
        if between(out[n - 2], out[n - 1], out[0]) {
            out.pop();
        } else if between(out[n - 1], out[0], out[1]) {
            out.remove(0);
        } else {
            break;
        }
    }
    out
}

fn dist2_to_segment(p: P, a: P, b: P) -> f64 {
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

#[cfg(test)]
mod tests;
