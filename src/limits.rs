//! The resource-limits policy: every size read from an input that would drive an allocation
//! (an inflated stream, an archive's entries, a JSON string, a GeoJSON feature's values, a
//! picture's pixels, a TIFF chunk, a raster's side) is checked against one of these limits
//! before anything is allocated.
//!
//! The defaults ([`Limits::DEFAULT`]) take any genuine slide, mask or annotation file; a
//! hostile or damaged one that claims more is refused with a [`LimitError`] naming the limit,
//! the value met and how to raise it. They are raised (or lowered) for a process with one
//! environment variable, [`ENV`], read once:
//!
//! ```text
//! H2G_LIMITS="decompressed=4G,zip-entries=100000"
//! ```
//!
//! Amounts take a binary suffix (`K`, `M`, `G`, `T`: powers of 1024). A library caller may
//! instead [`set`] the limits once, before the first read. `docs/limits.md` lists them all.

use std::sync::OnceLock;

/// The environment variable that sets limits: comma-separated `name=amount` pairs.
pub const ENV: &str = "H2G_LIMITS";

/// The largest side of a patch, in pixels (`h2g patches --size`, the sampler's patches).
pub const MAX_PATCH_SIDE: u32 = 8192;

/// The most pixels one `Slide::read_region` call returns (256 Mi pixels, 768 MiB of RGB):
/// larger reads are refused before anything is allocated. A fixed limit.
pub const MAX_REGION_PIXELS: u64 = 1 << 28;

/// One limit of the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Bytes inflated from one gzip file, or from all entries of one zip archive together.
    Decompressed,
    /// Entries of one zip archive.
    ZipEntries,
    /// Bytes of one JSON string.
    JsonString,
    /// JSON values (numbers, strings, arrays, objects) of one GeoJSON feature: a feature is
    /// held as a JSON tree (about 40 bytes a value) while it is converted.
    FeatureValues,
    /// Pixels of a flat picture (PNG, TIFF) read as a slide: it is decoded whole.
    PicturePixels,
    /// Decoded bytes of one TIFF tile or strip of a mask, of one row of them, and of the PNG
    /// decoder's buffers.
    ImageChunk,
    /// Pixels along either side of a raster that `rasterize` makes (rows are held whole).
    RasterSide,
}

impl Limit {
    /// Every limit, in the order of the documentation.
    pub const ALL: [Limit; 7] = [
        Limit::Decompressed,
        Limit::ZipEntries,
        Limit::JsonString,
        Limit::FeatureValues,
        Limit::PicturePixels,
        Limit::ImageChunk,
        Limit::RasterSide,
    ];

    /// Its name in [`ENV`].
    pub fn name(self) -> &'static str {
        match self {
            Limit::Decompressed => "decompressed",
            Limit::ZipEntries => "zip-entries",
            Limit::JsonString => "json-string",
            Limit::FeatureValues => "feature-values",
            Limit::PicturePixels => "picture-pixels",
            Limit::ImageChunk => "image-chunk",
            Limit::RasterSide => "raster-side",
        }
    }

    /// Its default.
    pub fn default_value(self) -> u64 {
        Limits::DEFAULT.get(self)
    }

    fn unit(self) -> &'static str {
        match self {
            Limit::Decompressed | Limit::JsonString | Limit::ImageChunk => "bytes",
            Limit::ZipEntries => "entries",
            Limit::FeatureValues => "values",
            Limit::PicturePixels | Limit::RasterSide => "pixels",
        }
    }

    /// `n` in this limit's unit (bytes with a binary suffix when a whole multiple).
    pub fn amount(self, n: u64) -> String {
        let unit = self.unit();
        match binary(n) {
            Some((v, suffix)) if unit == "bytes" => format!("{v} {suffix}iB"),
            _ => format!("{n} {unit}"),
        }
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The limits in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// [`Limit::Decompressed`].
    pub decompressed: u64,
    /// [`Limit::ZipEntries`].
    pub zip_entries: u64,
    /// [`Limit::JsonString`].
    pub json_string: u64,
    /// [`Limit::FeatureValues`].
    pub feature_values: u64,
    /// [`Limit::PicturePixels`].
    pub picture_pixels: u64,
    /// [`Limit::ImageChunk`].
    pub image_chunk: u64,
    /// [`Limit::RasterSide`].
    pub raster_side: u64,
}

impl Limits {
    /// The defaults: 1 GiB inflated, 10 000 zip entries, 64 MiB JSON strings, 16 Mi JSON
    /// values a GeoJSON feature (over 5 million vertices), pictures of
    /// [`MAX_REGION_PIXELS`] (256 Mi pixels), 512 MiB TIFF chunks, rasters of
    /// 4 Mi pixels a side.
    pub const DEFAULT: Limits = Limits {
        decompressed: 1 << 30,
        zip_entries: 10_000,
        json_string: 64 << 20,
        feature_values: 1 << 24,
        picture_pixels: MAX_REGION_PIXELS,
        image_chunk: 512 << 20,
        raster_side: 1 << 22,
    };

