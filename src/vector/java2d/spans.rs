//! The span iterator (ShapeSpanIterator): areas under a wide stroke, with endpoint
//! normalization, and the stroker's outlines without it; rectangles and points.

use super::tiles::{Seg, Step, TileXf, Track};

pub(super) struct Spans<'a> {
    pub(super) out: &'a mut Vec<Track>,
    pub(super) obj: u32,
    pub(super) hix: i32,
    pub(super) hiy: i32,
}

pub(super) fn adjust(v: f32) -> f32 {
    ((v + 0.25) as f64).floor() as f32 + 0.25
}

impl Spans<'_> {
    fn segment(&mut self, mut x0: f32, mut y0: f32, mut x1: f32, mut y1: f32) {
        let dir = if y0 > y1 {
            std::mem::swap(&mut x0, &mut x1);
            std::mem::swap(&mut y0, &mut y1);
            -1
        } else {
            1
        };
        let sy = ((y0 - 0.5) as f64).ceil() as i32;
        let ly = ((y1 - 0.5) as f64).ceil() as i32;
        if sy >= ly || sy >= self.hiy || ly <= 0 {
            return;
        }
        let dx = x1 - x0;
        let dy = y1 - y0;
        let slope = dx / dy;
        let bump = sy as f32 + 0.5 - y0;
        let x = x0 + bump * dx / dy;
        let sx = ((x - 0.5) as f64).ceil() as i32;
        let fl = (slope as f64).floor();
        let bumperr = ((slope as f64 - fl) * 2147483647.0) as i32;
        let err = ((x - (sx as f32 - 0.5)) as f64 * 2147483647.0) as i32;
        self.out.push(Track {
            obj: self.obj,
            y0: sy,
            y1: ly.min(self.hiy),
            dir,
            step: Step::Ssi {
                x0: sx as i64,
                bumpx: fl as i32 as i64,
                bumperr: bumperr as i64,
                err: err as i64,
            },
        });
    }

    pub(super) fn line(&mut self, x0: f32, y0: f32, x1: f32, y1: f32) {
        let (minx, maxx) = if x0 < x1 { (x0, x1) } else { (x1, x0) };
        let (miny, maxy) = if y0 < y1 { (y0, y1) } else { (y1, y0) };
        if maxy <= 0.0 || miny >= self.hiy as f32 || minx >= self.hix as f32 {
            return;
        }
        if maxx <= 0.0 {
            return self.segment(maxx, y0, maxx, y1);
        }
        self.segment(x0, y0, x1, y1);
    }

    fn cubic(&mut self, level: u32, c: [f32; 8]) {
        let [x0, y0, x1, y1, x2, y2, x3, y3] = c;
        let minx = x0.min(x1).min(x2).min(x3);
        let maxx = x0.max(x1).max(x2).max(x3);
        let miny = y0.min(y1).min(y2).min(y3);
        let maxy = y0.max(y1).max(y2).max(y3);
        if maxy <= 0.0 || miny >= self.hiy as f32 || minx >= self.hix as f32 {
            return;
        }
        if maxx <= 0.0 {
            return self.segment(maxx, y0, maxx, y3);
        }
        if level < 10
            && (pt_seg_dist_sq(x0, y0, x3, y3, x1, y1) > 1.0
                || pt_seg_dist_sq(x0, y0, x3, y3, x2, y2) > 1.0)
        {
            let ctrx = (x1 + x2) / 2.0;
            let (nx1, nx2) = ((x0 + x1) / 2.0, (x2 + x3) / 2.0);
            let cx12 = (nx1 + ctrx) / 2.0;
            let cx21 = (ctrx + nx2) / 2.0;
            let mx = (cx12 + cx21) / 2.0;
            let ctry = (y1 + y2) / 2.0;
            let (ny1, ny2) = ((y0 + y1) / 2.0, (y2 + y3) / 2.0);
            let cy12 = (ny1 + ctry) / 2.0;
            let cy21 = (ctry + ny2) / 2.0;
            let my = (cy12 + cy21) / 2.0;
            self.cubic(level + 1, [x0, y0, nx1, ny1, cx12, cy12, mx, my]);
            self.cubic(level + 1, [mx, my, cx21, cy21, nx2, ny2, x3, y3]);
            return;
        }
        self.segment(x0, y0, x3, y3);
    }
}

