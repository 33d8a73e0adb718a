//! Segment intersections: finding rings that cross themselves in annotations read from
//! elsewhere, and checking that simplified outlines still meet only where they should.

/// A coordinate type with an exact (integers) or floating orientation test.
pub trait Coord: Copy + PartialOrd + PartialEq + std::fmt::Debug {
    /// The sign of the cross product (b − a) × (c − a): −1, 0 or 1.
    fn orient(a: (Self, Self), b: (Self, Self), c: (Self, Self)) -> i8;
    /// The value as a float (for bucketing only).
    fn to_f64(self) -> f64;
}

impl Coord for i64 {
    fn orient(a: (i64, i64), b: (i64, i64), c: (i64, i64)) -> i8 {
        let v =
            (b.0 - a.0) as i128 * (c.1 - a.1) as i128 - (b.1 - a.1) as i128 * (c.0 - a.0) as i128;
        v.signum() as i8
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl Coord for f64 {
    fn orient(a: (f64, f64), b: (f64, f64), c: (f64, f64)) -> i8 {
        let v = (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0);
        if v > 0.0 {
            1
        } else if v < 0.0 {
            -1
        } else {
            0
        }
    }
    fn to_f64(self) -> f64 {
        self
    }
}

/// How two segments meet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Meet<T> {
    /// They share no point.
    Apart,
    /// Their interiors cross at one point.
    Cross,
    /// They share exactly one point, an endpoint of at least one of them.
    Touch((T, T)),
    /// They are collinear and share more than one point.
    Overlap,
}

fn within<T: Coord>(a: (T, T), b: (T, T), p: (T, T)) -> bool {
    let (lx, hx) = if a.0 <= b.0 { (a.0, b.0) } else { (b.0, a.0) };
    let (ly, hy) = if a.1 <= b.1 { (a.1, b.1) } else { (b.1, a.1) };
    lx <= p.0 && p.0 <= hx && ly <= p.1 && p.1 <= hy
}

/// How segment `a–b` meets segment `c–d`.
pub fn meet<T: Coord>(a: (T, T), b: (T, T), c: (T, T), d: (T, T)) -> Meet<T> {
    let (o1, o2) = (T::orient(a, b, c), T::orient(a, b, d));
    let (o3, o4) = (T::orient(c, d, a), T::orient(c, d, b));
    if o1 == 0 && o2 == 0 {
        // collinear: count the shared endpoints
        let mut shared: Vec<(T, T)> = Vec::new();
        for p in [c, d] {
            if within(a, b, p) && !shared.contains(&p) {
                shared.push(p);
            }
        }
        for p in [a, b] {
            if within(c, d, p) && !shared.contains(&p) {
                shared.push(p);
            }
        }
        return match shared.len() {
            0 => Meet::Apart,
            1 => Meet::Touch(shared[0]),
            _ => Meet::Overlap,
        };
    }
    if o1 * o2 < 0 && o3 * o4 < 0 {
        return Meet::Cross;
    }
    for (o, p, s, e) in [(o1, c, a, b), (o2, d, a, b), (o3, a, c, d), (o4, b, c, d)] {
        if o == 0 && within(s, e, p) {
            return Meet::Touch(p);
        }
    }
    Meet::Apart
}

/// A segment from its first point to its second.
pub type Segment<T> = ((T, T), (T, T));

/// One conflict between two segments: ring and segment index of each side, and how they meet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conflict<T> {
    /// (ring, segment) of the first segment.
    pub a: (usize, usize),
    /// (ring, segment) of the second segment.
    pub b: (usize, usize),
    /// How they meet.
    pub how: Meet<T>,
}

