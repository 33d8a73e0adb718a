//! Unit tests of the topology simplification.

use super::*;
use crate::vector::trace;

#[test]
fn collinear_vertices_go_the_start_included() {
    let r = vec![(2, 0), (4, 0), (4, 4), (0, 4), (0, 0)];
    assert_eq!(drop_collinear(r), vec![(4, 0), (4, 4), (0, 4), (0, 0)]);
    let r = vec![(0, 0), (1, 0), (2, 0), (2, 2), (0, 2), (0, 1)];
    assert_eq!(drop_collinear(r), vec![(0, 0), (2, 0), (2, 2), (0, 2)]);
}

#[test]
fn angles_order_as_on_screen() {
    let dirs = [(1, 0), (1, 1), (0, 1), (-1, 0), (0, -1), (1, -1)];
    for w in dirs.windows(2) {
        assert_eq!(angle_cmp(w[0], w[1]), std::cmp::Ordering::Less, "{w:?}");
    }
}

#[test]
fn two_labels_share_their_simplified_boundary() {
    // label 1 on the left, label 2 on the right, a staircase between them
    let (w, h) = (40usize, 30usize);
    let lab: Vec<u8> = (0..w * h)
        .map(|i| if i % w < 10 + (i / w) / 2 { 1 } else { 2 })
        .collect();
    let polys: Vec<Polygon> = [1u8, 2]
        .iter()
        .flat_map(|&l| trace(&lab.iter().map(|&v| v == l).collect::<Vec<_>>(), w, h))
        .collect();
    assert_eq!(polys.len(), 2);
    let s = simplify_topology(&polys, 2.0);
    // the boundary between them, from both sides: the vertices off the image border
    let inner = |p: &Polygon| -> Vec<P> {
        let mut v: Vec<P> = p
            .shell
            .iter()
            .copied()
            .filter(|&(x, y)| x > 0 && x < w as i64 && y > 0 && y < h as i64)
            .collect();
        v.sort();
        v
    };
    assert_eq!(inner(&s[0]), inner(&s[1]));
    assert!(inner(&s[0]).len() < 5, "{:?}", s[0]);
    // the areas still add up to the image
    let total: i64 = s.iter().map(|p| signed_area2(&p.shell)).sum();
    assert_eq!(total, 2 * (w * h) as i64);
}
