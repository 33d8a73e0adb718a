//! The OpenSlide backend of [`Slide`].

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use openslide_rs::errors::OpenSlideError;
use openslide_rs::{Address, OpenSlide, Region, Size};

use super::direct::DirectLevels;
use super::{Rect, RgbImage, Slide, SlideError};

/// A slide opened with OpenSlide.
#[derive(Debug)]
pub struct OpenSlideSlide {
    path: PathBuf,
    inner: OpenSlide,
    props: BTreeMap<String, String>,
    /// JPEG-tiled levels read without OpenSlide's compositing (same bytes), when possible.
    direct: Option<DirectLevels>,
}

/// The version of the OpenSlide library in use.
pub fn library_version() -> String {
    OpenSlide::version().unwrap_or_else(|_| "unknown".into())
}

impl OpenSlideSlide {
    /// Opens `path`, explaining a refusal as precisely as the file allows.
    pub fn open(path: &Path) -> Result<Self, SlideError> {
        Self::open_with(path, true)
    }

    /// [`OpenSlideSlide::open`], with the direct JPEG tile reader allowed or not (without it,
    /// OpenSlide reads every pixel).
    pub fn open_with(path: &Path, direct: bool) -> Result<Self, SlideError> {
        if !path.is_dir() {
            // a FIFO would block OpenSlide's open, a device never end; a symlink loop is
            // named as one, not as a missing file
            crate::guard::check_regular(path)?;
        }
        if !path.exists() {
            return Err(SlideError::NotFound { path: path.into() });
        }
        if path.is_dir() {
            return Err(SlideError::Unsupported {
                path: path.into(),
                reason: "it is a directory (give the slide file itself; for MRXS the .mrxs file)"
                    .into(),
            });
        }
        if let Err(e) = File::open(path) {
            return Err(SlideError::Unsupported {
                path: path.into(),
                reason: e.to_string(),
            });
        }
        let inner = OpenSlide::new(path).map_err(|e| match e {
            OpenSlideError::MissingFile(_) => SlideError::NotFound { path: path.into() },
            OpenSlideError::UnsupportedFile(_) => SlideError::Unsupported {
                path: path.into(),
                reason: unsupported_reason(path),
            },
            other => SlideError::Unsupported {
                path: path.into(),
                reason: clean(&other.to_string()),
            },
        })?;
        let mut props = BTreeMap::new();
        for name in inner.property_names().unwrap_or_default() {
            if let Ok(v) = inner.property_value(&name) {
                props.insert(name, v);
            }
        }
        if inner.level_count() == 0 {
            return Err(SlideError::Unsupported {
                path: path.into(),
                reason: "OpenSlide found no pyramid levels".into(),
            });
        }
        let dims: Vec<(u64, u64)> = inner
            .all_level_dimensions()
            .iter()
            .map(|s| (s.w as u64, s.h as u64))
            .collect();
        let direct = direct
            .then(|| {
                DirectLevels::open(
                    path,
                    props.get("openslide.vendor").map(String::as_str),
                    &dims,
                )
            })
            .flatten();
        Ok(OpenSlideSlide {
            path: path.into(),
            inner,
            props,
            direct,
        })
    }

    fn lib_err(&self, e: OpenSlideError) -> SlideError {
        SlideError::Library {
            path: self.path.clone(),
            message: clean(&e.to_string()),
        }
    }
}

fn clean(s: &str) -> String {
    s.trim_start_matches("OpenSlide error: ").to_string()
}

/// Why OpenSlide did not recognise a file, from its first bytes.
fn unsupported_reason(path: &Path) -> String {
    let version = library_version();
    let mut head = [0u8; 132];
    let n = File::open(path)
        .and_then(|mut f| {
            f.seek(SeekFrom::Start(0))?;
            f.read(&mut head)
        })
        .unwrap_or(0);
    if n >= 132 && &head[128..132] == b"DICM" {
        return format!(
            "it is a DICOM file, which OpenSlide {version} cannot read (DICOM WSI support \
             starts with OpenSlide 4.0, for conformant files only; convert it, e.g. to a \
             tiled pyramidal TIFF, first)"
        );
    }
    if n == 0 {
        return "the file is empty".into();
    }
    if head.starts_with(b"\x89PNG") || head.starts_with(b"\xff\xd8\xff") {
        return "it is a flat PNG/JPEG picture, not a whole-slide image".into();
    }
    if head.starts_with(b"II*\0")
        || head.starts_with(b"MM\0*")
        || head.starts_with(b"II+\0")
        || head.starts_with(b"MM\0+")
    {
        if let Some(damage) = super::ifd::tiff_damage(path) {
            return format!("it is a damaged TIFF: {damage}");
        }
        return format!(
            "it is a TIFF that OpenSlide {version} does not recognise as a slide (a generic \
             TIFF slide must be tiled, with its pyramid in the main IFD chain)"
        );
    }
    format!("not a slide format OpenSlide {version} recognises")
}

