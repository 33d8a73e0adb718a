//! Label pyramids: level geometry and label-preserving 2×2 reduction rules.
//!
//! A label image must never be reduced with a mean: averaging labels 0 and 2 invents a 1 at
//! every boundary (vips' default pyramid shrink does exactly that). The rules here only ever
//! pick a value present in the 2×2 block they reduce.

use std::fmt;
use std::str::FromStr;

/// A pixel sample of a label image: 8- or 16-bit unsigned.
pub trait Sample: Copy + Eq + Ord + Default + Send + Sync + fmt::Debug + 'static {
    /// Bytes per sample.
    const BYTES: usize;
    /// Bits per sample, as written in the TIFF.
    const BITS: u16;
    /// Number of possible values (one histogram bin each).
    const HIST_LEN: usize;
    /// The value as `u64` (for reporting and caches).
    fn to_u64(self) -> u64;
    /// Little-endian bytes of a tile, reusing the buffer where the layout already matches.
    fn into_le_bytes(v: Vec<Self>) -> Vec<u8>;
    /// The bytes of a tile whose `n` samples all equal `v`.
    fn uniform_tile(v: Self, n: usize) -> Vec<u8>;
}

impl Sample for u8 {
    const BYTES: usize = 1;
    const BITS: u16 = 8;
    const HIST_LEN: usize = 256;
    fn to_u64(self) -> u64 {
        self as u64
    }
    fn into_le_bytes(v: Vec<u8>) -> Vec<u8> {
        v
    }
    fn uniform_tile(v: u8, n: usize) -> Vec<u8> {
        vec![v; n]
    }
}

impl Sample for u16 {
    const BYTES: usize = 2;
    const BITS: u16 = 16;
    const HIST_LEN: usize = 65536;
    fn to_u64(self) -> u64 {
        self as u64
    }
    fn into_le_bytes(v: Vec<u16>) -> Vec<u8> {
        v.iter().flat_map(|s| s.to_le_bytes()).collect()
    }
    fn uniform_tile(v: u16, n: usize) -> Vec<u8> {
        v.to_le_bytes()
            .iter()
            .copied()
            .cycle()
            .take(2 * n)
            .collect()
    }
}

/// How a 2×2 block of labels becomes one label of the next level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduce {
    /// The most frequent label of the block; ties go to the top-left pixel's label when it is
    /// among the most frequent, else to the first most frequent in row-major order.
    /// Thin structures survive better than with `Nearest`.
    #[default]
    Mode,
    /// The top-left pixel of the block (what nearest-neighbour subsampling gives).
    Nearest,
}

/// A reduction name other than `mode` or `nearest`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown reduction '{0}' (expected mode or nearest)")]
pub struct UnknownReduce(pub String);

impl FromStr for Reduce {
    type Err = UnknownReduce;
    fn from_str(s: &str) -> Result<Self, UnknownReduce> {
        match s {
            "mode" => Ok(Reduce::Mode),
            "nearest" => Ok(Reduce::Nearest),
            _ => Err(UnknownReduce(s.to_string())),
        }
    }
}

impl fmt::Display for Reduce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reduce::Mode => "mode",
            Reduce::Nearest => "nearest",
        })
    }
}

/// Sizes of the pyramid levels: each level is `ceil(w/2) × ceil(h/2)` of the previous one,
/// down to the first level that fits in a single tile.
///
/// ```
/// assert_eq!(h2g::pyramid::level_sizes(5000, 3000, 1024),
///            vec![(5000, 3000), (2500, 1500), (1250, 750), (625, 375)]);
/// assert_eq!(h2g::pyramid::level_sizes(1, 1, 256), vec![(1, 1)]);
/// ```
pub fn level_sizes(width: u32, height: u32, tile: u32) -> Vec<(u32, u32)> {
    let mut levels = vec![(width, height)];
    let (mut w, mut h) = (width, height);
    while w > tile || h > tile {
        w = w.div_ceil(2);
        h = h.div_ceil(2);
        levels.push((w, h));
    }
    levels
}

