//! A flat picture (PNG or non-pyramidal TIFF: a thumbnail, a scanned overview) seen as a
//! one-level [`Slide`], for pictures OpenSlide does not read.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::{Rect, RgbImage, Slide, SlideError};

/// A picture decoded into memory.
#[derive(Debug, Clone)]
pub struct PictureSlide {
    path: PathBuf,
    image: RgbImage,
    props: BTreeMap<String, String>,
}

impl PictureSlide {
    /// Decodes a PNG or TIFF picture (grey, grey+alpha, RGB or RGBA; 8 or 16 bit), refusing
    /// more than `max_pixels` and more than the policy's
    /// [`Limit::PicturePixels`](crate::limits::Limit::PicturePixels) (checked from the header,
    /// before anything is decoded).
    pub fn open(path: &Path, max_pixels: u64) -> Result<Self, SlideError> {
        let bad = |e: PictureError| match e {
            PictureError::Limit(error) => SlideError::Limit {
                path: path.into(),
                error,
            },
            e => SlideError::Unsupported {
                path: path.into(),
                reason: e.to_string(),
            },
        };
        crate::guard::check_regular(path)?;
        let mut file = File::open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SlideError::NotFound { path: path.into() },
            _ => bad(PictureError::Io(e)),
        })?;
        let mut head = Vec::with_capacity(8);
        (&mut file)
            .take(8)
            .read_to_end(&mut head)
            .map_err(|e| bad(PictureError::Io(e)))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| bad(PictureError::Io(e)))?;
        let (image, format) = if head.starts_with(b"\x89PNG") {
            (decode_png(file, max_pixels).map_err(bad)?, "png")
        } else if head.starts_with(b"II") || head.starts_with(b"MM") {
            (decode_tiff(file, max_pixels).map_err(bad)?, "tiff")
        } else {
            return Err(bad(PictureError::Format));
        };
        let mut props = BTreeMap::new();
        props.insert("h2g.picture-format".into(), format.into());
        Ok(PictureSlide {
            path: path.into(),
            image,
            props,
        })
    }
}

