//! Tissue detection: the paper's saturation rule, Otsu on saturation,
//! FAST's distance-from-white rule, and QuPath's simple tissue detection.

pub mod bitmask;
mod qupath;
mod run;

use std::fmt;

use rayon::prelude::*;
use serde::Serialize;

pub use bitmask::{BitMask, Element};
pub use qupath::{
    detect_qupath, QupathMask, QupathParams, QupathSummary, MAX_DIM as QUPATH_MAX_DIM,
};
pub use run::{
    detect_on_slide, detect_on_slide_with, output_path, run, run_tissue, run_tissue_with,
    ModelDetector, SlideDetection, TissueFiles, TissueOutput, TissueReport, TissueRunError,
    TissueRunSpec,
};

use crate::slide::RgbImage;
use crate::units::Resolution;

/// The closing applied after the saturation threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Closing {
    /// 5×5 then 3×3 squares (the paper's text).
    Squares,
    /// Disks of radius 5 then 3 (what the authors' code ran).
    Disks,
    /// No closing: design I of the paper as published (Otsu on the thumbnail's saturation).
    None,
    /// One closing with a disk of radius 5: the variant of design I the authors evaluated.
    Disk5,
}

/// How saturation is thresholded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum SaturationThreshold {
    /// Tissue where S ≥ value on the 0–255 scale, with S computed exactly
    /// (255·(max − min) / max, no rounding).
    Fixed(u8),
    /// Otsu's threshold on OpenCV's 8-bit saturation; tissue where S > threshold.
    Otsu,
}

/// The tissue detection methods by name, as the command line and the cohort runner choose
/// them; [`Method`] carries each one's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum MethodKind {
    /// The paper: ×1.25, HSV saturation ≥ 20, closing 5×5 then 3×3.
    Saturation,
    /// Otsu's threshold on saturation, same closings.
    Otsu,
    /// FAST (the published pipeline): distance from white > 85 at the lowest level, disk closing.
    Fast,
    /// QuPath's simple tissue detection (AN1 tool).
    Qupath,
    /// A tissue segmentation model (--model, e.g. the SuperFast tissue U-Net) with ONNX Runtime.
    Model,
}

impl MethodKind {
    /// The name in file names and reports (`STEM.tissue-NAME.tif`), as [`Method::name`].
    pub fn name(self) -> &'static str {
        match self {
            MethodKind::Saturation => "saturation",
            MethodKind::Otsu => "otsu",
            MethodKind::Fast => "fast",
            MethodKind::Qupath => "qupath",
            MethodKind::Model => "model",
        }
    }
}

/// A tissue detection method and its parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum Method {
    /// The paper / training code: HSV saturation threshold, then closing.
    Saturation {
        /// The threshold rule.
        threshold: SaturationThreshold,
        /// The closing.
        closing: Closing,
    },
    /// FAST `TissueSegmentation` (the published pipeline): Euclidean RGB distance from white
    /// above `distance`, pure black excluded, then closing with a disk.
    Fast {
        /// Distance threshold (85).
        distance: f64,
        /// Disk radius of the closing (4).
        radius: usize,
    },
    /// QuPath's simple tissue detection (mean grey threshold, smoothing, area filters).
    Qupath(QupathParams),
    /// A segmentation model (run by `h2g::infer`): its manifest name and threshold.
    Model {
        /// The model's manifest name.
        model: String,
        /// Probability threshold.
        threshold: f64,
    },
}

impl Method {
    /// The paper's rule: S ≥ 20, 5×5 then 3×3 closing.
    pub fn paper() -> Self {
        Method::Saturation {
            threshold: SaturationThreshold::Fixed(20),
            closing: Closing::Squares,
        }
    }

    /// Otsu on saturation with the paper's closings.
    pub fn otsu() -> Self {
        Method::Saturation {
            threshold: SaturationThreshold::Otsu,
            closing: Closing::Squares,
        }
    }

