//! Filling annotations into a mask with an explicit pixel rule.

use super::java2d::{Figure, QupathFill};
use crate::mask::{MaskError, RowSource};

/// How annotations become pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PixelRule {
    /// QuPath's labelled-image export, pixel for pixel: Java2D's rendering as
    /// `LabeledImageServer` sets it up, tile by tile (rectangles, ellipses and points by their
    /// own rules; docs/rasterize.md).
    #[default]
    Qupath,
    /// The pixel's top-left corner inside the polygon, left and top edges inclusive, right and
    /// bottom exclusive, in exact arithmetic: equal to QuPath only for polygons on the pixel
    /// grid (what `h2g vectorize` writes).
    TopLeft,
    /// The pixel centre (rasterio, GDAL, OpenCV-style).
    Centre,
}

/// A polygon as rings (shell first) of `(x, y)` points in mask pixels.
pub type PolygonF = Vec<Vec<(f64, f64)>>;

/// One non-horizontal polygon edge, top end first.
#[derive(Debug, Clone, Copy)]
struct Edge {
    top: (f64, f64),
    bot: (f64, f64),
    /// Which polygon (even-odd within it).
    poly: u32,
    /// Drawing order of its label (higher overwrites lower).
    rank: u32,
}

/// Labelled annotations filled one row at a time: memory holds the edges and the active ones,
/// never the mask.
#[derive(Debug)]
pub struct ScanFill {
    inner: Inner,
    w: usize,
    scratch: Vec<u16>,
}

#[derive(Debug)]
enum Inner {
    Exact(EdgeFill),
    Qupath(Box<QupathFill>),
}

impl ScanFill {
    /// `layers` in drawing order (later ones overwrite earlier ones): a label and its polygons
    /// (each a list of rings, shell first, in mask pixels); `w` pixels per row. With
    /// [`PixelRule::Qupath`] the polygons are taken as QuPath objects at downsample 1.
    pub fn new(layers: &[(u16, Vec<PolygonF>)], w: usize, rule: PixelRule) -> Self {
        match rule {
            PixelRule::Qupath => {
                let figs: Vec<(u16, Vec<Figure>)> = layers
                    .iter()
                    .map(|(l, ps)| {
                        (
                            *l,
                            ps.iter()
                                .filter_map(|p| {
                                    Figure::from_polygons(std::slice::from_ref(p), false)
                                })
                                .collect(),
                        )
                    })
                    .collect();
                ScanFill::wrap(
                    Inner::Qupath(Box::new(QupathFill::new(&figs, w, usize::MAX, 1.0))),
                    w,
                )
            }
            _ => ScanFill::wrap(Inner::Exact(EdgeFill::new(layers, w, rule)), w),
        }
    }

    /// `layers` of QuPath figures in full-resolution coordinates, filled into a `w × h` mask at
    /// downsample `d`. Under the exact rules, ellipses are their 256-gons and points are not
    /// drawn.
    pub fn figures(
        layers: &[(u16, Vec<Figure>)],
        w: usize,
        h: usize,
        d: f64,
        rule: PixelRule,
    ) -> Self {
        match rule {
            PixelRule::Qupath => {
                ScanFill::wrap(Inner::Qupath(Box::new(QupathFill::new(layers, w, h, d))), w)
            }
            _ => {
                let polys: Vec<(u16, Vec<PolygonF>)> = layers
                    .iter()
                    .map(|(l, fs)| (*l, fs.iter().filter_map(|f| polygon_of(f, d)).collect()))
                    .collect();
                ScanFill::wrap(Inner::Exact(EdgeFill::new(&polys, w, rule)), w)
            }
        }
    }

    fn wrap(inner: Inner, w: usize) -> Self {
        ScanFill {
            inner,
            w,
            scratch: Vec::new(),
        }
    }

    /// Fills the next row: 0 outside every annotation, else the label of the last layer
    /// covering the pixel.
    pub fn fill_row(&mut self, row: &mut [u16]) {
        match &mut self.inner {
            Inner::Exact(e) => e.fill_row(row),
            Inner::Qupath(q) => q.fill_row(row),
        }
    }
}

/// A figure as one polygon in mask pixels (the exact rules).
fn polygon_of(f: &Figure, d: f64) -> Option<PolygonF> {
    let sc = |(x, y): (f64, f64)| (x / d, y / d);
    match f {
        Figure::Area { rings, .. } => Some(
            rings
                .iter()
                .map(|r| r.iter().map(|&p| sc(p)).collect())
                .collect(),
        ),
        Figure::Rect { x, y, w, h } => Some(vec![vec![
            sc((*x, *y)),
            sc((x + w, *y)),
            sc((x + w, y + h)),
            sc((*x, y + h)),
        ]]),
        Figure::Ellipse { x, y, w, h } => Some(vec![(0..256)
            .map(|k| {
                let a = k as f64 * std::f64::consts::TAU / 256.0;
                sc((x + w * (0.5 + 0.5 * a.cos()), y + h * (0.5 + 0.5 * a.sin())))
            })
            .collect()]),
        Figure::Points(_) | Figure::Lines(_) | Figure::Line(_) => None,
    }
}

/// Scan-line filling of labelled polygons in exact arithmetic (the top-left and centre rules).
#[derive(Debug)]
struct EdgeFill {
    edges: Vec<Edge>,
    labels: Vec<u16>,
    next: usize,
    active: Vec<Edge>,
    xs: Vec<(u32, u32, f64)>,
    off: f64,
    w: usize,
    y: usize,
}

