//! A streaming writer for tiled, pyramidal TIFF files whose levels sit in the main IFD chain.
//!
//! Tiles of every level can be written in any order, interleaved across levels, as soon as
//! they are ready; the image file directories are written once at the end. The first 16 bytes
//! of the file are reserved, so the choice between classic TIFF and BigTIFF is made from the
//! real offsets when the file is finished rather than guessed up front.

use std::io::{Seek, SeekFrom, Write};

use super::TiffError;

/// TIFF tag numbers this writer emits (baseline TIFF 6.0 unless noted).
mod tag {
    pub const NEW_SUBFILE_TYPE: u16 = 254;
    pub const IMAGE_WIDTH: u16 = 256;
    pub const IMAGE_LENGTH: u16 = 257;
    pub const BITS_PER_SAMPLE: u16 = 258;
    pub const COMPRESSION: u16 = 259;
    pub const PHOTOMETRIC: u16 = 262;
    pub const SAMPLES_PER_PIXEL: u16 = 277;
    pub const X_RESOLUTION: u16 = 282;
    pub const Y_RESOLUTION: u16 = 283;
    pub const PLANAR_CONFIGURATION: u16 = 284;
    pub const RESOLUTION_UNIT: u16 = 296;
    pub const SOFTWARE: u16 = 305;
    pub const COLOR_MAP: u16 = 320;
    pub const TILE_WIDTH: u16 = 322;
    pub const TILE_LENGTH: u16 = 323;
    pub const TILE_OFFSETS: u16 = 324;
    pub const TILE_BYTE_COUNTS: u16 = 325;
    pub const SAMPLE_FORMAT: u16 = 339;
}

/// TIFF field types used here.
mod ty {
    pub const ASCII: u16 = 2;
    pub const SHORT: u16 = 3;
    pub const LONG: u16 = 4;
    pub const RATIONAL: u16 = 5;
    pub const LONG8: u16 = 16;
}

/// How the writer chooses between classic TIFF (32-bit offsets) and BigTIFF (64-bit offsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BigTiffMode {
    /// Classic TIFF unless some offset would not fit in 32 bits.
    #[default]
    Auto,
    /// Always BigTIFF.
    Always,
    /// Always classic TIFF; finishing fails if the file passes 4 GiB.
    Never,
}

/// Compression scheme recorded in the Compression tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompressionTag {
    /// 1: no compression.
    None,
    /// 5: LZW.
    Lzw,
    /// 8: Adobe Deflate (zlib).
    Deflate,
}

impl CompressionTag {
    fn code(self) -> u16 {
        match self {
            CompressionTag::None => 1,
            CompressionTag::Lzw => 5,
            CompressionTag::Deflate => 8,
        }
    }
}

/// Geometry and metadata shared by every level of the pyramid.
#[derive(Debug, Clone)]
pub struct PyramidLayout {
    /// Width and height of each level, level 0 first.
    pub levels: Vec<(u32, u32)>,
    /// Tile width and height (a multiple of 16, as TIFF requires).
    pub tile: u32,
    /// 8 or 16.
    pub bits_per_sample: u16,
    /// Compression recorded in every IFD.
    pub compression: CompressionTag,
    /// A palette (`3 · 2^bits` values, all reds, then greens, then blues, 16-bit each); when set
    /// the photometric interpretation is Palette, else MinIsBlack.
    pub colormap: Option<Vec<u16>>,
    /// Level-0 pixel size in micrometres (x, y); each level's resolution tags follow from its size.
    pub mpp: Option<(f64, f64)>,
    /// Written into the Software tag.
    pub software: String,
}

impl PyramidLayout {
    /// Number of tiles across and down at `level`.
    pub fn tile_grid(&self, level: usize) -> (u32, u32) {
        let (w, h) = self.levels[level];
        (w.div_ceil(self.tile), h.div_ceil(self.tile))
    }
}

#[derive(Debug, Default, Clone)]
struct LevelTiles {
    offsets: Vec<u64>,
    counts: Vec<u64>,
}

