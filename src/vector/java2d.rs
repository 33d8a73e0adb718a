//! Java2D's non-antialiased rendering as QuPath's `LabeledImageServer` sets it up, reproduced
//! integer for integer so that `h2g rasterize` writes the mask QuPath exports.
//!
//! QuPath renders each 512 × 512 tile of the labelled image into its own 8-bit image: the
//! Graphics2D is scaled by 1/d and translated by the tile's full-resolution origin, its stroke is
//! `BasicStroke(d)`, areas are `fill`ed, lines `draw`n and points set pixel by pixel
//! (docs/rasterize.md). What Java2D then does depends on the shape and on the downsample:
//!
//! * a `Rectangle2D` goes to the parallelogram filler: each side is moved to
//!   `floor(v + 0.25) + 0.25` in tile pixels and pixel centres are sampled;
//! * any other area, when the stroke is "thin" (its device width is at most 1, as at d = 1, 2,
//!   4, …), goes to the native path filler: coordinates as 32-bit floats, clipped to the tile
//!   and turned into fixed point with 10 fractional bits; curves are flattened by forward
//!   differencing; a pixel is inside when its top-left corner is, each edge's x stepping down the
//!   rows by a truncated fixed-point slope;
//! * when the stroke is "wide" (float(d)² / d² just above 1, as at d = 3.7), the same areas go to
//!   the span iterator instead: every vertex is first moved to `floor(v + 0.25) + 0.25`, curves
//!   are subdivided until flat, and pixel centres are sampled.
//!
//! The tile origin enters every float rounding, so the work is done per tile; rows still come out
//! one at a time (a band of tiles is prepared at a time: the edges, never the pixels).

use crate::mask::{MaskError, RowSource};

/// QuPath's tile side in output pixels (`LabeledImageServer`'s default tile size).
pub const TILE: usize = 512;

/// One object as QuPath holds it, in full-resolution coordinates.
#[derive(Debug, Clone, PartialEq)]
pub enum Figure {
    /// A polygonal area (`PolygonROI` or `GeometryROI`): its rings are one path, filled
    /// even-odd or non-zero. Coordinates as QuPath stores them (rounded to f32).
    Area {
        rings: Vec<Vec<(f64, f64)>>,
        even_odd: bool,
    },
    /// A `RectangleROI` (`Rectangle2D.Double`).
    Rect { x: f64, y: f64, w: f64, h: f64 },
    /// An `EllipseROI` (`Ellipse2D.Double`: four cubic Béziers).
    Ellipse { x: f64, y: f64, w: f64, h: f64 },
    /// A `PointsROI`: each point sets the pixel it falls in.
    Points(Vec<(f64, f64)>),
    /// A `LineROI`, `PolylineROI` or line `GeometryROI`: open polylines (one or more parts),
    /// `draw`n with the thin stroke. Coordinates as QuPath's float path holds them.
    Lines(Vec<Vec<(f64, f64)>>),
    /// A `LineROI` (`Line2D.Double`, from a LineString of two positions): Java2D draws a thin
    /// `Line2D` between the device pixels its ends fall in (floored), by Bresenham's rule.
    Line([f64; 4]),
}

