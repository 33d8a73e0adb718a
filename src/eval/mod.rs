//! Evaluation against pathologist masks: pixel confusion counts of binary masks compared row by
//! row, the per-slide metrics the paper reports (Dice, precision, recall — with their names the
//! right way round: precision = TP / predicted, recall = TP / truth), and mean ± population
//! standard deviation overall and per group (e.g. histological grade).

pub mod classes;
pub mod cohort;
pub mod compare;
pub mod export;
pub mod report;
pub mod tables;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::mask::{MaskError, RowSource};
use crate::pyramid::Sample;

pub use classes::{ClassError, LabelClass};
pub use compare::{
    compare, compare_classes, CompareError, Compared, ComparedClasses, Input, Outline, THUMB_SIDE,
};

/// Pixel counts of one binary comparison (a pixel is positive when its value is non-zero).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Confusion {
    /// Positive in both.
    pub tp: u64,
    /// Predicted positive, negative in the truth.
    pub fp: u64,
    /// Positive in the truth, predicted negative.
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// Negative in both.
    pub tn: u64,
}

impl Confusion {
    /// Adds one row of `truth` and `pred` (same length; non-zero = positive).
    pub fn add_row(&mut self, truth: &[u8], pred: &[u8]) {
        debug_assert_eq!(truth.len(), pred.len());
        let (mut tp, mut t, mut p) = (0u64, 0u64, 0u64);
        for (&a, &b) in truth.iter().zip(pred) {
            let (a, b) = ((a != 0) as u64, (b != 0) as u64);
            tp += a & b;
            t += a;
            p += b;
        }
        let n = truth.len().min(pred.len()) as u64;
        self.tp += tp;
        self.fp += p - tp;
        self.fn_ += t - tp;
        self.tn += n - t - p + tp;
    }

    /// Adds another comparison's counts.
    pub fn merge(&mut self, o: &Confusion) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
        self.tn += o.tn;
    }

    /// Positive pixels of the truth.
    pub fn truth(&self) -> u64 {
        self.tp + self.fn_
    }

    /// Positive pixels of the prediction.
    pub fn predicted(&self) -> u64 {
        self.tp + self.fp
    }

    /// 2·TP / (truth + predicted); `None` when both are empty (0/0).
    pub fn dice(&self) -> Option<f64> {
        let d = self.truth() + self.predicted();
        (d > 0).then(|| 2.0 * self.tp as f64 / d as f64)
    }

    /// TP / predicted; `None` when nothing is predicted.
    pub fn precision(&self) -> Option<f64> {
        let d = self.predicted();
        (d > 0).then(|| self.tp as f64 / d as f64)
    }

    /// TP / truth; `None` when the truth is empty.
    pub fn recall(&self) -> Option<f64> {
        let d = self.truth();
        (d > 0).then(|| self.tp as f64 / d as f64)
    }
}

/// Mean and population standard deviation (NumPy's default, ddof 0) of some values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// How many values.
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// Their population standard deviation.
    pub std: f64,
}

/// The summary of `values`, or `None` when there are none.
pub fn summarize(values: &[f64]) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    Some(Summary {
        n: values.len(),
        mean,
        std: var.sqrt(),
    })
}

/// Summaries of `(group, value)` pairs per group, in sorted group order.
pub fn summarize_by<'a>(
    items: impl IntoIterator<Item = (&'a str, f64)>,
) -> BTreeMap<String, Summary> {
    let mut groups: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (g, v) in items {
        groups.entry(g.to_string()).or_default().push(v);
    }
    groups
        .into_iter()
        .filter_map(|(g, v)| summarize(&v).map(|s| (g, s)))
        .collect()
}

/// A mask brought to `factor` times its pixel size as a binary mask, one output row at a time: a
/// source pixel is positive when its value exceeds `threshold` (0: non-zero), and an output pixel
/// when at least half of the source pixels its block covers are (edge blocks count the pixels
/// they have). Memory: `factor` source rows.
pub struct BlockMajority<T: Sample> {
    src: Box<dyn RowSource<T>>,
    threshold: u64,
    width: usize,
    height: usize,
    factor: usize,
    y: usize,
    buf: Vec<T>,
    counts: Vec<u32>,
}