/// Writes a tiled pyramidal TIFF; see the module documentation.
#[derive(Debug)]
pub struct PyramidWriter<W: Write + Seek> {
    out: W,
    pos: u64,
    layout: PyramidLayout,
    tiles: Vec<LevelTiles>,
}

/// What [`PyramidWriter::finish`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    /// Whether the file is BigTIFF.
    pub bigtiff: bool,
    /// Final file size in bytes.
    pub bytes: u64,
}

const HEADER_RESERVED: u64 = 16;

impl<W: Write + Seek> PyramidWriter<W> {
    /// Starts a file: validates the layout and reserves room for the header.
    pub fn new(mut out: W, layout: PyramidLayout) -> Result<Self, TiffError> {
        if layout.tile == 0 || !layout.tile.is_multiple_of(16) {
            return Err(TiffError::BadTileSize(layout.tile));
        }
        if layout.levels.is_empty() || layout.levels.iter().any(|&(w, h)| w == 0 || h == 0) {
            return Err(TiffError::EmptyImage);
        }
        if !matches!(layout.bits_per_sample, 8 | 16) {
            return Err(TiffError::BitsPerSample(layout.bits_per_sample));
        }
        if let Some(map) = &layout.colormap {
            let want = 3usize << layout.bits_per_sample;
            if map.len() != want {
                return Err(TiffError::ColourMap {
                    entries: map.len(),
                    need: want,
                });
            }
        }
        out.seek(SeekFrom::Start(0))?;
        out.write_all(&[0u8; HEADER_RESERVED as usize])?;
        let tiles = (0..layout.levels.len())
            .map(|l| {
                let (a, d) = layout.tile_grid(l);
                let n = a as usize * d as usize;
                LevelTiles {
                    offsets: vec![0; n],
                    counts: vec![0; n],
                }
            })
            .collect();
        Ok(PyramidWriter {
            out,
            pos: HEADER_RESERVED,
            layout,
            tiles,
        })
    }

    /// The layout this writer was created with.
    pub fn layout(&self) -> &PyramidLayout {
        &self.layout
    }

    /// Appends the compressed bytes of tile `(tx, ty)` of `level`.
    pub fn write_tile(
        &mut self,
        level: usize,
        tx: u32,
        ty: u32,
        data: &[u8],
    ) -> Result<(), TiffError> {
        let (across, down) = self.layout.tile_grid(level);
        if tx >= across || ty >= down {
            return Err(TiffError::TileOutOfRange { level, tx, ty });
        }
        let i = ty as usize * across as usize + tx as usize;
        let t = &mut self.tiles[level];
        if t.counts[i] != 0 {
            return Err(TiffError::TileWrittenTwice { level, tx, ty });
        }
        if data.is_empty() {
            return Err(TiffError::EmptyTile { level, tx, ty });
        }
        // Word-align each tile's data as TIFF recommends.
        if self.pos % 2 == 1 {
            self.out.write_all(&[0])?;
            self.pos += 1;
        }
        self.out.write_all(data)?;
        t.offsets[i] = self.pos;
        t.counts[i] = data.len() as u64;
        self.pos += data.len() as u64;
        Ok(())
    }

