//! Hand-worked cases of the Java2D rules.

use super::*;
use figure::LineStrokeError;

fn mask(figs: Vec<Figure>, w: usize, h: usize, d: f64) -> Vec<u16> {
    let mut f = QupathFill::new(&[(1, figs)], w, h, d);
    let mut out = vec![0u16; w * h];
    for r in out.chunks_exact_mut(w) {
        f.fill_row(r);
    }
    out
}

#[test]
fn thin_and_wide_strokes_by_downsample() {
    // float(3.7) = 3.7000000476837158: (3.70000005 / 3.7)² ≈ 1 + 2.6e-8 > 1 + 1e-9
    for d in [1.0, 2.0, 4.0, 8.0, 0.5] {
        assert!(stroke_is_thin(d), "{d}");
    }
    assert!(!stroke_is_thin(3.7));
}

#[test]
fn rectangles_ellipses_and_rings_are_recognised() {
    let sq = vec![vec![vec![
        (1.0, 2.0),
        (5.0, 2.0),
        (5.0, 7.0),
        (1.0, 7.0),
        (1.0, 2.0),
    ]]];
    assert_eq!(
        Figure::from_polygons(&sq, false),
        Some(Figure::Rect {
            x: 1.0,
            y: 2.0,
            w: 4.0,
            h: 5.0
        })
    );
    assert_eq!(
        Figure::from_polygons(&sq, true),
        Some(Figure::Ellipse {
            x: 1.0,
            y: 2.0,
            w: 4.0,
            h: 5.0
        })
    );
    // a fifth corner on a side: not JTS's rectangle
    let five = vec![vec![vec![
        (1.0, 2.0),
        (3.0, 2.0),
        (5.0, 2.0),
        (5.0, 7.0),
        (1.0, 7.0),
    ]]];
    assert!(matches!(
        Figure::from_polygons(&five, false),
        Some(Figure::Area { .. })
    ));
    assert_eq!(Figure::from_polygons(&[], false), None);
}

#[test]
fn hand_worked_triangle_and_rectangle() {
    // the triangle (0,0), (4,0), (0,4) at d = 1: a pixel is in when its top-left corner is,
    // the hypotenuse x + y = 4 excluded: rows of 4, 3, 2, 1 pixels
    let tri = Figure::Area {
        rings: vec![vec![(0.0, 0.0), (4.0, 0.0), (0.0, 4.0)]],
        even_odd: true,
    };
    let m = mask(vec![tri], 6, 6, 1.0);
    let rows: Vec<usize> = m
        .chunks(6)
        .map(|r| r.iter().filter(|&&v| v == 1).count())
        .collect();
    assert_eq!(rows, vec![4, 3, 2, 1, 0, 0]);
    assert!(m.chunks(6).all(|r| r[0] == 1 || r.iter().all(|&v| v == 0)));
    // a rectangle from 0.8 to 2.7 at d = 1: columns floor(1.05) = 1 to floor(2.95) = 2, excl.
    let r = Figure::Rect {
        x: 0.8,
        y: 0.8,
        w: 1.9,
        h: 1.9,
    };
    let m = mask(vec![r], 4, 4, 1.0);
    let set: Vec<usize> = (0..16).filter(|&i| m[i] == 1).collect();
    assert_eq!(set, vec![5]);
}

#[test]
fn points_set_the_pixel_they_fall_in() {
    // at d = 2, (5.9, 3.1) → ((int)2.95, (int)1.55) = (2, 1)
    let m = mask(vec![Figure::Points(vec![(5.9, 3.1)])], 4, 4, 2.0);
    assert_eq!((0..16).filter(|&i| m[i] == 1).collect::<Vec<_>>(), vec![6]);
}

fn mask_with(figs: Vec<Figure>, w: usize, h: usize, d: f64, thickness: f32) -> Vec<u16> {
    let stroke = LineStroke::new(thickness, Jdk::Jdk21).unwrap();
    let mut f = QupathFill::with_stroke(&[(1, figs)], w, h, d, stroke);
    let mut out = vec![0u16; w * h];
    for r in out.chunks_exact_mut(w) {
        f.fill_row(r);
    }
    out
}

/// The rows and columns a mask sets (sorted, distinct), and how many pixels.
fn extent(m: &[u16], w: usize) -> (Vec<usize>, Vec<usize>, usize) {
    let set: Vec<usize> = (0..m.len()).filter(|&i| m[i] != 0).collect();
    let mut rows: Vec<usize> = set.iter().map(|&i| i / w).collect();
    let mut cols: Vec<usize> = set.iter().map(|&i| i % w).collect();
    rows.dedup();
    cols.sort_unstable();
    cols.dedup();
    (rows, cols, set.len())
}

#[test]
fn thin_and_wide_strokes_by_thickness() {
    // at d = 1 the width itself is compared with 1; elsewhere |det| · float(t·d)²
    assert!(stroke_is_thin_with(1.0, 1.0));
    assert!(!stroke_is_thin_with(1.0, 1.5));
    assert!(!stroke_is_thin_with(2.0, 2.0));
    assert!(stroke_is_thin_with(4.0, 0.5));
    assert!(!stroke_is_thin_with(3.7, 1.0));
    for bad in [0.0, -1.0, f32::NAN, f32::INFINITY, 1024.5] {
        let e = LineStroke::new(bad, Jdk::Jdk21);
        assert!(
            matches!(e, Err(LineStrokeError::Thickness(v)) if v.to_bits() == bad.to_bits()),
            "{bad}: {e:?}"
        );
    }
}