impl<T: Sample> BlockMajority<T> {
    /// Reduces `src` (`width × height`) by `factor` (≥ 1), positive above `threshold`.
    pub fn new(
        src: Box<dyn RowSource<T>>,
        width: usize,
        height: usize,
        factor: usize,
        threshold: u64,
    ) -> Self {
        let factor = factor.max(1);
        BlockMajority {
            src,
            threshold,
            width,
            height,
            factor,
            y: 0,
            buf: vec![T::default(); width * factor],
            counts: vec![0; width.div_ceil(factor)],
        }
    }

    /// The reduced size: ⌈width / factor⌉ × ⌈height / factor⌉.
    pub fn size(&self) -> (usize, usize) {
        (
            self.width.div_ceil(self.factor),
            self.height.div_ceil(self.factor),
        )
    }

    /// Writes the next reduced row (0 or 1 per pixel) into `out` (its reduced width).
    pub fn next_row(&mut self, out: &mut [u8]) -> Result<(), MaskError> {
        let rows = self.factor.min(self.height.saturating_sub(self.y));
        if rows == 0 {
            out.fill(0);
            return Ok(());
        }
        let n = rows * self.width;
        self.src.read_rows(&mut self.buf[..n], rows)?;
        self.y += rows;
        self.counts.fill(0);
        for row in self.buf[..n].chunks_exact(self.width) {
            for (block, px) in self.counts.iter_mut().zip(row.chunks(self.factor)) {
                *block += px.iter().filter(|v| v.to_u64() > self.threshold).count() as u32;
            }
        }
        for (i, (o, c)) in out.iter_mut().zip(&self.counts).enumerate() {
            let cols = self.factor.min(self.width - i * self.factor);
            *o = (2 * *c as usize >= rows * cols) as u8;
        }
        Ok(())
    }
}

/// A label mask brought to `factor` times its pixel size as one binary mask per class, one
/// output row at a time, in one pass: for class `k`, a source pixel is positive when its value
/// is the class's (`lut[value] == k + 1`; values above 255 are no class), and an output pixel
/// when at least half of the source pixels its block covers are — the rule of
/// [`BlockMajority`] applied to each class's mask. Memory: `factor` source rows.
pub struct ClassBlocks<T: Sample> {
    src: Box<dyn RowSource<T>>,
    lut: Vec<u8>,
    classes: usize,
    width: usize,
    height: usize,
    factor: usize,
    y: usize,
    buf: Vec<T>,
    counts: Vec<u32>,
}

impl<T: Sample> ClassBlocks<T> {
    /// Reduces `src` (`width × height`) by `factor` (≥ 1) into `classes` binary masks; `lut`
    /// (256 entries) gives each value's class index + 1, 0 for none.
    pub fn new(
        src: Box<dyn RowSource<T>>,
        width: usize,
        height: usize,
        factor: usize,
        mut lut: Vec<u8>,
        classes: usize,
    ) -> Self {
        let factor = factor.max(1);
        lut.resize(256, 0);
        ClassBlocks {
            src,
            lut,
            classes,
            width,
            height,
            factor,
            y: 0,
            buf: vec![T::default(); width * factor],
            counts: vec![0; (classes + 1) * width.div_ceil(factor)],
        }
    }

    /// The reduced size: ⌈width / factor⌉ × ⌈height / factor⌉.
    pub fn size(&self) -> (usize, usize) {
        (
            self.width.div_ceil(self.factor),
            self.height.div_ceil(self.factor),
        )
    }