    /// Writes every IFD and the header; checks that every tile was written.
    pub fn finish(mut self, mode: BigTiffMode) -> Result<(W, Finished), TiffError> {
        for (level, t) in self.tiles.iter().enumerate() {
            if let Some(i) = t.counts.iter().position(|&c| c == 0) {
                let across = self.layout.tile_grid(level).0 as usize;
                return Err(TiffError::MissingTile {
                    level,
                    tx: (i % across) as u32,
                    ty: (i / across) as u32,
                });
            }
        }
        let classic_fits = self.classic_end_estimate() <= u32::MAX as u64;
        let big = match mode {
            BigTiffMode::Always => true,
            BigTiffMode::Never if !classic_fits => return Err(TiffError::NeedsBigTiff),
            BigTiffMode::Never => false,
            BigTiffMode::Auto => !classic_fits,
        };
        let mut next_ifd_links: Vec<u64> = Vec::new(); // position of each IFD's "next" field
        let mut ifd_starts: Vec<u64> = Vec::new();
        for level in 0..self.layout.levels.len() {
            let (start, link) = self.write_ifd(level, big)?;
            ifd_starts.push(start);
            next_ifd_links.push(link);
        }
        // Chain the IFDs, then write the header pointing at the first one.
        for (i, &link) in next_ifd_links.iter().enumerate() {
            let next = ifd_starts.get(i + 1).copied().unwrap_or(0);
            self.out.seek(SeekFrom::Start(link))?;
            if big {
                self.out.write_all(&next.to_le_bytes())?;
            } else {
                self.out.write_all(&(next as u32).to_le_bytes())?;
            }
        }
        self.out.seek(SeekFrom::Start(0))?;
        if big {
            let mut h = Vec::with_capacity(16);
            h.extend_from_slice(b"II");
            h.extend_from_slice(&43u16.to_le_bytes());
            h.extend_from_slice(&8u16.to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            h.extend_from_slice(&ifd_starts[0].to_le_bytes());
            self.out.write_all(&h)?;
        } else {
            let mut h = Vec::with_capacity(8);
            h.extend_from_slice(b"II");
            h.extend_from_slice(&42u16.to_le_bytes());
            h.extend_from_slice(&(ifd_starts[0] as u32).to_le_bytes());
            self.out.write_all(&h)?;
        }
        self.out.seek(SeekFrom::Start(self.pos))?;
        self.out.flush()?;
        Ok((
            self.out,
            Finished {
                bigtiff: big,
                bytes: self.pos,
            },
        ))
    }

    /// An upper bound of the file's end if written as classic TIFF (tile data plus IFDs).
    fn classic_end_estimate(&self) -> u64 {
        let mut end = self.pos;
        for t in &self.tiles {
            // entries + out-of-line arrays (offsets, counts) + rationals, colour map, software
            end += 2 + 20 * 12 + 4 + 8 * t.offsets.len() as u64 + 16 + 2;
            end += self
                .layout
                .colormap
                .as_ref()
                .map_or(0, |m| 2 * m.len() as u64);
            end += self.layout.software.len() as u64 + 2;
        }
        end
    }

    /// Writes the out-of-line values and the IFD of `level`; returns the IFD's start and the
    /// position of its next-IFD field.
    fn write_ifd(&mut self, level: usize, big: bool) -> Result<(u64, u64), TiffError> {
        let (w, h) = self.layout.levels[level];
        let (w0, h0) = self.layout.levels[0];
        let mut entries: Vec<Entry> = Vec::new();
        let short = |t: u16, v: u16| Entry::new(t, ty::SHORT, 1, v.to_le_bytes().to_vec());
        let long = |t: u16, v: u32| Entry::new(t, ty::LONG, 1, v.to_le_bytes().to_vec());
        entries.push(long(tag::NEW_SUBFILE_TYPE, u32::from(level > 0)));
        entries.push(long(tag::IMAGE_WIDTH, w));
        entries.push(long(tag::IMAGE_LENGTH, h));
        entries.push(short(tag::BITS_PER_SAMPLE, self.layout.bits_per_sample));
        entries.push(short(tag::COMPRESSION, self.layout.compression.code()));
        let photometric = if self.layout.colormap.is_some() { 3 } else { 1 };
        entries.push(short(tag::PHOTOMETRIC, photometric));
        entries.push(short(tag::SAMPLES_PER_PIXEL, 1));
        if let Some((mx, my)) = self.layout.mpp {
            // Pixels per centimetre at this level: level 0's, scaled by this level's size.
            let px = 10_000.0 / mx * w as f64 / w0 as f64;
            let py = 10_000.0 / my * h as f64 / h0 as f64;
            entries.push(Entry::new(tag::X_RESOLUTION, ty::RATIONAL, 1, rational(px)));
            entries.push(Entry::new(tag::Y_RESOLUTION, ty::RATIONAL, 1, rational(py)));
        }
        entries.push(short(tag::PLANAR_CONFIGURATION, 1));
        if self.layout.mpp.is_some() {
            entries.push(short(tag::RESOLUTION_UNIT, 3));
        }
        let mut sw = self.layout.software.clone().into_bytes();
        sw.push(0);
        entries.push(Entry::new(tag::SOFTWARE, ty::ASCII, sw.len() as u64, sw));
        if let Some(map) = &self.layout.colormap {
            let bytes: Vec<u8> = map.iter().flat_map(|v| v.to_le_bytes()).collect();
            entries.push(Entry::new(
                tag::COLOR_MAP,
                ty::SHORT,
                map.len() as u64,
                bytes,
            ));
        }
        entries.push(long(tag::TILE_WIDTH, self.layout.tile));
        entries.push(long(tag::TILE_LENGTH, self.layout.tile));
        let t = &self.tiles[level];
        let n = t.offsets.len() as u64;
        let (off_bytes, cnt_bytes, off_ty) = if big {
            (
                t.offsets
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect::<Vec<u8>>(),
                t.counts
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect::<Vec<u8>>(),
                ty::LONG8,
            )
        } else {
            (
                t.offsets
                    .iter()
                    .flat_map(|&v| (v as u32).to_le_bytes())
                    .collect(),
                t.counts
                    .iter()
                    .flat_map(|&v| (v as u32).to_le_bytes())
                    .collect(),
                ty::LONG,
            )
        };
        entries.push(Entry::new(tag::TILE_OFFSETS, off_ty, n, off_bytes));
        entries.push(Entry::new(tag::TILE_BYTE_COUNTS, off_ty, n, cnt_bytes));
        entries.push(short(tag::SAMPLE_FORMAT, 1));
        entries.sort_by_key(|e| e.tag);

        // Out-of-line values first (those that do not fit in the entry's value field).
        let inline_room = if big { 8 } else { 4 };
        for e in &mut entries {
            if e.bytes.len() > inline_room {
                if self.pos % 2 == 1 {
                    self.out.write_all(&[0])?;
                    self.pos += 1;
                }
                e.offset = Some(self.pos);
                self.out.write_all(&e.bytes)?;
                self.pos += e.bytes.len() as u64;
            }
        }
        if self.pos % 2 == 1 {
            self.out.write_all(&[0])?;
            self.pos += 1;
        }
        let start = self.pos;
        let mut ifd = Vec::new();
        if big {
            ifd.extend_from_slice(&(entries.len() as u64).to_le_bytes());
        } else {
            ifd.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        }
        for e in &entries {
            ifd.extend_from_slice(&e.tag.to_le_bytes());
            ifd.extend_from_slice(&e.ty.to_le_bytes());
            let mut field = match e.offset {
                Some(off) if big => off.to_le_bytes().to_vec(),
                Some(off) => (off as u32).to_le_bytes().to_vec(),
                None => e.bytes.clone(),
            };
            field.resize(inline_room, 0);
            if big {
                ifd.extend_from_slice(&e.count.to_le_bytes());
            } else {
                ifd.extend_from_slice(&(e.count as u32).to_le_bytes());
            }
            ifd.extend_from_slice(&field);
        }
        let link = start + ifd.len() as u64;
        ifd.extend_from_slice(&vec![0u8; inline_room]);
        self.out.write_all(&ifd)?;
        self.pos += ifd.len() as u64;
        if !big && self.pos > u32::MAX as u64 {
            return Err(TiffError::NeedsBigTiff);
        }
        Ok((start, link))
    }
}

/// One IFD entry before layout: its value bytes and, once written, their offset.
struct Entry {
    tag: u16,
    ty: u16,
    count: u64,
    bytes: Vec<u8>,
    offset: Option<u64>,
}

impl Entry {
    /// An entry whose value bytes are placed inline or out of line when the IFD is laid out.
    fn new(tag: u16, ty: u16, count: u64, bytes: Vec<u8>) -> Entry {
        Entry {
            tag,
            ty,
            count,
            bytes,
            offset: None,
        }
    }
}

/// A RATIONAL (two u32) close to `v`, with a denominator that keeps 4 decimals.
fn rational(v: f64) -> Vec<u8> {
    let den: u32 = if v < 400_000.0 { 10_000 } else { 1 };
    let num = (v * den as f64).round().clamp(0.0, u32::MAX as f64) as u32;
    let mut b = num.to_le_bytes().to_vec();
    b.extend_from_slice(&den.to_le_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::io;

    /// A sparse file in memory: only written ranges are stored.
    #[derive(Default)]
    struct Sparse {
        pos: u64,
        chunks: BTreeMap<u64, Vec<u8>>,
    }

    impl Write for Sparse {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.chunks.insert(self.pos, buf.to_vec());
            self.pos += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Seek for Sparse {
        fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
            self.pos = match to {
                SeekFrom::Start(p) => p,
                SeekFrom::Current(d) => self.pos.wrapping_add_signed(d),
                SeekFrom::End(_) => return Err(io::Error::other("unsupported")),
            };
            Ok(self.pos)
        }
    }

    impl Sparse {
        fn read(&self, at: u64, n: usize) -> Vec<u8> {
            (0..n as u64)
                .map(|i| {
                    let p = at + i;
                    self.chunks
                        .range(..=p)
                        .rev()
                        .find_map(|(s, b)| b.get((p - s) as usize).copied())
                        .unwrap_or(0)
                })
                .collect()
        }
    }

    fn layout() -> PyramidLayout {
        PyramidLayout {
            levels: vec![(32, 16), (16, 8)],
            tile: 16,
            bits_per_sample: 8,
            compression: CompressionTag::None,
            colormap: None,
            mpp: None,
            software: "test".into(),
        }
    }

    /// Writes the three tiles with 4.5 GiB of (unwritten) data between the first two.
    fn write_past_4gib() -> PyramidWriter<Sparse> {
        let mut w = PyramidWriter::new(Sparse::default(), layout()).unwrap();
        let tile = vec![7u8; 256];
        w.write_tile(0, 0, 0, &tile).unwrap();
        w.pos += 9 << 29; // as if 4.5 GiB of other tiles had been written
        w.out.seek(SeekFrom::Start(w.pos)).unwrap();
        w.write_tile(0, 1, 0, &tile).unwrap();
        w.write_tile(1, 0, 0, &tile).unwrap();
        w
    }

    #[test]
    fn auto_switches_to_bigtiff_when_offsets_pass_4_gib() {
        let (out, fin) = write_past_4gib().finish(BigTiffMode::Auto).unwrap();
        assert!(fin.bigtiff);
        assert_eq!(out.read(0, 4), b"II+\0");
        let ifd0 = u64::from_le_bytes(out.read(8, 8).try_into().unwrap());
        let n = u64::from_le_bytes(out.read(ifd0, 8).try_into().unwrap()) as usize;
        // find TileOffsets (324) and check it is LONG8 holding the offset past 4 GiB
        let mut found = false;
        for i in 0..n {
            let e = out.read(ifd0 + 8 + 20 * i as u64, 20);
            if u16::from_le_bytes([e[0], e[1]]) == 324 {
                assert_eq!(u16::from_le_bytes([e[2], e[3]]), 16, "LONG8");
                let at = u64::from_le_bytes(e[12..20].try_into().unwrap());
                let second = u64::from_le_bytes(out.read(at + 8, 8).try_into().unwrap());
                assert!(second > u32::MAX as u64);
                assert_eq!(out.read(second, 4), vec![7; 4]);
                found = true;
            }
        }
        assert!(found);
    }

    #[test]
    fn classic_only_is_refused_past_4_gib() {
        assert!(matches!(
            write_past_4gib().finish(BigTiffMode::Never),
            Err(TiffError::NeedsBigTiff)
        ));
    }

    #[test]
    fn unwritten_tiles_are_reported() {
        let mut w = PyramidWriter::new(Sparse::default(), layout()).unwrap();
        w.write_tile(0, 0, 0, &[1; 256]).unwrap();
        assert!(matches!(
            w.write_tile(0, 0, 0, &[1; 256]),
            Err(TiffError::TileWrittenTwice { .. })
        ));
        assert!(matches!(
            w.write_tile(0, 2, 0, &[1; 256]),
            Err(TiffError::TileOutOfRange { .. })
        ));
        assert!(matches!(
            w.finish(BigTiffMode::Auto),
            Err(TiffError::MissingTile {
                level: 0,
                tx: 1,
                ty: 0
            })
        ));
    }
}