impl EdgeFill {
    fn new(layers: &[(u16, Vec<PolygonF>)], w: usize, rule: PixelRule) -> Self {
        let mut edges = Vec::new();
        let mut poly = 0u32;
        for (rank, (_, polys)) in layers.iter().enumerate() {
            for p in polys {
                for r in p {
                    for i in 0..r.len() {
                        let (a, b) = (r[i], r[(i + 1) % r.len()]);
                        if a.1 == b.1
                            || !(a.0.is_finite()
                                && a.1.is_finite()
                                && b.0.is_finite()
                                && b.1.is_finite())
                        {
                            continue;
                        }
                        let (top, bot) = if a.1 < b.1 { (a, b) } else { (b, a) };
                        edges.push(Edge {
                            top,
                            bot,
                            poly,
                            rank: rank as u32,
                        });
                    }
                }
                poly += 1;
            }
        }
        edges.sort_by(|a, b| a.top.1.total_cmp(&b.top.1));
        EdgeFill {
            edges,
            labels: layers.iter().map(|l| l.0).collect(),
            next: 0,
            active: Vec::new(),
            xs: Vec::new(),
            off: match rule {
                PixelRule::Centre => 0.5,
                _ => 0.0,
            },
            w,
            y: 0,
        }
    }

    /// Fills the next row: 0 outside every polygon, else the label of the last layer covering
    /// the pixel's sample point.
    fn fill_row(&mut self, row: &mut [u16]) {
        let ys = self.y as f64 + self.off;
        self.y += 1;
        row.fill(0);
        while self.next < self.edges.len() && self.edges[self.next].top.1 <= ys {
            self.active.push(self.edges[self.next]);
            self.next += 1;
        }
        self.active.retain(|e| e.bot.1 > ys);
        self.xs.clear();
        for e in &self.active {
            if e.top.1 <= ys {
                let x = e.top.0 + (ys - e.top.1) * (e.bot.0 - e.top.0) / (e.bot.1 - e.top.1);
                self.xs.push((e.rank, e.poly, x));
            }
        }
        self.xs
            .sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(a.2.total_cmp(&b.2)));
        let (w, off) = (self.w, self.off);
        let mut i = 0;
        while i + 1 < self.xs.len() {
            let (r0, p0, x0) = self.xs[i];
            let (_, p1, x1) = self.xs[i + 1];
            if p1 != p0 {
                // an odd crossing count (cannot happen for closed rings); skip the stray one
                i += 1;
                continue;
            }
            let i0 = ((x0 - off).ceil().max(0.0) as usize).min(w);
            let i1 = ((x1 - off).ceil().max(0.0) as usize).min(w);
            if i1 > i0 {
                row[i0..i1].fill(self.labels[r0 as usize]);
            }
            i += 2;
        }
    }
}

impl RowSource<u16> for ScanFill {
    fn read_rows(&mut self, out: &mut [u16], rows: usize) -> Result<(), MaskError> {
        let w = self.w.max(1);
        for r in out.chunks_exact_mut(w).take(rows) {
            self.fill_row(r);
        }
        Ok(())
    }
}

impl RowSource<u8> for ScanFill {
    /// Labels above 255 are cut to their low byte: give u8 rows only for labels ≤ 255.
    fn read_rows(&mut self, out: &mut [u8], rows: usize) -> Result<(), MaskError> {
        let w = self.w.max(1);
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.resize(self.w, 0);
        for r in out.chunks_exact_mut(w).take(rows) {
            self.fill_row(&mut scratch);
            for (d, v) in r.iter_mut().zip(&scratch) {
                *d = *v as u8;
            }
        }
        self.scratch = scratch;
        Ok(())
    }
}

/// Fills `polygons` (each a list of rings, shell first; coordinates in mask pixels) into a
/// `w × h` mask, even-odd within a polygon (exact rules) and union across polygons.
pub fn rasterize(
    polygons: &[Vec<Vec<(f64, f64)>>],
    w: usize,
    h: usize,
    rule: PixelRule,
) -> Vec<bool> {
    let mut fill = match rule {
        PixelRule::Qupath => {
            let figs = polygons
                .iter()
                .filter_map(|p| Figure::from_polygons(std::slice::from_ref(p), false))
                .collect();
            ScanFill::figures(&[(1, figs)], w, h, 1.0, rule)
        }
        _ => ScanFill::new(&[(1, polygons.to_vec())], w, rule),
    };
    let mut row = vec![0u16; w];
    let mut out = Vec::with_capacity(w * h);
    for _ in 0..h {
        fill.fill_row(&mut row);
        out.extend(row.iter().map(|&v| v != 0));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_open_edges_decide_boundary_samples() {
        // square [1,3)×[1,3) in pixel units: top-left rule fills pixels 1..3 in both axes
        let sq = vec![vec![(1.0, 1.0), (3.0, 1.0), (3.0, 3.0), (1.0, 3.0)]];
        let m = rasterize(std::slice::from_ref(&sq), 4, 4, PixelRule::TopLeft);
        let set: Vec<usize> = (0..16).filter(|&i| m[i]).collect();
        assert_eq!(set, vec![5, 6, 9, 10]);
        assert_eq!(rasterize(&[sq], 4, 4, PixelRule::Centre), m);
        // a square from 0.6 to 2.6: top-left corners 1, 2 inside; centres 0.5 outside, 1.5, 2.5 inside
        let sq = vec![vec![(0.6, 0.6), (2.6, 0.6), (2.6, 2.6), (0.6, 2.6)]];
        let a = rasterize(std::slice::from_ref(&sq), 4, 4, PixelRule::TopLeft);
        let b = rasterize(&[sq], 4, 4, PixelRule::Centre);
        assert_eq!(
            (0..16).filter(|&i| a[i]).collect::<Vec<_>>(),
            vec![5, 6, 9, 10]
        );
        assert_eq!(
            (0..16).filter(|&i| b[i]).collect::<Vec<_>>(),
            vec![5, 6, 9, 10]
        );
    }
}
