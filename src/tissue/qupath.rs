//! QuPath's simple tissue detection (`SimpleTissueDetection2`, the AN1 tool), step by step as
//! QuPath 0.2.3 to 0.7.0 run it (the class is the same in all six): ImageJ's grey conversion,
//! its 3×3 mean and radius-1 median with their rounding and borders, the threshold, the
//! outlines QuPath traces and fills, the minimum area and the maximum hole area judged on the
//! filled outlines (polygon areas), and one annotation for all regions. Areas are in µm² at
//! QuPath's calibrated pixel size times its downsample. What is not reproduced (QuPath's
//! bilinear resampling of the pyramid level, its coordinate smoothing) is listed in
//! docs/tissue.md.

use serde::Serialize;

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

/// The largest side, in pixels, of the image QuPath's simple tissue detection reads: a finer
/// requested pixel size is coarsened until the slide's longer side fits in this many pixels.
pub const MAX_DIM: f64 = 4000.0;

impl QupathParams {
    /// The downsample QuPath reads the image at: the requested pixel size over the slide's
    /// pixel size (the mean of its width and height, as QuPath averages them), raised to
    /// `max_dim / 4000` when the image would be larger than [`MAX_DIM`] on its longer side
    /// (`max_dim` is the longer side at full resolution, in QuPath's frame).
    pub fn downsample(&self, mean_pixel_um: f64, max_dim: f64) -> f64 {
        let ds = self.pixel_size_um / mean_pixel_um;
        // QuPath coarsens unless maxDim / downsample ≤ 4000, which also catches a NaN downsample
        match (max_dim / ds).partial_cmp(&MAX_DIM) {
            Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal) => ds,
            _ => max_dim / MAX_DIM,
        }
    }
}

/// Grey as ImageJ converts RGB to 8 bits with its default, unweighted conversion:
/// `(r + g + b) / 3` rounded to nearest (`(byte)(r/3 + g/3 + b/3 + 0.5)`); sums are integers, so no
/// tie occurs and this is `(r + g + b + 1) / 3` in integers.
#[inline]
pub(super) fn grey(p: &[u8]) -> u8 {
    ((p[0] as u32 + p[1] as u32 + p[2] as u32 + 1) / 3) as u8
}

/// ImageJ's 3×3 mean (`ByteProcessor.smooth`): the sum of the nine neighbours, pixels outside
/// the image replaced by the nearest edge pixel, rounded as `(sum + 4) / 9`.
pub(super) fn smooth(v: &[u8], w: usize, h: usize) -> Vec<u8> {
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            let mut sum = 0u32;
            for yy in [y.saturating_sub(1), y, (y + 1).min(h - 1)] {
                for xx in [x.saturating_sub(1), x, (x + 1).min(w - 1)] {
                    sum += v[yy * w + xx] as u32;
                }
            }
            out[y * w + x] = ((sum + 4) / 9) as u8;
        }
    }
    out
}

/// ImageJ's `RankFilters` median of radius 1 on a binary image: radius 1 is the full 3×3 square
/// (ImageJ's kernel takes offsets with dx² + dy² ≤ r² + 1), outside pixels are the nearest edge
/// pixel, and the median of nine 0/255 values is 255 when five or more are.
pub(super) fn median(v: &[bool], w: usize, h: usize) -> Vec<bool> {
    let mut out = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            let mut n = 0;
            for yy in [y.saturating_sub(1), y, (y + 1).min(h - 1)] {
                for xx in [x.saturating_sub(1), x, (x + 1).min(w - 1)] {
                    n += v[yy * w + xx] as u32;
                }
            }
            out[y * w + x] = n >= 5;
        }
    }
    out
}

/// What QuPath's simple tissue detection found on an image: the pixels of its one annotation.
#[derive(Debug, Clone)]
pub struct QupathMask {
    /// The annotation's pixels.
    pub mask: Vec<bool>,
    /// The counts, for the report.
    pub summary: QupathSummary,
}

/// The counts of a QuPath simple tissue detection, for the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct QupathSummary {
    /// The minimum area in detection pixels (min area µm² / (pixel size · downsample)²).
    pub min_area_px: f64,
    /// The maximum hole area in detection pixels.
    pub max_hole_px: f64,
    /// Outlines kept by the minimum area (QuPath combines them into one annotation).
    pub objects: usize,
    /// Outlines dropped by the minimum area.
    pub dropped: usize,
    /// Holes left open (filled area ≥ the maximum hole area); the smaller ones are filled.
    pub holes_open: usize,
}

