//! The IFD chain of a TIFF file, read just far enough to find JPEG-tiled levels and to say
//! where a damaged (truncated) file breaks: tag values are bounded by the file's length before
//! anything is allocated, the chain is followed at most 1024 IFDs and never in a loop.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// What is wrong with a TIFF file's structure.
#[derive(Debug, thiserror::Error)]
pub enum TiffStructureError {
    /// The file does not start with a TIFF byte-order mark (or is shorter than a header).
    #[error("not a TIFF{}", .0.as_ref().map(|e| format!(" ({e})")).unwrap_or_default())]
    NotATiff(Option<std::io::Error>),
    /// A BigTIFF header cut short.
    #[error("not a BigTIFF ({0})")]
    ShortBigTiff(std::io::Error),
    /// A version number other than 42 (TIFF) or 43 (BigTIFF).
    #[error("TIFF version {0}")]
    Version(u64),
    /// An IFD or a tag's values continue past the end of the file.
    #[error(
        "its structure continues at byte {at}, past the end of the file ({len} bytes): a \
         truncated copy?"
    )]
    PastEnd {
        /// Where the structure continues.
        at: u64,
        /// The file's length.
        len: u64,
    },
    /// Reading the structure failed.
    #[error("TIFF structure past the end of the file ({0})")]
    Read(std::io::Error),
    /// An IFD with an implausible number of entries (over 4096).
    #[error("an IFD with {0} entries")]
    Entries(u64),
    /// A tag with an implausible number of values (over 256 MiB of them).
    #[error("tag {tag} has {count} values")]
    Values {
        /// The tag.
        tag: u16,
        /// Its value count.
        count: u64,
    },
    /// An image whose tiles or strips lie past the end of the file.
    #[error("image {image} has data up to byte {end}, but the file ends at byte {len} (a truncated copy?)")]
    DataPastEnd {
        /// The image (IFD) number, from 0.
        image: usize,
        /// The end of its last tile or strip.
        end: u64,
        /// The file's length.
        len: u64,
    },
}

pub(super) const TAG_WIDTH: u16 = 256;
pub(super) const TAG_HEIGHT: u16 = 257;
pub(super) const TAG_BITS: u16 = 258;
pub(super) const TAG_COMPRESSION: u16 = 259;
pub(super) const TAG_PHOTOMETRIC: u16 = 262;
pub(super) const TAG_SAMPLES: u16 = 277;
pub(super) const TAG_PLANAR: u16 = 284;
pub(super) const TAG_TILE_W: u16 = 322;
pub(super) const TAG_TILE_H: u16 = 323;
pub(super) const TAG_TILE_OFFSETS: u16 = 324;
pub(super) const TAG_TILE_COUNTS: u16 = 325;
pub(super) const TAG_JPEG_TABLES: u16 = 347;

/// The tags of one IFD that matter here: integer values, and the JPEG tables.
#[derive(Debug, Default)]
pub(super) struct Ifd {
    pub(super) ints: HashMap<u16, Vec<u64>>,
    pub(super) tables: Option<Vec<u8>>,
}

impl Ifd {
    /// A single-valued integer tag.
    pub(super) fn get(&self, tag: u16) -> Option<u64> {
        match self.ints.get(&tag).map(Vec::as_slice) {
            Some([v]) => Some(*v),
            _ => None,
        }
    }
}

struct Reader<'a> {
    file: &'a File,
    len: u64,
    big_endian: bool,
    bigtiff: bool,
}

