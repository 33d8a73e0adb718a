//! Thin lines: the native path drawer for paths and Bresenham's line for `Line2D`s.

use super::filler::{clip_f, Clip};
use super::tiles::{Step, TileXf, Track};

/// The pixels Java2D's thin-line path drawer sets for one figure's polylines in tile `t`:
/// device vertices in float, each segment clipped in float to the tile widened by half a pixel,
/// turned into fixed point (10 bits, truncated), its ends moved to where the segment leaves
/// their pixels, and the pixels between drawn by Bresenham's rule.
pub(super) fn line_tracks(parts: &[Vec<(f64, f64)>], t: &TileXf, obj: u32, out: &mut Vec<Track>) {
    let mut px: Vec<(i32, i32)> = Vec::new();
    let valid = |v: f32| v.abs() < f32::MAX / 4.0;
    for part in parts {
        let mut prev: Option<(f32, f32)> = None;
        for &(x, y) in part {
            let (dx, dy) = t.dev(x as f32, y as f32);
            if !(valid(dx) && valid(dy)) {
                continue;
            }
            if let Some((px0, py0)) = prev {
                thin_segment([px0, py0, dx, dy], t.tw, t.th, &mut px);
            }
            prev = Some((dx, dy));
        }
    }
    pixel_tracks(px, t, obj, out);
}

/// A `Line2D`: its ends in device doubles, floored to pixels, joined by Bresenham's line.
pub(super) fn segment_tracks(
    &[x1, y1, x2, y2]: &[f64; 4],
    t: &TileXf,
    obj: u32,
    out: &mut Vec<Track>,
) {
    let dev = |x: f64, y: f64| {
        if t.ident {
            ((x - t.rx).floor(), (y - t.ry).floor())
        } else {
            ((x * t.s + t.mx).floor(), (y * t.s + t.my).floor())
        }
    };
    let (a, b) = dev(x1, y1);
    let (c, d) = dev(x2, y2);
    let lim = 1e9;
    if ![a, b, c, d].iter().all(|v| v.abs() < lim) {
        return;
    }
    let mut px = Vec::new();
    bresenham(a as i32, b as i32, c as i32, d as i32, &mut px);
    pixel_tracks(px, t, obj, out);
}

/// Tracks (runs along rows) for a set of pixels of the tile.
pub(super) fn pixel_tracks(mut px: Vec<(i32, i32)>, t: &TileXf, obj: u32, out: &mut Vec<Track>) {
    px.retain(|&(x, y)| x >= 0 && x < t.tw && y >= 0 && y < t.th);
    px.sort_unstable_by_key(|&(x, y)| (y, x));
    px.dedup();
    let mut i = 0;
    while i < px.len() {
        let (x0, y) = px[i];
        let mut x1 = x0 + 1;
        i += 1;
        while i < px.len() && px[i] == (x1, y) {
            x1 += 1;
            i += 1;
        }
        for (k, dir) in [(x0, 1), (x1, -1)] {
            out.push(Track {
                obj,
                y0: y,
                y1: y + 1,
                dir,
                step: Step::Const(k as i64),
            });
        }
    }
}

pub(super) const FIX: i32 = 1024;
pub(super) const HALF: i32 = 512;
pub(super) const WHOLE: i32 = -1024;

pub(super) fn clipped(c: &Clip) -> bool {
    matches!(c, Clip::Min | Clip::Max)
}

/// One segment of a drawn path, in device floats (ProcessLine in draw mode).
pub(super) fn thin_segment(
    [mut x1, mut y1, mut x2, mut y2]: [f32; 4],
    tw: i32,
    th: i32,
    px: &mut Vec<(i32, i32)>,
) {
    // pixel k covers [k - 0.5, k + 0.5) once 0.5 is added below; the upper bound is open
    let eps = 1.0f32 / FIX as f32;
    let (xlo, ylo) = (-0.5f32, -0.5f32);
    let xhi = tw as f32 - 0.5 - eps;
    let yhi = th as f32 - 0.5 - eps;
    let r = clip_f(ylo, yhi, &mut y1, &mut x1, y2, x2);
    if matches!(r, Clip::Invisible) {
        return;
    }
    let mut check = clipped(&r);
    let r = clip_f(ylo, yhi, &mut y2, &mut x2, y1, x1);
    if matches!(r, Clip::Invisible) {
        return;
    }
    check |= clipped(&r);
    let r = clip_f(xlo, xhi, &mut x1, &mut y1, x2, y2);
    if matches!(r, Clip::Invisible) {
        return;
    }
    check |= clipped(&r);
    let r = clip_f(xlo, xhi, &mut x2, &mut y2, x1, y1);
    if matches!(r, Clip::Invisible) {
        return;
    }
    check |= clipped(&r);
    let m = FIX as f32;
    let fx = |v: f32| (v * m) as i32;
    let bounds = (tw as f32 - eps, th as f32 - eps);
    fixed_segment(fx(x1), fx(y1), fx(x2), fx(y2), check, bounds, px);
}