impl Figure {
    /// The figure QuPath makes of a GeoJSON (Multi)Polygon `polygons` (rings shell first), or of
    /// its envelope when the geometry carries `"isEllipse": true` (QuPath ≥ 0.4). `None` when
    /// nothing is left to draw.
    ///
    /// A single polygon without holes whose shell is exactly four axis-aligned corners (five
    /// positions with the closing one, or four) becomes a rectangle, as JTS's
    /// `Polygon.isRectangle` decides in QuPath ≥ 0.6 and `Area.isRectangular` in earlier ones.
    /// Every polygon is filled even-odd: for valid rings (all QuPath ≥ 0.6 accepts) the rule
    /// makes no difference, and QuPath ≤ 0.5 resolves a ring that crosses itself even-odd.
    pub fn from_polygons(polygons: &[Vec<Vec<(f64, f64)>>], ellipse: bool) -> Option<Figure> {
        let pts = || polygons.iter().flatten().flatten();
        pts().next()?;
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for &(x, y) in pts() {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        if ellipse {
            return Some(Figure::Ellipse {
                x: x0,
                y: y0,
                w: x1 - x0,
                h: y1 - y0,
            });
        }
        if polygons.len() == 1 && polygons[0].len() == 1 && is_rectangle(&polygons[0][0]) {
            // QuPath's rectangle bounds come from a float path
            let (fx0, fy0) = (x0 as f32 as f64, y0 as f32 as f64);
            return Some(Figure::Rect {
                x: fx0,
                y: fy0,
                w: x1 as f32 as f64 - fx0,
                h: y1 as f32 as f64 - fy0,
            });
        }
        let rings: Vec<Vec<(f64, f64)>> = polygons
            .iter()
            .flatten()
            .filter(|r| !r.is_empty())
            .map(|r| {
                r.iter()
                    .map(|&(x, y)| (x as f32 as f64, y as f32 as f64))
                    .collect()
            })
            .collect();
        // QuPath ≤ 0.5 passes every polygon through a java.awt.geom.Area of JTS's even-odd
        // shape: a ring that crosses itself is resolved even-odd and cut at its crossings (the
        // new vertices are rounded to float like the others); ≥ 0.6 refuses such rings
        let rings = if rings.len() == 1 {
            vec![split_at_crossings(&rings[0])]
        } else {
            rings
        };
        Some(Figure::Area {
            rings,
            even_odd: true,
        })
    }

    /// Full-resolution bounds (x0, y0, x1, y1).
    fn bounds(&self) -> (f64, f64, f64, f64) {
        let mut b = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        let mut add = |x: f64, y: f64| {
            b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
        };
        match self {
            Figure::Area { rings, .. } => rings.iter().flatten().for_each(|&(x, y)| add(x, y)),
            Figure::Points(p) => p.iter().for_each(|&(x, y)| add(x, y)),
            Figure::Lines(parts) => parts.iter().flatten().for_each(|&(x, y)| add(x, y)),
            Figure::Line([x1, y1, x2, y2]) => {
                add(*x1, *y1);
                add(*x2, *y2);
            }
            Figure::Rect { x, y, w, h } | Figure::Ellipse { x, y, w, h } => {
                add(*x, *y);
                add(x + w, y + h);
            }
        }
        b
    }
}

/// The ring with a vertex added wherever two of its edges cross (both edges get it, in order
/// along each), as `java.awt.geom.Area` cuts a self-crossing outline; rings without crossings,
/// and rings too long for the quadratic search, come back as they are.
fn split_at_crossings(ring: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut r: Vec<(f64, f64)> = ring.to_vec();
    if r.len() > 1 && r[0] == r[r.len() - 1] {
        r.pop();
    }
    let n = r.len();
    if !(4..=4000).contains(&n) {
        return ring.to_vec();
    }
    let mut cuts: Vec<Vec<(f64, (f64, f64))>> = vec![Vec::new(); n];
    for i in 0..n {
        let (a, b) = (r[i], r[(i + 1) % n]);
        for j in i + 2..n {
            if i == 0 && j == n - 1 {
                continue;
            }
            let (c, e) = (r[j], r[(j + 1) % n]);
            let (dx1, dy1, dx2, dy2) = (b.0 - a.0, b.1 - a.1, e.0 - c.0, e.1 - c.1);
            let den = dx1 * dy2 - dy1 * dx2;
            if den == 0.0 {
                continue;
            }
            let (ex, ey) = (c.0 - a.0, c.1 - a.1);
            let t = (ex * dy2 - ey * dx2) / den;
            let u = (ex * dy1 - ey * dx1) / den;
            if t > 0.0 && t < 1.0 && u > 0.0 && u < 1.0 {
                let p = ((a.0 + t * dx1) as f32 as f64, (a.1 + t * dy1) as f32 as f64);
                cuts[i].push((t, p));
                cuts[j].push((u, p));
            }
        }
    }
    if cuts.iter().all(Vec::is_empty) {
        return ring.to_vec();
    }
    let mut out = Vec::with_capacity(n * 2);
    for (i, mut c) in cuts.into_iter().enumerate() {
        out.push(r[i]);
        c.sort_by(|x, y| x.0.total_cmp(&y.0));
        out.extend(c.into_iter().map(|x| x.1));
    }
    out
}

/// JTS's `isRectangle` on a ring: four distinct corners of its envelope joined by axis-aligned
/// sides (the closing repetition of the first position allowed).
fn is_rectangle(ring: &[(f64, f64)]) -> bool {
    let r = match ring.len() {
        5 if ring[0] == ring[4] => &ring[..4],
        4 if ring[0] != ring[3] => ring,
        _ => return false,
    };
    let (x0, x1) = r
        .iter()
        .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.0), a.1.max(p.0)));
    let (y0, y1) = r
        .iter()
        .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.1), a.1.max(p.1)));
    if x0 >= x1 || y0 >= y1 {
        return false;
    }
    let corner = |p: &(f64, f64)| (p.0 == x0 || p.0 == x1) && (p.1 == y0 || p.1 == y1);
    (0..4).all(|i| {
        let (a, b) = (r[i], r[(i + 1) % 4]);
        corner(&a) && ((a.0 == b.0) != (a.1 == b.1))
    })
}

