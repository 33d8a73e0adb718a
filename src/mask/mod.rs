//! Label-mask inputs read row by row: PNG (grey, palette, RGB with a colour map) and TIFF; and
//! probability maps (TIFF of 32-bit float samples), read the same way and binarised at a
//! threshold ([`open_any_mask`], [`AboveThreshold`]).
//!
//! Every reader streams: it holds at most one PNG row or one TIFF strip/tile row, never the
//! whole image, and checks the pixel count against a limit before decoding anything.

mod png;
mod tiff;

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::pyramid::Sample;

/// The default pixel limit: 2^34 pixels (a 131072 × 131072 mask), far above a ×400 slide at
/// downsample 1, low enough to refuse a header that claims absurd sizes.
pub const DEFAULT_MAX_PIXELS: u64 = 1 << 34;

/// Errors reading a mask.
#[derive(Debug, thiserror::Error)]
pub enum MaskError {
    /// The file could not be opened or read.
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Neither a PNG nor a TIFF signature.
    #[error("{} is neither a PNG nor a TIFF file (its first bytes are {magic})", path.display())]
    UnknownFormat { path: PathBuf, magic: String },
    /// The file ends before all its pixels.
    #[error("{} is truncated: the file ends before all its pixel rows (re-export it)", path.display())]
    Truncated { path: PathBuf },
    /// The file has no bytes.
    #[error("{} is corrupt: the file is empty", path.display())]
    Empty { path: PathBuf },
    /// A zero width or height.
    #[error("{} is corrupt: the image is {width} × {height} pixels", path.display())]
    NoPixels {
        path: PathBuf,
        width: u32,
        height: u32,
    },
    /// The TIFF's structure points past the end of the file (a cut copy).
    #[error("{} is corrupt: {damage}", path.display())]
    Damaged {
        path: PathBuf,
        damage: crate::slide::ifd::TiffStructureError,
    },
    /// Fewer strip or tile offsets than the image has strips or tiles.
    #[error("{} is corrupt: {have} chunk offsets for {want} chunks", path.display())]
    MissingChunks {
        path: PathBuf,
        have: usize,
        want: usize,
    },
    /// A strip or tile whose compressed data decodes to fewer bytes than it must hold.
    #[error("{} is corrupt: chunk {chunk}: {codec} data holds {got} of {expected} bytes", path.display())]
    ShortChunk {
        path: PathBuf,
        chunk: usize,
        codec: &'static str,
        got: usize,
        expected: usize,
    },
    /// A strip or tile whose compressed stream is invalid (the decoder's words).
    #[error("{} is corrupt: chunk {chunk}: {codec}: {decoder}", path.display())]
    BadChunk {
        path: PathBuf,
        chunk: usize,
        codec: &'static str,
        decoder: String,
    },
    /// The PNG or TIFF decoder refused the file (its words).
    #[error("{} is corrupt: {decoder}", path.display())]
    Decoder { path: PathBuf, decoder: String },
    /// More pixels than the configured limit (a decompression bomb or a wrong file).
    #[error(
        "{} claims {width} × {height} = {pixels} pixels, over the limit of {limit} \
         (raise it with --max-pixels if the mask is genuine)",
        path.display(), pixels = *width as u64 * *height as u64
    )]
    TooLarge {
        path: PathBuf,
        width: u32,
        height: u32,
        limit: u64,
    },
    /// A valid image of a kind that is not a label mask this tool reads.
    #[error("{}: {what}", path.display())]
    Unsupported { path: PathBuf, what: String },
    /// An RGB image without a colour→label mapping.
    #[error(
        "{} is an RGB image, but a mask must hold labels: give the label of each colour with \
         --rgb-label R,G,B=LABEL (e.g. --rgb-label 0,0,0=0 --rgb-label 200,0,0=1), or export a \
         labelled image from QuPath (palette or grey PNG)",
        path.display()
    )]
    RgbNeedsMapping { path: PathBuf },
    /// An RGB pixel whose colour has no label.
    #[error(
        "{}: pixel ({x}, {y}) has colour {},{},{}, which no --rgb-label maps to a label",
        path.display(), rgb[0], rgb[1], rgb[2]
    )]
    UnmappedColour {
        path: PathBuf,
        rgb: [u8; 3],
        x: u32,
        y: u32,
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

/// One `R,G,B=LABEL` entry of an RGB colour→label mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RgbLabel {
    /// The colour.
    pub rgb: [u8; 3],
    /// The label it stands for.
    pub label: u16,
}