/// Why a file cannot be read as a flat picture.
#[derive(Debug, thiserror::Error)]
enum PictureError {
    #[error("{0}")]
    Io(std::io::Error),
    #[error("not a PNG or TIFF picture")]
    Format,
    #[error("the picture has no pixels")]
    Empty,
    #[error("{width} × {height} pixels is over the limit of {max}")]
    TooLarge { width: u32, height: u32, max: u64 },
    #[error(transparent)]
    Limit(#[from] crate::limits::LimitError),
    #[error("PNG: {0}")]
    Png(#[from] png::DecodingError),
    #[error("PNG: too large")]
    PngBuffer,
    #[error("TIFF: {0}")]
    Tiff(#[from] tiff::TiffError),
    #[error("TIFF pictures must be 8-bit grey or RGB(A), this one is {0:?}")]
    TiffColour(tiff::ColorType),
    #[error("TIFF: unexpected sample type")]
    TiffSamples,
}

fn check(width: u32, height: u32, max: u64) -> Result<(), PictureError> {
    if width == 0 || height == 0 {
        return Err(PictureError::Empty);
    }
    if width as u64 * height as u64 > max {
        return Err(PictureError::TooLarge { width, height, max });
    }
    let what = format!("a picture read as a slide, {width} × {height} pixels,");
    crate::limits::check(
        crate::limits::Limit::PicturePixels,
        &what,
        width as u64 * height as u64,
    )?;
    Ok(())
}

/// The bytes a decoder may hold for a picture of the policy's most pixels (8 bytes a pixel:
/// 16-bit RGBA).
fn decoder_bytes() -> Result<u64, PictureError> {
    Ok(crate::limits::max(crate::limits::Limit::PicturePixels)?.saturating_mul(8))
}

fn to_rgb(w: u32, h: u32, channels: usize, data: &[u8]) -> RgbImage {
    let mut out = Vec::with_capacity(3 * w as usize * h as usize);
    for px in data.chunks_exact(channels).take(w as usize * h as usize) {
        match channels {
            1 | 2 => out.extend_from_slice(&[px[0], px[0], px[0]]),
            _ => out.extend_from_slice(&px[..3]),
        }
    }
    RgbImage {
        width: w,
        height: h,
        data: out,
    }
}

fn decode_png(file: File, max: u64) -> Result<RgbImage, PictureError> {
    let mut d = png::Decoder::new(BufReader::new(file));
    d.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    d.set_limits(png::Limits {
        bytes: decoder_bytes()?.min(usize::MAX as u64) as usize,
    });
    let info = d.read_header_info()?;
    check(info.width, info.height, max)?;
    let mut r = d.read_info()?;
    let size = r.output_buffer_size().ok_or(PictureError::PngBuffer)?;
    let mut buf = vec![0; size];
    let out = r.next_frame(&mut buf)?;
    let channels = out.color_type.samples();
    Ok(to_rgb(out.width, out.height, channels, &buf))
}

fn decode_tiff(file: File, max: u64) -> Result<RgbImage, PictureError> {
    use tiff::decoder::{Decoder, DecodingResult, Limits};
    let mut limits = Limits::default();
    let bytes = decoder_bytes()?.min(usize::MAX as u64) as usize;
    limits.decoding_buffer_size = bytes;
    limits.intermediate_buffer_size = bytes;
    let mut d = Decoder::new(BufReader::new(file))?.with_limits(limits);
    let (w, h) = d.dimensions()?;
    check(w, h, max)?;
    let channels = match d.colortype()? {
        tiff::ColorType::Gray(8) => 1,
        tiff::ColorType::GrayA(8) => 2,
        tiff::ColorType::RGB(8) => 3,
        tiff::ColorType::RGBA(8) => 4,
        other => return Err(PictureError::TiffColour(other)),
    };
    let image = d.read_image().map_err(|e| match e {
        tiff::TiffError::LimitsExceeded => PictureError::Limit(crate::limits::exceeded(
            crate::limits::Limit::PicturePixels,
            "a TIFF picture's decoded strips or tiles",
        )),
        e => PictureError::Tiff(e),
    })?;
    match image {
        DecodingResult::U8(v) => Ok(to_rgb(w, h, channels, &v)),
        _ => Err(PictureError::TiffSamples),
    }
}

impl Slide for PictureSlide {
    fn source(&self) -> String {
        self.path.display().to_string()
    }
    fn vendor(&self) -> Option<String> {
        Some("picture".into())
    }
    fn level_count(&self) -> usize {
        1
    }
    fn level_size(&self, level: usize) -> Result<(u64, u64), SlideError> {
        match level {
            0 => Ok((self.image.width as u64, self.image.height as u64)),
            _ => Err(SlideError::NoSuchLevel { level, count: 1 }),
        }
    }
    fn level_downsample(&self, level: usize) -> Result<f64, SlideError> {
        self.level_size(level).map(|_| 1.0)
    }
    fn properties(&self) -> &BTreeMap<String, String> {
        &self.props
    }
    fn bounds(&self) -> Rect {
        Rect {
            x: 0,
            y: 0,
            width: self.image.width as u64,
            height: self.image.height as u64,
        }
    }
    fn associated_names(&self) -> Vec<String> {
        Vec::new()
    }
    fn read_associated(&self, name: &str) -> Result<RgbImage, SlideError> {
        Err(SlideError::NoSuchAssociated {
            name: name.into(),
            available: "none".into(),
        })
    }
    fn read_region(
        &self,
        level: usize,
        x: u64,
        y: u64,
        width: u32,
        height: u32,
    ) -> Result<RgbImage, SlideError> {
        self.level_size(level)?;
        super::check_region(width, height)?;
        let (iw, ih) = (self.image.width as u64, self.image.height as u64);
        let mut data = Vec::with_capacity(3 * width as usize * height as usize);
        for j in 0..height as u64 {
            for i in 0..width as u64 {
                let (sx, sy) = (x + i, y + j);
                if sx < iw && sy < ih {
                    let k = 3 * (sy * iw + sx) as usize;
                    data.extend_from_slice(&self.image.data[k..k + 3]);
                } else {
                    data.extend_from_slice(&[255, 255, 255]);
                }
            }
        }
        Ok(RgbImage {
            width,
            height,
            data,
        })
    }
}
