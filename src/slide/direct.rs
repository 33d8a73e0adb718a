//! Direct reading of JPEG-tiled TIFF levels (generic tiled TIFF and Aperio SVS), beside OpenSlide.
//!
//! OpenSlide decodes each JPEG tile with libjpeg-turbo and then composites it through cairo;
//! on patch-sized reads that compositing costs more than the decoding, and its tile cache is too
//! small to hold a row of tiles of a large level, so tiles get decoded again for the next patch
//! row. This reader finds the same tiles in the file itself, decodes them with the same decoder
//! at the same settings ([`super::turbojpeg`]), keeps them in a bounded cache and copies the
//! pixels. It serves only what it can serve byte for byte as OpenSlide would: levels whose tiles
//! are baseline JPEG in the colour space the TIFF declares, at whole level-pixel positions. For
//! anything else the caller falls back to OpenSlide. Set `H2G_SLIDE_READER=openslide` to turn it
//! off.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use super::ifd::{
    read_ifds, Ifd, TAG_BITS, TAG_COMPRESSION, TAG_HEIGHT, TAG_PHOTOMETRIC, TAG_PLANAR,
    TAG_SAMPLES, TAG_TILE_COUNTS, TAG_TILE_H, TAG_TILE_OFFSETS, TAG_TILE_W, TAG_WIDTH,
};
use super::turbojpeg::{self, JpegError, JpegSpace};
use super::RgbImage;

/// The decoded-tile cache's default budget in bytes.
const CACHE_BYTES: usize = 256 << 20;

/// One tiled JPEG IFD.
#[derive(Debug)]
struct TiledJpeg {
    width: u64,
    height: u64,
    tile_w: u32,
    tile_h: u32,
    across: u64,
    offsets: Vec<u64>,
    counts: Vec<u64>,
    /// The JPEGTables stream less its end marker (empty when the tiles are self-contained).
    tables: Vec<u8>,
    space: JpegSpace,
}

/// Why a tile could not be served directly (the caller then asks OpenSlide).
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum TileError {
    /// A tile byte count outside 2 bytes – 64 MiB.
    #[error("a tile of {0} bytes is implausible")]
    Implausible(u64),
    /// The tile's bytes could not be read.
    #[error("reading {len} bytes at offset {offset}: {error}")]
    Read {
        /// Where the tile starts.
        offset: u64,
        /// Its length.
        len: u64,
        /// The I/O error, as text (decoded tiles are shared between readers, so cloned).
        error: String,
    },
    /// The tile's bytes are no JPEG stream.
    #[error("tile data does not start with a JPEG start marker")]
    NoStartMarker,
    /// TurboJPEG refused the stream.
    #[error(transparent)]
    Jpeg(#[from] JpegError),
}

type Decoded = Result<Arc<Vec<u8>>, TileError>;

struct Cache {
    budget: std::sync::atomic::AtomicUsize,
    inner: Mutex<CacheInner>,
}

/// A cached tile: its (possibly still decoding) pixels, last use, and size.
struct Slot {
    cell: Arc<OnceLock<Decoded>>,
    used: u64,
    bytes: usize,
}

#[derive(Default)]
struct CacheInner {
    map: HashMap<(usize, u64), Slot>,
    tick: u64,
    bytes: usize,
}

impl Cache {
    fn get(&self, key: (usize, u64), bytes: usize, decode: impl FnOnce() -> Decoded) -> Decoded {
        let cell = {
            let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            g.tick += 1;
            let tick = g.tick;
            let cell = match g.map.get_mut(&key) {
                Some(e) => {
                    e.used = tick;
                    e.cell.clone()
                }
                None => {
                    let cell = Arc::new(OnceLock::new());
                    let slot = Slot {
                        cell: cell.clone(),
                        used: tick,
                        bytes,
                    };
                    g.map.insert(key, slot);
                    g.bytes += bytes;
                    cell
                }
            };
            let budget = self.budget.load(std::sync::atomic::Ordering::Relaxed);
            while g.bytes > budget && g.map.len() > 1 {
                let oldest = g
                    .map
                    .iter()
                    .filter(|(k, _)| **k != key)
                    .min_by_key(|(_, e)| e.used)
                    .map(|(k, _)| *k);
                match oldest.and_then(|k| g.map.remove(&k)) {
                    Some(e) => g.bytes -= e.bytes,
                    None => break,
                }
            }
            cell
        };
        // decoded outside the lock; a second reader of the same tile waits for the first
        cell.get_or_init(decode).clone()
    }
}

/// Direct access to the JPEG-tiled levels of one slide file.
pub struct DirectLevels {
    file: File,
    /// Per OpenSlide level: the IFD serving it, if any.
    levels: Vec<Option<TiledJpeg>>,
    cache: Cache,
}

impl std::fmt::Debug for DirectLevels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DirectLevels({:?})", self.served())
    }
}