/// The steps of QuPath's `SimpleTissueDetection2` on an image whose pixels measure `mpp` µm
/// (QuPath's calibrated pixel size times its downsample): grey, optional 3×3 mean, threshold
/// (below, or above for a dark background), optional 3×3 median; then the outlines QuPath
/// traces (ImageJ's 4-connected wand, each outline filled: its holes are the background not
/// 8-connected to the outside, and components inside a traced outline are not traced again),
/// each kept when its filled area is at least the minimum area; then the holes of the kept
/// objects (filled minus original pixels), traced the same way, left open when their filled
/// area reaches the maximum hole area, filled otherwise. The result is the union of the kept
/// objects minus the open holes, which QuPath makes into one annotation.
pub fn detect_qupath(img: &RgbImage, p: &QupathParams, mpp: f64) -> QupathMask {
    let (w, h) = (img.width as usize, img.height as usize);
    let mut g: Vec<u8> = img.data.chunks_exact(3).map(grey).collect();
    if p.smooth_image {
        g = smooth(&g, w, h);
    }
    let t = p.threshold;
    let mut fg: Vec<bool> = g
        .iter()
        .map(|&v| if p.dark_background { v > t } else { v < t })
        .collect();
    if p.median_cleanup {
        fg = median(&fg, w, h);
    }
    let px_area = mpp * mpp;
    let min_area = p.min_area_um2 / px_area;
    let max_hole = p.max_hole_area_um2 / px_area;
    let objects = outlines(&fg, w, h);
    // the kept outlines, filled (dropped ones are no part of the annotation)
    let mut filled = vec![false; w * h];
    let (mut kept, mut dropped) = (0, 0);
    for o in &objects {
        if (o.filled.len() as f64) < min_area {
            dropped += 1;
            continue;
        }
        kept += 1;
        for &i in &o.filled {
            filled[i] = true;
        }
    }
    let mut holes_open = 0;
    if max_hole > 0.0 {
        let holes: Vec<bool> = filled.iter().zip(&fg).map(|(&f, &o)| f && !o).collect();
        let mut out = filled.clone();
        for hole in outlines(&holes, w, h) {
            if (hole.filled.len() as f64) >= max_hole {
                holes_open += 1;
                for i in hole.filled {
                    out[i] = false;
                }
            }
        }
        filled = out;
    }
    QupathMask {
        mask: filled,
        summary: QupathSummary {
            min_area_px: min_area,
            max_hole_px: max_hole,
            objects: kept,
            dropped,
            holes_open,
        },
    }
}

/// One traced outline: the pixels inside it, its own holes included.
struct Outline {
    filled: Vec<usize>,
}

