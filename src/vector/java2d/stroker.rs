//! Wide polylines: Java2D's `draw` of a path under a stroke wider than one device pixel, as
//! `LoopPipe` hands it to its rendering engine (Marlin) and the span iterator.
//!
//! The chain, for QuPath's open float paths under `BasicStroke(w)` (square caps, miter joins,
//! miter limit 10, no dashes) and a uniform scale:
//!
//! 1. each vertex goes to the device in double (`x·s + m`) and is normalized to
//!    `floor(v + 0.25) + 0.25` (the default stroke hint is not PURE);
//! 2. the stroker widens it by half the device width `w·√(s²)` / 2 on each side, clipping
//!    against the tile widened by the miter reach (segments wholly outside one side of it are
//!    dropped and the outline restarts after them; long segments that cross it are first split
//!    where they cross it, padded by a quarter pixel, and the pieces are not joined);
//! 3. the outline points go to the span iterator as 32-bit floats, every subpath closed, and
//!    pixel centres are filled non-zero.
//!
//! [`Jdk`] selects the stroker of JDK 17 or of JDK 21 and later, which differ in two places:
//! repeated points and the joins between split pieces.

use super::spans::Spans;
use super::tiles::{TileXf, Track};

/// Which JDK's Marlin stroker to follow: QuPath 0.2–0.5 ran on Java 17 (or 11), 0.6 and 0.7
/// on Java 21.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jdk {
    /// JDK 17 (Marlin 0.9.1): a repeated point is a zero-length segment drawn rightwards, and
    /// the pieces of a segment split at the clip are joined like any two segments.
    Jdk17,
    /// JDK 21 and later (Marlin 0.9.4): repeated points are skipped and split pieces are not
    /// joined.
    #[default]
    Jdk21,
}

const TOP: u8 = 1;
const BOTTOM: u8 = 2;
const LEFT: u8 = 4;
const RIGHT: u8 = 8;

/// Half-open clip box (ymin, ymax, xmin, xmax), as Marlin stores it.
fn outcode(x: f64, y: f64, c: &[f64; 4]) -> u8 {
    let mut code = if y < c[0] {
        TOP
    } else if y >= c[1] {
        BOTTOM
    } else {
        0
    };
    if x < c[2] {
        code |= LEFT;
    } else if x >= c[3] {
        code |= RIGHT;
    }
    code
}

/// The span iterator as a path consumer: float points, every subpath closed.
struct Sink<'a> {
    spans: Spans<'a>,
    cur: (f32, f32),
    mov: (f32, f32),
}

impl Sink<'_> {
    fn close(&mut self) {
        if self.cur != self.mov {
            let (c, m) = (self.cur, self.mov);
            self.spans.line(c.0, c.1, m.0, m.1);
            self.cur = m;
        }
    }

    fn move_to(&mut self, x: f64, y: f64) {
        self.close();
        let p = (x as f32, y as f32);
        self.mov = p;
        self.cur = p;
    }

    fn line_to(&mut self, x: f64, y: f64) {
        let p = (x as f32, y as f32);
        let c = self.cur;
        self.spans.line(c.0, c.1, p.0, p.1);
        self.cur = p;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prev {
    MoveTo,
    Drawing,
    Close,
}

/// Marlin's stroker for lines only (no curves: square caps and miter joins make none).
struct Stroker<'a> {
    out: Sink<'a>,
    jdk: Jdk,
    lw2: f64,
    miter_limit_sq: f64,
    clip: [f64; 4],
    pad: [f64; 4],
    prev: Prev,
    s0: (f64, f64),
    sd: (f64, f64),
    sm: (f64, f64),
    c0: (f64, f64),
    cd: (f64, f64),
    cm: (f64, f64),
    reverse: Vec<(f64, f64)>,
    c_out: u8,
    s_out: u8,
    opened: bool,
    cap_start: bool,
    subdivide: bool,
    /// A piece after the first of a split segment is being stroked (JDK 21+: no join).
    split_piece: bool,
}