    /// The value of `limit`.
    pub fn get(&self, limit: Limit) -> u64 {
        match limit {
            Limit::Decompressed => self.decompressed,
            Limit::ZipEntries => self.zip_entries,
            Limit::JsonString => self.json_string,
            Limit::FeatureValues => self.feature_values,
            Limit::PicturePixels => self.picture_pixels,
            Limit::ImageChunk => self.image_chunk,
            Limit::RasterSide => self.raster_side,
        }
    }

    fn slot(&mut self, limit: Limit) -> &mut u64 {
        match limit {
            Limit::Decompressed => &mut self.decompressed,
            Limit::ZipEntries => &mut self.zip_entries,
            Limit::JsonString => &mut self.json_string,
            Limit::FeatureValues => &mut self.feature_values,
            Limit::PicturePixels => &mut self.picture_pixels,
            Limit::ImageChunk => &mut self.image_chunk,
            Limit::RasterSide => &mut self.raster_side,
        }
    }

    /// The defaults with the settings of `text` (`name=amount,…`, as [`ENV`] holds them).
    pub fn parse(text: &str) -> Result<Limits, LimitError> {
        let mut l = Limits::DEFAULT;
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = |reason: String| LimitError::Setting {
                setting: part.to_string(),
                reason,
            };
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| bad("expected name=amount".into()))?;
            let limit = Limit::ALL
                .into_iter()
                .find(|k| k.name() == name.trim())
                .ok_or_else(|| {
                    let names: Vec<&str> = Limit::ALL.iter().map(|k| k.name()).collect();
                    bad(format!(
                        "no limit '{}' (limits: {})",
                        name.trim(),
                        names.join(", ")
                    ))
                })?;
            *l.slot(limit) = parse_amount(value.trim()).ok_or_else(|| {
                bad(format!(
                    "'{}' is not a positive whole amount (such as 1000, 64M or 4G)",
                    value.trim()
                ))
            })?;
        }
        Ok(l)
    }

    /// The limits of this process: those [`set`], else the defaults with [`ENV`]'s settings.
    pub fn current() -> Result<&'static Limits, LimitError> {
        CURRENT
            .get_or_init(|| match std::env::var(ENV) {
                Ok(text) => Limits::parse(&text),
                Err(std::env::VarError::NotPresent) => Ok(Limits::DEFAULT),
                Err(std::env::VarError::NotUnicode(_)) => Err(LimitError::Setting {
                    setting: String::new(),
                    reason: "not valid UTF-8".into(),
                }),
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

static CURRENT: OnceLock<Result<Limits, LimitError>> = OnceLock::new();

/// Sets the limits of this process, before anything was read; `false` (and nothing changed)
/// when they are already in force.
pub fn set(limits: Limits) -> bool {
    CURRENT.set(Ok(limits)).is_ok()
}

/// `1000`, `64K`, `64M`, `4G`, `1T` (powers of 1024), at least 1.
fn parse_amount(s: &str) -> Option<u64> {
    let (digits, shift) = match s.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (
            &s[..i],
            match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => return None,
            },
        ),
        _ => (s, 0),
    };
    let n: u64 = digits.trim().replace('_', "").parse().ok()?;
    n.checked_mul(1 << shift).filter(|&v| v > 0)
}

