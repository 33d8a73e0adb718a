//! Whole-slide images: the [`Slide`] trait, its OpenSlide backend, an in-memory synthetic
//! slide, metadata (pixel size, objective power) and reading at any resolution.

pub(crate) mod direct;
mod downsample;
pub(crate) mod ifd;
mod meta;
mod openslide;
mod picture;
mod resample;
mod synthetic;
mod turbojpeg;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use downsample::{fits_downsample, mask_downsample, DownsampleError};
pub use meta::{SlideInfo, SlideMeta, Source};
pub use openslide::OpenSlideSlide;
pub use picture::PictureSlide;
pub use resample::resample_area;
pub use synthetic::SyntheticSlide;

use crate::units::Resolution;

/// Errors of slide access.
#[derive(Debug, thiserror::Error)]
pub enum SlideError {
    /// No file at the path.
    #[error("{}: no such file", path.display())]
    NotFound { path: PathBuf },
    /// OpenSlide does not recognise or cannot read the file.
    #[error("{}: cannot be opened as a slide: {reason}", path.display())]
    Unsupported { path: PathBuf, reason: String },
    /// OpenSlide failed while reading.
    #[error("{}: OpenSlide failed: {message}", path.display())]
    Library { path: PathBuf, message: String },
    /// A level index past the pyramid.
    #[error("level {level} does not exist (the slide has {count} levels)")]
    NoSuchLevel { level: usize, count: usize },
    /// A region that is empty or does not fit in memory (over [`MAX_REGION_PIXELS`]).
    #[error("region of {width} × {height} pixels cannot be read (empty or too large)")]
    BadRegion { width: u64, height: u64 },
    /// An associated image name the slide does not have.
    #[error("the slide has no associated image '{name}' (it has: {available})")]
    NoSuchAssociated { name: String, available: String },
    /// A physical resolution was asked of a slide with no scale metadata.
    #[error(
        "{}: cannot read at {wanted}: the slide records no {missing}; pass --mpp with its \
         level-0 pixel size in µm (e.g. --mpp 0.25 for a 40× scan)",
        path.display()
    )]
    NoScale {
        path: PathBuf,
        wanted: Resolution,
        missing: &'static str,
    },
    /// A size over a limit of the resource policy ([`crate::limits`]).
    #[error("{}: {error}", path.display())]
    Limit {
        path: PathBuf,
        error: crate::limits::LimitError,
    },
    /// Not a regular file (a FIFO, a device, a directory).
    #[error(transparent)]
    Input(#[from] crate::guard::InputError),
}

