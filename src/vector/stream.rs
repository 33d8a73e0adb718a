//! Tracing every label of a mask at once while its rows stream past.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::sweep::Tracer;
use super::Polygon;
use crate::pyramid::Sample;

/// The maximal runs of equal non-zero value in `row`, as `(label, x0, x1)`, in x order.
pub fn row_runs<T: Sample>(row: &[T], out: &mut Vec<(u16, u32, u32)>) {
    out.clear();
    let n = row.len();
    let mut x = 0;
    while x < n {
        let v = row[x];
        let end = run_end(row, x);
        if v != T::default() {
            out.push((v.to_u64() as u16, x as u32, end as u32));
        }
        x = end;
    }
}

/// The first index after `x` whose value differs from `row[x]` (or `row.len()`).
fn run_end<T: Sample>(row: &[T], x: usize) -> usize {
    let v = row[x];
    // compare 16 samples at a time while they all match, then finish one by one
    let mut i = x + 1;
    while i + 16 <= row.len() && row[i..i + 16].iter().all(|&p| p == v) {
        i += 16;
    }
    while i < row.len() && row[i] == v {
        i += 1;
    }
    i
}

/// Streams rows of a label mask through one [`Tracer`] per label.
#[derive(Debug, Default)]
pub struct LabelTracer {
    tracers: BTreeMap<u16, Tracer>,
    /// Only these labels are traced (all non-zero ones when `None`).
    keep: Option<Vec<u16>>,
    y: u32,
    done: Vec<(u16, Polygon)>,
}

impl LabelTracer {
    /// A tracer for the labels in `keep`, or for every non-zero label.
    pub fn new(keep: Option<Vec<u16>>) -> Self {
        LabelTracer {
            keep,
            ..Default::default()
        }
    }

    /// Feeds the next `rows.len() / width` rows (row-major); run extraction runs in parallel.
    pub fn push_rows<T: Sample>(&mut self, rows: &[T], width: usize) {
        if width == 0 {
            return;
        }
        let runs: Vec<Vec<(u16, u32, u32)>> = rows
            .par_chunks(width)
            .map(|row| {
                let mut r = Vec::new();
                row_runs(row, &mut r);
                if let Some(k) = &self.keep {
                    r.retain(|(l, _, _)| k.contains(l));
                }
                // by label, x order kept within each label
                r.sort_by_key(|&(l, _, _)| l);
                r
            })
            .collect();
        let mut xs: Vec<(u32, u32)> = Vec::new();
        for row in runs {
            let y = self.y;
            let mut i = 0;
            // labels with runs on this row
            while i < row.len() {
                let l = row[i].0;
                xs.clear();
                while i < row.len() && row[i].0 == l {
                    xs.push((row[i].1, row[i].2));
                    i += 1;
                }
                self.tracers.entry(l).or_default().push_row(y, &xs);
            }
            // open labels without runs here close what ends on this line
            for (l, t) in &mut self.tracers {
                if !t.is_idle() && t.next_row() == y {
                    t.push_row(y, &[]);
                }
                for p in t.take_done() {
                    self.done.push((*l, p));
                }
            }
            self.y += 1;
        }
    }

    /// Closes every open polygon (call after the last row).
    pub fn finish(&mut self) {
        for (l, t) in &mut self.tracers {
            t.finish();
            for p in t.take_done() {
                self.done.push((*l, p));
            }
        }
    }

    /// The polygons completed so far, with their labels.
    pub fn take_done(&mut self) -> Vec<(u16, Polygon)> {
        std::mem::take(&mut self.done)
    }

    /// The labels met so far, ascending.
    pub fn labels(&self) -> Vec<u16> {
        self.tracers.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_split_on_every_change() {
        let mut out = Vec::new();
        let row: Vec<u8> = [vec![0; 20], vec![1; 17], vec![2], vec![0; 3], vec![1; 40]].concat();
        row_runs(&row, &mut out);
        assert_eq!(out, vec![(1, 20, 37), (2, 37, 38), (1, 41, 81)]);
        row_runs(&[5u16], &mut out);
        assert_eq!(out, vec![(5, 0, 1)]);
    }

    #[test]
    fn labels_are_traced_separately_and_in_one_pass() {
        // label 1 ring around label 2
        let m: Vec<u8> = [[1, 1, 1, 1], [1, 2, 2, 1], [1, 1, 1, 1], [0, 0, 0, 0]].concat();
        let mut t = LabelTracer::new(None);
        t.push_rows(&m[..8], 4);
        t.push_rows(&m[8..], 4);
        t.finish();
        let mut d = t.take_done();
        d.sort_by_key(|(l, _)| *l);
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].0, d[0].1.holes.len()), (1, 1));
        assert_eq!(
            (d[1].0, &d[1].1.shell),
            (2, &vec![(1, 1), (3, 1), (3, 2), (1, 2)])
        );
        let mut only2 = LabelTracer::new(Some(vec![2]));
        only2.push_rows(&m, 4);
        only2.finish();
        assert_eq!(only2.labels(), vec![2]);
    }
}