impl DirectLevels {
    /// Sets the decoded-tile cache's budget in bytes (the least recently used tiles go first;
    /// the tile being read always stays).
    pub fn set_cache_budget(&self, bytes: usize) {
        self.cache
            .budget
            .store(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// Maps the slide's levels (`dims`, as OpenSlide reports them) onto the file's tiled JPEG
    /// IFDs. `None` when the reader is turned off, TurboJPEG is missing, the file is no TIFF or
    /// no level qualifies.
    pub fn open(path: &Path, vendor: Option<&str>, dims: &[(u64, u64)]) -> Option<Self> {
        if std::env::var("H2G_SLIDE_READER").is_ok_and(|v| v.eq_ignore_ascii_case("openslide")) {
            return None;
        }
        if !matches!(vendor, Some("generic-tiff") | Some("aperio")) {
            return None;
        }
        turbojpeg::library()?;
        let file = File::open(path).ok()?;
        let ifds = read_ifds(&file).ok()?;
        let mut levels = Vec::with_capacity(dims.len());
        for &(w, h) in dims {
            let mut same = ifds
                .iter()
                .filter(|d| d.get(TAG_WIDTH) == Some(w) && d.get(TAG_HEIGHT) == Some(h));
            let level = match (same.next(), same.next()) {
                (Some(d), None) => tiled_jpeg(&file, d),
                _ => None,
            };
            levels.push(level);
        }
        if levels.iter().all(Option::is_none) {
            return None;
        }
        Some(DirectLevels {
            file,
            levels,
            cache: Cache {
                budget: CACHE_BYTES.into(),
                inner: Mutex::new(CacheInner::default()),
            },
        })
    }

    /// The levels served directly.
    pub fn served(&self) -> Vec<usize> {
        (0..self.levels.len())
            .filter(|&l| self.levels[l].is_some())
            .collect()
    }

    /// Reads `width × height` pixels of `level` at level coordinates (`x`, `y`); pixels outside
    /// the level are white (as OpenSlide's transparent edge is flattened). `None` for what this
    /// reader does not serve (another level, a tile in an unexpected colour space) or cannot
    /// read (a damaged tile): OpenSlide then reads it, or explains why it cannot.
    pub fn read(&self, level: usize, x: u64, y: u64, width: u32, height: u32) -> Option<RgbImage> {
        let t = self.levels.get(level)?.as_ref()?;
        let (w, h) = (width as u64, height as u64);
        let mut data = vec![255u8; 3 * (w * h) as usize];
        let (x1, y1) = ((x + w).min(t.width), (y + h).min(t.height));
        if x < x1 && y < y1 {
            let (tw, th) = (t.tile_w as u64, t.tile_h as u64);
            for ty in y / th..=(y1 - 1) / th {
                for tx in x / tw..=(x1 - 1) / tw {
                    let Some(tile) = self.tile(level, t, tx, ty)? else {
                        continue;
                    };
                    // the part of this tile inside both the request and the level
                    let (ax, ay) = ((tx * tw).max(x), (ty * th).max(y));
                    let (bx, by) = (((tx + 1) * tw).min(x1), ((ty + 1) * th).min(y1));
                    let n = 3 * (bx - ax) as usize;
                    for row in ay..by {
                        let src = 3 * ((row - ty * th) * tw + (ax - tx * tw)) as usize;
                        let dst = 3 * ((row - y) * w + (ax - x)) as usize;
                        data[dst..dst + n].copy_from_slice(&tile[src..src + n]);
                    }
                }
            }
        }
        Some(RgbImage {
            width,
            height,
            data,
        })
    }

    /// The decoded tile (`Some(None)` for a tile the file leaves out, which reads as white;
    /// `None` when it cannot be served).
    fn tile(&self, level: usize, t: &TiledJpeg, tx: u64, ty: u64) -> Option<Option<Arc<Vec<u8>>>> {
        let i = ty * t.across + tx;
        let (off, len) = (t.offsets[i as usize], t.counts[i as usize]);
        if off == 0 || len == 0 {
            return Some(None);
        }
        let bytes = 3 * t.tile_w as usize * t.tile_h as usize;
        let got = self.cache.get((level, i), bytes, || {
            let stream = stream(&self.file, t, off, len)?;
            // a tile in another colour space than the TIFF's (a JFIF marker overriding ours) is
            // refused, and OpenSlide, which forces the TIFF's, reads it
            Ok(Arc::new(turbojpeg::decode_rgb(
                &stream, t.tile_w, t.tile_h, t.space,
            )?))
        });
        got.ok().map(Some)
    }
}

/// The complete JPEG stream of one tile: a start marker, an Adobe marker naming the colour space
/// the TIFF declares, the shared tables, then the tile less its start marker.
///
/// OpenSlide assigns the TIFF's colour space to the decoder after reading the header (Aperio
/// writes RGB tiles that libjpeg would otherwise take for YCbCr); TurboJPEG has no such setting,
/// but libjpeg takes the colour space from an Adobe marker's transform flag when there is no JFIF
/// marker, which gives the same decoder set-up. A tile with a JFIF marker keeps its own colour
/// space, and the caller's check sends it to OpenSlide if that differs.
fn stream(file: &File, t: &TiledJpeg, off: u64, len: u64) -> Result<Vec<u8>, TileError> {
    if !(2..=64 << 20).contains(&len) {
        return Err(TileError::Implausible(len));
    }
    let transform = match t.space {
        JpegSpace::Rgb => 0,
        _ => 1,
    };
    let adobe = [
        0xFF, 0xD8, 0xFF, 0xEE, 0x00, 0x0E, b'A', b'd', b'o', b'b', b'e', 0x00, 0x64, 0x00, 0x00,
        0x00, 0x00, transform,
    ];
    let tables = t.tables.get(2..).unwrap_or(&[]);
    let mut buf = Vec::with_capacity(adobe.len() + tables.len() + len as usize);
    buf.extend_from_slice(&adobe);
    buf.extend_from_slice(tables);
    let start = buf.len();
    buf.resize(start + len as usize, 0);
    file.read_exact_at(&mut buf[start..], off)
        .map_err(|e| TileError::Read {
            offset: off,
            len,
            error: e.to_string(),
        })?;
    if !buf[start..].starts_with(&[0xFF, 0xD8]) {
        return Err(TileError::NoStartMarker);
    }
    buf.drain(start..start + 2);
    Ok(buf)
}

/// The IFD as a directly readable level: tiled, 8-bit RGB/YCbCr, chunky, JPEG (new style), its
/// tile tables complete. Its colour space is checked against its first tile.
fn tiled_jpeg(file: &File, d: &Ifd) -> Option<TiledJpeg> {
    let one = |tag, v| d.get(tag).unwrap_or(v);
    if d.get(TAG_COMPRESSION)? != 7
        || one(TAG_SAMPLES, 1) != 3
        || one(TAG_PLANAR, 1) != 1
        || d.ints
            .get(&TAG_BITS)
            .is_some_and(|b| b.iter().any(|&v| v != 8))
    {
        return None;
    }
    let space = match d.get(TAG_PHOTOMETRIC)? {
        2 => JpegSpace::Rgb,
        6 => JpegSpace::YCbCr,
        _ => return None,
    };
    let (width, height) = (d.get(TAG_WIDTH)?, d.get(TAG_HEIGHT)?);
    let (tw, th) = (d.get(TAG_TILE_W)?, d.get(TAG_TILE_H)?);
    if tw == 0 || th == 0 || tw > 8192 || th > 8192 || tw % 16 != 0 || th % 16 != 0 {
        return None;
    }
    let across = width.div_ceil(tw);
    let n = across.checked_mul(height.div_ceil(th))?;
    let offsets = d.ints.get(&TAG_TILE_OFFSETS)?.clone();
    let counts = d.ints.get(&TAG_TILE_COUNTS)?.clone();
    if offsets.len() as u64 != n || counts.len() as u64 != n {
        return None;
    }
    let tables = match &d.tables {
        Some(t) if t.len() >= 4 && t.starts_with(&[0xFF, 0xD8]) && t.ends_with(&[0xFF, 0xD9]) => {
            t[..t.len() - 2].to_vec()
        }
        Some(_) => return None,
        None => Vec::new(),
    };
    let level = TiledJpeg {
        width,
        height,
        tile_w: tw as u32,
        tile_h: th as u32,
        across,
        offsets,
        counts,
        tables,
        space,
    };
    // the first stored tile must decode in the colour space the TIFF declares
    let i = (0..level.offsets.len()).find(|&i| level.offsets[i] != 0 && level.counts[i] != 0)?;
    let stream = stream(file, &level, level.offsets[i], level.counts[i]).ok()?;
    let (w, h, s) = turbojpeg::header(&stream).ok()?;
    ((w, h) == (tw as u32, th as u32) && s == space).then_some(level)
}

#[cfg(test)]
mod tests {
    use super::super::ifd::tests::{file_with, tiff};
    use super::*;

    fn cache(budget: usize) -> Cache {
        Cache {
            budget: budget.into(),
            inner: Mutex::new(CacheInner::default()),
        }
    }

    #[test]
    fn cache_keeps_to_its_budget_and_decodes_a_resident_tile_once() {
        let c = cache(300);
        let decodes = std::sync::atomic::AtomicUsize::new(0);
        let get = |k: u64| {
            c.get((0, k), 100, || {
                decodes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(Arc::new(vec![k as u8; 100]))
            })
            .unwrap()
        };
        for k in 0..3 {
            assert_eq!(get(k)[0], k as u8);
        }
        get(0); // 0 becomes the most recent
        get(3); // evicts 1, the least recent
        let g = c.inner.lock().unwrap();
        let mut keys: Vec<u64> = g.map.keys().map(|k| k.1).collect();
        keys.sort();
        assert_eq!((keys, g.bytes), (vec![0, 2, 3], 300));
        drop(g);
        assert_eq!(decodes.load(std::sync::atomic::Ordering::SeqCst), 4);
        get(1);
        assert_eq!(decodes.load(std::sync::atomic::Ordering::SeqCst), 5);
    }

    #[test]
    fn ifds_parse_in_both_byte_orders_and_a_loop_ends() {
        for be in [false, true] {
            let t = tiff(
                be,
                &[
                    (TAG_WIDTH, 4, vec![1000]),
                    (TAG_HEIGHT, 3, vec![700]),
                    (TAG_BITS, 3, vec![8, 8, 8]),
                    (TAG_TILE_OFFSETS, 4, vec![11, 22, 33, 44, 55, 66]),
                ],
                true,
            );
            let f = file_with(&t);
            let ifds = read_ifds(f.as_file()).unwrap();
            assert_eq!(ifds.len(), 1, "the self-loop is followed once");
            let d = &ifds[0];
            assert_eq!(
                (d.get(TAG_WIDTH), d.get(TAG_HEIGHT)),
                (Some(1000), Some(700))
            );
            assert_eq!(d.ints[&TAG_BITS], vec![8, 8, 8]);
            assert_eq!(d.ints[&TAG_TILE_OFFSETS], vec![11, 22, 33, 44, 55, 66]);
            // not JPEG-compressed: no direct level
            assert!(tiled_jpeg(f.as_file(), d).is_none());
        }
    }
}
