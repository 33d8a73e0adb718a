//! Area-weighted mask coverage of each patch, streamed over the mask's rows.
//!
//! Mask pixel (x, y) at downsample (dx, dy) covers the level-0 rectangle
//! `[x·dx, (x+1)·dx) × [y·dy, (y+1)·dy)`; patch (c, r) covers `[c·s, (c+1)·s)²`. A patch's
//! fraction is the foreground area inside its footprint over the footprint's area, computed
//! from the overlaps of the two grids, whatever their relative sizes. Memory: one mask row and
//! one value per patch.

use super::PatchGrid;
use crate::mask::{MaskError, RowSource};
use crate::pyramid::Sample;

/// Errors computing fractions.
#[derive(Debug, thiserror::Error)]
pub enum FractionError {
    /// Reading the mask failed.
    #[error(transparent)]
    Mask(#[from] MaskError),
}

/// For each cell of a 1-D pixel grid (`n` pixels of length `step`), the grid cells of length
/// `side` it overlaps (at most `cells`), with the overlap lengths.
fn overlaps(n: u32, step: f64, side: f64, cells: u32) -> Vec<Vec<(u32, f64)>> {
    (0..n)
        .map(|i| {
            let (a, b) = (i as f64 * step, (i + 1) as f64 * step);
            let first = (a / side).floor().max(0.0) as u32;
            let mut v = Vec::new();
            let mut c = first;
            while c < cells && (c as f64) * side < b {
                let lo = a.max(c as f64 * side);
                let hi = b.min((c + 1) as f64 * side);
                if hi > lo {
                    v.push((c, hi - lo));
                }
                c += 1;
            }
            v
        })
        .collect()
}

/// The fraction of each patch of `grid` (row-major) covered by mask pixels for which
/// `is_fg(value)` holds, the mask being `width × height` pixels at level-0 downsample `(dx, dy)`
/// and read from `rows` top to bottom. `progress` is called with the rows done.
#[allow(clippy::too_many_arguments)]
pub fn area_fractions<T: Sample>(
    rows: &mut dyn RowSource<T>,
    width: u32,
    height: u32,
    (dx, dy): (f64, f64),
    grid: &PatchGrid,
    is_fg: impl Fn(T) -> bool,
    progress: impl Fn(u64),
) -> Result<Vec<f64>, FractionError> {
    let side = grid.side();
    let cols = overlaps(width, dx, side, grid.cols);
    let mut acc = vec![0f64; grid.len()];
    let mut row = vec![T::default(); width as usize];
    let mut row_sum = vec![0f64; grid.cols as usize];
    for y in 0..height {
        rows.read_rows(&mut row, 1)?;
        let (a, b) = (y as f64 * dy, (y + 1) as f64 * dy);
        let first = (a / side).floor().max(0.0) as u32;
        if first >= grid.rows {
            progress(1);
            continue; // rows below the grid still have to be read past
        }
        row_sum.iter_mut().for_each(|v| *v = 0.0);
        for (x, &v) in row.iter().enumerate() {
            if is_fg(v) {
                for &(c, len) in &cols[x] {
                    row_sum[c as usize] += len;
                }
            }
        }
        let mut r = first;
        while r < grid.rows && (r as f64) * side < b {
            let h = b.min((r + 1) as f64 * side) - a.max(r as f64 * side);
            if h > 0.0 {
                let base = r as usize * grid.cols as usize;
                for (c, s) in row_sum.iter().enumerate() {
                    acc[base + c] += s * h;
                }
            }
            r += 1;
        }
        progress(1);
    }
    let area = side * side;
    Ok(acc
        .into_iter()
        .map(|v| (v / area).clamp(0.0, 1.0))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::MemoryRows;
    use std::sync::Arc;

    fn fractions(mask: Vec<u8>, w: u32, h: u32, ds: f64, grid: PatchGrid) -> Vec<f64> {
        let mut src = MemoryRows::new(Arc::new(mask), w as usize);
        area_fractions(&mut src, w, h, (ds, ds), &grid, |v: u8| v != 0, |_| {}).unwrap()
    }

    #[test]
    fn aligned_grids_count_pixels() {
        // 8×4 mask at downsample 2 over a 16×8 level 0; patches of 4×4 output px at ds 1
        let mut m = vec![0u8; 32];
        m[0] = 1; // covers level-0 [0,2)×[0,2): a quarter of patch (0,0)
        m[3] = 1; // [6,8)×[0,2): a quarter of patch (1,0)
        let g = PatchGrid::new(16, 8, 4, 1.0);
        assert_eq!((g.cols, g.rows), (4, 2));
        assert_eq!(
            fractions(m, 8, 4, 2.0, g),
            vec![0.25, 0.25, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        );
    }

    #[test]
    fn mask_pixels_straddling_patches_are_split_by_area() {
        // one mask pixel of 3×3 level-0 px at (1,1) → level-0 [3,6)²; patches of 4 px
        let mut m = vec![0u8; 9];
        m[4] = 1;
        let g = PatchGrid::new(9, 9, 4, 1.0);
        let f = fractions(m, 3, 3, 3.0, g);
        // overlaps: x [3,4) in col 0 (1 px), [4,6) in col 1 (2 px); same for y
        assert_eq!(f, vec![1.0 / 16.0, 2.0 / 16.0, 2.0 / 16.0, 4.0 / 16.0]);
    }

    #[test]
    fn coarse_masks_cover_several_patches() {
        // a single mask pixel covering all of level 0
        let g = PatchGrid::new(64, 64, 8, 2.0);
        assert_eq!(fractions(vec![1], 1, 1, 64.0, g), vec![1.0; 16]);
    }
}
