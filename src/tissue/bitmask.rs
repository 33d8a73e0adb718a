//! Bit-packed binary masks and their morphology (dilation, erosion, closing) with square or
//! disk structuring elements, 64 pixels per machine word.
//!
//! Border rule (OpenCV's default for `morphologyEx`): pixels outside the image never win, i.e.
//! they count as background for dilation and as foreground for erosion.

use rayon::prelude::*;

/// A binary image, row-major, each row padded to whole 64-bit words (padding bits are 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitMask {
    width: usize,
    height: usize,
    words: usize,
    bits: Vec<u64>,
}

/// A structuring element as horizontal spans: for each row offset `dy`, the half-width `w`
/// (the element covers columns `-w..=w` of that row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    spans: Vec<(isize, usize)>,
}

impl Element {
    /// A `size × size` square (odd size), as `np.ones((size, size))` / OpenCV `MORPH_RECT`.
    pub fn square(size: usize) -> Self {
        let r = size / 2;
        Element {
            spans: (-(r as isize)..=r as isize).map(|dy| (dy, r)).collect(),
        }
    }

    /// A disk of `radius`: offsets with `dx² + dy² ≤ radius²` (scikit-image's `disk`).
    pub fn disk(radius: usize) -> Self {
        let r2 = (radius * radius) as isize;
        Element {
            spans: (-(radius as isize)..=radius as isize)
                .map(|dy| {
                    let mut w = 0usize;
                    while ((w + 1) * (w + 1)) as isize + dy * dy <= r2 {
                        w += 1;
                    }
                    (dy, w)
                })
                .collect(),
        }
    }

    /// Whether (dx, dy) belongs to the element.
    pub fn contains(&self, dx: isize, dy: isize) -> bool {
        self.spans
            .iter()
            .any(|&(d, w)| d == dy && dx.unsigned_abs() <= w)
    }

    fn max_half_width(&self) -> usize {
        self.spans.iter().map(|s| s.1).max().unwrap_or(0)
    }
}

impl BitMask {
    /// An all-background mask.
    pub fn new(width: usize, height: usize) -> Self {
        let words = width.div_ceil(64).max(1);
        BitMask {
            width,
            height,
            words,
            bits: vec![0; words * height],
        }
    }

