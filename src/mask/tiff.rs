//! Streaming TIFF mask reader (first IFD, 8/16-bit grey or 8-bit palette, strips or tiles),
//! used to re-tile an existing mask; and the same reader for one channel of 32-bit float
//! samples (a probability map or heatmap, [`open_float`]), one row of strips or tiles at a time.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::limits::Limit;
use tiff::decoder::{Decoder, Limits};
use tiff::tags::Tag;
use tiff::{ColorType, TiffError};

use super::{
    check_pixels, AnyMask, FloatRows, MaskError, MaskHeader, MaskOptions, MaskReader, RowSource,
};
use crate::pyramid::Sample;

fn map_err(path: &Path, e: TiffError) -> MaskError {
    let path = path.to_path_buf();
    match e {
        TiffError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            // say where the structure runs past the end, when it does
            match crate::slide::ifd::tiff_damage(&path) {
                Some(damage) => MaskError::Damaged { path, damage },
                None => MaskError::Truncated { path },
            }
        }
        TiffError::IoError(source) => MaskError::Io { path, source },
        // a valid file beyond what the decoder may hold: not corrupt, over a limit
        TiffError::LimitsExceeded => MaskError::Limit {
            path,
            error: crate::limits::exceeded(
                crate::limits::Limit::ImageChunk,
                "a TIFF tag's values or chunk",
            ),
        },
        TiffError::UnsupportedError(u) => MaskError::Unsupported {
            path,
            what: format!("unsupported TIFF feature: {u}"),
        },
        other => MaskError::Decoder {
            path,
            decoder: other.to_string(),
        },
    }
}

/// Opens an integer label mask; a float TIFF is refused (see [`open_any`]).
pub(super) fn open(path: &Path, opts: &MaskOptions) -> Result<(MaskHeader, MaskReader), MaskError> {
    match open_any(path, opts)? {
        (h, AnyMask::Labels(r)) => Ok((h, r)),
        (_, AnyMask::Float(_)) => Err(MaskError::Unsupported {
            path: path.to_path_buf(),
            what: "TIFF samples are 32-bit floats (a probability map), not integer labels \
                   (h2g evaluate reads such a map at --threshold)"
                .into(),
        }),
    }
}