    /// Design I of the paper: Otsu on saturation with `closing` (none as published,
    /// [`Closing::Disk5`] as the authors evaluated it).
    pub fn otsu_design(closing: Closing) -> Self {
        Method::Saturation {
            threshold: SaturationThreshold::Otsu,
            closing,
        }
    }

    /// FAST's defaults.
    pub fn fast() -> Self {
        Method::Fast {
            distance: 85.0,
            radius: 4,
        }
    }

    /// The resolution each method reads by default: ×1.25 for the saturation rules, the lowest
    /// level for FAST (`level_count − 1`), QuPath's requested pixel size.
    pub fn default_resolution(&self, level_count: usize) -> Resolution {
        match self {
            Method::Saturation { .. } => Resolution::Magnification(1.25),
            Method::Fast { .. } => Resolution::Level(level_count.saturating_sub(1)),
            Method::Qupath(p) => Resolution::Mpp(p.pixel_size_um),
            Method::Model { .. } => Resolution::Magnification(1.25),
        }
    }

    /// Short name for file names and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Method::Saturation {
                threshold: SaturationThreshold::Otsu,
                ..
            } => "otsu",
            Method::Saturation { .. } => "saturation",
            Method::Fast { .. } => "fast",
            Method::Qupath(_) => "qupath",
            Method::Model { .. } => "model",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The result of a detection.
#[derive(Debug, Clone)]
pub struct Detection {
    /// Tissue pixels.
    pub mask: BitMask,
    /// The saturation threshold Otsu chose, for `otsu`.
    pub otsu_threshold: Option<u8>,
}

/// Errors of tissue detection.
#[derive(Debug, thiserror::Error)]
pub enum TissueError {
    /// The image has no pixels.
    #[error("the image to detect tissue on is empty")]
    Empty,
    /// QuPath's method measures areas in µm².
    #[error("QuPath's tissue detection needs the image's pixel size: pass --mpp")]
    NeedsMpp,
    /// A model method runs through `h2g::infer`, not [`detect`].
    #[error("the model method needs ONNX Runtime: run it through h2g::infer::tissue_model")]
    NeedsModel,
}

/// Detects tissue on an RGB image; `mpp` is the image's pixel size (µm), used by QuPath's
/// area rules (without it they fall back to QuPath's pixel-unit defaults).
pub fn detect(img: &RgbImage, method: &Method, mpp: Option<f64>) -> Result<Detection, TissueError> {
    if img.width == 0 || img.height == 0 {
        return Err(TissueError::Empty);
    }
    let (w, h) = (img.width as usize, img.height as usize);
    let row = |y: usize| &img.data[3 * w * y..3 * w * (y + 1)];
    match method {
        Method::Saturation { threshold, closing } => {
            let (raw, otsu) = match threshold {
                SaturationThreshold::Fixed(t) => {
                    let t = *t as u32;
                    let m = BitMask::from_rows(w, h, |y, out| {
                        for (o, p) in out.iter_mut().zip(row(y).chunks_exact(3)) {
                            *o = saturation_at_least(p, t);
                        }
                    });
                    (m, None)
                }
                SaturationThreshold::Otsu => {
                    let hist = saturation_histogram(img);
                    let t = otsu_threshold(&hist);
                    let m = BitMask::from_rows(w, h, |y, out| {
                        for (o, p) in out.iter_mut().zip(row(y).chunks_exact(3)) {
                            *o = opencv_saturation(p) > t;
                        }
                    });
                    (m, Some(t))
                }
            };
            let mask = match closing {
                Closing::Squares => raw.close(&Element::square(5)).close(&Element::square(3)),
                Closing::Disks => raw.close(&Element::disk(5)).close(&Element::disk(3)),
                Closing::None => raw,
                Closing::Disk5 => raw.close(&Element::disk(5)),
            };
            Ok(Detection {
                mask,
                otsu_threshold: otsu,
            })
        }
        Method::Fast { distance, radius } => {
            let d2 = distance * distance;
            let m = BitMask::from_rows(w, h, |y, out| {
                for (o, p) in out.iter_mut().zip(row(y).chunks_exact(3)) {
                    let (r, g, b) = (
                        255.0 - p[0] as f64,
                        255.0 - p[1] as f64,
                        255.0 - p[2] as f64,
                    );
                    let black = p[0] == 0 && p[1] == 0 && p[2] == 0;
                    *o = !black && r * r + g * g + b * b > d2;
                }
            });
            Ok(Detection {
                mask: m.close(&Element::disk(*radius)),
                otsu_threshold: None,
            })
        }
        Method::Qupath(p) => {
            let q = qupath::detect_qupath(img, p, mpp.ok_or(TissueError::NeedsMpp)?);
            Ok(Detection {
                mask: BitMask::from_rows(w, h, |y, out| {
                    out.copy_from_slice(&q.mask[y * w..(y + 1) * w])
                }),
                otsu_threshold: None,
            })
        }
        Method::Model { .. } => Err(TissueError::NeedsModel),
    }
}