impl Reader<'_> {
    fn bytes(&self, at: u64, n: usize) -> Result<Vec<u8>, TiffStructureError> {
        // a damaged count must not allocate more than the file holds
        if at.checked_add(n as u64).is_none_or(|end| end > self.len) {
            return Err(TiffStructureError::PastEnd { at, len: self.len });
        }
        let mut b = vec![0u8; n];
        self.file
            .read_exact_at(&mut b, at)
            .map_err(TiffStructureError::Read)?;
        Ok(b)
    }

    fn uint(&self, b: &[u8]) -> u64 {
        let fold = |v: u64, x: &u8| (v << 8) | *x as u64;
        if self.big_endian {
            b.iter().fold(0, fold)
        } else {
            b.iter().rev().fold(0, fold)
        }
    }

    /// One IFD at `at`: its tags of interest and the offset of the next IFD.
    fn ifd(&self, at: u64) -> Result<(Ifd, u64), TiffStructureError> {
        let (count_len, entry_len, ptr_len) = if self.bigtiff { (8, 20, 8) } else { (2, 12, 4) };
        let n = self.uint(&self.bytes(at, count_len)?);
        if n > 4096 {
            return Err(TiffStructureError::Entries(n));
        }
        let raw = self.bytes(at + count_len as u64, n as usize * entry_len + ptr_len)?;
        let mut ifd = Ifd::default();
        for e in raw[..n as usize * entry_len].chunks_exact(entry_len) {
            let tag = self.uint(&e[0..2]) as u16;
            let typ = self.uint(&e[2..4]) as u16;
            let (count, field) = if self.bigtiff {
                (self.uint(&e[4..12]), &e[12..20])
            } else {
                (self.uint(&e[4..8]), &e[8..12])
            };
            let wanted = matches!(
                tag,
                TAG_WIDTH
                    | TAG_HEIGHT
                    | TAG_BITS
                    | TAG_COMPRESSION
                    | TAG_PHOTOMETRIC
                    | TAG_SAMPLES
                    | TAG_PLANAR
                    | TAG_TILE_W
                    | TAG_TILE_H
                    | TAG_TILE_OFFSETS
                    | TAG_TILE_COUNTS
                    | TAG_JPEG_TABLES
                    | 273
                    | 279
            );
            if !wanted {
                continue;
            }
            let size: u64 = match typ {
                1 | 7 => 1,
                3 => 2,
                4 | 13 => 4,
                16 | 18 => 8,
                _ => continue,
            };
            let total = size
                .checked_mul(count)
                .filter(|&t| t <= 1 << 28)
                .ok_or(TiffStructureError::Values { tag, count })?;
            let data = if total <= field.len() as u64 {
                field[..total as usize].to_vec()
            } else {
                self.bytes(self.uint(field), total as usize)?
            };
            if tag == TAG_JPEG_TABLES {
                ifd.tables = Some(data);
            } else {
                let vals = data
                    .chunks_exact(size as usize)
                    .map(|c| self.uint(c))
                    .collect();
                ifd.ints.insert(tag, vals);
            }
        }
        let next = self.uint(&raw[n as usize * entry_len..]);
        Ok((ifd, next))
    }
}

/// Why a TIFF file is damaged, if it is: its IFD chain or a tile/strip it points to lies past
/// the end of the file (a truncated copy), or the chain cannot be parsed.
pub fn tiff_damage(path: &Path) -> Option<TiffStructureError> {
    let file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let ifds = match read_ifds(&file) {
        Ok(i) => i,
        Err(e) => return Some(e),
    };
    for (n, d) in ifds.iter().enumerate() {
        for (offs, counts) in [(TAG_TILE_OFFSETS, TAG_TILE_COUNTS), (273u16, 279u16)] {
            let (Some(o), Some(c)) = (d.ints.get(&offs), d.ints.get(&counts)) else {
                continue;
            };
            if let Some(end) = o.iter().zip(c).map(|(o, c)| o.saturating_add(*c)).max() {
                if end > len {
                    return Some(TiffStructureError::DataPastEnd { image: n, end, len });
                }
            }
        }
    }
    None
}

