//! Wide `Line2D`s: Java2D draws a line under a wide `BasicStroke` with square caps as one
//! filled parallelogram (`PixelToParallelogramConverter.drawGeneralLine`, then the native
//! `FillParallelogram` loop), not through the stroker.

use super::tiles::{Step, TileXf, Track};

/// Java2D's `len`: |y| when x is 0, |x| when y is 0, else the square root.
fn len(x: f64, y: f64) -> f64 {
    if x == 0.0 {
        y.abs()
    } else if y == 0.0 {
        x.abs()
    } else {
        (x * x + y * y).sqrt()
    }
}

/// A double as a 32.32 fixed-point long (truncated toward zero, as the C cast does).
fn dbl_to_long(v: f64) -> i64 {
    (v * 4294967296.0) as i64
}

/// The first sample of an edge through (x, y) with `slope` at the centre of row `row`, in
/// 32.32 fixed point, biased so that its whole part is the first pixel whose centre is right
/// of the edge.
fn init_x(row: i32, x: f64, y: f64, slope: f64) -> i64 {
    dbl_to_long(x + slope * ((row as f64 + 0.5) - y)) + (1i64 << 31) - 1
}

/// The tracks of a `Line2D` from (x1, y1) to (x2, y2) (full resolution) drawn in tile `t` with
/// `BasicStroke(lw)`, square caps.
pub(super) fn wide_segment_tracks(
    &[ux1, uy1, ux2, uy2]: &[f64; 4],
    lw: f32,
    t: &TileXf,
    obj: u32,
    out: &mut Vec<Track>,
) {
    let mut lw = lw as f64;
    // device ends in double, normalized to the nearest quarter pixel
    let dev = |x: f64, y: f64| (x * t.s + t.mx, y * t.s + t.my);
    let norm = |v: f64| (v + 0.25).floor() + 0.25;
    let (x1, y1) = dev(ux1, uy1);
    let (x2, y2) = dev(ux2, uy2);
    let (x1, y1, x2, y2) = (norm(x1), norm(y1), norm(x2), norm(y2));
    if !t.ident {
        // the width scales with the perpendicular of the user-space line
        let (mut dx, dy) = (ux2 - ux1, uy2 - uy1);
        let mut l = len(dx, dy);
        if l == 0.0 {
            dx = 1.0;
            l = 1.0;
        }
        let (ux, uy) = (dy / l, -dx / l);
        lw *= len(ux * t.s, uy * t.s);
    }
    let lw = lw.max(1.0);
    let (mut dx, mut dy) = (x2 - x1, y2 - y1);
    let l = len(dx, dy);
    let (udx, udy) = if l == 0.0 {
        (lw, 0.0)
    } else {
        (lw * dx / l, lw * dy / l)
    };
    let mut px = x1 + udy / 2.0;
    let mut py = y1 - udx / 2.0;
    px -= udx / 2.0;
    py -= udy / 2.0;
    dx += udx;
    dy += udy;
    if !(px.is_finite() && py.is_finite() && dx.is_finite() && dy.is_finite()) {
        return;
    }
    fill_parallelogram(px, py, -udy, udx, dx, dy, t, obj, out);
}

/// FillParallelogram: the parallelogram at (x0, y0) spanned by (dx1, dy1) and (dx2, dy2),
/// pixel centres sampled; a row's pixels run from the left edge's sample to the right one's.
#[allow(clippy::too_many_arguments)]
fn fill_parallelogram(
    mut x0: f64,
    mut y0: f64,
    mut dx1: f64,
    mut dy1: f64,
    mut dx2: f64,
    mut dy2: f64,
    t: &TileXf,
    obj: u32,
    out: &mut Vec<Track>,
) {
    if (dy1 == 0.0 && dx1 == 0.0) || (dy2 == 0.0 && dx2 == 0.0) {
        return;
    }
    if dy1 < 0.0 {
        x0 += dx1;
        y0 += dy1;
        dx1 = -dx1;
        dy1 = -dy1;
    }
    if dy2 < 0.0 {
        x0 += dx2;
        y0 += dy2;
        dx2 = -dx2;
        dy2 = -dy2;
    }
    if dx1 * dy2 > dx2 * dy1 {
        std::mem::swap(&mut dx1, &mut dx2);
        std::mem::swap(&mut dy1, &mut dy2);
    }
    let (mut vmin, mut vmax) = if dx1 < 0.0 {
        (x0 + dx1, x0)
    } else {
        (x0, x0 + dx1)
    };
    if dx2 < 0.0 {
        vmin += dx2;
    } else {
        vmax += dx2;
    }
    let fl = |v: f64| (v + 0.5).floor().clamp(-1e9, 1e9) as i32;
    let ix1 = fl(vmin).max(0);
    let ix2 = fl(vmax).min(t.tw);
    let iy1 = fl(y0).max(0);
    let iy2 = fl(y0 + dy1 + dy2).min(t.th);
    if iy2 <= iy1 || ix2 <= ix1 {
        return;
    }
    let lslope = if dy1 == 0.0 { 0.0 } else { dx1 / dy1 };
    let rslope = if dy2 == 0.0 { 0.0 } else { dx2 / dy2 };
    let (ldx, rdx) = (dbl_to_long(lslope), dbl_to_long(rslope));
    let (ex1, ey1) = (dx1 + x0, dy1 + y0);
    let (ex2, ey2) = (dx2 + x0, dy2 + y0);
    let cy1 = fl(ey1);
    let cy2 = fl(ey2);
    let mut run = |lo: i32, hi: i32, l0: i64, ld: i64, r0: i64, rd: i64| {
        out.push(Track {
            obj,
            y0: lo,
            y1: hi,
            dir: 0,
            step: Step::Run {
                l0,
                ld,
                r0,
                rd,
                lo: ix1 as i64,
                hi: ix2 as i64,
            },
        });
    };
    // top triangle
    let (lo, hi) = (iy1, cy1.min(cy2).min(iy2));
    if lo < hi {
        run(
            lo,
            hi,
            init_x(lo, x0, y0, lslope),
            ldx,
            init_x(lo, x0, y0, rslope),
            rdx,
        );
    }
    // middle: one leg has turned its corner
    if cy1 < cy2 {
        let (lo, hi) = (cy1.max(iy1), cy2.min(iy2));
        if lo < hi {
            run(
                lo,
                hi,
                init_x(lo, ex1, ey1, rslope),
                rdx,
                init_x(lo, x0, y0, rslope),
                rdx,
            );
        }
    } else if cy2 < cy1 {
        let (lo, hi) = (cy2.max(iy1), cy1.min(iy2));
        if lo < hi {
            run(
                lo,
                hi,
                init_x(lo, x0, y0, lslope),
                ldx,
                init_x(lo, ex2, ey2, lslope),
                ldx,
            );
        }
    }
    // bottom triangle
    let (lo, hi) = (cy1.max(cy2).max(iy1), iy2);
    if lo < hi {
        run(
            lo,
            hi,
            init_x(lo, ex1, ey1, rslope),
            rdx,
            init_x(lo, ex2, ey2, lslope),
            ldx,
        );
    }
}
