//! The native path filler (ProcessPath's fill mode and FillPolygon), rewritten from its
//! description: areas under a thin stroke.

use super::tiles::{Seg, Step, TileXf, Track};

pub(super) const MDP: i32 = 1024;
pub(super) const EPSF: f32 = 1.0 / 1024.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Clip {
    Min,
    Max,
    Not,
    Invisible,
}

/// Clips the end (a1, b1) of a segment to [lo, hi] along a, in float: b moves along the line.
pub(super) fn clip_f(lo: f32, hi: f32, a1: &mut f32, b1: &mut f32, a2: f32, b2: f32) -> Clip {
    if !(*a1 < lo || *a1 > hi) {
        return Clip::Not;
    }
    let (t, res) = if *a1 < lo {
        if a2 < lo {
            return Clip::Invisible;
        }
        (lo as f64, Clip::Min)
    } else {
        if a2 > hi {
            return Clip::Invisible;
        }
        (hi as f64, Clip::Max)
    };
    *b1 = (*b1 as f64 + ((t - *a1 as f64) * (b2 - *b1) as f64) / (a2 - *a1) as f64) as f32;
    *a1 = t as f32;
    res
}

/// The same in fixed point (integers).
pub(super) fn clip_i(lo: i32, hi: i32, a1: &mut i32, b1: &mut i32, a2: i32, b2: i32) -> Clip {
    if !(*a1 < lo || *a1 > hi) {
        return Clip::Not;
    }
    let (t, res) = if *a1 < lo {
        if a2 < lo {
            return Clip::Invisible;
        }
        (lo as f64, Clip::Min)
    } else {
        if a2 > hi {
            return Clip::Invisible;
        }
        (hi as f64, Clip::Max)
    };
    *b1 = (*b1 as f64
        + ((t - *a1 as f64) * (b2 as i64 - *b1 as i64) as f64) / (a2 as i64 - *a1 as i64) as f64)
        as i32;
    *a1 = t as i32;
    res
}

/// Clipping in x that keeps what is left of the tile as a piece on its left side (winding
/// counts): returns the clip result and the point (a3, b3) where the kept piece starts.
pub(super) fn clamp_x<T: Copy>(
    clip: impl Fn(&mut T, &mut T, T, T) -> Clip,
    lo: T,
    hi_less: impl Fn(T) -> bool,
    a1: &mut T,
    b1: &mut T,
    a2: &mut T,
    b2: T,
) -> (Clip, T, T) {
    let (mut a3, b3) = (*a1, *b1);
    let mut res = clip(a1, b1, *a2, b2);
    match res {
        Clip::Min | Clip::Max => a3 = *a1,
        Clip::Invisible => {
            if hi_less(*a1) {
                res = Clip::Invisible;
            } else {
                *a1 = lo;
                *a2 = lo;
                res = Clip::Not;
            }
        }
        Clip::Not => {}
    }
    (res, a3, b3)
}

/// The fixed-point points of the flattened, clipped path, as the filler stores them.
pub(super) struct Store {
    pts: Vec<(i32, i32, bool)>,
    /// Clip box in float (xMinf, yMinf, xMaxf, yMaxf) and in fixed point.
    f: [f32; 4],
    i: [i32; 4],
}

impl Store {
    fn new(tw: i32, th: i32) -> Store {
        let f = [-0.5, -0.5, tw as f32 - 0.5 - EPSF, th as f32 - 0.5 - EPSF];
        let i = [
            (f[0] * MDP as f32) as i32,
            (f[1] * MDP as f32) as i32,
            (f[2] * MDP as f32) as i32,
            (f[3] * MDP as f32) as i32,
        ];
        Store {
            pts: Vec::new(),
            f,
            i,
        }
    }

    fn end_sub(&mut self) {
        if let Some(p) = self.pts.last_mut() {
            p.2 = true;
        }
    }