/// Reads the main IFD chain (at most 1024 IFDs, no loops).
pub(super) fn read_ifds(file: &File) -> Result<Vec<Ifd>, TiffStructureError> {
    let mut head = [0u8; 16];
    file.read_exact_at(&mut head[..8], 0)
        .map_err(|e| TiffStructureError::NotATiff(Some(e)))?;
    let big_endian = match &head[..2] {
        b"II" => false,
        b"MM" => true,
        _ => return Err(TiffStructureError::NotATiff(None)),
    };
    let mut r = Reader {
        file,
        len: file.metadata().map_err(TiffStructureError::Read)?.len(),
        big_endian,
        bigtiff: false,
    };
    let mut at = match r.uint(&head[2..4]) {
        42 => r.uint(&head[4..8]),
        43 => {
            file.read_exact_at(&mut head, 0)
                .map_err(TiffStructureError::ShortBigTiff)?;
            r.bigtiff = true;
            r.uint(&head[8..16])
        }
        v => return Err(TiffStructureError::Version(v)),
    };
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    while at != 0 && out.len() < 1024 && seen.insert(at) {
        let (ifd, next) = r.ifd(at)?;
        out.push(ifd);
        at = next;
    }
    Ok(out)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::io::Write;

    /// A classic TIFF with one IFD of SHORT/LONG entries (inline or not), in either byte order.
    pub(in crate::slide) fn tiff(
        big_endian: bool,
        entries: &[(u16, u16, Vec<u32>)],
        next_self: bool,
    ) -> Vec<u8> {
        let w16 = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let w32 = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut out = Vec::new();
        out.extend_from_slice(if big_endian { b"MM" } else { b"II" });
        out.extend_from_slice(&w16(42));
        out.extend_from_slice(&w32(8));
        let ifd_len = 2 + 12 * entries.len() + 4;
        let mut extra: Vec<u8> = Vec::new();
        out.extend_from_slice(&w16(entries.len() as u16));
        for (tag, typ, vals) in entries {
            out.extend_from_slice(&w16(*tag));
            out.extend_from_slice(&w16(*typ));
            out.extend_from_slice(&w32(vals.len() as u32));
            let bytes: Vec<u8> = vals
                .iter()
                .flat_map(|&v| {
                    if *typ == 3 {
                        w16(v as u16).to_vec()
                    } else {
                        w32(v).to_vec()
                    }
                })
                .collect();
            if bytes.len() <= 4 {
                let mut f = bytes.clone();
                f.resize(4, 0);
                out.extend_from_slice(&f);
            } else {
                out.extend_from_slice(&w32((8 + ifd_len + extra.len()) as u32));
                extra.extend_from_slice(&bytes);
            }
        }
        out.extend_from_slice(&w32(if next_self { 8 } else { 0 }));
        out.extend_from_slice(&extra);
        out
    }

    pub(in crate::slide) fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    #[test]
    fn damaged_tiffs_are_errors_not_panics() {
        let good = tiff(false, &[(TAG_TILE_OFFSETS, 4, vec![1, 2, 3, 4])], false);
        for cut in 0..good.len() {
            let f = file_with(&good[..cut]);
            let _ = read_ifds(f.as_file());
        }
        let mut huge = tiff(false, &[(TAG_TILE_OFFSETS, 4, vec![1, 2])], false);
        huge[14..18].copy_from_slice(&u32::MAX.to_le_bytes()); // count of the first entry
        let f = file_with(&huge);
        assert!(read_ifds(f.as_file()).is_err());
        for junk in [
            &b"not a tiff at all"[..],
            b"II\x2b\x00\x08\x00\x00\x00",
            b"II\x07\x00",
        ] {
            let f = file_with(junk);
            assert!(read_ifds(f.as_file()).is_err());
        }
    }

    #[test]
    fn damage_is_named_by_variant() {
        let good = tiff(false, &[(TAG_TILE_OFFSETS, 4, vec![1, 2, 3, 4])], false);
        let f = file_with(&good[..good.len() - 3]);
        assert!(matches!(
            read_ifds(f.as_file()),
            Err(TiffStructureError::PastEnd { .. })
        ));
        let f = file_with(b"II\x07\x00\x08\x00\x00\x00");
        assert!(matches!(
            read_ifds(f.as_file()),
            Err(TiffStructureError::Version(7))
        ));
        let f = file_with(b"PK\x03\x04 not a tiff");
        assert!(matches!(
            read_ifds(f.as_file()),
            Err(TiffStructureError::NotATiff(None))
        ));
        // a strip offset past the end: the chain parses, the data does not fit
        let t = tiff(false, &[(273, 4, vec![4000]), (279, 4, vec![100])], false);
        let f = file_with(&t);
        assert!(matches!(
            tiff_damage(f.path()),
            Some(TiffStructureError::DataPastEnd {
                image: 0,
                end: 4100,
                ..
            })
        ));
    }
}