/// Opens an integer label mask or a one-channel 32-bit float TIFF.
pub(super) fn open_any(
    path: &Path,
    opts: &MaskOptions,
) -> Result<(MaskHeader, AnyMask), MaskError> {
    let file = File::open(path).map_err(|source| MaskError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let over = |error| MaskError::Limit {
        path: path.to_path_buf(),
        error,
    };
    let chunk_max = crate::limits::max(Limit::ImageChunk).map_err(over)?;
    let file_len = file
        .metadata()
        .map_err(|source| MaskError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    let mut limits = Limits::default();
    limits.decoding_buffer_size = chunk_max.min(usize::MAX as u64) as usize;
    limits.intermediate_buffer_size = chunk_max.min(usize::MAX as u64) as usize;
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
    let float = fmt == 3 && ct == ColorType::Gray(32);
    if fmt != 1 && !float {
        return Err(MaskError::Unsupported {
            path: path.to_path_buf(),
            what: format!(
                "TIFF samples are neither unsigned integers nor one channel of 32-bit floats \
                 (SampleFormat {fmt}, {ct:?})"
            ),
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
    let layout = ChunkLayout::read(path, &mut dec, width, height, float)?;
    // what one chunk and one row of them decode to, before either is allocated
    let bytes = match ct {
        ColorType::Gray(32) => 4,
        ColorType::Gray(16) => 2,
        _ => 1,
    };
    let (kind, coded) = match layout.tiled {
        true => ("tile", ch as u64),
        false => ("strip", (ch as u64).min(height as u64)),
    };
    crate::limits::check(
        Limit::ImageChunk,
        &format!("a {cw} × {coded} TIFF {kind}"),
        cw as u64 * coded * bytes,
    )
    .map_err(over)?;
    crate::limits::check(
        Limit::ImageChunk,
        &format!("a row of {kind}s, {width} × {coded} pixels,"),
        width as u64 * coded * bytes,
    )
    .map_err(over)?;
    let tiled = match dec.get_chunk_type() {
        tiff::decoder::ChunkType::Tile => format!("{cw}×{ch} tiles"),
        _ => format!("strips of {ch} rows"),
    };
    let file = File::open(path).map_err(|source| MaskError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let rows = |bits: u8| TiffRows {
        path: path.to_path_buf(),
        file: BufReader::with_capacity(1 << 20, file),
        file_len,
        layout,
        width,
        height,
        chunk: (cw, ch),
        across,
        next_chunk_row: 0,
        band_rows: 0,
        band_pos: 0,
        bits,
        raw: Vec::new(),
        decoded: Vec::new(),
    };
    let header = |enc: String| MaskHeader {
        width,
        height,
        encoding: enc,
        palette: palette.clone(),
    };
    let labels = |r: MaskReader| AnyMask::Labels(r);
    match ct {
        ColorType::Gray(32) if float => Ok((
            header(format!("32-bit float grey TIFF ({tiled})")),
            AnyMask::Float(Box::new(Band::<f32>::new(rows(32)))),
        )),
        ColorType::Gray(8) => Ok((
            header(format!("8-bit grey TIFF ({tiled})")),
            labels(MaskReader::U8(Box::new(Band::<u8>::new(rows(8))))),
        )),
        ColorType::Palette(8) => Ok((
            header(format!("8-bit palette TIFF ({tiled})")),
            labels(MaskReader::U8(Box::new(Band::<u8>::new(rows(8))))),
        )),
        ColorType::Gray(16) => Ok((
            header(format!("16-bit grey TIFF ({tiled})")),
            labels(MaskReader::U16(Box::new(Band::<u16>::new(rows(16))))),
        )),
        other => Err(MaskError::Unsupported {
            path: path.to_path_buf(),
            what: format!(
                "a TIFF mask must be one 8/16-bit grey or 8-bit palette channel, this one is {other:?}"
            ),
        }),
    }
}

/// Where the chunks are and how they are encoded (read from the IFD with the `tiff` crate).
///
/// Chunks are decoded here rather than by the `tiff` crate: its row-wise reading of right-edge
/// tiles fails on many valid LZW files (libvips' tiled masks among them) with "no lzw end code
/// found". Decoding whole chunks with weezl, filling exactly the expected size, reads them all.
struct ChunkLayout {
    offsets: Vec<u64>,
    counts: Vec<u64>,
    compression: u16,
    predictor: u16,
    big_endian: bool,
    tiled: bool,
}

impl ChunkLayout {
    fn read(
        path: &Path,
        dec: &mut Decoder<BufReader<File>>,
        width: u32,
        height: u32,
        float: bool,
    ) -> Result<Self, MaskError> {
        let unsupported = |what: String| MaskError::Unsupported {
            path: path.to_path_buf(),
            what,
        };
        let tiled = matches!(dec.get_chunk_type(), tiff::decoder::ChunkType::Tile);
        let (off_tag, cnt_tag) = if tiled {
            (Tag::TileOffsets, Tag::TileByteCounts)
        } else {
            (Tag::StripOffsets, Tag::StripByteCounts)
        };
        let offsets = dec.get_tag_u64_vec(off_tag).map_err(|e| map_err(path, e))?;
        let counts = dec.get_tag_u64_vec(cnt_tag).map_err(|e| map_err(path, e))?;
        let compression = dec
            .find_tag_unsigned::<u16>(Tag::Compression)
            .map_err(|e| map_err(path, e))?
            .unwrap_or(1);
        let predictor = dec
            .find_tag_unsigned::<u16>(Tag::Predictor)
            .map_err(|e| map_err(path, e))?
            .unwrap_or(1);
        let planar = dec
            .find_tag_unsigned::<u16>(Tag::PlanarConfiguration)
            .map_err(|e| map_err(path, e))?
            .unwrap_or(1);
        if !matches!(compression, 1 | 5 | 8 | 32946 | 32773) {
            return Err(unsupported(format!(
                "TIFF compression {compression} (a mask must be stored losslessly: none, LZW, Deflate or PackBits)"
            )));
        }
        if float && !matches!(predictor, 1 | 3) {
            return Err(unsupported(format!(
                "TIFF predictor {predictor} on 32-bit float samples (none or floating point, 3, expected)"
            )));
        }
        if !float && !matches!(predictor, 1 | 2) {
            return Err(unsupported(format!(
                "TIFF predictor {predictor} (floating point) on an integer mask"
            )));
        }
        if planar != 1 {
            return Err(unsupported("separate colour planes".into()));
        }
        let (cw, ch) = dec.chunk_dimensions();
        let want = width.div_ceil(cw.max(1)) as usize * height.div_ceil(ch.max(1)) as usize;
        if offsets.len() < want || counts.len() < want {
            return Err(MaskError::MissingChunks {
                path: path.to_path_buf(),
                have: offsets.len().min(counts.len()),
                want,
            });
        }
        Ok(ChunkLayout {
            offsets,
            counts,
            compression,
            predictor,
            big_endian: dec.byte_order() == tiff::tags::ByteOrder::BigEndian,
            tiled,
        })
    }
}

struct TiffRows {
    path: PathBuf,
    file: BufReader<File>,
    /// The file's length: no chunk is read past it.
    file_len: u64,
    layout: ChunkLayout,
    width: u32,
    height: u32,
    chunk: (u32, u32),
    across: u32,
    next_chunk_row: u32,
    band_rows: usize,
    band_pos: usize,
    bits: u8,
    raw: Vec<u8>,
    decoded: Vec<u8>,
}

impl TiffRows {
    /// Decodes chunk `idx` into `self.decoded`: `stride × rows` samples as bytes, where
    /// `stride` is the chunk width (tiles are stored padded to full size).
    fn decode_chunk(&mut self, idx: usize, rows: usize) -> Result<usize, MaskError> {
        let bps = self.bits as usize / 8;
        let stride = self.chunk.0 as usize;
        let expected = stride * rows * bps;
        let (off, len) = (self.layout.offsets[idx], self.layout.counts[idx] as usize);
        self.decoded.clear();
        self.decoded.resize(expected, 0);
        if len == 0 {
            return Ok(stride); // a sparse (never written) chunk reads as background
        }
        let truncated = || MaskError::Truncated {
            path: self.path.clone(),
        };
        if off
            .checked_add(len as u64)
            .is_none_or(|end| end > self.file_len)
        {
            return Err(truncated());
        }
        self.raw.resize(len, 0);
        self.file
            .seek(SeekFrom::Start(off))
            .map_err(|_| truncated())?;
        self.file
            .read_exact(&mut self.raw)
            .map_err(|_| truncated())?;
        let bad = |codec: &'static str, decoder: String| MaskError::BadChunk {
            path: self.path.clone(),
            chunk: idx,
            codec,
            decoder,
        };
        let short = |codec: &'static str, got: usize| MaskError::ShortChunk {
            path: self.path.clone(),
            chunk: idx,
            codec,
            got,
            expected,
        };
        match self.layout.compression {
            1 => {
                if len < expected {
                    return Err(truncated());
                }
                self.decoded.copy_from_slice(&self.raw[..expected]);
            }
            5 => {
                let mut d = weezl::decode::Decoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8);
                let (mut inp, mut filled) = (&self.raw[..], 0);
                while filled < expected {
                    let r = d.decode_bytes(inp, &mut self.decoded[filled..]);
                    inp = &inp[r.consumed_in..];
                    filled += r.consumed_out;
                    match r.status {
                        Ok(weezl::LzwStatus::Ok) if r.consumed_in + r.consumed_out > 0 => {}
                        Ok(_) => break,
                        Err(e) => return Err(bad("LZW", e.to_string())),
                    }
                }
                if filled < expected {
                    return Err(short("LZW", filled));
                }
            }
            8 | 32946 => {
                let mut z = flate2::read::ZlibDecoder::new(&self.raw[..]);
                z.read_exact(&mut self.decoded)
                    .map_err(|e| bad("Deflate", e.to_string()))?;
            }
            _ => {
                // PackBits
                let (mut i, mut o) = (0usize, 0usize);
                while o < expected && i < len {
                    let n = self.raw[i] as i8;
                    i += 1;
                    if n >= 0 {
                        let k = (n as usize + 1)
                            .min(expected - o)
                            .min(len.saturating_sub(i));
                        self.decoded[o..o + k].copy_from_slice(&self.raw[i..i + k]);
                        i += n as usize + 1;
                        o += k;
                    } else if n != -128 {
                        let k = (1 - n as isize) as usize;
                        let v = *self.raw.get(i).ok_or_else(truncated)?;
                        let k = k.min(expected - o);
                        self.decoded[o..o + k].fill(v);
                        i += 1;
                        o += k;
                    }
                }
                if o < expected {
                    return Err(short("PackBits", o));
                }
            }
        }
        Ok(stride)
    }
}

/// Holds one row of strips/tiles at a time and serves rows from it.
struct Band<T> {
    rows: TiffRows,
    band: Vec<T>,
}

impl<T: Raw> Band<T> {
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
        let band_h = (ch as usize).min(r.height as usize - (cr * ch) as usize);
        // tiles are stored at full height; strips only hold the image's remaining rows
        let coded_rows = if r.layout.tiled { ch as usize } else { band_h };
        self.band.clear();
        self.band.resize(w * band_h, T::default());
        let mut samples: Vec<T> = Vec::new();
        for cx in 0..r.across {
            let idx = (cr * r.across + cx) as usize;
            let stride = r.decode_chunk(idx, coded_rows)?;
            if r.layout.predictor == 3 {
                // floating point predictor: bytes differenced along the row, then stored as
                // byte planes, most significant first, whatever the file's byte order
                T::from_planes(&mut r.decoded, stride, &mut samples);
            } else {
                T::from_bytes(&r.decoded, r.layout.big_endian, &mut samples);
            }
            if r.layout.predictor == 2 {
                for row in samples.chunks_mut(stride) {
                    for i in 1..row.len() {
                        row[i] = row[i].wrapping_add_sample(row[i - 1]);
                    }
                }
            }
            let x0 = (cx * cw) as usize;
            let dw = (cw as usize).min(w - x0);
            for y in 0..band_h {
                self.band[y * w + x0..y * w + x0 + dw]
                    .copy_from_slice(&samples[y * stride..y * stride + dw]);
            }
        }
        r.next_chunk_row += 1;
        r.band_rows = band_h;
        r.band_pos = 0;
        Ok(())
    }
}

impl<T: Raw> Band<T> {
    fn rows_into(&mut self, out: &mut [T], rows: usize) -> Result<(), MaskError> {
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

impl<T: Sample + Raw> RowSource<T> for Band<T> {
    fn read_rows(&mut self, out: &mut [T], rows: usize) -> Result<(), MaskError> {
        self.rows_into(out, rows)
    }
}

impl FloatRows for Band<f32> {
    fn read_rows(&mut self, out: &mut [f32], rows: usize) -> Result<(), MaskError> {
        self.rows_into(out, rows)
    }
}

/// Samples from a chunk's decoded bytes.
trait Raw: Sized + Copy + Default + Send + 'static {
    fn from_bytes(bytes: &[u8], big_endian: bool, out: &mut Vec<Self>);
    /// Horizontal differencing undone (predictor 2; integers only, refused for floats).
    fn wrapping_add_sample(self, other: Self) -> Self;
    /// Samples of a chunk stored with the floating point predictor (3): per row of `stride`
    /// samples, the bytes are accumulated along the row, then sample `i` is made of byte `i` of
    /// each plane (most significant plane first). Only float layouts allow predictor 3.
    fn from_planes(bytes: &mut [u8], stride: usize, out: &mut Vec<Self>) {
        let _ = (bytes, stride);
        out.clear();
    }
}

impl Raw for u8 {
    fn from_bytes(bytes: &[u8], _: bool, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(bytes);
    }
    fn wrapping_add_sample(self, other: u8) -> u8 {
        self.wrapping_add(other)
    }
}

impl Raw for u16 {
    fn from_bytes(bytes: &[u8], big_endian: bool, out: &mut Vec<u16>) {
        out.clear();
        out.extend(bytes.chunks_exact(2).map(|b| {
            if big_endian {
                u16::from_be_bytes([b[0], b[1]])
            } else {
                u16::from_le_bytes([b[0], b[1]])
            }
        }));
    }
    fn wrapping_add_sample(self, other: u16) -> u16 {
        self.wrapping_add(other)
    }
}

impl Raw for f32 {
    fn from_bytes(bytes: &[u8], big_endian: bool, out: &mut Vec<f32>) {
        out.clear();
        out.extend(bytes.chunks_exact(4).map(|b| {
            let b = [b[0], b[1], b[2], b[3]];
            if big_endian {
                f32::from_be_bytes(b)
            } else {
                f32::from_le_bytes(b)
            }
        }));
    }
    fn wrapping_add_sample(self, _other: f32) -> f32 {
        // predictor 2 is refused on float samples before any chunk is decoded
        self
    }
    fn from_planes(bytes: &mut [u8], stride: usize, out: &mut Vec<f32>) {
        out.clear();
        for row in bytes.chunks_exact_mut(stride * 4) {
            for i in 1..row.len() {
                row[i] = row[i].wrapping_add(row[i - 1]);
            }
            out.extend((0..stride).map(|i| {
                f32::from_be_bytes([
                    row[i],
                    row[stride + i],
                    row[2 * stride + i],
                    row[3 * stride + i],
                ])
            }));
        }
    }
}