/// Converts OpenSlide's premultiplied BGRA (native-endian ARGB words) into RGB on white.
fn argb_to_rgb(words: &[u8], width: u32, height: u32) -> RgbImage {
    let mut data = Vec::with_capacity(3 * width as usize * height as usize);
    for px in words.chunks_exact(4) {
        let v = u32::from_ne_bytes([px[0], px[1], px[2], px[3]]);
        let a = (v >> 24) as u8;
        let (r, g, b) = ((v >> 16) as u8, (v >> 8) as u8, v as u8);
        // premultiplied colour over white: c + (255 − a)
        let bg = 255 - a;
        data.extend_from_slice(&[
            r.saturating_add(bg),
            g.saturating_add(bg),
            b.saturating_add(bg),
        ]);
    }
    RgbImage {
        width,
        height,
        data,
    }
}

impl Slide for OpenSlideSlide {
    fn source(&self) -> String {
        self.path.display().to_string()
    }

    fn vendor(&self) -> Option<String> {
        self.props.get("openslide.vendor").cloned()
    }

    fn level_count(&self) -> usize {
        self.inner.level_count() as usize
    }

    fn level_size(&self, level: usize) -> Result<(u64, u64), SlideError> {
        let s = self
            .inner
            .all_level_dimensions()
            .get(level)
            .ok_or(SlideError::NoSuchLevel {
                level,
                count: self.level_count(),
            })?;
        Ok((s.w as u64, s.h as u64))
    }

    fn level_downsample(&self, level: usize) -> Result<f64, SlideError> {
        self.inner
            .all_level_downsamples()
            .get(level)
            .copied()
            .ok_or(SlideError::NoSuchLevel {
                level,
                count: self.level_count(),
            })
    }

    fn properties(&self) -> &BTreeMap<String, String> {
        &self.props
    }

    fn bounds(&self) -> Rect {
        let b = self.inner.bounds();
        Rect {
            x: b.origin.x as u64,
            y: b.origin.y as u64,
            width: b.size.w as u64,
            height: b.size.h as u64,
        }
    }

    fn associated_names(&self) -> Vec<String> {
        self.inner.associated_image_names().unwrap_or_default()
    }

    fn reads_directly(&self) -> bool {
        self.direct.is_some()
    }

    fn limit_cache(&self, bytes: usize) {
        if let Some(d) = &self.direct {
            d.set_cache_budget(bytes);
        }
    }

    fn reader(&self) -> String {
        let os = format!("OpenSlide {}", library_version());
        match (&self.direct, super::turbojpeg::library()) {
            (Some(d), Some(lib)) => format!(
                "{os}; JPEG tiles of level(s) {} decoded directly ({lib})",
                d.served()
                    .iter()
                    .map(|l| l.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => os,
        }
    }

    fn read_associated(&self, name: &str) -> Result<RgbImage, SlideError> {
        let names = self.associated_names();
        if !names.iter().any(|n| n == name) {
            return Err(SlideError::NoSuchAssociated {
                name: name.into(),
                available: if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                },
            });
        }
        let (size, buf) = self
            .inner
            .read_associated_buffer(name)
            .map_err(|e| self.lib_err(e))?;
        Ok(argb_to_rgb(&buf, size.w, size.h))
    }

    fn read_region(
        &self,
        level: usize,
        x: u64,
        y: u64,
        width: u32,
        height: u32,
    ) -> Result<RgbImage, SlideError> {
        let ds = self.level_downsample(level)?;
        super::check_region(width, height)?;
        let x0 = (x as f64 * ds).round();
        let y0 = (y as f64 * ds).round();
        if x0 > u32::MAX as f64 || y0 > u32::MAX as f64 {
            return Err(SlideError::BadRegion {
                width: width as u64,
                height: height as u64,
            });
        }
        // OpenSlide reads level pixels at x0 / ds; where that is the whole pixel x (always at
        // level 0 and at exact power-of-two levels) the direct reader gives the same bytes;
        // elsewhere OpenSlide shifts by a fraction of a pixel and only it can reproduce that
        if let Some(d) = &self.direct {
            if x0 / ds == x as f64 && y0 / ds == y as f64 {
                // anything the direct reader cannot do, OpenSlide does (or explains)
                if let Some(img) = d.read(level, x, y, width, height) {
                    return Ok(img);
                }
            }
        }
        let region = Region {
            size: Size {
                w: width,
                h: height,
            },
            level: level as u32,
            address: Address {
                x: x0 as u32,
                y: y0 as u32,
            },
        };
        let buf = self
            .inner
            .read_region(&region)
            .map_err(|e| self.lib_err(e))?;
        Ok(argb_to_rgb(&buf, width, height))
    }
}