/// Why a `R,G,B=LABEL` mapping could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RgbLabelError {
    /// Not of the form `R,G,B=LABEL`.
    #[error("'{0}' is not R,G,B=LABEL (e.g. 255,0,0=1)")]
    Form(String),
    /// A colour component outside 0–255.
    #[error("'{input}' is not R,G,B=LABEL (e.g. 255,0,0=1): '{component}' is not 0–255")]
    Component {
        /// The whole text.
        input: String,
        /// The bad component.
        component: String,
    },
    /// A label outside 0–65535.
    #[error("'{0}' is not R,G,B=LABEL (e.g. 255,0,0=1): label must be 0–65535")]
    Label(String),
}

impl FromStr for RgbLabel {
    type Err = RgbLabelError;
    /// Parses `R,G,B=LABEL`, e.g. `255,0,0=1`.
    fn from_str(s: &str) -> Result<Self, RgbLabelError> {
        let form = || RgbLabelError::Form(s.to_string());
        let (colour, label) = s.split_once('=').ok_or_else(form)?;
        let parts: Vec<&str> = colour.split(',').map(str::trim).collect();
        if parts.len() != 3 {
            return Err(form());
        }
        let mut rgb = [0u8; 3];
        for (c, p) in rgb.iter_mut().zip(&parts) {
            *c = p.parse().map_err(|_| RgbLabelError::Component {
                input: s.to_string(),
                component: p.to_string(),
            })?;
        }
        let label = label
            .trim()
            .parse()
            .map_err(|_| RgbLabelError::Label(s.to_string()))?;
        Ok(RgbLabel { rgb, label })
    }
}

/// Options for opening a mask.
#[derive(Debug, Clone)]
pub struct MaskOptions {
    /// Refuse images with more pixels than this.
    pub max_pixels: u64,
    /// Colour→label mapping for RGB inputs; RGB inputs are refused when empty.
    pub rgb_labels: Vec<RgbLabel>,
}

impl Default for MaskOptions {
    fn default() -> Self {
        MaskOptions {
            max_pixels: DEFAULT_MAX_PIXELS,
            rgb_labels: Vec::new(),
        }
    }
}

/// What was found in a mask's header.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskHeader {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// A human description of the input encoding, e.g. "8-bit palette PNG".
    pub encoding: String,
    /// The input's palette (label → colour), when it had one.
    pub palette: Option<Vec<[u8; 3]>>,
}

/// A source of label rows, top to bottom.
pub trait RowSource<T: Sample>: Send {
    /// Fills `out` (`rows × width` samples) with the next `rows` rows.
    fn read_rows(&mut self, out: &mut [T], rows: usize) -> Result<(), MaskError>;
}

/// An opened mask, by sample type.
pub enum MaskReader {
    /// Labels fit in 8 bits.
    U8(Box<dyn RowSource<u8>>),
    /// 16-bit labels.
    U16(Box<dyn RowSource<u16>>),
}

impl fmt::Debug for MaskReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MaskReader::U8(_) => "MaskReader::U8",
            MaskReader::U16(_) => "MaskReader::U16",
        })
    }
}

/// A source of 32-bit float rows (a probability map), top to bottom.
pub trait FloatRows: Send {
    /// Fills `out` (`rows × width` samples) with the next `rows` rows.
    fn read_rows(&mut self, out: &mut [f32], rows: usize) -> Result<(), MaskError>;
}

/// An opened mask or probability map.
pub enum AnyMask {
    /// Integer labels.
    Labels(MaskReader),
    /// One channel of 32-bit float samples.
    Float(Box<dyn FloatRows>),
}

impl fmt::Debug for AnyMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnyMask::Labels(r) => r.fmt(f),
            AnyMask::Float(_) => f.write_str("AnyMask::Float"),
        }
    }
}

/// A float map as a binary mask: 1 where the value is greater than `threshold` (strictly, the
/// rule of the integer masks; NaN is never greater), else 0. Memory: the rows asked for.
pub struct AboveThreshold {
    src: Box<dyn FloatRows>,
    threshold: f64,
    buf: Vec<f32>,
}

impl AboveThreshold {
    /// Binarises `src` at `threshold`.
    pub fn new(src: Box<dyn FloatRows>, threshold: f64) -> Self {
        AboveThreshold {
            src,
            threshold,
            buf: Vec::new(),
        }
    }
}

impl RowSource<u8> for AboveThreshold {
    fn read_rows(&mut self, out: &mut [u8], rows: usize) -> Result<(), MaskError> {
        let n = out.len();
        self.buf.resize(n, 0.0);
        self.src.read_rows(&mut self.buf, rows)?;
        for (o, &v) in out.iter_mut().zip(&self.buf) {
            *o = (f64::from(v) > self.threshold) as u8;
        }
        Ok(())
    }
}