/// Whether Java2D treats QuPath's `BasicStroke(d)` under the scale 1/d as thin (device width at
/// most 1): then areas go to the path filler, else to the span iterator.
pub fn stroke_is_thin(d: f64) -> bool {
    let s = 1.0 / d;
    if s == 1.0 {
        return true;
    }
    // SunGraphics2D.validateBasicStroke: |det| × (width² in float) against 1.000000001
    let lw = d as f32;
    (s * s - 0.0 * 0.0).abs() * ((lw * lw) as f64) <= 1.000000001
}

/// Lines asked for at a downsample whose device stroke is wide: Java2D then outlines them with
/// its stroker (Marlin), which h2g does not reproduce, so it refuses rather than draw them
/// otherwise than QuPath.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "{lines} line(s) at downsample {downsample}: QuPath's stroke BasicStroke({downsample}) under \
     the scale 1/{downsample} is wider than one device pixel there (float rounding), and Java2D \
     draws such lines with its wide stroker, which h2g does not reproduce; use a downsample \
     such as 1, 2, 4 or 8 (where lines are drawn exactly), or --rule top-left/centre (lines left \
     out)"
)]
pub struct WideLineError {
    /// The downsample asked for.
    pub downsample: f64,
    /// How many lines (LineString parts) would have been drawn.
    pub lines: usize,
}

// ------------------------------------------------------------------------------------------
// Tiles

/// One tile's transform: device = (float)(x·s + m) per axis, or float(x) + t for d = 1.
#[derive(Debug, Clone, Copy)]
struct TileXf {
    ident: bool,
    s: f64,
    mx: f64,
    my: f64,
    tx: f32,
    ty: f32,
    rx: f64,
    ry: f64,
    /// The full-resolution size of the tile's request.
    rw: f64,
    rh: f64,
    d: f64,
    tw: i32,
    th: i32,
}

