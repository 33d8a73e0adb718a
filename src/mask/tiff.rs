//! Streaming TIFF mask reader (first IFD, 8/16-bit grey or 8-bit palette, strips or tiles),
//! used to re-tile an existing mask.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use tiff::decoder::{Decoder, DecodingResult, Limits};
use tiff::tags::Tag;
use tiff::{ColorType, TiffError};

use super::{check_pixels, MaskError, MaskHeader, MaskOptions, MaskReader, RowSource};
use crate::pyramid::Sample;

fn map_err(path: &Path, e: TiffError) -> MaskError {
    let path = path.to_path_buf();
    match e {
        TiffError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            MaskError::Truncated { path }
        }
        TiffError::IoError(source) => MaskError::Io { path, source },
        TiffError::UnsupportedError(u) => MaskError::Unsupported {
            path,
            what: format!("unsupported TIFF feature: {u}"),
        },
        other => MaskError::Corrupt {
            path,
            detail: other.to_string(),
        },
    }
}

pub(super) fn open(path: &Path, opts: &MaskOptions) -> Result<(MaskHeader, MaskReader), MaskError> {
    let file = File::open(path).map_err(|source| MaskError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut limits = Limits::default();
    limits.decoding_buffer_size = 1 << 30;
    limits.intermediate_buffer_size = 1 << 30;
    let mut dec = Decoder::new(BufReader::with_capacity(1 << 20, file))
        .map_err(|e| map_err(path, e))?
        .with_limits(limits);
    let (width, height) = dec.dimensions().map_err(|e| map_err(path, e))?;
    check_pixels(path, width, height, opts.max_pixels)?;
    let ct = dec.colortype().map_err(|e| map_err(path, e))?;
    let fmt = dec
        .find_tag_unsigned::<u16>(Tag::SampleFormat)
        .ok()
        .flatten()
        .unwrap_or(1);
    if fmt != 1 {
        return Err(MaskError::Unsupported {
            path: path.to_path_buf(),
            what: format!("TIFF samples are not unsigned integers (SampleFormat {fmt})"),
        });
    }
    let palette = match ct {
        ColorType::Palette(_) => {
            let map = dec
                .get_tag_u16_vec(Tag::ColorMap)
                .map_err(|e| map_err(path, e))?;
            let n = map.len() / 3;
            Some(
                (0..n)
                    .map(|i| {
                        [
                            (map[i] >> 8) as u8,
                            (map[n + i] >> 8) as u8,
                            (map[2 * n + i] >> 8) as u8,
                        ]
                    })
                    .collect::<Vec<_>>(),
            )
        }
        _ => None,
    };
    let (cw, ch) = dec.chunk_dimensions();
    let across = width.div_ceil(cw.max(1));
    let rows = |bits: u8| TiffRows {
        path: path.to_path_buf(),
        dec,
        width,
        chunk: (cw, ch),
        across,
        next_chunk_row: 0,
        band_rows: 0,
        band_pos: 0,
        bits,
    };
    let tiled = if ch < height || cw < width {
        "tiled/strip"
    } else {
        "single-strip"
    };
    let header = |enc: String| MaskHeader {
        width,
        height,
        encoding: enc,
        palette: palette.clone(),
    };
    match ct {
        ColorType::Gray(8) => Ok((
            header(format!("8-bit grey TIFF ({tiled})")),
            MaskReader::U8(Box::new(Band::<u8>::new(rows(8)))),
        )),
        ColorType::Palette(8) => Ok((
            header(format!("8-bit palette TIFF ({tiled})")),
            MaskReader::U8(Box::new(Band::<u8>::new(rows(8)))),
        )),
        ColorType::Gray(16) => Ok((
            header(format!("16-bit grey TIFF ({tiled})")),
            MaskReader::U16(Box::new(Band::<u16>::new(rows(16)))),
        )),
        other => Err(MaskError::Unsupported {
            path: path.to_path_buf(),
            what: format!(
                "a TIFF mask must be one 8/16-bit grey or 8-bit palette channel, this one is {other:?}"
            ),
        }),
    }
}

struct TiffRows {
    path: PathBuf,
    dec: Decoder<BufReader<File>>,
    width: u32,
    chunk: (u32, u32),
    across: u32,
    next_chunk_row: u32,
    band_rows: usize,
    band_pos: usize,
    bits: u8,
}

/// Holds one row of strips/tiles at a time and serves rows from it.
struct Band<T> {
    rows: TiffRows,
    band: Vec<T>,
}

impl<T: Sample + FromDecoded> Band<T> {
    fn new(rows: TiffRows) -> Self {
        Band {
            rows,
            band: Vec::new(),
        }
    }

    fn load_next_band(&mut self) -> Result<(), MaskError> {
        let r = &mut self.rows;
        let (cw, ch) = r.chunk;
        let w = r.width as usize;
        let cr = r.next_chunk_row;
        self.band.clear();
        self.band.resize(w * ch as usize, T::default());
        let mut band_h = 0usize;
        for cx in 0..r.across {
            let idx = cr * r.across + cx;
            let decoded = r.dec.read_chunk(idx).map_err(|e| map_err(&r.path, e))?;
            let (dw, dh) = r.dec.chunk_data_dimensions(idx);
            let (dw, dh) = (dw as usize, dh as usize);
            let src = T::slice(&decoded).ok_or_else(|| MaskError::Corrupt {
                path: r.path.clone(),
                detail: format!("chunk {idx} did not decode to {}-bit samples", r.bits),
            })?;
            if src.len() < dw * dh {
                return Err(MaskError::Truncated {
                    path: r.path.clone(),
                });
            }
            let x0 = (cx * cw) as usize;
            let dw = dw.min(w - x0);
            for y in 0..dh {
                self.band[y * w + x0..y * w + x0 + dw].copy_from_slice(&src[y * dw..y * dw + dw]);
            }
            band_h = dh;
        }
        r.next_chunk_row += 1;
        r.band_rows = band_h;
        r.band_pos = 0;
        Ok(())
    }
}

impl<T: Sample + FromDecoded> RowSource<T> for Band<T> {
    fn read_rows(&mut self, out: &mut [T], rows: usize) -> Result<(), MaskError> {
        let w = self.rows.width as usize;
        for dst in out.chunks_exact_mut(w).take(rows) {
            if self.rows.band_pos >= self.rows.band_rows {
                self.load_next_band()?;
            }
            let p = self.rows.band_pos;
            dst.copy_from_slice(&self.band[p * w..(p + 1) * w]);
            self.rows.band_pos += 1;
        }
        Ok(())
    }
}

/// Views a decoded chunk as samples of this type.
trait FromDecoded: Sized {
    fn slice(d: &DecodingResult) -> Option<&[Self]>;
}

impl FromDecoded for u8 {
    fn slice(d: &DecodingResult) -> Option<&[u8]> {
        match d {
            DecodingResult::U8(v) => Some(v),
            _ => None,
        }
    }
}

impl FromDecoded for u16 {
    fn slice(d: &DecodingResult) -> Option<&[u16]> {
        match d {
            DecodingResult::U16(v) => Some(v),
            _ => None,
        }
    }
}