    /// Writes the next reduced row of every class into `out` (at least `classes × w` long,
    /// `w` the reduced width): class `k`'s row, 0 or 1 per pixel, at `out[k * w..(k + 1) * w]`.
    pub fn next_row(&mut self, out: &mut [u8]) -> Result<(), MaskError> {
        let (w, _) = self.size();
        let out = &mut out[..self.classes * w];
        let rows = self.factor.min(self.height.saturating_sub(self.y));
        if rows == 0 {
            out.fill(0);
            return Ok(());
        }
        let n = rows * self.width;
        self.src.read_rows(&mut self.buf[..n], rows)?;
        self.y += rows;
        let lut = &self.lut;
        let class_of = |v: &T| {
            let v = v.to_u64();
            if v < 256 {
                lut[v as usize] as usize
            } else {
                0
            }
        };
        if self.factor == 1 {
            out.fill(0);
            for (x, v) in self.buf[..n].iter().enumerate() {
                let k = class_of(v);
                if k > 0 {
                    out[(k - 1) * w + x] = 1;
                }
            }
            return Ok(());
        }
        // counts[block × (classes + 1) + class index + 1]; index 0: no class
        self.counts.fill(0);
        let stride = self.classes + 1;
        for row in self.buf[..n].chunks_exact(self.width) {
            for (b, px) in row.chunks(self.factor).enumerate() {
                for v in px {
                    self.counts[b * stride + class_of(v)] += 1;
                }
            }
        }
        for k in 0..self.classes {
            for (i, o) in out[k * w..(k + 1) * w].iter_mut().enumerate() {
                let cols = self.factor.min(self.width - i * self.factor);
                *o = (2 * self.counts[i * stride + k + 1] as usize >= rows * cols) as u8;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn confusion(truth: &[u8], pred: &[u8]) -> Confusion {
        let mut c = Confusion::default();
        c.add_row(truth, pred);
        c
    }

    #[test]
    fn hand_computed_case() {
        // truth: 4 positives; prediction: 5 positives, 3 of them right
        let t = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0];
        let p = [1, 1, 1, 0, 255, 7, 0, 0, 0, 1];
        let c = confusion(&t, &p);
        assert_eq!((c.tp, c.fp, c.fn_, c.tn), (3, 3, 1, 3));
        assert_eq!(c.dice(), Some(6.0 / 10.0));
        assert_eq!(c.precision(), Some(3.0 / 6.0));
        assert_eq!(c.recall(), Some(3.0 / 4.0));
    }

    #[test]
    fn empty_masks_have_undefined_metrics_not_zero() {
        let c = confusion(&[0, 0, 0], &[0, 0, 0]);
        assert_eq!((c.dice(), c.precision(), c.recall()), (None, None, None));
        // empty truth, something predicted: Dice 0, precision 0, recall undefined
        let c = confusion(&[0, 0, 0], &[0, 1, 0]);
        assert_eq!(
            (c.dice(), c.precision(), c.recall()),
            (Some(0.0), Some(0.0), None)
        );
    }

    #[test]
    fn summaries_use_the_population_std() {
        let s = summarize(&[0.9, 0.8, 0.7, 1.0]).unwrap();
        assert!((s.mean - 0.85).abs() < 1e-15);
        // numpy.std([0.9, 0.8, 0.7, 1.0]) = 0.1118033988749895
        assert!((s.std - 0.1118033988749895).abs() < 1e-15);
        assert!(summarize(&[]).is_none());
        let by = summarize_by([("2", 0.5), ("1", 0.7), ("2", 0.9)]);
        assert_eq!(by.keys().collect::<Vec<_>>(), vec!["1", "2"]);
        assert_eq!((by["2"].n, by["2"].mean), (2, 0.7));
    }

    #[test]
    fn block_majority_counts_ties_as_positive_and_keeps_partial_edge_blocks() {
        use crate::mask::MemoryRows;
        use std::sync::Arc;
        // 5 × 3 source, factor 2 → 3 × 2; blocks: [2 of 4] [1 of 4] [1 of 2] / [1 of 2] [0 of 2] [1 of 1]
        let src: Vec<u8> = vec![
            1, 0, 0, 0, 9, //
            0, 1, 1, 0, 0, //
            0, 1, 0, 0, 3, //
        ];
        let mut r = BlockMajority::new(Box::new(MemoryRows::new(Arc::new(src), 5)), 5, 3, 2, 0);
        assert_eq!(r.size(), (3, 2));
        let mut row = vec![0u8; 3];
        r.next_row(&mut row).unwrap();
        assert_eq!(row, vec![1, 0, 1]);
        r.next_row(&mut row).unwrap();
        assert_eq!(row, vec![1, 0, 1]);
    }

    proptest! {
        #[test]
        fn block_majority_matches_counting_each_block(
            w in 1usize..20, h in 1usize..20, seed in any::<u64>(),
        ) {
            use crate::mask::MemoryRows;
            use std::sync::Arc;
            let mut s = seed | 1;
            let m: Vec<u16> = (0..w * h).map(|_| { s ^= s << 13; s ^= s >> 7; s ^= s << 17; (s % 3) as u16 }).collect();
            for f in 1..5usize {
                let mut r = BlockMajority::new(Box::new(MemoryRows::new(Arc::new(m.clone()), w)), w, h, f, 0);
                let (ow, oh) = r.size();
                let mut row = vec![0u8; ow];
                for oy in 0..oh {
                    r.next_row(&mut row).unwrap();
                    // reference: count each block's positives directly
                    let want: Vec<u8> = (0..ow).map(|ox| {
                        let (mut pos, mut all) = (0, 0);
                        for y in oy * f..((oy + 1) * f).min(h) {
                            for x in ox * f..((ox + 1) * f).min(w) {
                                all += 1;
                                pos += (m[y * w + x] != 0) as usize;
                            }
                        }
                        (2 * pos >= all) as u8
                    }).collect();
                    prop_assert_eq!(&row, &want);
                    if f == 1 {
                        let same: Vec<u8> = m[oy * w..(oy + 1) * w].iter().map(|&v| (v != 0) as u8).collect();
                        prop_assert_eq!(&row, &same);
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn class_blocks_are_block_majority_of_each_class_mask(
            w in 1usize..20, h in 1usize..20, seed in any::<u64>(),
        ) {
            use crate::mask::MemoryRows;
            use std::sync::Arc;
            let mut s = seed | 1;
            // values 0..4 and 256 + 1 (no class: above 255)
            let m: Vec<u16> = (0..w * h).map(|_| { s ^= s << 13; s ^= s >> 7; s ^= s << 17; [0, 1, 2, 3, 257][(s % 5) as usize] }).collect();
            // classes: index 0 is value 3, index 1 value 1
            let mut lut = vec![0u8; 256];
            (lut[3], lut[1]) = (1, 2);
            for f in 1..5usize {
                let mut c = ClassBlocks::new(Box::new(MemoryRows::new(Arc::new(m.clone()), w)), w, h, f, lut.clone(), 2);
                let (ow, oh) = c.size();
                let mut got = vec![0u8; 2 * ow];
                let mut want = vec![vec![0u8; ow]; 2];
                let mut refs: Vec<BlockMajority<u16>> = [3u16, 1].iter().map(|&v| {
                    let only: Vec<u16> = m.iter().map(|&x| (x == v) as u16).collect();
                    BlockMajority::new(Box::new(MemoryRows::new(Arc::new(only), w)), w, h, f, 0)
                }).collect();
                for _ in 0..oh {
                    c.next_row(&mut got).unwrap();
                    for (r, o) in refs.iter_mut().zip(want.iter_mut()) {
                        r.next_row(o).unwrap();
                    }
                    prop_assert_eq!(&got[..ow], &want[0][..]);
                    prop_assert_eq!(&got[ow..], &want[1][..]);
                }
            }
        }
    }

    proptest! {
        #[test]
        fn metric_invariants(
            a in proptest::collection::vec(0u8..3, 1..300),
            seed in any::<u64>(),
        ) {
            let mut s = seed;
            let b: Vec<u8> = a.iter().map(|_| {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                (s % 3) as u8
            }).collect();
            let ab = confusion(&a, &b);
            let ba = confusion(&b, &a);
            // counts partition the pixels
            prop_assert_eq!(ab.tp + ab.fp + ab.fn_ + ab.tn, a.len() as u64);
            // Dice is symmetric; precision and recall swap with truth and prediction
            prop_assert_eq!(ab.dice(), ba.dice());
            prop_assert_eq!(ab.precision(), ba.recall());
            prop_assert_eq!(ab.recall(), ba.precision());
            // a mask against itself
            let aa = confusion(&a, &a);
            if aa.truth() > 0 {
                prop_assert_eq!(aa.dice(), Some(1.0));
                prop_assert_eq!(aa.precision(), Some(1.0));
            }
            // Dice is the harmonic mean of precision and recall
            if let (Some(p), Some(r), Some(d)) = (ab.precision(), ab.recall(), ab.dice()) {
                if p + r > 0.0 {
                    prop_assert!((d - 2.0 * p * r / (p + r)).abs() < 1e-12);
                }
            }
            // row by row equals all at once
            let mut rows = Confusion::default();
            for (x, y) in a.chunks(7).zip(b.chunks(7)) {
                rows.add_row(x, y);
            }
            prop_assert_eq!(rows, ab);
        }
    }
}
