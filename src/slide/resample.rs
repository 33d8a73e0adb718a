//! Area (box) resampling of RGB images by any factor, for reads between pyramid levels.

use super::RgbImage;

/// Resamples `src` into `width × height` pixels, output pixel (i, j) covering the source box
/// `[ox + i·s, ox + (i+1)·s) × [oy + j·s, oy + (j+1)·s)` and averaging it weighted by overlap.
/// With `s < 1` this is nearest-neighbour enlargement of the covering pixel.
pub fn resample_area(
    src: &RgbImage,
    ox: f64,
    oy: f64,
    s: f64,
    width: u32,
    height: u32,
) -> RgbImage {
    resample_area_at(src, (0, 0), (ox, oy), s, (width, height), 0)
}

/// [`resample_area`] in absolute coordinates: `src` holds the level pixels starting at
/// `origin`; output row `row0 + j` covers `[oy + (row0 + j)·s, …)`. Every box is computed from
/// absolute positions, so reading a region in strips gives exactly the pixels of one read.
pub(crate) fn resample_area_at(
    src: &RgbImage,
    origin: (u64, u64),
    (ox, oy): (f64, f64),
    s: f64,
    (width, height): (u32, u32),
    row0: u32,
) -> RgbImage {
    let axis = |o: f64, first: u32, n: u32, base: u64, limit: u32| -> Vec<Vec<(usize, f64)>> {
        (first..first + n)
            .map(|i| {
                let a = o + i as f64 * s - base as f64;
                let b = o + (i + 1) as f64 * s - base as f64;
                let mut w = Vec::new();
                let mut k = a.floor().max(0.0) as i64;
                while (k as f64) < b && k < limit as i64 {
                    let lo = a.max(k as f64);
                    let hi = b.min(k as f64 + 1.0);
                    if hi > lo {
                        w.push((k as usize, hi - lo));
                    }
                    k += 1;
                }
                if w.is_empty() {
                    w.push(((a.floor().max(0.0) as usize).min(limit as usize - 1), 1.0));
                }
                w
            })
            .collect()
    };
    let xs = axis(ox, 0, width, origin.0, src.width);
    let ys = axis(oy, row0, height, origin.1, src.height);
    let mut data = Vec::with_capacity(3 * width as usize * height as usize);
    let sw = src.width as usize;
    for yw in &ys {
        for xw in &xs {
            let mut acc = [0f64; 3];
            let mut total = 0.0;
            for &(y, wy) in yw {
                for &(x, wx) in xw {
                    let i = 3 * (y * sw + x);
                    let w = wx * wy;
                    acc[0] += w * src.data[i] as f64;
                    acc[1] += w * src.data[i + 1] as f64;
                    acc[2] += w * src.data[i + 2] as f64;
                    total += w;
                }
            }
            for a in acc {
                data.push((a / total).round().clamp(0.0, 255.0) as u8);
            }
        }
    }
    RgbImage {
        width,
        height,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_averages_two_by_two_blocks() {
        let src = RgbImage {
            width: 2,
            height: 2,
            data: vec![0, 0, 0, 100, 100, 100, 200, 200, 200, 100, 100, 100],
        };
        let out = resample_area(&src, 0.0, 0.0, 2.0, 1, 1);
        assert_eq!(out.data, vec![100, 100, 100]);
    }

    #[test]
    fn fractional_factor_weights_by_overlap() {
        // 3 source pixels 0, 90, 180 shrunk by 1.5 → [0·1 + 90·0.5]/1.5 = 30, [90·0.5 + 180]/1.5 = 150
        let src = RgbImage {
            width: 3,
            height: 1,
            data: vec![0, 0, 0, 90, 90, 90, 180, 180, 180],
        };
        let out = resample_area(&src, 0.0, 0.0, 1.5, 2, 1);
        assert_eq!(out.data, vec![30, 30, 30, 150, 150, 150]);
    }
}
