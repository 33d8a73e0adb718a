//! QuPath's simple tissue detection (`SimpleTissueDetection2`, the AN1 tool), after
//! QuPath's simple tissue detection: grey = mean of R, G, B; optional 3×3 mean smoothing; tissue where grey is
//! below the threshold (above, for a dark background); optional 3×3 median clean-up; objects
//! (4-connected) smaller than the minimum area removed; holes smaller than the maximum hole
//! area filled. Areas are in µm² at the image's pixel size.

use serde::Serialize;

use super::BitMask;
use crate::slide::RgbImage;

/// Parameters of QuPath's simple tissue detection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QupathParams {
    /// Grey threshold (0–255).
    pub threshold: u8,
    /// Pixel size the detection runs at, µm.
    pub pixel_size_um: f64,
    /// Objects smaller than this are dropped, µm².
    pub min_area_um2: f64,
    /// Holes smaller than this are filled, µm².
    pub max_hole_area_um2: f64,
    /// Tissue is brighter than the background (fluorescence).
    pub dark_background: bool,
    /// 3×3 mean smoothing before thresholding.
    pub smooth_image: bool,
    /// 3×3 median after thresholding.
    pub median_cleanup: bool,
}

impl Default for QupathParams {
    /// QuPath's defaults: threshold 127, 20 µm, min area 10 000 µm², max hole 1 000 000 µm².
    fn default() -> Self {
        QupathParams {
            threshold: 127,
            pixel_size_um: 20.0,
            min_area_um2: 10_000.0,
            max_hole_area_um2: 1_000_000.0,
            dark_background: false,
            smooth_image: true,
            median_cleanup: true,
        }
    }
}

impl QupathParams {
    /// The H2G-Net paper's AN1 settings: threshold 200, 20 µm, minimum area 100 000 µm².
    pub fn an1() -> Self {
        QupathParams {
            threshold: 200,
            min_area_um2: 100_000.0,
            ..QupathParams::default()
        }
    }
}

pub(super) fn detect(img: &RgbImage, p: &QupathParams, mpp: f64) -> BitMask {
    let (w, h) = (img.width as usize, img.height as usize);
    let grey: Vec<f32> = img
        .data
        .chunks_exact(3)
        .map(|c| (c[0] as f32 + c[1] as f32 + c[2] as f32) / 3.0)
        .collect();
    let at = |v: &[f32], x: isize, y: isize| {
        let xx = x.clamp(0, w as isize - 1) as usize;
        let yy = y.clamp(0, h as isize - 1) as usize;
        v[yy * w + xx]
    };
    let grey = if p.smooth_image {
        let mut s = vec![0f32; w * h];
        for y in 0..h as isize {
            for x in 0..w as isize {
                let mut acc = 0.0;
                for dy in -1..=1 {
                    for dx in -1..=1 {
                        acc += at(&grey, x + dx, y + dy);
                    }
                }
                s[y as usize * w + x as usize] = acc / 9.0;
            }
        }
        s
    } else {
        grey
    };
    let t = p.threshold as f32;
    let mut fg: Vec<bool> = grey
        .iter()
        .map(|&g| if p.dark_background { g > t } else { g < t })
        .collect();
    if p.median_cleanup {
        let src = fg.clone();
        for y in 0..h as isize {
            for x in 0..w as isize {
                let mut n = 0;
                for dy in -1..=1 {
                    for dx in -1..=1 {
                        let xx = (x + dx).clamp(0, w as isize - 1) as usize;
                        let yy = (y + dy).clamp(0, h as isize - 1) as usize;
                        n += src[yy * w + xx] as u32;
                    }
                }
                fg[y as usize * w + x as usize] = n >= 5;
            }
        }
    }
    let px_area = mpp * mpp;
    // drop small objects
    for comp in components(&fg, w, h, true) {
        if (comp.pixels.len() as f64) * px_area < p.min_area_um2 {
            for i in comp.pixels {
                fg[i] = false;
            }
        }
    }
    // fill small holes (background regions not touching the border)
    for comp in components(&fg, w, h, false) {
        if !comp.touches_border && (comp.pixels.len() as f64) * px_area < p.max_hole_area_um2 {
            for i in comp.pixels {
                fg[i] = true;
            }
        }
    }
    BitMask::from_rows(w, h, |y, out| out.copy_from_slice(&fg[y * w..(y + 1) * w]))
}

struct Component {
    pixels: Vec<usize>,
    touches_border: bool,
}

/// 4-connected components of the pixels equal to `value`.
fn components(mask: &[bool], w: usize, h: usize, value: bool) -> Vec<Component> {
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if seen[start] || mask[start] != value {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let mut comp = Component {
            pixels: Vec::new(),
            touches_border: false,
        };
        while let Some(i) = stack.pop() {
            comp.pixels.push(i);
            let (x, y) = (i % w, i / w);
            if x == 0 || y == 0 || x == w - 1 || y == h - 1 {
                comp.touches_border = true;
            }
            let mut visit = |j: usize| {
                if !seen[j] && mask[j] == value {
                    seen[j] = true;
                    stack.push(j);
                }
            };
            if x > 0 {
                visit(i - 1);
            }
            if x + 1 < w {
                visit(i + 1);
            }
            if y > 0 {
                visit(i - w);
            }
            if y + 1 < h {
                visit(i + w);
            }
        }
        out.push(comp);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_objects_go_and_small_holes_are_filled() {
        // 100×100 at 20 µm (400 µm² per pixel): a 30×30 tissue block (360 000 µm²) with a
        // 4×4 hole (6 400 µm²), and a 3×3 speck (3 600 µm²)
        let (w, h) = (100u32, 100u32);
        let mut data = vec![245u8; (w * h * 3) as usize];
        let mut paint = |x0: u32, y0: u32, n: u32, v: u8| {
            for y in y0..y0 + n {
                for x in x0..x0 + n {
                    let i = 3 * (y * w + x) as usize;
                    data[i..i + 3].copy_from_slice(&[v, v, v]);
                }
            }
        };
        paint(20, 20, 30, 120);
        paint(33, 33, 4, 245);
        paint(80, 80, 3, 120);
        paint(60, 60, 15, 120); // 225 px = 90 000 µm²
        let img = RgbImage {
            width: w,
            height: h,
            data,
        };
        let p = QupathParams {
            smooth_image: false,
            median_cleanup: false,
            ..QupathParams::default()
        };
        let m = detect(&img, &p, 20.0);
        assert_eq!(m.count(), 30 * 30 + 15 * 15, "hole filled, speck removed");
        assert!(m.get(34, 34) && !m.get(81, 81));
        // AN1 drops objects under 100 000 µm² (250 px): the 15×15 block goes too
        let an1 = QupathParams {
            smooth_image: false,
            median_cleanup: false,
            ..QupathParams::an1()
        };
        assert_eq!(detect(&img, &an1, 20.0).count(), 30 * 30);
    }
}