/// HSV saturation ≥ `t` (0–255 scale), exactly: 255·(max − min) ≥ t·max; black has S = 0.
#[inline]
fn saturation_at_least(p: &[u8], t: u32) -> bool {
    let (r, g, b) = (p[0] as u32, p[1] as u32, p[2] as u32);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    if max == 0 {
        return t == 0;
    }
    255 * (max - min) >= t * max
}

/// OpenCV's 8-bit HSV saturation (`cvtColor(RGB2HSV)`): `(diff · round(255·4096 / v) + 2048) >> 12`.
#[inline]
pub fn opencv_saturation(p: &[u8]) -> u8 {
    let (r, g, b) = (p[0] as i32, p[1] as i32, p[2] as i32);
    let v = r.max(g).max(b);
    if v == 0 {
        return 0;
    }
    let diff = v - r.min(g).min(b);
    let div = ((255.0 * 4096.0) / v as f64).round() as i32;
    ((diff * div + (1 << 11)) >> 12).clamp(0, 255) as u8
}

fn saturation_histogram(img: &RgbImage) -> [u64; 256] {
    img.data
        .par_chunks(3 * 4096)
        .fold(
            || [0u64; 256],
            |mut h, chunk| {
                for p in chunk.chunks_exact(3) {
                    h[opencv_saturation(p) as usize] += 1;
                }
                h
            },
        )
        .reduce(
            || [0u64; 256],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    *x += y;
                }
                a
            },
        )
}