/// Where a fixed-point end (x, y) of a segment towards (ox, oy) leaves its pixel, as the drawer
/// moves it (plus half a pixel on the axis it does not land on).
pub(super) fn leave_pixel(x: i32, y: i32, ox: i32, oy: i32) -> (i32, i32) {
    let (fx, fy) = (x & WHOLE, y & WHOLE);
    if fx == x || fy == y {
        return (x + HALF, y + HALF);
    }
    let (dx, dy) = (ox - x, oy - y);
    let bx = if x < ox { fx + FIX } else { fx };
    let by = if y < oy { fy + FIX } else { fy };
    let cross = y + (bx - x).wrapping_mul(dy) / dx;
    if cross >= fy && cross <= fy + FIX {
        (bx, cross + HALF)
    } else {
        (x + (by - y).wrapping_mul(dx) / dy + HALF, by)
    }
}

/// A fixed-point segment (ProcessFixedLine, then the pixel line).
pub(super) fn fixed_segment(
    x1: i32,
    y1: i32,
    x2: i32,
    y2: i32,
    check: bool,
    (xhi, yhi): (f32, f32),
    px: &mut Vec<(i32, i32)>,
) {
    let c = (x1 ^ x2) | (y1 ^ y2);
    if (c & WHOLE) == 0 {
        // within one pixel: only a segment of length zero sets it
        if c == 0 {
            px.push(((x1 + HALF) >> 10, (y1 + HALF) >> 10));
        }
        return;
    }
    let ((rx1, ry1), (rx2, ry2)) = if x1 == x2 || y1 == y2 {
        ((x1 + HALF, y1 + HALF), (x2 + HALF, y2 + HALF))
    } else {
        (leave_pixel(x1, y1, x2, y2), leave_pixel(x2, y2, x1, y1))
    };
    let (mut a, mut b, mut e, mut f) = (rx1 >> 10, ry1 >> 10, rx2 >> 10, ry2 >> 10);
    if check {
        // integer pixels clipped against float bounds (0 and side − 1/1024)
        if matches!(clip_pf(0.0, yhi, &mut b, &mut a, f, e), Clip::Invisible)
            || matches!(clip_pf(0.0, yhi, &mut f, &mut e, b, a), Clip::Invisible)
            || matches!(clip_pf(0.0, xhi, &mut a, &mut b, e, f), Clip::Invisible)
            || matches!(clip_pf(0.0, xhi, &mut e, &mut f, a, b), Clip::Invisible)
        {
            return;
        }
    }
    bresenham(a, b, e, f, px);
}

/// Clipping of integer pixel coordinates against float bounds (in double, truncated).
pub(super) fn clip_pf(lo: f32, hi: f32, a1: &mut i32, b1: &mut i32, a2: i32, b2: i32) -> Clip {
    let (fa1, fa2) = (*a1 as f32, a2 as f32);
    if !(fa1 < lo || fa1 > hi) {
        return Clip::Not;
    }
    let (t, res) = if fa1 < lo {
        if fa2 < lo {
            return Clip::Invisible;
        }
        (lo as f64, Clip::Min)
    } else {
        if fa2 > hi {
            return Clip::Invisible;
        }
        (hi as f64, Clip::Max)
    };
    *b1 = (*b1 as f64 + ((t - *a1 as f64) * (b2 - *b1) as f64) / (a2 - *a1) as f64) as i32;
    *a1 = t as i32;
    res
}

/// Every pixel of the line from (x1, y1) to (x2, y2), both ends included: along the major axis
/// one pixel a step, the minor one stepping when the error, starting at −major, reaches 0.
pub(super) fn bresenham(x1: i32, y1: i32, x2: i32, y2: i32, px: &mut Vec<(i32, i32)>) {
    let (ax, ay) = ((x2 - x1).abs() as i64, (y2 - y1).abs() as i64);
    let (sx, sy) = ((x2 - x1).signum(), (y2 - y1).signum());
    let (mut x, mut y) = (x1, y1);
    if ax >= ay {
        let mut err = -ax;
        for _ in 0..=ax {
            px.push((x, y));
            x += sx;
            err += 2 * ay;
            if err >= 0 {
                y += sy;
                err -= 2 * ax;
            }
        }
    } else {
        let mut err = -ay;
        for _ in 0..=ay {
            px.push((x, y));
            y += sy;
            err += 2 * ax;
            if err >= 0 {
                x += sx;
                err -= 2 * ay;
            }
        }
    }
}