    fn add(&mut self, x1: i32, y1: i32, x2: i32, y2: i32, end: bool) {
        if self.pts.last().is_none_or(|p| p.2) {
            self.pts.push((x1, y1, false));
        }
        self.pts.push((x2, y2, end));
    }

    /// A fixed-point piece that may leave the tile (curves): clipped in integers first.
    fn add_checked(&mut self, mut x1: i32, mut y1: i32, mut x2: i32, mut y2: i32) {
        let [xl, yl, xh, yh] = self.i;
        let ci = |a: &mut i32, b: &mut i32, a2: i32, b2: i32| clip_i(xl, xh, a, b, a2, b2);
        if clip_i(yl, yh, &mut y1, &mut x1, y2, x2) == Clip::Invisible {
            return;
        }
        let res = clip_i(yl, yh, &mut y2, &mut x2, y1, x1);
        if res == Clip::Invisible {
            return;
        }
        let mut last = matches!(res, Clip::Min | Clip::Max);
        let (res, x3, y3) = clamp_x(ci, xl, |a| a > xh, &mut x1, &mut y1, &mut x2, y2);
        match res {
            Clip::Min => self.add(x3, y3, x1, y1, last),
            Clip::Invisible => return,
            _ => {}
        }
        let (res, x3, y3) = clamp_x(ci, xl, |a| a > xh, &mut x2, &mut y2, &mut x1, y1);
        last = last || res == Clip::Max;
        self.add(x1, y1, x2, y2, last);
        if res == Clip::Min {
            self.add(x2, y2, x3, y3, last);
        }
    }

    /// ProcessLine in fill mode: clip in float, clamp on the left, store in fixed point.
    fn line(&mut self, [mut x1, mut y1, mut x2, mut y2]: [f32; 4]) {
        let [xl, yl, xh, yh] = self.f;
        if clip_f(yl, yh, &mut y1, &mut x1, y2, x2) == Clip::Invisible {
            return;
        }
        let res = clip_f(yl, yh, &mut y2, &mut x2, y1, x1);
        if res == Clip::Invisible {
            return;
        }
        let mut last = matches!(res, Clip::Min | Clip::Max);
        let cf = |a: &mut f32, b: &mut f32, a2: f32, b2: f32| clip_f(xl, xh, a, b, a2, b2);
        let fx = |v: f32| (v * MDP as f32) as i32;
        let (res, x3, y3) = clamp_x(cf, xl, |a| a > xh, &mut x1, &mut y1, &mut x2, y2);
        let (x1i, y1i) = (fx(x1), fx(y1));
        match res {
            Clip::Min => self.add(fx(x3), fx(y3), x1i, y1i, last),
            Clip::Invisible => return,
            _ => {}
        }
        let (res, x3, y3) = clamp_x(cf, xl, |a| a > xh, &mut x2, &mut y2, &mut x1, y1);
        last = last || res == Clip::Max;
        let (x2i, y2i) = (fx(x2), fx(y2));
        self.add(x1i, y1i, x2i, y2i, last);
        if res == Clip::Min {
            self.add(x2i, y2i, fx(x3), fx(y3), last);
        }
    }

    /// ProcessCubic: split into monotonic pieces, then flatten each.
    fn cubic(&mut self, mut c: [f32; 8]) {
        let mut params: Vec<f64> = Vec::with_capacity(4);
        for k in 0..2 {
            let (p0, p1, p2, p3) = (c[k], c[k + 2], c[k + 4], c[k + 6]);
            if (p0 > p1 || p1 > p2 || p2 > p3) && (p0 < p1 || p1 < p2 || p2 < p3) {
                let a = (-p0 + 3.0 * p1 - 3.0 * p2 + p3) as f64;
                let b = (2.0 * (p0 - 2.0 * p1 + p2)) as f64;
                let cc = (-p0 + p1) as f64;
                solve_quad_in_range(a, b, cc, &mut params);
            }
        }
        if !params.is_empty() {
            // insertion sort, as the filler does
            for i in 1..params.len() {
                let v = params[i];
                let mut j = i;
                while j > 0 && params[j - 1] > v {
                    params[j] = params[j - 1];
                    j -= 1;
                }
                params[j] = v;
            }
            self.first_cubic_part(&mut c, params[0] as f32);
            for i in 1..params.len() {
                let p = params[i] - params[i - 1];
                if p > 0.0 {
                    self.first_cubic_part(&mut c, (p / (1.0 - params[i - 1])) as f32);
                }
            }
        }
        self.monotonic_cubic(c);
    }