/// Reduces one pair of rows into one row of the next level.
///
/// `bottom` is `None` for the last row of an odd-height level; the last block of an odd-width
/// row has one column. `out.len()` must be `top.len().div_ceil(2)`.
///
/// ```
/// use h2g::pyramid::{reduce_rows, Reduce};
/// let (top, bottom) = ([0u8, 2, 2, 7, 5], [2u8, 2, 0, 7, 5]);
/// let mut out = [0u8; 3];
/// reduce_rows(Reduce::Mode, &top, Some(&bottom), &mut out);
/// assert_eq!(out, [2, 7, 5]);
/// reduce_rows(Reduce::Nearest, &top, Some(&bottom), &mut out);
/// assert_eq!(out, [0, 2, 5]);
/// ```
pub fn reduce_rows<T: Sample>(rule: Reduce, top: &[T], bottom: Option<&[T]>, out: &mut [T]) {
    debug_assert_eq!(out.len(), top.len().div_ceil(2));
    let pairs = top.len() / 2;
    match rule {
        Reduce::Nearest => {
            for (o, t) in out.iter_mut().zip(top.iter().step_by(2)) {
                *o = *t;
            }
        }
        Reduce::Mode => match bottom {
            Some(b) => {
                debug_assert_eq!(b.len(), top.len());
                for i in 0..pairs {
                    out[i] = mode4(top[2 * i], top[2 * i + 1], b[2 * i], b[2 * i + 1]);
                }
                if top.len() % 2 == 1 {
                    // a 1×2 block: a tie or agreement, both give the top pixel
                    out[pairs] = top[2 * pairs];
                }
            }
            None => {
                // 2×1 blocks: a tie or agreement, both give the left pixel
                for (o, t) in out.iter_mut().zip(top.iter().step_by(2)) {
                    *o = *t;
                }
            }
        },
    }
}

/// Mode of a 2×2 block `a b / c d`; ties resolved as documented on [`Reduce::Mode`].
#[inline]
fn mode4<T: Sample>(a: T, b: T, c: T, d: T) -> T {
    if a == b && b == c && c == d {
        return a;
    }
    let na = 1 + (a == b) as u8 + (a == c) as u8 + (a == d) as u8;
    if na >= 2 {
        // a has at least 2 votes: nothing else can have more than 2.
        return a;
    }
    // a is alone; among b, c, d a pair wins, else (all distinct) the tie goes to a.
    if b == c || b == d {
        b
    } else if c == d {
        c
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute-force reference: most frequent, ties to the top-left pixel.
    fn mode_ref(v: [u8; 4]) -> u8 {
        let count = |x: u8| v.iter().filter(|&&y| y == x).count();
        let best = v.iter().map(|&x| count(x)).max().unwrap_or(0);
        if count(v[0]) == best {
            v[0]
        } else {
            *v.iter().find(|&&x| count(x) == best).unwrap_or(&v[0])
        }
    }

    #[test]
    fn mode4_matches_reference_on_all_small_blocks() {
        for a in 0..4u8 {
            for b in 0..4u8 {
                for c in 0..4u8 {
                    for d in 0..4u8 {
                        assert_eq!(mode4(a, b, c, d), mode_ref([a, b, c, d]), "{a}{b}{c}{d}");
                    }
                }
            }
        }
    }

    #[test]
    fn mode_never_invents_a_label() {
        let top = [0u8, 2, 0, 2];
        let bottom = [2u8, 0, 2, 0];
        let mut out = [9u8; 2];
        reduce_rows(Reduce::Mode, &top, Some(&bottom), &mut out);
        assert!(out.iter().all(|v| *v == 0 || *v == 2));
    }

    #[test]
    fn level_sizes_halve_with_ceiling_down_to_one_tile() {
        let l = level_sizes(50_000, 25_000, 1024);
        assert_eq!(l.first(), Some(&(50_000, 25_000)));
        let last = *l.last().unwrap();
        assert!(last.0 <= 1024 && last.1 <= 1024);
        for w in l.windows(2) {
            assert_eq!(w[1], (w[0].0.div_ceil(2), w[0].1.div_ceil(2)));
        }
        // a tall image keeps halving until its height fits
        assert_eq!(level_sizes(16, 5000, 1024).last(), Some(&(2, 625)));
    }
}
