//! The refinement network's image: which pyramid level it comes from and how that level becomes
//! the network's 1024 × 1024 input.
//!
//! The paper (§2.5) feeds the refinement "a suitable magnification level (≥ 1024 × 1024
//! pixels)", resized to 1024 × 1024. [`RefineLevel::Auto`] takes the coarsest level whose width
//! and height both reach 1024, and level 0 when none does (the input is then upsampled, which
//! the report says). [`RefineLevel::Lowest`] reproduces FAST's published pipeline, which reads
//! the lowest level whatever its size. The level is read in bands of whole rows, so a slide
//! without a pyramid is refined in bounded memory ([`BAND_PIXELS`]).

use std::fmt;

use serde::Serialize;

use super::manifest::{InputScale, Scaling};
use super::segment::{bilinear_coords, bilinear_row, SegmentError, REFINE_SIDE};
use crate::slide::{RgbImage, Slide};

/// Which pyramid level the refinement network sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefineLevel {
    /// The coarsest level at least 1024 × 1024 (the paper), else level 0.
    #[default]
    Auto,
    /// The lowest (coarsest) level, whatever its size (FAST's published pipeline).
    Lowest,
    /// This level.
    Level(usize),
}

impl fmt::Display for RefineLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefineLevel::Auto => f.write_str("auto"),
            RefineLevel::Lowest => f.write_str("lowest"),
            RefineLevel::Level(n) => write!(f, "{n}"),
        }
    }
}

/// A `--refine-level` that is neither `auto`, `lowest` nor a level number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the refinement level is auto, lowest or a level number (0 = full resolution), not '{0}'")]
pub struct RefineLevelParseError(pub String);

impl std::str::FromStr for RefineLevel {
    type Err = RefineLevelParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "auto" => Ok(RefineLevel::Auto),
            "lowest" => Ok(RefineLevel::Lowest),
            t => t
                .parse()
                .map(RefineLevel::Level)
                .map_err(|_| RefineLevelParseError(s.to_string())),
        }
    }
}

/// The level the refinement read, as every report gives it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RefineInput {
    /// The rule that chose it (`auto`, `lowest` or the level asked for).
    pub rule: String,
    /// The level.
    pub level: usize,
    /// Its width in pixels.
    pub width: u64,
    /// Its height in pixels.
    pub height: u64,
    /// Its downsample from level 0.
    pub downsample: f64,
    /// How much the resize to 1024 × 1024 enlarges it, in x and y (below 1: reduced).
    pub scale: [f64; 2],
    /// Whether either side is enlarged (under 1024 pixels).
    pub upsampled: bool,
}

/// The widest level the refinement reads (two rows of it are the least a band holds).
pub const MAX_LEVEL_WIDTH: u64 = 1 << 22;

/// The most level pixels one band holds while the refinement's image is read (8 Mpx, 24 MiB of
/// RGB); bands are whole rows, at least two.
pub const BAND_PIXELS: u64 = 1 << 23;

/// The level `rule` chooses on `slide`.
pub fn choose_level(slide: &dyn Slide, rule: RefineLevel) -> Result<RefineInput, SegmentError> {
    let count = slide.level_count();
    let n = REFINE_SIDE as u64;
    let sizes = (0..count)
        .map(|l| slide.level_size(l))
        .collect::<Result<Vec<_>, _>>()?;
    let level = match rule {
        RefineLevel::Auto => (0..count)
            .rev()
            .find(|&l| sizes[l].0 >= n && sizes[l].1 >= n)
            .unwrap_or(0),
        RefineLevel::Lowest => count.saturating_sub(1),
        RefineLevel::Level(l) if l < count => l,
        RefineLevel::Level(l) => return Err(SegmentError::RefineLevel { level: l, count }),
    };
    let (width, height) = *sizes
        .get(level)
        .ok_or(SegmentError::RefineLevel { level, count })?;
    if width > MAX_LEVEL_WIDTH || width == 0 || height == 0 {
        return Err(SegmentError::RefineLevelSize {
            level,
            width,
            height,
            limit: MAX_LEVEL_WIDTH,
        });
    }
    Ok(RefineInput {
        rule: rule.to_string(),
        level,
        width,
        height,
        downsample: slide.level_downsample(level)?,
        scale: [n as f64 / width as f64, n as f64 / height as f64],
        upsampled: width < n || height < n,
    })
}

/// Rows `[y, y + rows)` of the level, whole width.
fn band(
    slide: &dyn Slide,
    input: &RefineInput,
    y: u64,
    rows: u64,
) -> Result<RgbImage, SegmentError> {
    // both fit in u32: the width is under MAX_LEVEL_WIDTH and a band under BAND_PIXELS
    Ok(slide.read_region(input.level, 0, y, input.width as u32, rows as u32)?)
}

/// The level `input` names, scaled as `scale` says and resized to 1024 × 1024 × 3 (bilinear,
/// pixel-centre sampling, edges clamped; the same numbers as [`super::segment::resize_bilinear`]
/// on the whole scaled level), read in bands of at most `band_pixels` pixels.
pub fn read_resized(
    slide: &dyn Slide,
    input: &RefineInput,
    scale: InputScale,
    band_pixels: u64,
) -> Result<Vec<f32>, SegmentError> {
    let (w, h) = (input.width, input.height);
    let rows_per_band = (band_pixels / w).clamp(2, h.max(2));
    // min–max needs the whole level's range first: one pass over the bands
    // the first band, kept for the resize; min–max needs the whole level's range first, from
    // it and the bands after it (a level that fits one band is read once)
    let first = band(slide, input, 0, rows_per_band.min(h))?;
    let map = match scale.scaling() {
        Scaling::Minmax => {
            let range = |data: &[u8], (a, b): (u8, u8)| {
                data.iter().fold((a, b), |(a, b), &v| (a.min(v), b.max(v)))
            };
            let mut ab = range(&first.data, (255, 0));
            let mut y = first.height as u64;
            while y < h {
                let rows = rows_per_band.min(h - y);
                ab = range(&band(slide, input, y, rows)?.data, ab);
                y += rows;
            }
            scale.map_for(&[ab.0, ab.1])
        }
        _ => scale.map_for(&[]),
    };
    let n = REFINE_SIDE;
    let (wi, hi) = (w as usize, h as usize);
    let xs = bilinear_coords(n, wi);
    let ys = bilinear_coords(n, hi);
    let scale_row = |data: &[u8]| -> Vec<f32> {
        data.iter()
            .enumerate()
            .map(|(i, &v)| map.apply(v, i % 3))
            .collect()
    };
    let mut out = vec![0f32; n * n * 3];
    let mut held = (0u64, first);
    for (oy, &(y0, y1, fy)) in ys.iter().enumerate() {
        let (y0, y1) = (y0 as u64, y1 as u64);
        if !(held.0 <= y0 && y1 < held.0 + held.1.height as u64) {
            held = (y0, band(slide, input, y0, rows_per_band.min(h - y0))?);
        }
        let (start, img) = (&held.0, &held.1);
        let row = |y: u64| {
            let i = (y - start) as usize * wi * 3;
            scale_row(&img.data[i..i + wi * 3])
        };
        let (r0, r1) = (row(y0), row(y1));
        bilinear_row(&r0, &r1, &xs, fy, 3, &mut out[oy * n * 3..(oy + 1) * n * 3]);
    }
    Ok(out)
}