    fn first_cubic_part(&mut self, c: &mut [f32; 8], t: f32) {
        let mut c1 = [0f32; 8];
        c1[0] = c[0];
        c1[1] = c[1];
        let tx = c[2] + t * (c[4] - c[2]);
        let ty = c[3] + t * (c[5] - c[3]);
        c1[2] = c[0] + t * (c[2] - c[0]);
        c1[3] = c[1] + t * (c[3] - c[1]);
        c1[4] = c1[2] + t * (tx - c1[2]);
        c1[5] = c1[3] + t * (ty - c1[3]);
        c[4] += t * (c[6] - c[4]);
        c[5] += t * (c[7] - c[5]);
        c[2] = tx + t * (c[4] - tx);
        c[3] = ty + t * (c[5] - ty);
        c[0] = c1[4] + t * (c[2] - c1[4]);
        c[1] = c1[5] + t * (c[3] - c1[5]);
        c1[6] = c[0];
        c1[7] = c[1];
        self.monotonic_cubic(c1);
    }

    fn monotonic_cubic(&mut self, mut c: [f32; 8]) {
        let [xl, yl, xh, yh] = self.f;
        let (mut x0, mut x1, mut y0, mut y1) = (c[0], c[0], c[1], c[1]);
        for k in 1..4 {
            x0 = if c[2 * k] < x0 { c[2 * k] } else { x0 };
            x1 = if c[2 * k] > x1 { c[2 * k] } else { x1 };
            y0 = if c[2 * k + 1] < y0 { c[2 * k + 1] } else { y0 };
            y1 = if c[2 * k + 1] > y1 { c[2 * k + 1] } else { y1 };
        }
        if yh < y0 || yl > y1 || xh < x0 {
            return;
        }
        if xl > x1 {
            c[0] = xl;
            c[2] = xl;
            c[4] = xl;
            c[6] = xl;
        }
        if x1 - x0 > 256.0 || y1 - y0 > 256.0 {
            let mut c1 = [0f32; 8];
            c1[6] = c[6];
            c1[7] = c[7];
            c1[4] = (c[4] + c[6]) / 2.0;
            c1[5] = (c[5] + c[7]) / 2.0;
            let tx = (c[2] + c[4]) / 2.0;
            let ty = (c[3] + c[5]) / 2.0;
            c1[2] = (tx + c1[4]) / 2.0;
            c1[3] = (ty + c1[5]) / 2.0;
            c[2] = (c[0] + c[2]) / 2.0;
            c[3] = (c[1] + c[3]) / 2.0;
            c[4] = (c[2] + tx) / 2.0;
            c[5] = (c[3] + ty) / 2.0;
            c[6] = (c[4] + c1[2]) / 2.0;
            c[7] = (c[5] + c1[3]) / 2.0;
            c1[0] = c[6];
            c1[1] = c[7];
            self.monotonic_cubic(c);
            self.monotonic_cubic(c1);
        } else {
            let check = xl > x0 || xh < x1 || yl > y0 || yh < y1;
            self.draw_cubic(&c, check);
        }
    }