/// Rows of a label image already in memory (a tissue mask, a prediction).
#[derive(Debug, Clone)]
pub struct MemoryRows<T> {
    data: std::sync::Arc<Vec<T>>,
    width: usize,
    next: usize,
}

impl<T: Sample> MemoryRows<T> {
    /// Serves the rows of `data` (`width` samples each).
    pub fn new(data: std::sync::Arc<Vec<T>>, width: usize) -> Self {
        MemoryRows {
            data,
            width,
            next: 0,
        }
    }
}

impl<T: Sample> RowSource<T> for MemoryRows<T> {
    fn read_rows(&mut self, out: &mut [T], rows: usize) -> Result<(), MaskError> {
        let n = rows * self.width;
        out[..n].copy_from_slice(&self.data[self.next..self.next + n]);
        self.next += n;
        Ok(())
    }
}

/// Opens a PNG or TIFF mask, telling the format from its first bytes.
pub fn open_mask(path: &Path, opts: &MaskOptions) -> Result<(MaskHeader, MaskReader), MaskError> {
    crate::guard::register_input(path);
    match sniff(path)? {
        Sniffed::Png => png::open(path, opts),
        Sniffed::Tiff => tiff::open(path, opts),
    }
}

/// Opens a PNG or TIFF mask like [`open_mask`], or a TIFF of one channel of 32-bit float
/// samples (a probability map) as [`AnyMask::Float`].
pub fn open_any_mask(path: &Path, opts: &MaskOptions) -> Result<(MaskHeader, AnyMask), MaskError> {
    match sniff(path)? {
        Sniffed::Tiff => tiff::open_any(path, opts),
        Sniffed::Png => png::open(path, opts).map(|(h, r)| (h, AnyMask::Labels(r))),
    }
}

enum Sniffed {
    Png,
    Tiff,
}

fn sniff(path: &Path) -> Result<Sniffed, MaskError> {
    crate::guard::check_regular(path)?;
    let io = |source| MaskError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = File::open(path).map_err(io)?;
    if f.metadata().map_err(io)?.is_dir() {
        return Err(io(std::io::Error::other("is a directory")));
    }
    let mut magic = [0u8; 8];
    let n = read_up_to(&mut f, &mut magic).map_err(io)?;
    let magic = &magic[..n];
    if magic.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok(Sniffed::Png)
    } else if magic.starts_with(b"II*\0")
        || magic.starts_with(b"MM\0*")
        || magic.starts_with(b"II+\0")
        || magic.starts_with(b"MM\0+")
    {
        Ok(Sniffed::Tiff)
    } else if n == 0 {
        Err(MaskError::Empty {
            path: path.to_path_buf(),
        })
    } else {
        Err(MaskError::UnknownFormat {
            path: path.to_path_buf(),
            magic: magic
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" "),
        })
    }
}

fn read_up_to(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn check_pixels(path: &Path, width: u32, height: u32, limit: u64) -> Result<(), MaskError> {
    if width == 0 || height == 0 {
        return Err(MaskError::NoPixels {
            path: path.to_path_buf(),
            width,
            height,
        });
    }
    if width as u64 * height as u64 > limit {
        return Err(MaskError::TooLarge {
            path: path.to_path_buf(),
            width,
            height,
            limit,
        });
    }
    Ok(())
}

/// Maps RGB colours to labels, remembering the last hit (masks are long runs of one colour).
#[derive(Debug, Clone)]
struct ColourLookup {
    map: Vec<RgbLabel>,
    last: Option<RgbLabel>,
}

impl ColourLookup {
    fn new(map: Vec<RgbLabel>) -> Self {
        ColourLookup { map, last: None }
    }
    #[inline]
    fn label(&mut self, rgb: [u8; 3]) -> Option<u16> {
        if let Some(l) = self.last {
            if l.rgb == rgb {
                return Some(l.label);
            }
        }
        let hit = *self.map.iter().find(|m| m.rgb == rgb)?;
        self.last = Some(hit);
        Some(hit.label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb_label_parses_and_rejects() {
        assert_eq!(
            "255, 0,0=3".parse::<RgbLabel>(),
            Ok(RgbLabel {
                rgb: [255, 0, 0],
                label: 3
            })
        );
        assert!("255,0=3".parse::<RgbLabel>().is_err());
        assert!("256,0,0=3".parse::<RgbLabel>().is_err());
        assert!("1,2,3=-1".parse::<RgbLabel>().is_err());
        assert!("1,2,3".parse::<RgbLabel>().is_err());
    }
}
