//! Tile compressors: LZW (TIFF flavour), Deflate and none, with a cache for uniform tiles.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use super::CompressionTag;

/// Compression of the output tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// TIFF LZW (code 5), the format the H2G-Net authors used.
    #[default]
    Lzw,
    /// Adobe Deflate (code 8) at the given zlib level (0–9).
    Deflate(u32),
    /// Uncompressed (code 1).
    None,
}

impl Compression {
    /// The value of the TIFF Compression tag.
    pub fn tag(self) -> CompressionTag {
        match self {
            Compression::Lzw => CompressionTag::Lzw,
            Compression::Deflate(_) => CompressionTag::Deflate,
            Compression::None => CompressionTag::None,
        }
    }
}

/// Bytes appended after each LZW stream's end-of-information code.
///
/// Decoders stop at that code, so they are never read as data. They are there for the `tiff`
/// crate (0.11, on weezl 0.1): it reads right-edge tiles row by row, and when weezl's bit
/// reader has already taken the last input bytes, the final read returns `NoProgress`, which
/// the crate reports as "no lzw end code found" although the data is complete. With input
/// left over, the final read succeeds. libtiff, tifffile and vips ignore the tail.
pub const LZW_TAIL: usize = 16;

/// Compressed bytes of uniform tiles, by (raw length, value).
type UniformCache = HashMap<(usize, u64), Arc<Vec<u8>>>;

/// Compresses whole tiles; shareable between threads.
///
/// Label masks are mostly made of tiles of one value (background, tumour interior). Those
/// are compressed once per value and the bytes reused, which is where most of the time of a
/// naive writer goes.
#[derive(Debug)]
pub struct TileCompressor {
    compression: Compression,
    uniform: Mutex<UniformCache>,
}

impl TileCompressor {
    /// A compressor for `compression`.
    pub fn new(compression: Compression) -> Self {
        TileCompressor {
            compression,
            uniform: Mutex::new(HashMap::new()),
        }
    }

    /// Compresses a tile given as raw little-endian sample bytes.
    pub fn compress(&self, raw: &[u8]) -> Arc<Vec<u8>> {
        Arc::new(self.compress_raw(raw))
    }

    /// Compresses a tile whose samples all equal `value`, building its `len` raw bytes with
    /// `make` only the first time this (value, length) pair is seen.
    pub fn compress_uniform(
        &self,
        value: u64,
        len: usize,
        make: impl FnOnce() -> Vec<u8>,
    ) -> Arc<Vec<u8>> {
        let key = (len, value);
        if let Some(hit) = self.uniform.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return hit;
        }
        let bytes = Arc::new(self.compress_raw(&make()));
        if let Ok(mut m) = self.uniform.lock() {
            m.insert(key, bytes.clone());
        }
        bytes
    }

    fn compress_raw(&self, raw: &[u8]) -> Vec<u8> {
        match self.compression {
            Compression::None => raw.to_vec(),
            Compression::Lzw => {
                let mut enc =
                    weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8);
                // Encoding from memory into memory cannot fail.
                let mut out = enc.encode(raw).unwrap_or_default();
                out.extend_from_slice(&[0; LZW_TAIL]);
                out
            }
            Compression::Deflate(level) => {
                let mut enc = flate2::write::ZlibEncoder::new(
                    Vec::with_capacity(raw.len() / 8),
                    flate2::Compression::new(level.min(9)),
                );
                // Writing into a Vec cannot fail.
                let _ = enc.write_all(raw);
                enc.finish().unwrap_or_default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lzw_decode(bytes: &[u8]) -> Vec<u8> {
        let mut d = weezl::decode::Decoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8);
        d.decode(&bytes[..bytes.len() - LZW_TAIL])
            .expect("valid TIFF LZW with an end code")
    }

    #[test]
    fn lzw_tiles_round_trip_through_a_strict_decoder() {
        let c = TileCompressor::new(Compression::Lzw);
        for n in [1usize, 256, 4096, 65536] {
            let raw: Vec<u8> = (0..n).map(|i| ((i * 7919) >> 5) as u8 % 4).collect();
            assert_eq!(lzw_decode(&c.compress(&raw)), raw, "{n} bytes");
        }
        let uni = c.compress_uniform(3, 1024, || vec![3u8; 1024]);
        assert_eq!(lzw_decode(&uni), vec![3u8; 1024]);
    }
}
