//! The objects QuPath draws, as h2g reads them from GeoJSON, and which stroke Java2D takes.

use super::stroker::Jdk;

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
        // QuPath ≤ 0.5 resolves a ring that crosses itself on import into JTS pieces, even-odd,
        // each crossing on its 0.01 precision grid, and draws them as an Area of float
        // vertices; ≥ 0.6 refuses such rings
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

    /// The figure as QuPath ≥ 0.6 imports it: its precision reduction drops consecutive
    /// repeated vertices of lines, and a single line left with two vertices becomes a
    /// `LineROI` (a `Line2D`). Other figures come back as they are.
    pub fn without_repeated_vertices(self) -> Figure {
        match self {
            Figure::Lines(parts) => {
                let parts: Vec<Vec<(f64, f64)>> = parts
                    .into_iter()
                    .map(|mut p| {
                        p.dedup();
                        p
                    })
                    .collect();
                match parts.as_slice() {
                    [p] if p.len() == 2 => Figure::Line([p[0].0, p[0].1, p[1].0, p[1].1]),
                    _ => Figure::Lines(parts),
                }
            }
            f => f,
        }
    }

    /// Full-resolution bounds (x0, y0, x1, y1).
    pub(super) fn bounds(&self) -> (f64, f64, f64, f64) {
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
/// along each, on the 0.01 grid: [`grid`]), as QuPath ≤ 0.5 cuts a self-crossing outline;
/// rings without crossings, and rings too long for the quadratic search, come back as they are.
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
                let p = (grid(a.0 + t * dx1), grid(a.1 + t * dy1));
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

/// A crossing on QuPath's 0.01 precision grid (JTS's `makePrecise`: Java's `Math.round` of the
/// value × 100, over 100), then to float as every vertex.
fn grid(v: f64) -> f64 {
    (((v * 100.0 + 0.5).floor()) / 100.0) as f32 as f64
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
    stroke_is_thin_with(d, 1.0)
}

/// The same for QuPath's `lineThickness` `thickness`: the stroke is
/// `BasicStroke((float)(thickness · d))`. At d = 1 the transform is a translation and Java2D
/// compares the float width with 1; otherwise `SunGraphics2D.validateBasicStroke` compares
/// |det| × width² (the square in float) with 1.000000001.
pub fn stroke_is_thin_with(d: f64, thickness: f32) -> bool {
    let lw = (thickness as f64 * d) as f32;
    let s = 1.0 / d;
    if s == 1.0 {
        return lw <= 1.0;
    }
    (s * s - 0.0 * 0.0).abs() * ((lw * lw) as f64) <= 1.000000001
}

/// The largest `lineThickness` h2g draws (output pixels).
pub const MAX_LINE_THICKNESS: f32 = 1024.0;

/// How QuPath's `LabeledImageServer` strokes lines: its builder's `lineThickness` (output
/// pixels, default 1) and the JDK whose stroker it runs on (see [`Jdk`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LineStroke {
    thickness: f32,
    jdk: Jdk,
}

impl Default for LineStroke {
    fn default() -> Self {
        LineStroke {
            thickness: 1.0,
            jdk: Jdk::default(),
        }
    }
}

/// A line thickness h2g cannot draw as QuPath would.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum LineStrokeError {
    /// Not a finite number above 0, or above [`MAX_LINE_THICKNESS`].
    #[error(
        "line thickness {0}: give a finite number above 0 and at most 1024 output pixels \
         (QuPath's lineThickness, default 1)"
    )]
    Thickness(f32),
}

impl LineStroke {
    /// `thickness` as QuPath's builder holds it (a float), on `jdk`.
    pub fn new(thickness: f32, jdk: Jdk) -> Result<LineStroke, LineStrokeError> {
        if !(thickness.is_finite() && thickness > 0.0 && thickness <= MAX_LINE_THICKNESS) {
            return Err(LineStrokeError::Thickness(thickness));
        }
        Ok(LineStroke { thickness, jdk })
    }

    /// QuPath's `lineThickness`.
    pub fn thickness(&self) -> f32 {
        self.thickness
    }

    /// The JDK whose stroker is followed.
    pub fn jdk(&self) -> Jdk {
        self.jdk
    }

    /// The stroke's float width at downsample `d`: `(float)(thickness · d)`.
    pub fn width(&self, d: f64) -> f32 {
        (self.thickness as f64 * d) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossings_land_on_the_hundredth_grid_then_float() {
        // a bow tie whose diagonals cross at (1.0049…, 0.5): the grid takes x to 1.00 and the
        // half-up rule takes 0.125 to 0.13 (float(0.13) then)
        let bow = [(0.0, 0.0), (2.0099, 1.0), (2.0099, 0.0), (0.0, 1.0)];
        let cut = split_at_crossings(&bow);
        assert_eq!(cut.len(), 6);
        assert_eq!(cut[1], (1.0f32 as f64, 0.5f32 as f64));
        assert_eq!(cut[4], cut[1]);
        assert_eq!(grid(0.125), 0.13f32 as f64);
        assert_eq!(grid(-0.125), -0.12f32 as f64);
        // a ring without crossings is untouched
        let sq = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)];
        assert_eq!(split_at_crossings(&sq), sq.to_vec());
    }
}
