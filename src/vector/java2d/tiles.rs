//! QuPath's tiles: each tile's transform, the device path of a figure, and the per-row
//! crossings (tracks) every filler produces.

use super::figure::Figure;
use super::TILE;

/// One tile's transform: device = (float)(x·s + m) per axis, or float(x) + t for d = 1.
#[derive(Debug, Clone, Copy)]
pub(super) struct TileXf {
    pub(super) ident: bool,
    pub(super) s: f64,
    pub(super) mx: f64,
    pub(super) my: f64,
    pub(super) tx: f32,
    pub(super) ty: f32,
    pub(super) rx: f64,
    pub(super) ry: f64,
    /// The full-resolution size of the tile's request.
    pub(super) rw: f64,
    pub(super) rh: f64,
    pub(super) d: f64,
    pub(super) tw: i32,
    pub(super) th: i32,
}

impl TileXf {
    pub(super) fn new(col: usize, band: usize, w: usize, h: usize, d: f64) -> TileXf {
        let (lx, ly) = (col * TILE, band * TILE);
        // TileRequest: the full-resolution origin is rounded
        let rx = java_round(lx as f64 * d) as f64;
        let ry = java_round(ly as f64 * d) as f64;
        let tw = (w - lx).min(TILE);
        let th = h.saturating_sub(ly).min(TILE);
        let rw = java_round((lx + tw) as f64 * d - rx) as f64;
        let rh = java_round((ly + th) as f64 * d - ry) as f64;
        let s = 1.0 / d;
        TileXf {
            ident: s == 1.0,
            s,
            mx: -rx * s,
            my: -ry * s,
            tx: -rx as f32,
            ty: -ry as f32,
            rx,
            ry,
            rw,
            rh,
            d,
            tw: tw as i32,
            th: th as i32,
        }
    }

    /// A float path coordinate into the device (the transform QuPath's Graphics2D applies).
    pub(super) fn dev(&self, x: f32, y: f32) -> (f32, f32) {
        if self.ident {
            (x + self.tx, y + self.ty)
        } else {
            (
                (x as f64 * self.s + self.mx) as f32,
                (y as f64 * self.s + self.my) as f32,
            )
        }
    }
}

/// Java's `Math.round` for the values met here.
pub(super) fn java_round(v: f64) -> i64 {
    (v + 0.5).floor() as i64
}

/// A device-space path segment of one figure in one tile.
#[derive(Debug, Clone, Copy)]
pub(super) enum Seg {
    Line([f32; 4]),
    Cubic([f32; 8]),
    /// The end of a closed subpath.
    End,
}

/// The device path of an area or an ellipse in tile `t`; `band` limits polygon edges to those
/// that can reach the band's rows (in output pixels, a margin included).
pub(super) fn device_path(fig: &Figure, t: &TileXf, out: &mut Vec<Seg>) {
    out.clear();
    match fig {
        Figure::Area { rings, .. } => {
            // only edges whose rows meet the tile (with a margin) can matter: the others are
            // invisible to both fillers (the chains they break are ended by the clipping)
            let (ylo, yhi) = (t.ry - 2.0 * t.d, t.ry + (t.th as f64 + 2.0) * t.d);
            let xhi = t.rx + (t.tw as f64 + 2.0) * t.d;
            for r in rings {
                let n = r.len();
                if n < 2 {
                    continue;
                }
                for i in 0..n {
                    let (a, b) = (r[i], r[(i + 1) % n]);
                    if a.1.max(b.1) < ylo || a.1.min(b.1) > yhi || a.0.min(b.0) > xhi {
                        continue;
                    }
                    let p = t.dev(a.0 as f32, a.1 as f32);
                    let q = t.dev(b.0 as f32, b.1 as f32);
                    out.push(Seg::Line([p.0, p.1, q.0, q.1]));
                }
                out.push(Seg::End);
            }
        }
        Figure::Ellipse { x, y, w, h } => {
            if *w < 0.0 || *h < 0.0 {
                return;
            }
            // EllipseIterator: four cubics from (x + w, y + h/2), control value 0.5522847498307933
            const C: f64 = 0.5522847498307933;
            let (p, n) = (0.5 + C * 0.5, 0.5 - C * 0.5);
            let ctrl = [
                [1.0, p, p, 1.0, 0.5, 1.0],
                [n, 1.0, 0.0, p, 0.0, 0.5],
                [0.0, n, n, 0.0, 0.5, 0.0],
                [p, 0.0, 1.0, n, 1.0, 0.5],
            ];
            let pt = |cx: f64, cy: f64| t.dev((x + cx * w) as f32, (y + cy * h) as f32);
            let mut cur = pt(1.0, 0.5);
            for c in &ctrl {
                let a = pt(c[0], c[1]);
                let b = pt(c[2], c[3]);
                let e = pt(c[4], c[5]);
                out.push(Seg::Cubic([cur.0, cur.1, a.0, a.1, b.0, b.1, e.0, e.1]));
                cur = e;
            }
            out.push(Seg::End);
        }
        Figure::Rect { .. } | Figure::Points(_) | Figure::Lines(_) | Figure::Line(_) => {}
    }
}

// ------------------------------------------------------------------------------------------
// Per-row crossings

/// How one edge crosses the rows of its tile: pixels at or right of its threshold count.
#[derive(Debug, Clone, Copy)]
pub(super) enum Step {
    /// The path filler: fixed-point x at the first row, plus a fixed-point slope per row;
    /// threshold ⌈x / 1024⌉.
    Fixed { x0: i64, dx: i64 },
    /// The span iterator: integer x, error term and its per-row bumps.
    Ssi {
        x0: i64,
        bumpx: i64,
        bumperr: i64,
        err: i64,
    },
    /// A fixed column (rectangles, points).
    Const(i64),
    /// Both edges of a parallelogram's rows (wide `Line2D`s): 32.32 fixed-point left and right
    /// x stepped per row, each row filling `max(l, lo) ≤ x < min(r, hi)` (nothing when empty).
    Run {
        l0: i64,
        ld: i64,
        r0: i64,
        rd: i64,
        lo: i64,
        hi: i64,
    },
}

/// One edge of one figure in one tile: rows `y0..y1` (tile rows).
#[derive(Debug, Clone, Copy)]
pub(super) struct Track {
    pub(super) obj: u32,
    pub(super) y0: i32,
    pub(super) y1: i32,
    pub(super) dir: i32,
    pub(super) step: Step,
}

impl Track {
    pub(super) fn threshold(&self, row: i32) -> i64 {
        let k = (row - self.y0) as i64;
        match self.step {
            Step::Fixed { x0, dx } => (x0 + k * dx + 1023) >> 10,
            Step::Ssi {
                x0,
                bumpx,
                bumperr,
                err,
            } => x0 + k * bumpx + ((err + k * bumperr) >> 31),
            Step::Const(c) => c,
            Step::Run { l0, ld, lo, .. } => (l0.wrapping_add(k.wrapping_mul(ld)) >> 32).max(lo),
        }
    }

    /// The row's span of a [`Step::Run`] track, `None` for other tracks or an empty row.
    pub(super) fn run(&self, row: i32) -> Option<(i64, i64)> {
        let k = (row - self.y0) as i64;
        match self.step {
            Step::Run {
                l0,
                ld,
                r0,
                rd,
                lo,
                hi,
            } => {
                let l = (l0.wrapping_add(k.wrapping_mul(ld)) >> 32).max(lo);
                let r = (r0.wrapping_add(k.wrapping_mul(rd)) >> 32).min(hi);
                (l < r).then_some((l, r))
            }
            _ => None,
        }
    }
}
