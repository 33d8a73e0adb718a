//! Filling polygons into a mask with an explicit pixel rule.

/// Which point of a pixel decides whether it is inside a polygon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PixelRule {
    /// QuPath's (Java2D's): the pixel's top-left corner; left and top edges inclusive, right
    /// and bottom exclusive (QUPATH.md §4).
    #[default]
    TopLeft,
    /// The pixel centre (rasterio, GDAL, OpenCV-style).
    Centre,
}

/// Fills `polygons` (each a list of rings, shell first; coordinates in mask pixels) into a
/// `w × h` mask, even-odd within a polygon and union across polygons.
pub fn rasterize(
    polygons: &[Vec<Vec<(f64, f64)>>],
    w: usize,
    h: usize,
    rule: PixelRule,
) -> Vec<bool> {
    let mut out = vec![false; w * h];
    let off = match rule {
        PixelRule::TopLeft => 0.0,
        PixelRule::Centre => 0.5,
    };
    let mut xs: Vec<f64> = Vec::new();
    for poly in polygons {
        let edges: Vec<((f64, f64), (f64, f64))> = poly
            .iter()
            .flat_map(|r| (0..r.len()).map(move |i| (r[i], r[(i + 1) % r.len()])))
            .filter(|(a, b)| a.1 != b.1)
            .collect();
        let (ymin, ymax) = edges.iter().fold((f64::MAX, f64::MIN), |(lo, hi), (a, b)| {
            (lo.min(a.1.min(b.1)), hi.max(a.1.max(b.1)))
        });
        if edges.is_empty() {
            continue;
        }
        let j0 = ((ymin - off).ceil().max(0.0)) as usize;
        let j1 = ((ymax - off).ceil().max(0.0) as usize).min(h);
        for j in j0..j1 {
            let ys = j as f64 + off;
            xs.clear();
            for &(a, b) in &edges {
                let (top, bot) = if a.1 < b.1 { (a, b) } else { (b, a) };
                if top.1 <= ys && ys < bot.1 {
                    xs.push(top.0 + (ys - top.1) * (bot.0 - top.0) / (bot.1 - top.1));
                }
            }
            xs.sort_by(f64::total_cmp);
            for pair in xs.chunks_exact(2) {
                let i0 = ((pair[0] - off).ceil().max(0.0)) as usize;
                let i1 = ((pair[1] - off).ceil().max(0.0) as usize).min(w);
                for v in &mut out[j * w + i0.min(w)..j * w + i1.max(i0.min(w))] {
                    *v = true;
                }
            }
        }
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