/// Every pair of segments of `rings` (closed, first vertex not repeated) that meet, except
/// consecutive segments meeting only at their shared vertex; `report` is told each meeting
/// (it returns `false` to stop the search early).
pub fn meetings<T: Coord>(rings: &[&[(T, T)]], mut report: impl FnMut(Conflict<T>) -> bool) {
    let mut segs: Vec<Segment<T>> = Vec::new();
    let mut id: Vec<(usize, usize)> = Vec::new();
    for (r, ring) in rings.iter().enumerate() {
        let n = ring.len();
        for i in 0..n {
            segs.push((ring[i], ring[(i + 1) % n]));
            id.push((r, i));
        }
    }
    segment_meetings(&segs, |x, y, how| {
        let ((ro, io), (rs, is)) = (id[x], id[y]);
        if ro == rs {
            let n = rings[rs].len();
            let adjacent = (io + 1) % n == is || (is + 1) % n == io;
            if adjacent && n > 2 && matches!(how, Meet::Touch(_)) {
                return true;
            }
        }
        report(Conflict {
            a: (ro, io),
            b: (rs, is),
            how,
        })
    });
}

/// Every pair of segments of `segs` (by index, the smaller first) that share a point, with how
/// they meet; `report` returns `false` to stop early. Segments are bucketed in a uniform grid
/// of cells twice their mean extent, and compared only within a common cell (each
/// pair once, in the cell holding the low corner of their boxes' overlap); the few that would
/// span very many cells are compared with every segment whose box meets theirs.
pub fn segment_meetings<T: Coord>(
    segs: &[Segment<T>],
    mut report: impl FnMut(usize, usize, Meet<T>) -> bool,
) {
    let n = segs.len();
    if n < 2 {
        return;
    }
    let boxes: Vec<[f64; 4]> = segs
        .iter()
        .map(|&(p, q)| {
            let (px, py, qx, qy) = (p.0.to_f64(), p.1.to_f64(), q.0.to_f64(), q.1.to_f64());
            [px.min(qx), py.min(qy), px.max(qx), py.max(qy)]
        })
        .collect();
    if boxes.iter().flatten().any(|v| !v.is_finite()) {
        // not bucketable: compare every pair
        for i in 0..n {
            for j in i + 1..n {
                let how = meet(segs[i].0, segs[i].1, segs[j].0, segs[j].1);
                if how != Meet::Apart && !report(i, j, how) {
                    return;
                }
            }
        }
        return;
    }
    let mean = boxes
        .iter()
        .map(|b| (b[2] - b[0]).max(b[3] - b[1]))
        .sum::<f64>()
        / n as f64;
    let cell = (2.0 * mean).max(1e-9);
    let (x0, y0) = boxes.iter().fold((f64::MAX, f64::MAX), |(a, b), bx| {
        (a.min(bx[0]), b.min(bx[1]))
    });
    let at = |v: f64, o: f64| ((v - o) / cell).floor() as i64;
    let span = |b: &[f64; 4]| (at(b[0], x0), at(b[1], y0), at(b[2], x0), at(b[3], y0));
    const BIG: i64 = 1 << 16;
    let mut grid: std::collections::HashMap<(i64, i64), Vec<usize>> = Default::default();
    let mut big: Vec<usize> = Vec::new();
    for (i, b) in boxes.iter().enumerate() {
        let (cx0, cy0, cx1, cy1) = span(b);
        if (cx1 - cx0 + 1).saturating_mul(cy1 - cy0 + 1) > BIG {
            big.push(i);
            continue;
        }
        for cy in cy0..=cy1 {
            for cx in cx0..=cx1 {
                grid.entry((cx, cy)).or_default().push(i);
            }
        }
    }
    let overlap =
        |a: &[f64; 4], b: &[f64; 4]| a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];
    let mut cells: Vec<(&(i64, i64), &Vec<usize>)> = grid.iter().collect();
    cells.sort_unstable_by_key(|c| *c.0);
    for (&(cx, cy), members) in cells {
        for (k, &i) in members.iter().enumerate() {
            for &j in &members[k + 1..] {
                let (a, b) = (&boxes[i], &boxes[j]);
                if !overlap(a, b) || (at(a[0].max(b[0]), x0), at(a[1].max(b[1]), y0)) != (cx, cy) {
                    continue;
                }
                let how = meet(segs[i].0, segs[i].1, segs[j].0, segs[j].1);
                if how != Meet::Apart && !report(i.min(j), i.max(j), how) {
                    return;
                }
            }
        }
    }
    let is_big: std::collections::HashSet<usize> = big.iter().copied().collect();
    for &i in &big {
        for j in 0..n {
            if j == i || (is_big.contains(&j) && j < i) || !overlap(&boxes[i], &boxes[j]) {
                continue;
            }
            let how = meet(segs[i].0, segs[i].1, segs[j].0, segs[j].1);
            if how != Meet::Apart && !report(i.min(j), i.max(j), how) {
                return;
            }
        }
    }
}

