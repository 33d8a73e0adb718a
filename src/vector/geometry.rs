//! The vector API in `geo-types`: what a Rust user of the library passes and gets.
//!
//! Inside, tracing streams rows into integer rings ([`Polygon`]: pixel-corner vertices, faster
//! and exact), and filling runs on float rings ([`PolygonF`]). These functions give the same
//! results as `geo_types::MultiPolygon<f64>` per label, in mask-pixel coordinates (x right,
//! y down; vertex (x, y) is the top-left corner of pixel (x, y)), with rings closed as geo-types
//! wants them, shells clockwise on screen (positive area with y down) and holes the other way.
//! Traced polygons are valid in the OGC sense (checked against `geo`'s validation in the tests):
//! rings are simple and may touch at single points.

use geo_types::{Coord, LineString, MultiPolygon};

use super::{LabelTracer, PixelRule, Polygon, PolygonF, ScanFill};
use crate::pyramid::Sample;

/// A label and its area as one multipolygon.
pub type Layer = (u16, MultiPolygon<f64>);

/// The most pixels [`fill_labels`] fills in memory (2²⁸: 512 MiB of labels); larger masks are
/// filled row by row with [`ScanFill`] or written by `rasterize_file`.
pub const MAX_FILL_PIXELS: u64 = 1 << 28;

/// Why an in-memory mask cannot be traced or filled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeometryError {
    /// A label buffer that is not whole rows of the width given.
    #[error("{len} labels are not whole rows of {width} pixels")]
    Rows {
        /// Labels given.
        len: usize,
        /// The row width.
        width: usize,
    },
    /// A mask with no pixels or over [`MAX_FILL_PIXELS`].
    #[error("a {width} × {height} mask is empty or over {MAX_FILL_PIXELS} pixels; fill it row by row with ScanFill")]
    Size {
        /// Its width.
        width: usize,
        /// Its height.
        height: usize,
    },
}

fn ring_to_geo(r: &[(i64, i64)]) -> LineString<f64> {
    let mut pts: Vec<Coord<f64>> = r
        .iter()
        .map(|&(x, y)| Coord {
            x: x as f64,
            y: y as f64,
        })
        .collect();
    if let Some(&first) = pts.first() {
        pts.push(first);
    }
    LineString(pts)
}

impl From<&Polygon> for geo_types::Polygon<f64> {
    fn from(p: &Polygon) -> Self {
        geo_types::Polygon::new(
            ring_to_geo(&p.shell),
            p.holes.iter().map(|h| ring_to_geo(h)).collect(),
        )
    }
}

/// Polygons of one label as one multipolygon.
pub fn to_multipolygon(polys: &[Polygon]) -> MultiPolygon<f64> {
    MultiPolygon(polys.iter().map(geo_types::Polygon::from).collect())
}

/// A multipolygon as the filler's float rings (closing vertices dropped).
pub fn from_multipolygon(mp: &MultiPolygon<f64>) -> Vec<PolygonF> {
    mp.0.iter()
        .map(|p| {
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .map(|r| {
                    let mut v: Vec<(f64, f64)> = r.0.iter().map(|c| (c.x, c.y)).collect();
                    if v.len() > 1 && v.first() == v.last() {
                        v.pop();
                    }
                    v
                })
                .collect()
        })
        .collect()
}

/// Traces a label mask (`labels`, row-major, `width` pixels a row) into one multipolygon per
/// label, ascending; label 0 is background, and only the labels in `keep` are traced when it
/// is given. Polygons follow pixel edges, so filling them back gives the mask exactly.
pub fn trace_labels<T: Sample>(
    labels: &[T],
    width: usize,
    keep: Option<Vec<u16>>,
) -> Result<Vec<Layer>, GeometryError> {
    if width == 0 || !labels.len().is_multiple_of(width) {
        return Err(GeometryError::Rows {
            len: labels.len(),
            width,
        });
    }
    let mut t = LabelTracer::new(keep);
    t.push_rows(labels, width);
    t.finish();
    let mut by_label: std::collections::BTreeMap<u16, Vec<geo_types::Polygon<f64>>> =
        Default::default();
    for (l, p) in t.take_done() {
        by_label.entry(l).or_default().push((&p).into());
    }
    Ok(by_label
        .into_iter()
        .map(|(l, ps)| (l, MultiPolygon(ps)))
        .collect())
}

/// Fills `layers` into a `width` × `height` label mask (0 where none covers; a later layer
/// paints over an earlier one) by `rule` (see [`PixelRule`]); coordinates are mask pixels.
/// The mask may have at most [`MAX_FILL_PIXELS`] pixels.
pub fn fill_labels(
    layers: &[Layer],
    width: usize,
    height: usize,
    rule: PixelRule,
) -> Result<Vec<u16>, GeometryError> {
    let pixels = (width as u64).checked_mul(height as u64);
    if width == 0 || height == 0 || pixels.is_none_or(|n| n > MAX_FILL_PIXELS) {
        return Err(GeometryError::Size { width, height });
    }
    let layers: Vec<(u16, Vec<PolygonF>)> = layers
        .iter()
        .map(|(l, mp)| (*l, from_multipolygon(mp)))
        .collect();
    let mut fill = ScanFill::new(&layers, width, rule);
    let mut out = vec![0u16; width * height];
    for row in out.chunks_mut(width) {
        fill.fill_row(row);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_square_with_a_hole_goes_through_geo_types_and_back() {
        // 4 × 4 block of label 3 with the centre 2 × 2 of label 0, beside a pixel of label 1
        let (w, h) = (6, 4);
        let mut m = vec![0u8; w * h];
        for y in 0..4 {
            for x in 0..4 {
                if !(1..3).contains(&x) || !(1..3).contains(&y) {
                    m[y * w + x] = 3;
                }
            }
        }
        m[5] = 1;
        let layers = trace_labels(&m, w, None).unwrap();
        assert_eq!(layers.iter().map(|l| l.0).collect::<Vec<_>>(), vec![1, 3]);
        let sq = &layers[1].1 .0[0];
        assert_eq!(sq.interiors().len(), 1);
        assert_eq!(sq.exterior().0.len(), 5, "4 corners, closed");
        let back = fill_labels(&layers, w, h, PixelRule::TopLeft).unwrap();
        assert_eq!(back, m.iter().map(|&v| v as u16).collect::<Vec<_>>());
        // sizes are checked before anything is allocated
        assert_eq!(
            trace_labels(&m[..7], w, None).unwrap_err(),
            GeometryError::Rows { len: 7, width: w }
        );
        for (w, h) in [(0, 4), (1 << 15, (1 << 13) + 1), (usize::MAX, 2)] {
            assert_eq!(
                fill_labels(&layers, w, h, PixelRule::TopLeft).unwrap_err(),
                GeometryError::Size {
                    width: w,
                    height: h
                }
            );
        }
    }
}