pub(super) fn pt_seg_dist_sq(x0: f32, y0: f32, x1: f32, y1: f32, px: f32, py: f32) -> f32 {
    let (x1, y1) = (x1 - x0, y1 - y0);
    let (mut px, mut py) = (px - x0, py - y0);
    let mut dot = px * x1 + py * y1;
    let proj = if dot <= 0.0 {
        0.0
    } else {
        px = x1 - px;
        py = y1 - py;
        dot = px * x1 + py * y1;
        if dot <= 0.0 {
            0.0
        } else {
            dot * dot / (x1 * x1 + y1 * y1)
        }
    };
    px * px + py * py - proj
}

/// The span iterator's tracks of one figure's device path (endpoints normalized).
pub(super) fn ssi_tracks(path: &[Seg], t: &TileXf, obj: u32, out: &mut Vec<Track>) {
    let mut sp = Spans {
        out,
        obj,
        hix: t.tw,
        hiy: t.th,
    };
    // every edge, the closing one included, comes with both ends (skipped edges leave gaps); a
    // curve moves its first control point as its start was moved, its second as its end
    for s in path {
        match *s {
            Seg::Line([x0, y0, x1, y1]) => {
                let (ax0, ay0) = (adjust(x0), adjust(y0));
                sp.line(ax0, ay0, adjust(x1), adjust(y1));
            }
            Seg::Cubic(mut c) => {
                let (ax0, ay0) = (adjust(c[0]), adjust(c[1]));
                let pa = (ax0 - c[0], ay0 - c[1]);
                let (ax, ay) = (adjust(c[6]), adjust(c[7]));
                let nadj = (ax - c[6], ay - c[7]);
                c[2] += pa.0;
                c[3] += pa.1;
                c[4] += nadj.0;
                c[5] += nadj.1;
                sp.cubic(0, [ax0, ay0, c[2], c[3], c[4], c[5], ax, ay]);
            }
            Seg::End => {}
        }
    }
}

// ------------------------------------------------------------------------------------------
// Rectangles and points

pub(super) fn rect_tracks(
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    t: &TileXf,
    obj: u32,
    out: &mut Vec<Track>,
) {
    if !(w > 0.0 && h > 0.0) {
        return;
    }
    // PixelToParallelogramConverter.fillRectangle: both corners normalized, centres sampled
    let norm = |v: f64| (v + 0.25).floor();
    let (px, py) = (x * t.s + t.mx, y * t.s + t.my);
    let c0 = norm(px);
    let c1 = norm(px + t.s * w);
    let r0 = norm(py).max(0.0);
    let r1 = norm(py + t.s * h).min(t.th as f64);
    if c1 <= c0 || r1 <= r0 {
        return;
    }
    for (c, dir) in [(c0, 1), (c1, -1)] {
        out.push(Track {
            obj,
            y0: r0 as i32,
            y1: r1 as i32,
            dir,
            step: Step::Const(c.clamp(-1.0, t.tw as f64 + 1.0) as i64),
        });
    }
}

pub(super) fn point_tracks(pts: &[(f64, f64)], t: &TileXf, obj: u32, out: &mut Vec<Track>) {
    for &(x, y) in pts {
        // LabeledImageServer: (int)((x - tileX) / d), truncated toward zero
        let c = ((x - t.rx) / t.d) as i64;
        let r = ((y - t.ry) / t.d) as i64;
        if c >= 0 && c < t.tw as i64 && r >= 0 && r < t.th as i64 {
            for (k, dir) in [(c, 1), (c + 1, -1)] {
                out.push(Track {
                    obj,
                    y0: r as i32,
                    y1: r as i32 + 1,
                    dir,
                    step: Step::Const(k),
                });
            }
        }
    }
}
