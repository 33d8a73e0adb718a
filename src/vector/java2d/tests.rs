//! Hand-worked cases of the Java2D rules.

use super::*;

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