/// The outlines QuPath's `RoiLabeling.getFilledPolygonROIs` traces with ImageJ's 4-connected
/// wand, in its order: scanning rows top to bottom, each pixel of `mask` not yet inside a traced
/// outline starts one; the outline encloses the pixel's 4-connected component and every pixel
/// not 8-connected to the outside through pixels outside the component.
fn outlines(mask: &[bool], w: usize, h: usize) -> Vec<Outline> {
    let mut done = vec![false; w * h];
    let mut comp = vec![false; w * h];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if done[start] || !mask[start] {
            continue;
        }
        // the 4-connected component, and its bounding box
        let mut pixels = vec![start];
        comp[start] = true;
        stack.push(start);
        let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            let mut visit = |j: usize| {
                if mask[j] && !comp[j] {
                    comp[j] = true;
                    pixels.push(j);
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
        // the outside: 8-connected from a frame one pixel around the box, through non-component
        // pixels (a local grid with that frame)
        let (bw, bh) = (x1 - x0 + 3, y1 - y0 + 3);
        let inside = |bx: usize, by: usize| -> bool {
            bx >= 1
                && by >= 1
                && bx <= bw - 2
                && by <= bh - 2
                && comp[(y0 + by - 1) * w + x0 + bx - 1]
        };
        let mut outside = vec![false; bw * bh];
        stack.push(0);
        outside[0] = true;
        while let Some(k) = stack.pop() {
            let (bx, by) = ((k % bw) as isize, (k / bw) as isize);
            for dy in -1..=1isize {
                for dx in -1..=1isize {
                    let (nx, ny) = (bx + dx, by + dy);
                    if nx < 0 || ny < 0 || nx >= bw as isize || ny >= bh as isize {
                        continue;
                    }
                    let (nx, ny) = (nx as usize, ny as usize);
                    let j = ny * bw + nx;
                    if !outside[j] && !inside(nx, ny) {
                        outside[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        let mut filled = Vec::new();
        for by in 1..bh - 1 {
            for bx in 1..bw - 1 {
                if !outside[by * bw + bx] {
                    let i = (y0 + by - 1) * w + x0 + bx - 1;
                    done[i] = true;
                    filled.push(i);
                }
            }
        }
        for i in pixels {
            comp[i] = false;
        }
        out.push(Outline { filled });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An RGB image from grey levels (r = g = b).
    fn grey_img(w: u32, h: u32, f: impl Fn(u32, u32) -> u8) -> RgbImage {
        let mut data = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let v = f(x, y);
                data.extend_from_slice(&[v, v, v]);
            }
        }
        RgbImage {
            width: w,
            height: h,
            data,
        }
    }

    /// Only the threshold and the area rules (no mean, no median).
    fn areas_only(min_px: f64, hole_px: f64) -> QupathParams {
        QupathParams {
            threshold: 127,
            pixel_size_um: 20.0,
            min_area_um2: min_px * 400.0,
            max_hole_area_um2: hole_px * 400.0,
            dark_background: false,
            smooth_image: false,
            median_cleanup: false,
        }
    }

    #[test]
    fn defaults_and_the_an1_preset_are_qupaths_and_the_papers_numbers() {
        // SimpleTissueDetection2's parameter list (the same in QuPath 0.2.3 to 0.7.0):
        // threshold 127, requested pixel size 20 µm, minimum area 10 000 µm², max fill area
        // 1 000 000 µm², dark background off, smooth image on, median clean-up on
        let d = QupathParams::default();
        assert_eq!(
            (
                d.threshold,
                d.pixel_size_um,
                d.min_area_um2,
                d.max_hole_area_um2
            ),
            (127, 20.0, 10_000.0, 1_000_000.0)
        );
        assert!(!d.dark_background && d.smooth_image && d.median_cleanup);
        // the paper's AN1: threshold 200, 20 µm, minimum area 100 000 µm², the rest default
        let a = QupathParams::an1();
        assert_eq!((a.threshold, a.min_area_um2), (200, 100_000.0));
        assert_eq!(a.max_hole_area_um2, 1_000_000.0);
    }

    #[test]
    fn the_downsample_follows_qupaths_maximum_size_rule() {
        let p = QupathParams::default();
        // 20 µm on a 0.25 × 0.25 µm slide: 80; a 100 000-pixel side gives 1 250 ≤ 4 000
        assert_eq!(p.downsample(0.25, 100_000.0), 80.0);
        // a 400 000-pixel side would give 5 000 > 4 000: QuPath takes 400 000 / 4 000 = 100
        assert_eq!(p.downsample(0.25, 400_000.0), 100.0);
        // exactly 4 000 is allowed: 320 000 / 80
        assert_eq!(p.downsample(0.25, 320_000.0), 80.0);
        // the mean pixel size: (0.24 + 0.26) / 2 = 0.25
        assert_eq!(p.downsample((0.24 + 0.26) / 2.0, 1000.0), 80.0);
    }

    #[test]
    fn grey_mean_and_median_round_and_border_as_imagej() {
        // ImageJ's unweighted RGB → 8-bit, by hand: (10 + 11 + 13) / 3 = 11.33 → 11,
        // (200 + 201 + 201) / 3 = 200.67 → 201, (1 + 2 + 2) / 3 = 1.67 → 2
        assert_eq!(grey(&[10, 11, 13]), 11);
        assert_eq!(grey(&[200, 201, 201]), 201);
        assert_eq!(grey(&[1, 2, 2]), 2);
        assert_eq!(grey(&[255, 254, 254]), 254);
        // the 3×3 mean on a 4 × 3 grey picture (these greys); the whole result is what ImageJ
        // 1.53t (the QuPath kit's) printed for ByteProcessor.smooth on the same picture
        let g = [11, 201, 0, 254, 7, 101, 31, 30, 2, 50, 61, 3];
        let s = smooth(&g, 4, 3);
        // by hand: corner (0, 0) with its edge pixels repeated: 11·4 + 201·2 + 7·2 + 101 = 561,
        // (561 + 4) / 9 = 62; (1, 0): 11·2 + 201·2 + 0·2 + 7 + 101 + 31 = 563 → 62.56 → 63
        // (truncating would give 62)
        assert_eq!((s[0], s[1]), (62, 63));
        assert_eq!(s, vec![62, 63, 119, 123, 44, 52, 81, 74, 25, 41, 43, 25]);
        // the threshold sees the rounded mean: nine neighbours summing to 1 796 average
        // 199.56, which rounds to 200 and is not below AN1's 200; 1 795 (199.44) rounds to 199
        let v = |sum: u32| {
            let mut px = vec![200u8; 9];
            px[4] = (sum - 8 * 200) as u8;
            smooth(&px, 3, 3)[4]
        };
        assert_eq!((v(1796), v(1795)), (200, 199));
        // the median on a 5 × 5 binary picture; the result is what ImageJ printed for
        // RankFilters.rank(radius 1, MEDIAN): edges repeated, the full 3×3, five of nine
        let mut b = vec![false; 25];
        for (x, y) in [(0, 0), (1, 0), (0, 1), (4, 4), (3, 4), (2, 2), (2, 3)] {
            b[y * 5 + x] = true;
        }
        let m = median(&b, 5, 5);
        let on: Vec<usize> = (0..25).filter(|&i| m[i]).collect();
        // (0, 0): itself 4 times, (1, 0) and (0, 1) twice each → 8 of 9; (2, 2): 2 of 9
        assert_eq!(on, vec![0, 1, 5, 23, 24]);
    }

    #[test]
    fn an_outline_with_a_diagonal_gap_encloses_no_hole() {
        // ImageJ's 4-connected wand on this component (one 4-connected piece) traces an outline
        // that pinches at the gap at (3, 4): filling it gives the 11 pixels alone, the
        // background (2, 2), (3, 2), (2, 3) being 8-connected to the outside (ImageJ 1.53t in
        // the kit, Wand.autoOutline + fill, printed these 11 and area 11)
        let mut m = vec![false; 36];
        let px = [
            (1, 1),
            (2, 1),
            (3, 1),
            (4, 1),
            (1, 2),
            (4, 2),
            (1, 3),
            (3, 3),
            (4, 3),
            (1, 4),
            (2, 4),
        ];
        for (x, y) in px {
            m[y * 6 + x] = true;
        }
        let o = outlines(&m, 6, 6);
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].filled.len(), 11);
        // closing the gap at (3, 4) makes the three pixels a hole: 12 + 3 = 15
        m[4 * 6 + 3] = true;
        let o = outlines(&m, 6, 6);
        assert_eq!((o.len(), o[0].filled.len()), (1, 15));
    }

    /// A ring: an `n × m` block of tissue (grey 100) at (x0, y0) with a `k × l` glass hole
    /// (grey 245) at (hx, hy); glass elsewhere.
    fn ring(
        w: u32,
        h: u32,
        (x0, y0, n, m): (u32, u32, u32, u32),
        (hx, hy, k, l): (u32, u32, u32, u32),
    ) -> RgbImage {
        grey_img(w, h, |x, y| {
            let block = (x0..x0 + n).contains(&x) && (y0..y0 + m).contains(&y);
            let hole = (hx..hx + k).contains(&x) && (hy..hy + l).contains(&y);
            if block && !hole {
                100
            } else {
                245
            }
        })
    }

    #[test]
    fn the_minimum_area_is_the_filled_outlines_not_the_pixel_count() {
        // minimum 250 px (AN1's 100 000 µm² at 20 µm); holes up to 1 000 px are filled
        let p = areas_only(250.0, 1000.0);
        // a 16 × 16 ring with a 10 × 10 hole: 156 tissue pixels (a pixel count would drop it),
        // but its outline encloses 256 ≥ 250: kept, and the 100-px hole filled → 256
        let img = ring(30, 30, (5, 5, 16, 16), (8, 8, 10, 10));
        let q = detect_qupath(&img, &p, 20.0);
        assert_eq!(q.mask.iter().filter(|&&v| v).count(), 256);
        assert_eq!((q.summary.objects, q.summary.dropped), (1, 0));
        // 15 × 16 encloses 240 < 250: dropped, though the same hole
        let img = ring(30, 30, (5, 5, 15, 16), (8, 8, 10, 10));
        let q = detect_qupath(&img, &p, 20.0);
        assert_eq!(q.mask.iter().filter(|&&v| v).count(), 0);
        assert_eq!((q.summary.objects, q.summary.dropped), (0, 1));
        // exactly 250 (10 × 25, solid) is kept: QuPath drops only areas below the minimum
        let img = ring(30, 30, (2, 2, 10, 25), (0, 0, 0, 0));
        assert_eq!(detect_qupath(&img, &p, 20.0).summary.objects, 1);
    }

    #[test]
    fn holes_at_or_above_the_maximum_stay_open_by_their_filled_area() {
        // holes under 100 px are filled (40 000 µm² at 20 µm); no minimum area
        let p = areas_only(0.0, 100.0);
        let count = |img: &RgbImage| {
            detect_qupath(img, &p, 20.0)
                .mask
                .iter()
                .filter(|&&v| v)
                .count()
        };
        // a 30 × 30 block: a 10 × 9 hole (90 px) is filled → 900; a 10 × 10 hole (100) stays
        // open → 800
        assert_eq!(count(&ring(40, 40, (5, 5, 30, 30), (10, 10, 10, 9))), 900);
        assert_eq!(count(&ring(40, 40, (5, 5, 30, 30), (10, 10, 10, 10))), 800);
        // a 10 × 10 hole holding a 2 × 2 island: 96 hole pixels (a pixel count would fill it),
        // but the hole's outline encloses 100: open, and the island, never traced as an object
        // of its own (it lies inside the block's outline), goes with it → 800
        let mut img = ring(40, 40, (5, 5, 30, 30), (10, 10, 10, 10));
        for (x, y) in [(14, 14), (15, 14), (14, 15), (15, 15)] {
            let i = 3 * (y * 40 + x) as usize;
            img.data[i..i + 3].copy_from_slice(&[100, 100, 100]);
        }
        let q = detect_qupath(&img, &p, 20.0);
        assert_eq!(q.mask.iter().filter(|&&v| v).count(), 800);
        assert_eq!((q.summary.objects, q.summary.holes_open), (1, 1));
        // the same island in a 10 × 9 hole (90 enclosed): the hole is filled, island and all
        let mut img = ring(40, 40, (5, 5, 30, 30), (10, 10, 10, 9));
        for (x, y) in [(14, 14), (15, 14), (14, 15), (15, 15)] {
            let i = 3 * (y * 40 + x) as usize;
            img.data[i..i + 3].copy_from_slice(&[100, 100, 100]);
        }
        assert_eq!(count(&img), 900);
    }

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
        let m = detect_qupath(&img, &p, 20.0).mask;
        assert_eq!(
            m.iter().filter(|&&v| v).count(),
            30 * 30 + 15 * 15,
            "hole filled, speck removed"
        );
        assert!(m[34 * 100 + 34] && !m[81 * 100 + 81]);
        // AN1 drops objects under 100 000 µm² (250 px): the 15×15 block goes too
        let an1 = QupathParams {
            smooth_image: false,
            median_cleanup: false,
            ..QupathParams::an1()
        };
        let m = detect_qupath(&img, &an1, 20.0).mask;
        assert_eq!(m.iter().filter(|&&v| v).count(), 30 * 30);
    }

    #[test]
    fn a_dark_background_keeps_what_is_above_the_threshold() {
        // fluorescence: tissue brighter than the background; 127 itself is neither above nor
        // below 127
        let img = grey_img(3, 1, |x, _| [126, 127, 128][x as usize]);
        let p = QupathParams {
            dark_background: true,
            ..areas_only(0.0, 0.0)
        };
        assert_eq!(detect_qupath(&img, &p, 20.0).mask, vec![false, false, true]);
        let p = areas_only(0.0, 0.0);
        assert_eq!(detect_qupath(&img, &p, 20.0).mask, vec![true, false, false]);
    }
}