/// What [`self_crossing`] found of a ring.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RingCheck {
    /// It neither crosses nor runs back over itself (touching itself at a vertex is allowed).
    Simple,
    /// It crosses or runs back over itself here (the first such place found).
    Crosses((f64, f64)),
    /// It touches itself at vertices so often (at this point, among others) that checking every
    /// pair of its sides meeting there would take too long: a ring of many lobes through one
    /// point (a "flower" of a million petals is 10¹² pairs). Left unchecked.
    TooManyTouches((f64, f64)),
}

/// The most meetings at shared vertices [`self_crossing`] goes through for a ring of `n`
/// sides before it gives up: a drawn ring touches itself at a few pinch points.
fn touch_budget(n: usize) -> usize {
    4 * n + 10_000
}

/// Whether ring `ring` crosses itself or runs back over itself.
pub fn self_crossing(ring: &[(f64, f64)]) -> RingCheck {
    // repeated vertices make zero-length sides, which cross nothing but would all meet each
    // other at one point (a ring of a million copies of one vertex: a million² pairs)
    let mut ring = ring.to_vec();
    ring.dedup();
    while ring.len() > 1 && ring.first() == ring.last() {
        ring.pop();
    }
    let ring = &ring[..];
    let mut found = RingCheck::Simple;
    let mut touches_left = touch_budget(ring.len());
    meetings(&[ring], |c| match c.how {
        Meet::Cross | Meet::Overlap => {
            found = RingCheck::Crosses(ring[c.a.1]);
            false
        }
        Meet::Touch(p) => match touches_left.checked_sub(1) {
            Some(n) => {
                touches_left = n;
                true
            }
            None => {
                found = RingCheck::TooManyTouches(p);
                false
            }
        },
        Meet::Apart => true,
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_vertices_neither_cross_nor_cost_pairs() {
        // a bow tie with each vertex repeated: still crossing at its first side
        let tie = [
            (0.0, 0.0),
            (0.0, 0.0),
            (2.0, 2.0),
            (2.0, 0.0),
            (2.0, 0.0),
            (0.0, 2.0),
        ];
        assert_eq!(self_crossing(&tie), RingCheck::Crosses((0.0, 0.0)));
        // a square with 200 000 copies of one corner: no crossing, found without 10¹⁰ pairs
        let mut sq = vec![(0.0, 0.0); 200_000];
        sq.extend([(4.0, 0.0), (4.0, 4.0), (0.0, 4.0)]);
        assert_eq!(self_crossing(&sq), RingCheck::Simple);
        assert_eq!(self_crossing(&vec![(1.5, 1.5); 100_000]), RingCheck::Simple);
    }

    /// A ring of `k` triangular lobes through the origin, each touching the next only there.
    fn flower(k: usize) -> Vec<(f64, f64)> {
        let mut ring = Vec::new();
        for i in 0..k {
            let a = i as f64 / k as f64 * std::f64::consts::TAU;
            let b = (i as f64 + 0.5) / k as f64 * std::f64::consts::TAU;
            ring.extend([(0.0, 0.0), (a.cos(), a.sin()), (b.cos(), b.sin())]);
        }
        ring
    }

    #[test]
    fn a_flower_of_many_lobes_is_given_up_on_quickly_and_a_small_one_checked() {
        assert_eq!(self_crossing(&flower(12)), RingCheck::Simple);
        let t = std::time::Instant::now();
        assert_eq!(
            self_crossing(&flower(200_000)),
            RingCheck::TooManyTouches((0.0, 0.0))
        );
        // all of its 600 000 sides meet at the origin: 10¹¹ pairs if every one were checked
        assert!(t.elapsed().as_secs() < 30, "{:?}", t.elapsed());
        // a lobe that crosses its neighbour is still found among few touches
        let mut f = flower(12);
        f[1] = (1.0, -0.5);
        assert!(matches!(self_crossing(&f), RingCheck::Crosses(_)));
    }

    #[test]
    fn segments_meet_as_expected() {
        assert_eq!(meet((0i64, 0), (2, 2), (0, 2), (2, 0)), Meet::Cross);
        assert_eq!(meet((0i64, 0), (2, 0), (2, 0), (2, 5)), Meet::Touch((2, 0)));
        assert_eq!(meet((0i64, 0), (4, 0), (2, 0), (2, 5)), Meet::Touch((2, 0)));
        assert_eq!(meet((0i64, 0), (4, 0), (2, 0), (6, 0)), Meet::Overlap);
        assert_eq!(meet((0i64, 0), (4, 0), (5, 0), (6, 0)), Meet::Apart);
        assert_eq!(meet((0i64, 0), (1, 1), (3, 0), (3, 9)), Meet::Apart);
    }

    #[test]
    fn the_grid_finds_the_same_meetings_as_every_pair() {
        let mut rng = crate::sampling::Rng::new(3);
        for round in 0..40 {
            let n = 2 + (rng.next_u64() % 120) as usize;
            // mostly short segments, some long ones (the "big" list), on a small grid
            let segs: Vec<Segment<i64>> = (0..n)
                .map(|_| {
                    let p = ((rng.next_u64() % 60) as i64, (rng.next_u64() % 60) as i64);
                    let r = if rng.next_u64().is_multiple_of(10) {
                        60
                    } else {
                        4
                    };
                    let d = (
                        (rng.next_u64() % (2 * r + 1)) as i64 - r as i64,
                        (rng.next_u64() % (2 * r + 1)) as i64 - r as i64,
                    );
                    (p, (p.0 + d.0, p.1 + d.1))
                })
                .collect();
            let mut got = Vec::new();
            segment_meetings(&segs, |i, j, how| {
                got.push((i, j, how));
                true
            });
            got.sort_by_key(|g| (g.0, g.1));
            let mut want = Vec::new();
            for i in 0..n {
                for j in i + 1..n {
                    let how = meet(segs[i].0, segs[i].1, segs[j].0, segs[j].1);
                    if how != Meet::Apart {
                        want.push((i, j, how));
                    }
                }
            }
            assert_eq!(got, want, "round {round}");
        }
        // one long diagonal among many unit segments: it spans too many cells for the grid
        let mut segs: Vec<Segment<i64>> = (0..2000)
            .map(|k| ((k % 50, k / 50), (k % 50 + 1, k / 50)))
            .collect();
        segs.push(((0, 0), (1000, 900)));
        let mut got = 0;
        segment_meetings(&segs, |_, j, _| {
            got += (j == 2000) as usize;
            true
        });
        let want = (0..2000)
            .filter(|&i| meet(segs[i].0, segs[i].1, (0, 0), (1000, 900)) != Meet::Apart)
            .count();
        assert!(want > 40);
        assert_eq!(got, want);
    }

    #[test]
    fn bow_ties_cross_squares_do_not() {
        let bow = [(0.0, 0.0), (2.0, 2.0), (2.0, 0.0), (0.0, 2.0)];
        assert!(matches!(self_crossing(&bow), RingCheck::Crosses(_)));
        let sq = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)];
        assert_eq!(self_crossing(&sq), RingCheck::Simple);
        // a spike back over the previous edge
        let spike = [(0.0, 0.0), (4.0, 0.0), (2.0, 0.0), (2.0, 3.0)];
        assert!(matches!(self_crossing(&spike), RingCheck::Crosses(_)));
    }
}