#[test]
fn hand_worked_wide_horizontal_line() {
    // (37, 37)–(111, 37) at d = 3.7 with lineThickness 2. Device ends: 37/3.7 ≈ 10 and
    // 111/3.7 ≈ 30 (9.999999999999998 and 29.999999999999996 in double), normalized to
    // floor(v + 0.25) + 0.25 = 10.25 and 30.25; y likewise 10.25. The stroke is float(7.4) =
    // 7.400000095 wide in user space, 2.0000000258 in the device: the outline is the
    // rectangle 9.25 ≤ x ≤ 31.25 (square caps add half the width at each end), 9.25 ≤ y ≤
    // 11.25, and a pixel is set when its centre (x + 0.5, y + 0.5) is inside: columns 9–30,
    // rows 9 and 10, 44 pixels. The same for a Line2D (the parallelogram) and for a
    // three-vertex path (the stroker; its collinear join adds nothing).
    let line = Figure::Line([37.0, 37.0, 111.0, 37.0]);
    let path = Figure::Lines(vec![vec![(37.0, 37.0), (74.0, 37.0), (111.0, 37.0)]]);
    for fig in [line.clone(), path.clone()] {
        let m = mask_with(vec![fig.clone()], 40, 20, 3.7, 2.0);
        assert_eq!(
            extent(&m, 40),
            (vec![9, 10], (9..=30).collect::<Vec<_>>(), 44),
            "{fig:?}"
        );
    }
    // the default thickness at d = 3.7 is wide too (float(3.7)/3.7 > 1) but only 1.0000000129
    // pixels: the rectangle 9.75 ≤ y ≤ 10.75 holds the centres of row 10 only, and
    // 9.75 ≤ x ≤ 30.75 those of columns 10–30 (ends at 10.25 and 30.25, half a pixel of cap)
    for fig in [line, path] {
        let m = mask_with(vec![fig.clone()], 40, 20, 3.7, 1.0);
        assert_eq!(
            extent(&m, 40),
            (vec![10], (10..=30).collect::<Vec<_>>(), 21),
            "{fig:?}"
        );
    }
}

#[test]
fn a_sharp_turn_gets_its_miter_until_the_limit() {
    // at d = 1, thickness 4 (half-width 2): the vertices move to (10.25, 10.25), (20.25, 10.25),
    // (20.25, 20.25); the right-then-down turn has its outer corner mitred at (22.25, 8.25),
    // √8 from the vertex (within 10 half-widths). Pixel (21, 8), centre (21.5, 8.5), is inside
    // the miter but outside a bevel (the cut from (20.25, 8.25) to (22.25, 10.25) keeps
    // x − y ≤ 12; here it is 13); pixel (22, 8), centre x 22.5 > 22.25, is outside both.
    let turn = Figure::Lines(vec![vec![(10.0, 10.0), (20.0, 10.0), (20.0, 20.0)]]);
    let m = mask_with(vec![turn], 40, 40, 1.0, 4.0);
    assert_eq!((m[8 * 40 + 21], m[8 * 40 + 22]), (1, 0));
    // thickness 2: a hairpin doubling back at about 1.9° ((0.25, 10.25) → (30.25, 10.25) →
    // (0.25, 11.25)) would need a miter of about 60 half-widths, beyond the limit of 10: the
    // outline stops at the vertex's offsets, x ≤ 30.25 + 1/30.02 ≈ 30.28, so the last
    // column set is 29 (centre 29.5; column 30's centre 30.5 is outside).
    let hairpin = Figure::Lines(vec![vec![(0.0, 10.0), (30.0, 10.0), (0.0, 11.0472)]]);
    let m = mask_with(vec![hairpin], 40, 40, 1.0, 2.0);
    let cols: Vec<usize> = (0..m.len())
        .filter(|&i| m[i] != 0)
        .map(|i| i % 40)
        .collect();
    assert_eq!(cols.iter().max(), Some(&29));
}

#[test]
fn repeated_vertices_dropped_as_qupath_0_6_imports_lines() {
    let (a, b, c) = ((1.0, 2.0), (5.0, 2.0), (5.0, 9.0));
    let p = Figure::Lines(vec![vec![a, b, b, c]]);
    assert_eq!(
        p.without_repeated_vertices(),
        Figure::Lines(vec![vec![a, b, c]])
    );
    // a single line left with two vertices is a LineROI
    let p = Figure::Lines(vec![vec![a, a, b]]);
    assert_eq!(
        p.without_repeated_vertices(),
        Figure::Line([1.0, 2.0, 5.0, 2.0])
    );
    // several parts stay a path; other figures are untouched
    let p = Figure::Lines(vec![vec![a, a, b], vec![b, c]]);
    assert_eq!(
        p.without_repeated_vertices(),
        Figure::Lines(vec![vec![a, b], vec![b, c]])
    );
    let pts = Figure::Points(vec![a, a]);
    assert_eq!(pts.clone().without_repeated_vertices(), pts);
}
