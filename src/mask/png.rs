//! Streaming PNG mask reader: grey (1–16 bit), palette (indices kept as labels), RGB(A) via a
//! colour→label map.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use png::{BitDepth, ColorType, Transformations};

use super::{
    check_pixels, ColourLookup, MaskError, MaskHeader, MaskOptions, MaskReader, RowSource,
};
use crate::pyramid::Sample;

type Reader = png::Reader<BufReader<File>>;

fn map_err(path: &Path, e: png::DecodingError) -> MaskError {
    let path = path.to_path_buf();
    match e {
        png::DecodingError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            MaskError::Truncated { path }
        }
        png::DecodingError::IoError(source) => MaskError::Io { path, source },
        png::DecodingError::LimitsExceeded => MaskError::Limit {
            path,
            error: crate::limits::exceeded(
                crate::limits::Limit::ImageChunk,
                "the PNG decoder's buffers",
            ),
        },
        other => {
            let decoder = tidy_chunk_names(&other.to_string());
            // The png crate reports a stream that stops early as a format error.
            if decoder.contains("EOF")
                || decoder.contains("end of")
                || decoder.contains("No more data")
            {
                MaskError::Truncated { path }
            } else {
                MaskError::Decoder { path, decoder }
            }
        }
    }
}

/// The png crate names chunks by their Debug form (`ChunkType { type: IDAT, critical: true,
/// … }`): keep the four letters.
fn tidy_chunk_names(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("ChunkType { type: ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + "ChunkType { type: ".len()..];
        let name_end = after.find([',', ' ', '}']).unwrap_or(after.len());
        out.push_str(&after[..name_end]);
        rest = match after.find('}') {
            Some(j) => &after[j + 1..],
            None => "",
        };
    }
    out.push_str(rest);
    out
}

pub(super) fn open(path: &Path, opts: &MaskOptions) -> Result<(MaskHeader, MaskReader), MaskError> {
    let file = File::open(path).map_err(|source| MaskError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut dec = png::Decoder::new(BufReader::with_capacity(1 << 20, file));
    dec.set_transformations(Transformations::IDENTITY);
    dec.set_ignore_text_chunk(true);
    // the decoder's buffers (a row or two, the text chunks it keeps) within the policy's
    // chunk limit: the pixels stream
    let bytes =
        crate::limits::max(crate::limits::Limit::ImageChunk).map_err(|error| MaskError::Limit {
            path: path.to_path_buf(),
            error,
        })?;
    dec.set_limits(png::Limits {
        bytes: bytes.min(usize::MAX as u64) as usize,
    });
    let info = dec.read_header_info().map_err(|e| map_err(path, e))?;
    let (width, height) = (info.width, info.height);
    check_pixels(path, width, height, opts.max_pixels)?;
    if info.interlaced {
        return Err(MaskError::Unsupported {
            path: path.to_path_buf(),
            what: "interlaced (Adam7) PNGs cannot be streamed; re-save it without interlacing \
                   (QuPath never writes interlaced masks)"
                .into(),
        });
    }
    let reader = dec.read_info().map_err(|e| map_err(path, e))?;
    let info = reader.info();
    let (ct, depth) = (info.color_type, info.bit_depth);
    let bits = depth as u8;
    let depth_name = format!("{bits}-bit");
    let unsupported = |what: String| MaskError::Unsupported {
        path: path.to_path_buf(),
        what,
    };
    let base = PngRows {
        path: path.to_path_buf(),
        reader,
        width,
        height,
        row: 0,
        last: Vec::new(),
    };
    match ct {
        ColorType::Grayscale if depth == BitDepth::Sixteen => Ok((
            header(width, height, format!("{depth_name} grey PNG"), None),
            MaskReader::U16(Box::new(Grey16(base))),
        )),
        ColorType::Grayscale => Ok((
            header(width, height, format!("{depth_name} grey PNG"), None),
            MaskReader::U8(Box::new(Packed { base, bits })),
        )),
        ColorType::Indexed => {
            let palette: Vec<[u8; 3]> = base
                .reader
                .info()
                .palette
                .as_ref()
                .map(|p| p.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect())
                .unwrap_or_default();
            Ok((
                header(
                    width,
                    height,
                    format!("{depth_name} palette PNG"),
                    Some(palette),
                ),
                MaskReader::U8(Box::new(Packed { base, bits })),
            ))
        }
        ColorType::Rgb | ColorType::Rgba if depth == BitDepth::Eight => {
            if opts.rgb_labels.is_empty() {
                return Err(MaskError::RgbNeedsMapping {
                    path: path.to_path_buf(),
                });
            }
            let channels = if ct == ColorType::Rgb { 3 } else { 4 };
            let name = if channels == 3 { "RGB" } else { "RGBA" };
            let enc = format!(
                "8-bit {name} PNG mapped through {} colours",
                opts.rgb_labels.len()
            );
            let lookup = ColourLookup::new(opts.rgb_labels.clone());
            if opts.rgb_labels.iter().all(|m| m.label <= 255) {
                Ok((
                    header(width, height, enc, None),
                    MaskReader::U8(Box::new(Rgb {
                        base,
                        channels,
                        lookup,
                    })),
                ))
            } else {
                Ok((
                    header(width, height, enc, None),
                    MaskReader::U16(Box::new(Rgb {
                        base,
                        channels,
                        lookup,
                    })),
                ))
            }
        }
        ColorType::Rgb | ColorType::Rgba => Err(unsupported(format!(
            "{depth_name} RGB PNG: only 8-bit RGB masks can be mapped to labels"
        ))),
        ColorType::GrayscaleAlpha => Err(unsupported(
            "grey + alpha PNG: a label mask has one channel; export it without alpha \
             (QuPath: a labelled image server writes plain palette or grey PNGs)"
                .into(),
        )),
    }
}

fn header(width: u32, height: u32, encoding: String, palette: Option<Vec<[u8; 3]>>) -> MaskHeader {
    MaskHeader {
        width,
        height,
        encoding,
        palette,
    }
}

struct PngRows {
    path: PathBuf,
    reader: Reader,
    width: u32,
    height: u32,
    row: u32,
    last: Vec<u8>,
}

impl PngRows {
    /// The next raw (unfiltered, untransformed) row.
    fn next(&mut self) -> Result<&[u8], MaskError> {
        let path = &self.path;
        if self.row + 1 == self.height {
            // Read the last row into our own buffer, then check the stream ends properly
            // (remaining image data, CRCs, IEND): a file cut short after its pixels is refused.
            let line = self.reader.output_line_size(self.width).unwrap_or(0);
            self.last.resize(line, 0);
            match self.reader.read_row(&mut self.last) {
                Ok(Some(_)) => {}
                Ok(None) => return Err(MaskError::Truncated { path: path.clone() }),
                Err(e) => return Err(map_err(path, e)),
            }
            self.reader.finish().map_err(|e| map_err(path, e))?;
            self.row += 1;
            return Ok(&self.last);
        }
        match self.reader.next_row() {
            Ok(Some(r)) => {
                self.row += 1;
                Ok(r.data())
            }
            Ok(None) => Err(MaskError::Truncated { path: path.clone() }),
            Err(e) => Err(map_err(path, e)),
        }
    }
}

/// Grey or palette rows of 1, 2, 4 or 8 bits: unpacked, values kept.
struct Packed {
    base: PngRows,
    bits: u8,
}

impl RowSource<u8> for Packed {
    fn read_rows(&mut self, out: &mut [u8], rows: usize) -> Result<(), MaskError> {
        let w = self.base.width as usize;
        let bits = self.bits;
        for dst in out.chunks_exact_mut(w).take(rows) {
            let src = self.base.next()?;
            if bits == 8 {
                dst.copy_from_slice(&src[..w]);
            } else {
                let per_byte = 8 / bits as usize;
                let mask = (1u8 << bits) - 1;
                for (x, d) in dst.iter_mut().enumerate() {
                    let byte = src[x / per_byte];
                    let shift = 8 - bits as usize * (x % per_byte + 1);
                    *d = (byte >> shift) & mask;
                }
            }
        }
        Ok(())
    }
}

/// 16-bit grey rows (big-endian in the PNG).
struct Grey16(PngRows);

impl RowSource<u16> for Grey16 {
    fn read_rows(&mut self, out: &mut [u16], rows: usize) -> Result<(), MaskError> {
        let w = self.0.width as usize;
        for dst in out.chunks_exact_mut(w).take(rows) {
            let src = self.0.next()?;
            for (d, s) in dst.iter_mut().zip(src.chunks_exact(2)) {
                *d = u16::from_be_bytes([s[0], s[1]]);
            }
        }
        Ok(())
    }
}

/// 8-bit RGB or RGBA rows mapped through a colour→label table (alpha ignored).
struct Rgb {
    base: PngRows,
    channels: usize,
    lookup: ColourLookup,
}

impl Rgb {
    fn fill<T: Sample>(
        &mut self,
        out: &mut [T],
        rows: usize,
        cast: impl Fn(u16) -> T,
    ) -> Result<(), MaskError> {
        let w = self.base.width as usize;
        for dst in out.chunks_exact_mut(w).take(rows) {
            let y = self.base.row;
            let ch = self.channels;
            let src = self.base.next()?;
            for (x, (d, s)) in dst.iter_mut().zip(src.chunks_exact(ch)).enumerate() {
                let rgb = [s[0], s[1], s[2]];
                match self.lookup.label(rgb) {
                    Some(l) => *d = cast(l),
                    None => {
                        return Err(MaskError::UnmappedColour {
                            path: self.base.path.clone(),
                            rgb,
                            x: x as u32,
                            y,
                        })
                    }
                }
            }
        }
        Ok(())
    }
}

impl RowSource<u8> for Rgb {
    fn read_rows(&mut self, out: &mut [u8], rows: usize) -> Result<(), MaskError> {
        // Only chosen when every label is ≤ 255.
        self.fill(out, rows, |l| l as u8)
    }
}

impl RowSource<u16> for Rgb {
    fn read_rows(&mut self, out: &mut [u16], rows: usize) -> Result<(), MaskError> {
        self.fill(out, rows, |l| l)
    }
}
