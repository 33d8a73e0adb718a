//! Segment intersections: finding rings that cross themselves in annotations read from
//! elsewhere, and checking that simplified outlines still meet only where they should.

/// A coordinate type with an exact (integers) or floating orientation test.
pub trait Coord: Copy + PartialOrd + PartialEq + std::fmt::Debug {
    /// The sign of the cross product (b − a) × (c − a): −1, 0 or 1.
    fn orient(a: (Self, Self), b: (Self, Self), c: (Self, Self)) -> i8;
}

impl Coord for i64 {
    fn orient(a: (i64, i64), b: (i64, i64), c: (i64, i64)) -> i8 {
        let v =
            (b.0 - a.0) as i128 * (c.1 - a.1) as i128 - (b.1 - a.1) as i128 * (c.0 - a.0) as i128;
        v.signum() as i8
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
/// they meet; `report` returns `false` to stop early. A sweep along x: segments are compared
/// only with those whose x range and y range overlap theirs.
pub fn segment_meetings<T: Coord>(
    segs: &[Segment<T>],
    mut report: impl FnMut(usize, usize, Meet<T>) -> bool,
) {
    struct Seg<T> {
        xmin: T,
        xmax: T,
        ylo: T,
        yhi: T,
    }
    let bounds: Vec<Seg<T>> = segs
        .iter()
        .map(|&(p, q)| {
            let (xmin, xmax) = if p.0 <= q.0 { (p.0, q.0) } else { (q.0, p.0) };
            let (ylo, yhi) = if p.1 <= q.1 { (p.1, q.1) } else { (q.1, p.1) };
            Seg {
                xmin,
                xmax,
                ylo,
                yhi,
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..segs.len()).collect();
    order.sort_by(|&a, &b| {
        bounds[a]
            .xmin
            .partial_cmp(&bounds[b].xmin)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut active: Vec<usize> = Vec::new();
    for &k in &order {
        let s = &bounds[k];
        active.retain(|&t| bounds[t].xmax >= s.xmin);
        for &t in &active {
            let o = &bounds[t];
            if o.yhi < s.ylo || s.yhi < o.ylo {
                continue;
            }
            let how = meet(segs[t].0, segs[t].1, segs[k].0, segs[k].1);
            if how == Meet::Apart {
                continue;
            }
            if !report(t.min(k), t.max(k), how) {
                return;
            }
        }
        active.push(k);
    }
}

/// Where ring `ring` crosses itself or runs back over itself, if it does (the first such place
/// found; touching itself at a vertex is not reported).
pub fn self_crossing(ring: &[(f64, f64)]) -> Option<(f64, f64)> {
    let mut at = None;
    meetings(&[ring], |c| match c.how {
        Meet::Cross | Meet::Overlap => {
            at = Some(ring[c.a.1]);
            false
        }
        _ => true,
    });
    at
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn bow_ties_cross_squares_do_not() {
        let bow = [(0.0, 0.0), (2.0, 2.0), (2.0, 0.0), (0.0, 2.0)];
        assert!(self_crossing(&bow).is_some());
        let sq = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)];
        assert_eq!(self_crossing(&sq), None);
        // a spike back over the previous edge
        let spike = [(0.0, 0.0), (4.0, 0.0), (2.0, 0.0), (2.0, 3.0)];
        assert!(self_crossing(&spike).is_some());
    }
}