/// Opens `path` (a regular file: a FIFO or a device is refused before it is opened) with
/// OpenSlide, or, when OpenSlide does not take it and it is a PNG or TIFF picture, as a
/// one-level [`PictureSlide`] (at most `max_picture_pixels`, and at most the policy's
/// [`Limit::PicturePixels`](crate::limits::Limit::PicturePixels)).
pub fn open_slide(
    path: &std::path::Path,
    max_picture_pixels: u64,
) -> Result<Box<dyn Slide>, SlideError> {
    crate::guard::open_input(path)?;
    match OpenSlideSlide::open(path) {
        Ok(s) => Ok(Box::new(s)),
        Err(e @ SlideError::Unsupported { .. }) => {
            match PictureSlide::open(path, max_picture_pixels) {
                Ok(p) => Ok(Box::new(p)),
                // a picture beyond a limit says so, rather than OpenSlide's refusal
                Err(l @ SlideError::Limit { .. }) => Err(l),
                Err(_) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// A level-0 rectangle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Rect {
    /// Left edge.
    pub x: u64,
    /// Top edge.
    pub y: u64,
    /// Width.
    pub width: u64,
    /// Height.
    pub height: u64,
}

/// An 8-bit RGB image, row-major, no padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `3 · width · height` bytes.
    pub data: Vec<u8>,
}

impl RgbImage {
    /// The pixel at (x, y).
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = 3 * (y as usize * self.width as usize + x as usize);
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }
}

/// A whole-slide image: a pyramid of RGB levels plus metadata.
pub trait Slide: Send + Sync {
    /// Where it came from (a path, or a description for synthetic slides).
    fn source(&self) -> String;
    /// The format/vendor name (e.g. "aperio").
    fn vendor(&self) -> Option<String>;
    /// Number of pyramid levels.
    fn level_count(&self) -> usize;
    /// Width and height of `level`.
    fn level_size(&self, level: usize) -> Result<(u64, u64), SlideError>;
    /// Downsample of `level` relative to level 0.
    fn level_downsample(&self, level: usize) -> Result<f64, SlideError>;
    /// Raw metadata properties.
    fn properties(&self) -> &BTreeMap<String, String>;
    /// The level-0 rectangle holding the scanned area (all of level 0 when not recorded).
    fn bounds(&self) -> Rect;
    /// Names of associated images (label, macro, thumbnail…).
    fn associated_names(&self) -> Vec<String>;
    /// Reads an associated image.
    fn read_associated(&self, name: &str) -> Result<RgbImage, SlideError>;
    /// How pixels are read (library and path), for reports.
    fn reader(&self) -> String {
        "h2g (built-in)".into()
    }
    /// Whether some level is read without OpenSlide's compositing (cheap patch reads).
    fn reads_directly(&self) -> bool {
        false
    }
    /// Limits the slide's own cache of decoded tiles to about `bytes` (many slides open at
    /// once, as in the sampler, share a budget); readers without one ignore it.
    fn limit_cache(&self, _bytes: usize) {}
    /// Reads `width × height` pixels of `level` at level coordinates (`x`, `y`); pixels outside
    /// the slide or transparent come back white.
    fn read_region(
        &self,
        level: usize,
        x: u64,
        y: u64,
        width: u32,
        height: u32,
    ) -> Result<RgbImage, SlideError>;
}

pub use crate::limits::MAX_REGION_PIXELS;

/// Checks a region's size against [`MAX_REGION_PIXELS`] (and that it has pixels).
pub fn check_region(width: u32, height: u32) -> Result<(), SlideError> {
    if width == 0 || height == 0 || width as u64 * height as u64 > MAX_REGION_PIXELS {
        return Err(SlideError::BadRegion {
            width: width as u64,
            height: height as u64,
        });
    }
    Ok(())
}

/// How a read at some resolution is served: which level, and how much to shrink it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ReadPlan {
    /// The level read.
    pub level: usize,
    /// That level's downsample.
    pub level_downsample: f64,
    /// The downsample asked for.
    pub target_downsample: f64,
}

impl ReadPlan {
    /// Level pixels per output pixel (1 when a level matches exactly).
    pub fn shrink(&self) -> f64 {
        self.target_downsample / self.level_downsample
    }
    /// Whether the level is used as stored, without resampling.
    pub fn exact(&self) -> bool {
        (self.shrink() - 1.0).abs() < 1e-3
    }
}

/// Chooses the level to read for `target`: the coarsest level at least as fine as the target
/// (within 0.1 %), so a resolution no level has is read finer and shrunk, never enlarged
/// (except below level 0, which is read from level 0 and enlarged).
pub fn plan_read(
    slide: &dyn Slide,
    meta: &SlideMeta,
    target: Resolution,
) -> Result<ReadPlan, SlideError> {
    let target_ds = match target {
        Resolution::Level(l) => {
            let ds = slide.level_downsample(l)?;
            return Ok(ReadPlan {
                level: l,
                level_downsample: ds,
                target_downsample: ds,
            });
        }
        Resolution::Downsample(d) => d,
        Resolution::Mpp(m) => match meta.mpp {
            Some(p) => m / p.x,
            None => {
                return Err(SlideError::NoScale {
                    path: slide.source().into(),
                    wanted: target,
                    missing: "pixel size",
                })
            }
        },
        Resolution::Magnification(mag) => match meta.objective {
            Some(obj) => obj / mag,
            None => {
                return Err(SlideError::NoScale {
                    path: slide.source().into(),
                    wanted: target,
                    missing: "pixel size or objective power",
                })
            }
        },
    };
    if !(target_ds.is_finite() && target_ds > 0.0) {
        return Err(SlideError::BadRegion {
            width: 0,
            height: 0,
        });
    }
    let mut best = 0;
    for l in 0..slide.level_count() {
        if slide.level_downsample(l)? <= target_ds * 1.001 {
            best = l;
        }
    }
    Ok(ReadPlan {
        level: best,
        level_downsample: slide.level_downsample(best)?,
        target_downsample: target_ds,
    })
}