    /// Forward differencing of a monotonic cubic (DrawMonotonicCubic's arithmetic).
    fn draw_cubic(&mut self, c: &[f32; 8], check: bool) {
        const SHIFT0: i32 = 6;
        let fx = |v: f32| (v * MDP as f32) as i32;
        let (x0, y0, xe, ye) = (fx(c[0]), fx(c[1]), fx(c[6]), fx(c[7]));
        let mut px = (x0 & (MDP - 1)) << SHIFT0;
        let mut py = (y0 & (MDP - 1)) << SHIFT0;
        let (mut inc1, mut inc2) = (1i32 << 15, 1i32 << 16);
        let (mut dec1, mut dec2) = (1i32 << 18, 1i32 << 19);
        let mut count: i32 = 8;
        let mut shift = SHIFT0;
        let ax = ((-c[0] + 3.0 * c[2] - 3.0 * c[4] + c[6]) * 128.0) as i32;
        let ay = ((-c[1] + 3.0 * c[3] - 3.0 * c[5] + c[7]) * 128.0) as i32;
        let bx = ((3.0 * c[0] - 6.0 * c[2] + 3.0 * c[4]) * 2048.0) as i32;
        let by = ((3.0 * c[1] - 6.0 * c[3] + 3.0 * c[5]) * 2048.0) as i32;
        let cx = ((-3.0 * c[0] + 3.0 * c[2]) * 8192.0) as i32;
        let cy = ((-3.0 * c[1] + 3.0 * c[3]) * 8192.0) as i32;
        let (dddpx, dddpy) = (ax.wrapping_mul(6), ay.wrapping_mul(6));
        let (mut ddpx, mut ddpy) = (dddpx.wrapping_add(bx), dddpy.wrapping_add(by));
        let mut dpx = ax.wrapping_add(bx >> 1).wrapping_add(cx);
        let mut dpy = ay.wrapping_add(by >> 1).wrapping_add(cy);
        let (mut x2, mut y2) = (x0, y0);
        let (x0w, y0w) = (x0 & -MDP, y0 & -MDP);
        let (dx, dy) = (xe.wrapping_sub(x0), ye.wrapping_sub(y0));
        while count > 0 {
            while (ddpx.wrapping_add(dec1) as u32) > dec2 as u32
                || (ddpy.wrapping_add(dec1) as u32) > dec2 as u32
            {
                ddpx = (ddpx.wrapping_shl(1)).wrapping_sub(dddpx);
                ddpy = (ddpy.wrapping_shl(1)).wrapping_sub(dddpy);
                dpx = (dpx.wrapping_shl(2)).wrapping_sub(ddpx >> 1);
                dpy = (dpy.wrapping_shl(2)).wrapping_sub(ddpy >> 1);
                count = count.wrapping_shl(1);
                dec1 = dec1.wrapping_shl(3);
                dec2 = dec2.wrapping_shl(3);
                inc1 = inc1.wrapping_shl(3);
                inc2 = inc2.wrapping_shl(3);
                px = px.wrapping_shl(3);
                py = py.wrapping_shl(3);
                shift += 3;
            }
            while (count & 1) == 0
                && shift > SHIFT0
                && (dpx.wrapping_add(inc1) as u32) <= inc2 as u32
                && (dpy.wrapping_add(inc1) as u32) <= inc2 as u32
            {
                dpx = (dpx >> 2).wrapping_add(ddpx >> 3);
                dpy = (dpy >> 2).wrapping_add(ddpy >> 3);
                ddpx = ddpx.wrapping_add(dddpx) >> 1;
                ddpy = ddpy.wrapping_add(dddpy) >> 1;
                count >>= 1;
                dec1 >>= 3;
                dec2 >>= 3;
                inc1 >>= 3;
                inc2 >>= 3;
                px >>= 3;
                py >>= 3;
                shift -= 3;
            }
            count -= 1;
            if count != 0 {
                px = px.wrapping_add(dpx);
                py = py.wrapping_add(dpy);
                dpx = dpx.wrapping_add(ddpx);
                dpy = dpy.wrapping_add(ddpy);
                ddpx = ddpx.wrapping_add(dddpx);
                ddpy = ddpy.wrapping_add(dddpy);
                let (x1, y1) = (x2, y2);
                x2 = x0w.wrapping_add(px >> shift);
                y2 = y0w.wrapping_add(py >> shift);
                if (xe.wrapping_sub(x2) ^ dx) < 0 {
                    x2 = xe;
                }
                if (ye.wrapping_sub(y2) ^ dy) < 0 {
                    y2 = ye;
                }
                self.fixed(x1, y1, x2, y2, check);
            } else {
                self.fixed(x2, y2, xe, ye, check);
            }
        }
    }