/// Otsu's threshold of a 256-bin histogram, as OpenCV computes it (`THRESH_OTSU`: the bin
/// maximising the between-class variance; foreground is `value > threshold`).
pub fn otsu_threshold(hist: &[u64; 256]) -> u8 {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return 0;
    }
    let scale = 1.0 / total as f64;
    let mu: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &n)| i as f64 * n as f64)
        .sum::<f64>()
        * scale;
    let (mut mu1, mut q1) = (0.0f64, 0.0f64);
    let (mut max_sigma, mut max_val) = (0.0f64, 0u8);
    let eps = f32::EPSILON as f64;
    for (i, &n) in hist.iter().enumerate() {
        let p_i = n as f64 * scale;
        mu1 *= q1;
        q1 += p_i;
        let q2 = 1.0 - q1;
        if q1.min(q2) < eps || q1.max(q2) > 1.0 - eps {
            continue;
        }
        mu1 = (mu1 + i as f64 * p_i) / q1;
        let mu2 = (mu - q1 * mu1) / q2;
        let sigma = q1 * q2 * (mu1 - mu2) * (mu1 - mu2);
        if sigma > max_sigma {
            max_sigma = sigma;
            max_val = i as u8;
        }
    }
    max_val
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> RgbImage {
        let mut data = Vec::new();
        for y in 0..h {
            for x in 0..w {
                data.extend_from_slice(&f(x, y));
            }
        }
        RgbImage {
            width: w,
            height: h,
            data,
        }
    }

    #[test]
    fn saturation_rule_is_exact_at_the_threshold() {
        // S = 255·(255 − 235)/255 = 20 exactly → tissue; 236 gives 19 → not
        assert!(saturation_at_least(&[255, 235, 255], 20));
        assert!(!saturation_at_least(&[255, 236, 255], 20));
        // 100 vs 93: S = 255·7/100 = 17.85 (OpenCV rounds to 18)
        assert!(!saturation_at_least(&[100, 93, 100], 18));
        assert_eq!(opencv_saturation(&[100, 93, 100]), 18);
        assert_eq!(opencv_saturation(&[0, 0, 0]), 0);
        assert_eq!(opencv_saturation(&[255, 0, 0]), 255);
    }

    #[test]
    fn paper_rule_finds_a_stained_square_and_closes_small_gaps() {
        // pink square on white, with a 2-px white crack that the 5×5 closing must fill
        let im = img(60, 40, |x, y| {
            if (10..50).contains(&x) && (10..30).contains(&y) && !(29..31).contains(&x) {
                [230, 150, 200]
            } else {
                [250, 250, 250]
            }
        });
        let d = detect(&im, &Method::paper(), None).unwrap();
        assert_eq!(d.mask.count(), 40 * 20);
        assert!(d.mask.get(29, 20) && !d.mask.get(5, 5));
    }

    #[test]
    fn otsu_splits_a_bimodal_histogram_between_its_modes() {
        let mut h = [0u64; 256];
        h[10] = 500;
        h[200] = 300;
        // every cut between the modes separates them equally well: OpenCV takes the first, 10
        assert_eq!(otsu_threshold(&h), 10);
        // against a brute force written here (between-class variance w0·w1·(µ0 − µ1)², first
        // maximum, class 0 = values ≤ t) on seeded two-population histograms
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..50 {
            let mut h = [0u64; 256];
            let (m0, m1) = (20 + next() % 80, 120 + next() % 110);
            for _ in 0..3000 {
                // sums of uniforms: roughly normal around each mode
                let spread = |n: &mut dyn FnMut() -> u64| (0..4).map(|_| n() % 31).sum::<u64>();
                let a = (m0 + spread(&mut next)).saturating_sub(60).min(255);
                let b = (m1 + spread(&mut next)).saturating_sub(60).min(255);
                h[a as usize] += 1;
                if next() % 3 == 0 {
                    h[b as usize] += 1;
                }
            }
            let total: u64 = h.iter().sum();
            let sum: f64 = (0..256).map(|i| i as f64 * h[i] as f64).sum();
            let (mut best, mut at, mut w0, mut s0) = (-1.0f64, 0u8, 0u64, 0.0f64);
            for (t, &n) in h.iter().enumerate() {
                w0 += n;
                s0 += t as f64 * n as f64;
                let w1 = total - w0;
                if w0 == 0 || w1 == 0 {
                    continue;
                }
                let (mu0, mu1) = (s0 / w0 as f64, (sum - s0) / w1 as f64);
                let v = w0 as f64 * w1 as f64 * (mu0 - mu1).powi(2);
                if v > best * (1.0 + 1e-12) {
                    (best, at) = (v, t as u8);
                }
            }
            assert_eq!(otsu_threshold(&h), at, "{:?}", &h[..]);
        }
        let im = img(20, 10, |x, _| {
            if x < 8 {
                [250, 245, 250]
            } else {
                [200, 60, 150]
            }
        });
        let d = detect(&im, &Method::otsu(), None).unwrap();
        assert_eq!(d.mask.count(), 12 * 10);
    }

    #[test]
    fn fast_excludes_pure_black_and_keeps_dark_tissue() {
        let im = img(30, 30, |x, _| match x {
            0..=9 => [0, 0, 0],
            10..=19 => [120, 60, 110],
            _ => [240, 240, 240],
        });
        let d = detect(
            &im,
            &Method::Fast {
                distance: 85.0,
                radius: 1,
            },
            None,
        )
        .unwrap();
        assert!(!d.mask.get(5, 15) && d.mask.get(15, 15) && !d.mask.get(25, 15));
    }
}