impl TileXf {
    fn new(col: usize, band: usize, w: usize, h: usize, d: f64) -> TileXf {
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
    fn dev(&self, x: f32, y: f32) -> (f32, f32) {
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
fn java_round(v: f64) -> i64 {
    (v + 0.5).floor() as i64
}

/// A device-space path segment of one figure in one tile.
#[derive(Debug, Clone, Copy)]
enum Seg {
    Line([f32; 4]),
    Cubic([f32; 8]),
    /// The end of a closed subpath.
    End,
}

/// The device path of an area or an ellipse in tile `t`; `band` limits polygon edges to those
/// that can reach the band's rows (in output pixels, a margin included).
fn device_path(fig: &Figure, t: &TileXf, out: &mut Vec<Seg>) {
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
enum Step {
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
}

/// One edge of one figure in one tile: rows `y0..y1` (tile rows).
#[derive(Debug, Clone, Copy)]
struct Track {
    obj: u32,
    y0: i32,
    y1: i32,
    dir: i32,
    step: Step,
}

impl Track {
    fn threshold(&self, row: i32) -> i64 {
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
        }
    }
}

// ------------------------------------------------------------------------------------------
// The path filler (ProcessPath's fill mode and FillPolygon), rewritten from its description

const MDP: i32 = 1024;
const EPSF: f32 = 1.0 / 1024.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clip {
    Min,
    Max,
    Not,
    Invisible,
}

/// Clips the end (a1, b1) of a segment to [lo, hi] along a, in float: b moves along the line.
fn clip_f(lo: f32, hi: f32, a1: &mut f32, b1: &mut f32, a2: f32, b2: f32) -> Clip {
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
fn clip_i(lo: i32, hi: i32, a1: &mut i32, b1: &mut i32, a2: i32, b2: i32) -> Clip {
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
fn clamp_x<T: Copy>(
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
struct Store {
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
fn solve_quad_in_range(a: f64, b: f64, c: f64, out: &mut Vec<f64>) {
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
fn thin_tracks(path: &[Seg], t: &TileXf, obj: u32, out: &mut Vec<Track>) {
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

// ------------------------------------------------------------------------------------------
// The span iterator (ShapeSpanIterator with stroke normalization)

struct Spans<'a> {
    out: &'a mut Vec<Track>,
    obj: u32,
    hix: i32,
    hiy: i32,
}

fn adjust(v: f32) -> f32 {
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

    fn line(&mut self, x0: f32, y0: f32, x1: f32, y1: f32) {
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

fn pt_seg_dist_sq(x0: f32, y0: f32, x1: f32, y1: f32, px: f32, py: f32) -> f32 {
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
fn ssi_tracks(path: &[Seg], t: &TileXf, obj: u32, out: &mut Vec<Track>) {
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

fn rect_tracks(x: f64, y: f64, w: f64, h: f64, t: &TileXf, obj: u32, out: &mut Vec<Track>) {
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

fn point_tracks(pts: &[(f64, f64)], t: &TileXf, obj: u32, out: &mut Vec<Track>) {
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

// ------------------------------------------------------------------------------------------
// Thin lines (the native path drawer)

/// The pixels Java2D's thin-line path drawer sets for one figure's polylines in tile `t`:
/// device vertices in float, each segment clipped in float to the tile widened by half a pixel,
/// turned into fixed point (10 bits, truncated), its ends moved to where the segment leaves
/// their pixels, and the pixels between drawn by Bresenham's rule.
fn line_tracks(parts: &[Vec<(f64, f64)>], t: &TileXf, obj: u32, out: &mut Vec<Track>) {
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
fn segment_tracks(&[x1, y1, x2, y2]: &[f64; 4], t: &TileXf, obj: u32, out: &mut Vec<Track>) {
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
fn pixel_tracks(mut px: Vec<(i32, i32)>, t: &TileXf, obj: u32, out: &mut Vec<Track>) {
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

const FIX: i32 = 1024;
const HALF: i32 = 512;
const WHOLE: i32 = -1024;

fn clipped(c: &Clip) -> bool {
    matches!(c, Clip::Min | Clip::Max)
}

/// One segment of a drawn path, in device floats (ProcessLine in draw mode).
fn thin_segment(
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
fn leave_pixel(x: i32, y: i32, ox: i32, oy: i32) -> (i32, i32) {
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
fn fixed_segment(
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
fn clip_pf(lo: f32, hi: f32, a1: &mut i32, b1: &mut i32, a2: i32, b2: i32) -> Clip {
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
fn bresenham(x1: i32, y1: i32, x2: i32, y2: i32, px: &mut Vec<(i32, i32)>) {
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

// ------------------------------------------------------------------------------------------
// The row source

/// One drawn object: its label, figure, fill rule and bounds in output pixels.
#[derive(Debug)]
struct Obj {
    label: u16,
    fig: Figure,
    even_odd: bool,
    /// Output-pixel bounds, widened by a margin.
    b: (f64, f64, f64, f64),
    /// Full-resolution bounds: QuPath draws an object in a tile only when these meet the tile's
    /// request (closed intervals, as JTS envelopes intersect).
    full: (f64, f64, f64, f64),
}

/// The tracks of one tile of the current band, with the ones active on the current row.
#[derive(Debug, Default)]
struct TileTracks {
    tracks: Vec<Track>,
    next: usize,
    active: Vec<u32>,
}

/// Rows of the label mask QuPath's `LabeledImageServer` exports, produced one at a time.
#[derive(Debug)]
pub struct QupathFill {
    objs: Vec<Obj>,
    /// Object indices by their top row.
    by_top: Vec<u32>,
    next_obj: usize,
    live: Vec<u32>,
    w: usize,
    h: usize,
    d: f64,
    thin: bool,
    y: usize,
    band: Option<usize>,
    tiles: Vec<TileTracks>,
    hits: Vec<(u32, i64, i32)>,
}

impl QupathFill {
    /// `layers` in drawing order (a label and its figures, full-resolution coordinates), a
    /// `w × h` mask at downsample `d` (> 0).
    pub fn new(layers: &[(u16, Vec<Figure>)], w: usize, h: usize, d: f64) -> Self {
        let mut objs = Vec::new();
        for (label, figs) in layers {
            for f in figs {
                let (x0, y0, x1, y1) = f.bounds();
                if !(x0.is_finite() && y0.is_finite() && x1.is_finite() && y1.is_finite()) {
                    continue;
                }
                let even_odd = matches!(f, Figure::Area { even_odd: true, .. });
                objs.push(Obj {
                    label: *label,
                    fig: f.clone(),
                    even_odd,
                    b: (x0 / d - 3.0, y0 / d - 3.0, x1 / d + 3.0, y1 / d + 3.0),
                    full: (x0, y0, x1, y1),
                });
            }
        }
        let mut by_top: Vec<u32> = (0..objs.len() as u32).collect();
        by_top.sort_by(|&a, &b| objs[a as usize].b.1.total_cmp(&objs[b as usize].b.1));
        QupathFill {
            objs,
            by_top,
            next_obj: 0,
            live: Vec::new(),
            w,
            h,
            d,
            thin: stroke_is_thin(d),
            y: 0,
            band: None,
            tiles: Vec::new(),
            hits: Vec::new(),
        }
    }

    fn prepare_band(&mut self, band: usize) {
        let (top, bottom) = ((band * TILE) as f64, ((band + 1) * TILE) as f64);
        while self.next_obj < self.by_top.len()
            && self.objs[self.by_top[self.next_obj] as usize].b.1 < bottom
        {
            self.live.push(self.by_top[self.next_obj]);
            self.next_obj += 1;
        }
        let objs = &self.objs;
        self.live.retain(|&o| objs[o as usize].b.3 >= top);
        self.live.sort_unstable();
        let ncol = self.w.div_ceil(TILE);
        self.tiles.clear();
        self.tiles.resize_with(ncol, TileTracks::default);
        let mut path = Vec::new();
        for &o in &self.live {
            let ob = &self.objs[o as usize];
            let c0 = (ob.b.0.max(0.0) / TILE as f64) as usize;
            let c1 = ((ob.b.2.max(0.0) / TILE as f64) as usize).min(ncol.saturating_sub(1));
            for col in c0..=c1 {
                if col >= ncol {
                    break;
                }
                let t = TileXf::new(col, band, self.w, self.h, self.d);
                let f = ob.full;
                if f.0 > t.rx + t.rw || f.2 < t.rx || f.1 > t.ry + t.rh || f.3 < t.ry {
                    continue;
                }
                let out = &mut self.tiles[col].tracks;
                match &ob.fig {
                    Figure::Rect { x, y, w, h } => rect_tracks(*x, *y, *w, *h, &t, o, out),
                    Figure::Points(p) => point_tracks(p, &t, o, out),
                    Figure::Lines(parts) => {
                        // wide device strokes go to the stroker, which h2g does not emulate:
                        // callers refuse them (see `stroke_is_thin`)
                        if self.thin {
                            line_tracks(parts, &t, o, out);
                        }
                    }
                    Figure::Line(l) => {
                        if self.thin {
                            segment_tracks(l, &t, o, out);
                        }
                    }
                    fig => {
                        device_path(fig, &t, &mut path);
                        if self.thin {
                            thin_tracks(&path, &t, o, out);
                        } else {
                            ssi_tracks(&path, &t, o, out);
                        }
                    }
                }
            }
        }
        for t in &mut self.tiles {
            t.tracks.sort_by_key(|k| k.y0);
        }
        self.band = Some(band);
    }

    /// Fills the next row with labels (0 where nothing is drawn).
    pub fn fill_row(&mut self, row: &mut [u16]) {
        row.fill(0);
        if self.y >= self.h {
            self.y += 1;
            return;
        }
        let band = self.y / TILE;
        if self.band != Some(band) {
            self.prepare_band(band);
        }
        let ly = (self.y - band * TILE) as i32;
        self.y += 1;
        for (col, tt) in self.tiles.iter_mut().enumerate() {
            let tracks = &tt.tracks;
            tt.active.retain(|&i| tracks[i as usize].y1 > ly);
            while tt.next < tracks.len() && tracks[tt.next].y0 <= ly {
                if tracks[tt.next].y1 > ly {
                    tt.active.push(tt.next as u32);
                }
                tt.next += 1;
            }
            if tt.active.is_empty() {
                continue;
            }
            self.hits.clear();
            for &i in &tt.active {
                let k = &tracks[i as usize];
                self.hits.push((k.obj, k.threshold(ly), k.dir));
            }
            self.hits.sort_unstable_by_key(|h| (h.0, h.1));
            let x0 = col * TILE;
            let tw = (self.w - x0).min(TILE) as i64;
            let seg = &mut row[x0..x0 + tw as usize];
            let mut i = 0;
            while i < self.hits.len() {
                let o = self.hits[i].0;
                let ob = &self.objs[o as usize];
                let (mut wind, mut start, mut inside) = (0i32, 0i64, false);
                while i < self.hits.len() && self.hits[i].0 == o {
                    let (_, x, dir) = self.hits[i];
                    wind += dir;
                    let now = if ob.even_odd {
                        wind & 1 != 0
                    } else {
                        wind != 0
                    };
                    if now && !inside {
                        start = x;
                    } else if !now && inside {
                        paint(seg, start, x, ob.label);
                    }
                    inside = now;
                    i += 1;
                }
                if inside {
                    paint(seg, start, tw, ob.label);
                }
            }
        }
    }
}

fn paint(seg: &mut [u16], a: i64, b: i64, label: u16) {
    let n = seg.len() as i64;
    let (a, b) = (a.clamp(0, n) as usize, b.clamp(0, n) as usize);
    if b > a {
        seg[a..b].fill(label);
    }
}

impl RowSource<u16> for QupathFill {
    fn read_rows(&mut self, out: &mut [u16], rows: usize) -> Result<(), MaskError> {
        let w = self.w.max(1);
        for r in out.chunks_exact_mut(w).take(rows) {
            self.fill_row(r);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
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
}