/// Reads `width × height` output pixels at the plan's resolution, whose top-left corner is
/// the level-0 point (`x0`, `y0`). Exact levels are read as stored; otherwise the covering
/// region of the chosen level is read and area-resampled. Large reads go in strips of output
/// rows, so the source pixels held at once stay bounded (about 16 M) whatever the size.
pub fn read_at(
    slide: &dyn Slide,
    plan: &ReadPlan,
    x0: u64,
    y0: u64,
    width: u32,
    height: u32,
) -> Result<RgbImage, SlideError> {
    read_at_in_strips(slide, plan, (x0, y0), (width, height), 16_000_000.0)
}

/// [`read_at`] with an explicit budget of source pixels per strip.
#[doc(hidden)]
pub fn read_at_in_strips(
    slide: &dyn Slide,
    plan: &ReadPlan,
    (x0, y0): (u64, u64),
    (width, height): (u32, u32),
    budget: f64,
) -> Result<RgbImage, SlideError> {
    if width == 0 || height == 0 || width as u64 * height as u64 > 1 << 30 {
        return Err(SlideError::BadRegion {
            width: width as u64,
            height: height as u64,
        });
    }
    let lds = plan.level_downsample;
    let lx = x0 as f64 / lds;
    let ly = y0 as f64 / lds;
    let s = if plan.exact() { 1.0 } else { plan.shrink() };
    let src_row_px = (width as f64 * s).ceil().max(1.0) + 2.0;
    let strip = ((budget / (src_row_px * s.max(1.0))).floor() as u32).clamp(1, height);
    let mut data = Vec::with_capacity(3 * width as usize * height as usize);
    let mut j0 = 0u32;
    while j0 < height {
        let n = strip.min(height - j0);
        let part = if plan.exact() {
            slide.read_region(
                plan.level,
                lx.round() as u64,
                (ly.round() as u64) + j0 as u64,
                width,
                n,
            )?
        } else {
            let sx0 = lx.floor().max(0.0);
            let sy0 = (ly + j0 as f64 * s).floor().max(0.0);
            let sw = ((lx + width as f64 * s).ceil() - sx0).max(1.0) as u32;
            let sh = ((ly + (j0 + n) as f64 * s).ceil() - sy0).max(1.0) as u32;
            let src = slide.read_region(plan.level, sx0 as u64, sy0 as u64, sw, sh)?;
            resample::resample_area_at(&src, (sx0 as u64, sy0 as u64), (lx, ly), s, (width, n), j0)
        };
        data.extend_from_slice(&part.data);
        j0 += n;
    }
    Ok(RgbImage {
        width,
        height,
        data,
    })
}

#[cfg(test)]
mod region_tests {
    use super::*;

    #[test]
    fn oversized_and_empty_regions_are_refused_before_allocating() {
        let s = synthetic::SyntheticSlide::new(1 << 20, 1 << 20, &[1.0]);
        // 2^17 × 2^17 = 2^34 pixels (48 GiB of RGB): refused, not allocated
        for (w, h) in [
            (1u32 << 17, 1u32 << 17),
            (0, 10),
            (10, 0),
            (1 << 14, (1 << 14) + 1),
        ] {
            assert!(
                matches!(
                    s.read_region(0, 0, 0, w, h),
                    Err(SlideError::BadRegion { width, height })
                        if width == w as u64 && height == h as u64
                ),
                "{w} × {h}"
            );
        }
        assert!(check_region(1 << 14, 1 << 14).is_ok(), "exactly the limit");
    }
}