/// Why an input is refused by the policy, or the policy cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// A size over its limit.
    #[error(
        "{what}{} is over the limit of {} ({limit}; {}); if the input is genuine, raise it \
         with the environment variable {ENV}={limit}=<amount> (e.g. {ENV}={limit}={})",
        value.map(|v| format!(" of {}", limit.amount(v))).unwrap_or_default(),
        limit.amount(*max),
        if *max == limit.default_value() { "the default".to_string() } else {
            format!("default {}", limit.amount(limit.default_value()))
        },
        suggestion(*max),
    )]
    Exceeded {
        /// The limit.
        limit: Limit,
        /// What was measured (e.g. "the inflated text").
        what: String,
        /// The size met, when known (a decoder that stops at the limit does not say).
        value: Option<u64>,
        /// The limit in force.
        max: u64,
    },
    /// [`ENV`] cannot be read.
    #[error(
        "{ENV}: '{setting}': {reason} (e.g. {ENV}=decompressed=4G,zip-entries=100000; see \
         docs/limits.md)"
    )]
    Setting {
        /// The setting.
        setting: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// `n` as a whole number of the largest binary unit (K, M, G, T) that divides it.
fn binary(n: u64) -> Option<(u64, &'static str)> {
    [(40, "T"), (30, "G"), (20, "M"), (10, "K")]
        .into_iter()
        .find(|&(shift, _)| n >= 1 << shift && n.is_multiple_of(1 << shift))
        .map(|(shift, suffix)| (n >> shift, suffix))
}

/// Four times `max`, written shortly.
fn suggestion(max: u64) -> String {
    let n = max.saturating_mul(4);
    match binary(n) {
        Some((v, suffix)) => format!("{v}{suffix}"),
        None => n.to_string(),
    }
}

/// The value of `limit` in force.
pub fn max(limit: Limit) -> Result<u64, LimitError> {
    Limits::current().map(|l| l.get(limit))
}

/// Checks `value` (of `what`) against `limit`.
pub fn check(limit: Limit, what: &str, value: u64) -> Result<(), LimitError> {
    let max = max(limit)?;
    if value > max {
        return Err(LimitError::Exceeded {
            limit,
            what: what.into(),
            value: Some(value),
            max,
        });
    }
    Ok(())
}

/// The error of a decoder that stopped at `limit` without saying how much it met.
pub fn exceeded(limit: Limit, what: &str) -> LimitError {
    LimitError::Exceeded {
        limit,
        what: what.into(),
        value: None,
        max: max(limit).unwrap_or(limit.default_value()),
    }
}

/// A reader that fails with [`Limit::Decompressed`] once more than the limit has come through
/// it (an io error holding the [`LimitError`]; see [`from_io`]).
pub struct Bounded<R> {
    inner: R,
    left: u64,
    max: u64,
    what: &'static str,
}

impl<R> Bounded<R> {
    /// At most `max` bytes of `inner`, `what` naming them in the error.
    pub fn new(inner: R, max: u64, what: &'static str) -> Self {
        Bounded {
            inner,
            left: max,
            max,
            what,
        }
    }
}

impl<R: std::io::Read> std::io::Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // one byte more says whether the stream ends exactly at the limit
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(LimitError::Exceeded {
                    limit: Limit::Decompressed,
                    what: self.what.into(),
                    value: None,
                    max: self.max,
                })),
            };
        }
        let n = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let got = self.inner.read(&mut buf[..n])?;
        self.left -= got as u64;
        Ok(got)
    }
}

/// The [`LimitError`] an io error carries, if it is one of [`Bounded`]'s or another reader's
/// of this module.
pub fn from_io(e: &std::io::Error) -> Option<LimitError> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<LimitError>())
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn settings_parse_with_suffixes_and_bad_ones_are_named() {
        let l = Limits::parse("decompressed=4G, zip-entries=100_000,json-string=1k").unwrap();
        assert_eq!(l.decompressed, 4 << 30);
        assert_eq!(l.zip_entries, 100_000);
        assert_eq!(l.json_string, 1024);
        assert_eq!(l.image_chunk, Limits::DEFAULT.image_chunk);
        assert_eq!(Limits::parse("").unwrap(), Limits::DEFAULT);
        for (text, want) in [
            ("decompressed", "expected name=amount"),
            (
                "inflated=4G",
                "no limit 'inflated' (limits: decompressed, zip-entries",
            ),
            ("decompressed=0", "'0' is not a positive whole amount"),
            ("decompressed=4X", "'4X' is not a positive whole amount"),
            ("decompressed=99999999999T", "not a positive whole amount"),
        ] {
            let e = Limits::parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
            assert!(e.starts_with("H2G_LIMITS: '"), "{e}");
        }
    }

    #[test]
    fn the_message_names_the_limit_the_value_and_how_to_raise_it() {
        let e = LimitError::Exceeded {
            limit: Limit::Decompressed,
            what: "a.gz: the inflated text".into(),
            value: Some(3 << 30),
            max: 1 << 30,
        };
        assert_eq!(
            e.to_string(),
            "a.gz: the inflated text of 3 GiB is over the limit of 1 GiB (decompressed; the \
             default); if the input is genuine, raise it with the environment variable \
             H2G_LIMITS=decompressed=<amount> (e.g. H2G_LIMITS=decompressed=4G)"
        );
        let e = LimitError::Exceeded {
            limit: Limit::ZipEntries,
            what: "z.zip".into(),
            value: Some(100_001),
            max: 100,
        };
        assert_eq!(
            e.to_string(),
            "z.zip of 100001 entries is over the limit of 100 entries (zip-entries; default \
             10000 entries); if the input is genuine, raise it with the environment variable \
             H2G_LIMITS=zip-entries=<amount> (e.g. H2G_LIMITS=zip-entries=400)"
        );
        assert_eq!(Limit::PicturePixels.amount(1 << 28), "268435456 pixels");
        assert_eq!(Limit::ImageChunk.amount(3 << 20), "3 MiB");
        assert_eq!(Limit::ImageChunk.amount(1000), "1000 bytes");
    }

    #[test]
    fn a_bounded_reader_passes_the_limit_exactly_and_refuses_one_byte_more() {
        let data = [7u8; 100];
        let mut out = Vec::new();
        Bounded::new(&data[..], 100, "t")
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out.len(), 100);
        let e = Bounded::new(&data[..], 99, "t")
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(matches!(
            from_io(&e),
            Some(LimitError::Exceeded {
                limit: Limit::Decompressed,
                max: 99,
                ..
            })
        ));
    }
}