impl Stroker<'_> {
    fn emit_line(&mut self, x: f64, y: f64, rev: bool) {
        if rev {
            self.reverse.push((x, y));
        } else {
            self.out.line_to(x, y);
        }
    }

    fn emit_reverse(&mut self) {
        while let Some((x, y)) = self.reverse.pop() {
            self.out.line_to(x, y);
        }
    }

    fn move_to(&mut self, x: f64, y: f64) {
        let oc = self.c_out;
        self.inner_move(x, y, oc);
        self.s0 = (x, y);
        self.sd = (1.0, 0.0);
        self.opened = false;
        self.cap_start = false;
        let oc = outcode(x, y, &self.clip);
        self.c_out = oc;
        self.s_out = oc;
    }

    fn inner_move(&mut self, x: f64, y: f64, outcode: u8) {
        if self.prev != Prev::MoveTo {
            if self.prev == Prev::Drawing {
                self.finish(outcode);
            }
            self.prev = Prev::MoveTo;
            self.cd = (1.0, 0.0);
        }
        self.c0 = (x, y);
    }

    fn line_to(&mut self, x1: f64, y1: f64) {
        let oc0 = self.c_out;
        let oc1 = outcode(x1, y1, &self.clip);
        let or = oc0 | oc1;
        if or != 0 {
            if oc0 & oc1 == 0 {
                if self.subdivide {
                    self.subdivide = false;
                    let done = self.split_line(x1, y1, or);
                    self.subdivide = true;
                    if done {
                        return;
                    }
                }
            } else {
                self.c_out = oc1;
                self.inner_move(x1, y1, oc0);
                self.opened = true;
                return;
            }
        }
        self.c_out = oc1;
        let (cx, cy) = self.c0;
        let (mut dx, dy) = (x1 - cx, y1 - cy);
        if dx == 0.0 && dy == 0.0 {
            if self.jdk == Jdk::Jdk21 && self.prev == Prev::Drawing {
                return;
            }
            dx = 1.0;
        }
        let (mx, my) = offset(dx, dy, self.lw2);
        self.draw_join(cx, cy, dx, dy, mx, my, oc0);
        self.out.line_to(cx + mx, cy + my);
        self.out.line_to(x1 + mx, y1 + my);
        self.reverse.push((cx - mx, cy - my));
        self.reverse.push((x1 - mx, y1 - my));
        self.prev = Prev::Drawing;
        self.c0 = (x1, y1);
        self.cd = (dx, dy);
        self.cm = (mx, my);
    }

    /// CurveClipSplitter.splitLine: a segment longer than 100 (Manhattan) that crosses the
    /// padded clip is cut where it crosses it; true when it was (the pieces are stroked).
    fn split_line(&mut self, x1: f64, y1: f64, or: u8) -> bool {
        let (x0, y0) = self.c0;
        if (x1 - x0).abs() + (y1 - y0).abs() <= 100.0 {
            return false;
        }
        let mut ts: Vec<f64> = Vec::with_capacity(4);
        let mut root = |c: f64, b: f64| {
            if b != 0.0 {
                let t = -c / b;
                if (0.0..1.0).contains(&t) {
                    ts.push(t);
                }
            }
        };
        let p = self.pad;
        if or & LEFT != 0 {
            root(x0 - p[2], x1 - x0);
        }
        if or & RIGHT != 0 {
            root(x0 - p[3], x1 - x0);
        }
        if or & TOP != 0 {
            root(y0 - p[0], y1 - y0);
        }
        if or & BOTTOM != 0 {
            root(y0 - p[1], y1 - y0);
        }
        if ts.is_empty() {
            return false;
        }
        // insertion sort, stable as Marlin's
        for i in 1..ts.len() {
            let v = ts[i];
            let mut j = i;
            while j > 0 && ts[j - 1] > v {
                ts[j] = ts[j - 1];
                j -= 1;
            }
            ts[j] = v;
        }
        let mut pts = Vec::with_capacity(ts.len() + 1);
        let (mut ax, mut ay) = (x0, y0);
        let mut prev_t = 0.0;
        for &t in &ts {
            let tt = (t - prev_t) / (1.0 - prev_t);
            ax += tt * (x1 - ax);
            ay += tt * (y1 - ay);
            pts.push((ax, ay));
            prev_t = t;
        }
        pts.push((x1, y1));
        for (i, &(x, y)) in pts.iter().enumerate() {
            self.line_to(x, y);
            if i == 0 && self.jdk == Jdk::Jdk21 {
                self.split_piece = true;
            }
        }
        self.split_piece = false;
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn draw_join(&mut self, x0: f64, y0: f64, dx: f64, dy: f64, mx: f64, my: f64, outcode: u8) {
        if self.prev != Prev::Drawing {
            self.out.move_to(x0 + mx, y0 + my);
            if !self.opened {
                self.sd = (dx, dy);
                self.sm = (mx, my);
            }
        } else if !self.split_piece {
            let (pdx, pdy) = self.cd;
            let cw = pdx * dy <= pdy * dx;
            if outcode == 0 {
                self.draw_miter(x0, y0, dx, dy, mx, my, cw);
            }
            self.emit_line(x0, y0, !cw);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn draw_miter(&mut self, x0: f64, y0: f64, dx: f64, dy: f64, mx: f64, my: f64, rev: bool) {
        let (pdx, pdy) = self.cd;
        let (mut omx, mut omy) = self.cm;
        let (mut mx, mut my) = (mx, my);
        if (mx == omx && my == omy) || (pdx == 0.0 && pdy == 0.0) || (dx == 0.0 && dy == 0.0) {
            return;
        }
        if rev {
            omx = -omx;
            omy = -omy;
            mx = -mx;
            my = -my;
        }
        // the crossing of the two offset lines
        let (ax, ay) = ((x0 - pdx) + omx, (y0 - pdy) + omy);
        let (bx, by) = (x0 + omx, y0 + omy);
        let (cx, cy) = ((dx + x0) + mx, (dy + y0) + my);
        let (ex, ey) = (x0 + mx, y0 + my);
        let (x10, y10) = (bx - ax, by - ay);
        let (x10p, y10p) = (ex - cx, ey - cy);
        let den = x10 * y10p - x10p * y10;
        let mut t = x10p * (ay - cy) - y10p * (ax - cx);
        t /= den;
        let (qx, qy) = (ax + t * x10, ay + t * y10);
        let len_sq = (qx - x0) * (qx - x0) + (qy - y0) * (qy - y0);
        if len_sq < self.miter_limit_sq {
            self.emit_line(qx, qy, rev);
        }
    }

    fn finish(&mut self, outcode: u8) {
        let (cx, cy) = self.c0;
        let (cmx, cmy) = self.cm;
        if outcode == 0 {
            self.out.line_to(cx - cmy + cmx, cy + cmx + cmy);
            self.out.line_to(cx - cmy - cmx, cy + cmx - cmy);
        }
        self.emit_reverse();
        if !self.cap_start {
            self.cap_start = true;
            if self.s_out == 0 {
                let (sx, sy) = self.s0;
                let (smx, smy) = self.sm;
                self.out.line_to(sx + smy - smx, sy - smx - smy);
                self.out.line_to(sx + smy + smx, sy - smx + smy);
            }
        }
        self.out.close();
    }

    fn path_done(&mut self) {
        if self.prev == Prev::Drawing {
            let oc = self.c_out;
            self.finish(oc);
        }
        self.out.close();
    }
}

/// Marlin's offset of a segment direction: (ly·w, −lx·w) / |l|, zero for a zero vector.
fn offset(lx: f64, ly: f64, w: f64) -> (f64, f64) {
    let len = lx * lx + ly * ly;
    if len == 0.0 {
        (0.0, 0.0)
    } else {
        let len = len.sqrt();
        ((ly * w) / len, -(lx * w) / len)
    }
}

/// Marlin's path bounds: points beyond ±Float.MAX_VALUE/2 (and NaN) are skipped.
fn in_bounds(v: f64) -> bool {
    let b = f32::MAX as f64 / 2.0;
    v < b && v > -b
}

/// The tracks of one figure's open polylines drawn in tile `t` with `BasicStroke(lw)`.
pub(super) fn wide_line_tracks(
    parts: &[Vec<(f64, f64)>],
    lw: f32,
    jdk: Jdk,
    t: &TileXf,
    obj: u32,
    out: &mut Vec<Track>,
) {
    // the device width: the stroke's float width times the transform's uniform scale
    let width = lw as f64 * (t.s * t.s + 0.0 * 0.0).sqrt();
    let lw2 = width / 2.0;
    let limit = 10.0 * lw2;
    let (tw, th) = (t.tw as f64, t.th as f64);
    // the tile, a rounding margin and the renderer's quarter-pixel offset, widened by the
    // stroke's reach (the miter limit's, which is always the larger)
    let mut clip = [
        (0.0 - 1e-3) + 0.25,
        (th + 1e-3) + 0.25,
        (0.0 - 1e-3) + 0.25,
        (tw + 1e-3) + 0.25,
    ];
    let mut margin = lw2 * std::f64::consts::SQRT_2;
    if margin < limit {
        margin = limit;
    }
    clip[0] -= margin;
    clip[1] += margin;
    clip[2] -= margin;
    clip[3] += margin;
    let pad = [
        clip[0] - 0.25,
        clip[1] + 0.25,
        clip[2] - 0.25,
        clip[3] + 0.25,
    ];
    let spans = Spans {
        out,
        obj,
        hix: t.tw,
        hiy: t.th,
    };
    let mut st = Stroker {
        out: Sink {
            spans,
            cur: (0.0, 0.0),
            mov: (0.0, 0.0),
        },
        jdk,
        lw2,
        miter_limit_sq: limit * limit,
        clip,
        pad,
        prev: Prev::Close,
        s0: (0.0, 0.0),
        sd: (1.0, 0.0),
        sm: (0.0, 0.0),
        c0: (0.0, 0.0),
        cd: (1.0, 0.0),
        cm: (0.0, 0.0),
        reverse: Vec::new(),
        c_out: 0,
        s_out: 0,
        opened: false,
        cap_start: false,
        subdivide: true,
        split_piece: false,
    };
    let norm = |v: f64| (v + 0.25).floor() + 0.25;
    // pathToLoop: a point out of bounds is skipped; a skipped first point leaves the previous
    // subpath going (its flag is not reset), a later valid one starts a subpath if none is
    let mut started = false;
    for part in parts {
        for (i, &(x, y)) in part.iter().enumerate() {
            let (x, y) = (x as f32 as f64, y as f32 as f64);
            let dx = norm(x * t.s + t.mx);
            let dy = norm(y * t.s + t.my);
            if !(in_bounds(dx) && in_bounds(dy)) {
                continue;
            }
            if started && i > 0 {
                st.line_to(dx, dy);
            } else {
                st.move_to(dx, dy);
                started = true;
            }
        }
    }
    st.path_done();
}