    /// Builds a mask row by row in parallel: `f(y, row)` fills one row of booleans.
    pub fn from_rows(width: usize, height: usize, f: impl Fn(usize, &mut [bool]) + Sync) -> Self {
        let mut m = BitMask::new(width, height);
        let words = m.words;
        m.bits.par_chunks_mut(words).enumerate().for_each_init(
            || vec![false; width],
            |row, (y, out)| {
                f(y, row);
                for (i, &b) in row.iter().enumerate() {
                    out[i / 64] |= (b as u64) << (i % 64);
                }
            },
        );
        m
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The pixel at (x, y).
    pub fn get(&self, x: usize, y: usize) -> bool {
        self.bits[y * self.words + x / 64] >> (x % 64) & 1 == 1
    }

    /// Sets the pixel at (x, y).
    pub fn set(&mut self, x: usize, y: usize, v: bool) {
        let w = &mut self.bits[y * self.words + x / 64];
        if v {
            *w |= 1 << (x % 64);
        } else {
            *w &= !(1 << (x % 64));
        }
    }

    /// Number of foreground pixels.
    pub fn count(&self) -> u64 {
        self.bits.iter().map(|w| w.count_ones() as u64).sum()
    }

    /// The mask as bytes, one per pixel, `on` for foreground and 0 for background.
    pub fn to_bytes(&self, on: u8) -> Vec<u8> {
        let mut out = vec![0u8; self.width * self.height];
        out.par_chunks_mut(self.width.max(1))
            .enumerate()
            .for_each(|(y, row)| {
                for (x, v) in row.iter_mut().enumerate() {
                    if self.get(x, y) {
                        *v = on;
                    }
                }
            });
        out
    }

    /// Dilation by `se`.
    pub fn dilate(&self, se: &Element) -> BitMask {
        self.morph(se, false)
    }

    /// Erosion by `se`.
    pub fn erode(&self, se: &Element) -> BitMask {
        self.morph(se, true)
    }

    /// Closing (dilation, then erosion) by `se`.
    pub fn close(&self, se: &Element) -> BitMask {
        self.dilate(se).erode(se)
    }

    fn tail_mask(&self) -> u64 {
        match self.width % 64 {
            0 => u64::MAX,
            r => (1u64 << r) - 1,
        }
    }

    /// Dilation (`erode = false`: OR, outside = 0) or erosion (AND, outside = 1).
    fn morph(&self, se: &Element, erode: bool) -> BitMask {
        assert!(
            se.max_half_width() < 64,
            "structuring elements are at most 127 pixels wide"
        );
        let (w, h, words) = (self.width, self.height, self.words);
        let tail = self.tail_mask();
        let fill = if erode { u64::MAX } else { 0 };
        // Horizontal pass, one per distinct half-width.
        let mut widths: Vec<usize> = se.spans.iter().map(|s| s.1).collect();
        widths.sort_unstable();
        widths.dedup();
        let horiz: Vec<Vec<u64>> = widths
            .iter()
            .map(|&hw| {
                let mut out = vec![0u64; words * h];
                out.par_chunks_mut(words).enumerate().for_each(|(y, dst)| {
                    let src = &self.bits[y * words..(y + 1) * words];
                    // the row as seen by this operation: padding bits count as "outside"
                    let word = |i: isize| -> u64 {
                        if i < 0 || i as usize >= words {
                            fill
                        } else if i as usize == words - 1 {
                            (src[i as usize] & tail) | (fill & !tail)
                        } else {
                            src[i as usize]
                        }
                    };
                    for (i, d) in dst.iter_mut().enumerate() {
                        let i = i as isize;
                        let (prev, cur, next) = (word(i - 1), word(i), word(i + 1));
                        let mut acc = cur;
                        for s in 1..=hw as u32 {
                            // pixel x sees x + s (from the right) and x − s (from the left)
                            let right = (cur >> s) | (next << (64 - s));
                            let left = (cur << s) | (prev >> (64 - s));
                            if erode {
                                acc &= right & left;
                            } else {
                                acc |= right | left;
                            }
                        }
                        *d = acc;
                    }
                    if let Some(last) = dst.last_mut() {
                        *last &= tail;
                    }
                });
                out
            })
            .collect();
        // Vertical pass: combine the rows of each span.
        let mut out = BitMask::new(w, h);
        out.bits
            .par_chunks_mut(words)
            .enumerate()
            .for_each(|(y, dst)| {
                dst.fill(fill);
                for &(dy, hw) in &se.spans {
                    let yy = y as isize + dy;
                    if yy < 0 || yy >= h as isize {
                        continue; // outside rows never win
                    }
                    let k = widths.binary_search(&hw).unwrap_or(0);
                    let src = &horiz[k][yy as usize * words..(yy as usize + 1) * words];
                    for (d, s) in dst.iter_mut().zip(src) {
                        if erode {
                            *d &= s;
                        } else {
                            *d |= s;
                        }
                    }
                }
                if let Some(last) = dst.last_mut() {
                    *last &= tail;
                }
            });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Direct definition with OpenCV's border rule.
    fn reference(m: &BitMask, se: &Element, erode: bool) -> BitMask {
        let mut out = BitMask::new(m.width(), m.height());
        for y in 0..m.height() {
            for x in 0..m.width() {
                let mut acc = erode;
                for dy in -8isize..=8 {
                    for dx in -8isize..=8 {
                        if !se.contains(dx, dy) {
                            continue;
                        }
                        let (xx, yy) = (x as isize + dx, y as isize + dy);
                        if xx < 0 || yy < 0 || xx >= m.width() as isize || yy >= m.height() as isize
                        {
                            continue;
                        }
                        let v = m.get(xx as usize, yy as usize);
                        acc = if erode { acc && v } else { acc || v };
                    }
                }
                out.set(x, y, acc);
            }
        }
        out
    }

    #[test]
    fn disk_matches_scikit_image() {
        // skimage.morphology.disk(3) rows: widths 1, 5, 5, 7, 5, 5, 1 → half-widths 0,2,2,3,2,2,0
        let d = Element::disk(3);
        assert_eq!(
            d.spans.iter().map(|s| s.1).collect::<Vec<_>>(),
            vec![0, 2, 2, 3, 2, 2, 0]
        );
        assert_eq!(
            Element::square(5).spans,
            (-2..=2).map(|dy| (dy, 2)).collect::<Vec<_>>()
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]
        #[test]
        fn morphology_matches_the_definition(
            w in 1usize..150, h in 1usize..12, seed in any::<u64>(), disk in any::<bool>(), r in 1usize..6
        ) {
            let m = BitMask::from_rows(w, h, |y, row| {
                for (x, v) in row.iter_mut().enumerate() {
                    let mut z = seed ^ ((y * 1000 + x) as u64).wrapping_mul(0x9E3779B97F4A7C15);
                    z ^= z >> 29;
                    *v = z.is_multiple_of(3);
                }
            });
            let se = if disk { Element::disk(r) } else { Element::square(2 * r + 1) };
            prop_assert_eq!(m.dilate(&se), reference(&m, &se, false));
            prop_assert_eq!(m.erode(&se), reference(&m, &se, true));
        }
    }
}