    fn fixed(&mut self, x1: i32, y1: i32, x2: i32, y2: i32, check: bool) {
        if check {
            self.add_checked(x1, y1, x2, y2);
        } else {
            self.add(x1, y1, x2, y2, false);
        }
    }

    /// The edges of the stored points, as FillPolygon steps them.
    fn tracks(&self, obj: u32, out: &mut Vec<Track>) {
        let p = &self.pts;
        if p.len() <= 1 {
            return;
        }
        for i in 0..p.len() - 1 {
            let (a, b) = (p[i], p[i + 1]);
            if a.2 || a.1 == b.1 {
                continue;
            }
            let (top, dir) = if a.1 < b.1 { (a, -1) } else { (b, 1) };
            let bot_y = if a.1 < b.1 { b.1 } else { a.1 };
            // the first scanline at or below the top point; the last above the bottom one
            let y0 = (top.1 as i64 + 1023) >> 10;
            let y1 = (bot_y as i64 + 1023) >> 10;
            if y1 <= y0 {
                continue;
            }
            let dxx = b.0 as i64 - a.0 as i64;
            let dyy = b.1 as i64 - a.1 as i64;
            let dy = y0 * 1024 - top.1 as i64;
            let (x0, dx) = if dxx.abs() > 1 << 20 {
                (
                    top.0 as i64 + ((dxx as f64 * dy as f64) / dyy as f64) as i32 as i64,
                    ((dxx as f64 * 1024.0) / dyy as f64) as i32 as i64,
                )
            } else {
                (
                    top.0 as i64 + ((dxx * dy) as i32 / dyy as i32) as i64,
                    (((dxx as i32) << 10) / dyy as i32) as i64,
                )
            };
            out.push(Track {
                obj,
                y0: y0 as i32,
                y1: y1 as i32,
                dir,
                step: Step::Fixed { x0, dx },
            });
        }
    }
}

/// The roots of a·t² + b·t + c in (0, 1), as the filler finds them.
pub(super) fn solve_quad_in_range(a: f64, b: f64, c: f64, out: &mut Vec<f64>) {
    let mut push = |p: f64| {
        if p < 1.0 && p > 0.0 {
            out.push(p);
        }
    };
    if a != 0.0 {
        let mut d = b * b - 4.0 * a * c;
        if d < 0.0 {
            return;
        }
        d = d.sqrt();
        if b < 0.0 {
            d = -d;
        }
        let q = (b + d) / -2.0;
        push(q / a);
        if d == 0.0 || q == 0.0 {
            return;
        }
        push(c / q);
    } else {
        if b == 0.0 {
            return;
        }
        push(-c / b);
    }
}

/// The path filler's tracks of one figure's device path.
pub(super) fn thin_tracks(path: &[Seg], t: &TileXf, obj: u32, out: &mut Vec<Track>) {
    let mut st = Store::new(t.tw, t.th);
    let valid = |v: f32| v.abs() < f32::MAX / 4.0;
    for s in path {
        match *s {
            Seg::Line(c) => {
                if c.iter().all(|&v| valid(v)) {
                    st.line(c);
                }
            }
            Seg::Cubic(c) => {
                if c.iter().all(|&v| valid(v)) {
                    st.cubic(c);
                }
            }
            Seg::End => st.end_sub(),
        }
    }
    st.tracks(obj, out);
}
