//! The paper's downsample convention: a mask of floor(W/d) × floor(H/d) pixels is at
//! downsample d exactly, one d for both axes, never a per-axis ratio of sizes.

/// Why a mask's size does not give its downsample against a slide's level 0.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DownsampleError {
    /// The downsample given is zero, negative or not a number.
    #[error("downsample {0} is not a positive number")]
    NotPositive(f64),
    /// The mask has no pixels, or the slide has none.
    #[error("a mask of {mask_w} × {mask_h} cannot be placed on a slide of {slide_w} × {slide_h}")]
    Empty {
        mask_w: u32,
        mask_h: u32,
        slide_w: u64,
        slide_h: u64,
    },
    /// The downsample given does not give the mask's size.
    #[error(
        "the mask is {mask_w} × {mask_h}, but the slide ({slide_w} × {slide_h}) at downsample \
         {d} gives {floor_w} × {floor_h} (rounded down; {ceil_w} × {ceil_h} rounded up): check \
         the downsample and that the mask belongs to this slide"
    )]
    Mismatch {
        mask_w: u32,
        mask_h: u32,
        slide_w: u64,
        slide_h: u64,
        d: f64,
        floor_w: u64,
        floor_h: u64,
        ceil_w: u64,
        ceil_h: u64,
    },
    /// No whole downsample gives the mask's size.
    #[error(
        "the mask is {mask_w} × {mask_h}, which is the slide ({slide_w} × {slide_h}) at no whole \
         downsample d (one d for both axes, each side the slide's divided by d, rounded down or \
         up): give the downsample, and check that the mask belongs to this slide"
    )]
    NoFit {
        mask_w: u32,
        mask_h: u32,
        slide_w: u64,
        slide_h: u64,
    },
    /// Several whole downsamples give the mask's size.
    #[error(
        "the mask is {mask_w} × {mask_h}, which is the slide ({slide_w} × {slide_h}) at \
         downsamples {}{}: give the downsample to say which",
        list.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
        if *more { ", …" } else { "" }
    )]
    Ambiguous {
        mask_w: u32,
        mask_h: u32,
        slide_w: u64,
        slide_h: u64,
        /// The first few that fit, ascending.
        list: Vec<u64>,
        /// Whether more fit than are listed.
        more: bool,
    },
}

/// Whether a `mask` (width, height) is the level 0 of a slide (`level0`: width, height) at
/// downsample `d`: each side of the mask is the slide's divided by `d`, rounded down (the
/// H2G-Net authors' export) or up (QuPath's `LabeledImageServer` rounds to nearest, which is
/// one of the two). Mask pixel (i, j) covers level-0 `[i·d, (i+1)·d) × [j·d, (j+1)·d)`, one
/// `d` for both axes; with the rounded-up size the last column or row reaches past the slide.
///
/// ```
/// assert!(h2g::slide::fits_downsample((555, 741), (2220, 2967), 4.0));
/// assert!(h2g::slide::fits_downsample((555, 742), (2220, 2967), 4.0));
/// assert!(!h2g::slide::fits_downsample((555, 740), (2220, 2967), 4.0));
/// assert!(!h2g::slide::fits_downsample((555, 741), (2220, 2967), 8.0));
/// ```
pub fn fits_downsample(mask: (u32, u32), level0: (u64, u64), d: f64) -> bool {
    if !(d.is_finite() && d > 0.0) {
        return false;
    }
    // m is floor(s / d) or ceil(s / d) exactly when |m − s / d| < 1
    let side = |m: u32, s: u64| (m as f64 - s as f64 / d).abs() < 1.0 - 1e-9;
    side(mask.0, level0.0) && side(mask.1, level0.1)
}

/// The downsample of a mask of size `mask` made from a slide whose level 0 is `level0`: the
/// one given, checked with [`fits_downsample`], or else the only whole number that fits.
///
/// ```
/// use h2g::slide::{mask_downsample, DownsampleError};
/// assert_eq!(mask_downsample((555, 741), (2220, 2967), None), Ok(4.0));
/// assert_eq!(mask_downsample((555, 742), (2220, 2967), None), Ok(4.0));
/// assert!(matches!(
///     mask_downsample((64, 48), (2220, 2967), None),
///     Err(DownsampleError::NoFit { .. })
/// ));
/// ```
pub fn mask_downsample(
    mask: (u32, u32),
    level0: (u64, u64),
    given: Option<f64>,
) -> Result<f64, DownsampleError> {
    let (mw, mh) = mask;
    let (sw, sh) = level0;
    if mw == 0 || mh == 0 || sw == 0 || sh == 0 {
        return Err(DownsampleError::Empty {
            mask_w: mw,
            mask_h: mh,
            slide_w: sw,
            slide_h: sh,
        });
    }
    if let Some(d) = given {
        if !(d.is_finite() && d > 0.0) {
            return Err(DownsampleError::NotPositive(d));
        }
        if fits_downsample(mask, level0, d) {
            return Ok(d);
        }
        let (fw, fh) = ((sw as f64 / d).floor(), (sh as f64 / d).floor());
        return Err(DownsampleError::Mismatch {
            mask_w: mw,
            mask_h: mh,
            slide_w: sw,
            slide_h: sh,
            d,
            floor_w: fw as u64,
            floor_h: fh as u64,
            ceil_w: (sw as f64 / d).ceil() as u64,
            ceil_h: (sh as f64 / d).ceil() as u64,
        });
    }
    // whole d with floor(s/d) = m or ceil(s/d) = m: s/(m+1) < d < s/(m−1)
    let range = |m: u32, s: u64| -> (u64, u64) {
        let m = m as u64;
        let lo = s / (m + 1) + 1;
        let hi = if m <= 1 {
            u64::MAX
        } else {
            s.div_ceil(m - 1) - 1
        };
        (lo, hi)
    };
    let ((lx, hx), (ly, hy)) = (range(mw, sw), range(mh, sh));
    let (lo, hi) = (lx.max(ly), hx.min(hy));
    let mut list = Vec::new();
    let mut d = lo;
    while d <= hi && list.len() < 6 {
        if fits_downsample(mask, level0, d as f64) {
            list.push(d);
        }
        d += 1;
    }
    let more = d <= hi;
    match (list.as_slice(), more) {
        ([one], false) => Ok(*one as f64),
        ([], false) => Err(DownsampleError::NoFit {
            mask_w: mw,
            mask_h: mh,
            slide_w: sw,
            slide_h: sh,
        }),
        _ => Err(DownsampleError::Ambiguous {
            mask_w: mw,
            mask_h: mh,
            slide_w: sw,
            slide_h: sh,
            list,
            more,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whole downsamples that fit, by brute force in integers: m = ⌊s/d⌋ or m = ⌈s/d⌉.
    fn brute(mask: (u32, u32), l0: (u64, u64), up_to: u64) -> Vec<u64> {
        let side = |m: u32, s: u64, d: u64| m as u64 == s / d || m as u64 == s.div_ceil(d);
        (1..=up_to)
            .filter(|&d| side(mask.0, l0.0, d) && side(mask.1, l0.1, d))
            .collect()
    }

    #[test]
    fn the_demo_slide_at_downsample_4_floor_and_ceil() {
        // 2220 × 2967: ⌊2967/4⌋ = 741, ⌈2967/4⌉ = 742 (QuPath's round(741.75))
        let l0 = (2220, 2967);
        assert_eq!(mask_downsample((555, 741), l0, None), Ok(4.0));
        assert_eq!(mask_downsample((555, 742), l0, None), Ok(4.0));
        assert_eq!(mask_downsample((555, 742), l0, Some(4.0)), Ok(4.0));
        // the per-axis ratio of the old inference is no downsample at all
        assert_ne!(mask_downsample((555, 742), l0, None), Ok(2967.0 / 742.0));
        assert!(matches!(
            mask_downsample((555, 740), l0, None),
            Err(DownsampleError::NoFit { .. })
        ));
        match mask_downsample((555, 741), l0, Some(8.0)) {
            Err(DownsampleError::Mismatch {
                floor_w,
                floor_h,
                ceil_w,
                ceil_h,
                ..
            }) => assert_eq!((floor_w, floor_h, ceil_w, ceil_h), (277, 370, 278, 371)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            mask_downsample((555, 741), l0, Some(0.0)),
            Err(DownsampleError::NotPositive(_))
        ));
        assert!(matches!(
            mask_downsample((0, 741), l0, None),
            Err(DownsampleError::Empty { .. })
        ));
    }

    #[test]
    fn several_fitting_downsamples_are_an_error_naming_them() {
        // 100 × 100 as 20 × 20: 100/21 < d < 100/19 only for d = 5; as 10 × 10 for d = 10
        // (⌊100/10⌋) and 11 (⌈100/11⌉); as 3 × 3 for d = 26 (⌈100/26⌉) to 49 (⌊100/49⌋)
        assert_eq!(mask_downsample((20, 20), (100, 100), None), Ok(5.0));
        match mask_downsample((10, 10), (100, 100), None) {
            Err(DownsampleError::Ambiguous { list, more, .. }) => {
                assert_eq!((list, more), (vec![10, 11], false))
            }
            other => panic!("{other:?}"),
        }
        match mask_downsample((3, 3), (100, 100), None) {
            Err(DownsampleError::Ambiguous { list, more, .. }) => {
                assert_eq!(list, vec![26, 27, 28, 29, 30, 31]);
                assert!(more);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            brute((3, 3), (100, 100), 200),
            (26..=49).collect::<Vec<_>>()
        );
        let e = mask_downsample((3, 3), (100, 100), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("26, 27, 28, 29, 30, 31, …"), "{e}");
        // a 1 × 1 mask fits every downsample from 51 on
        assert!(matches!(
            mask_downsample((1, 1), (100, 100), None),
            Err(DownsampleError::Ambiguous { more: true, .. })
        ));
    }

    #[test]
    fn inference_agrees_with_a_brute_force_search() {
        let mut rng = crate::sampling::Rng::new(7);
        for _ in 0..3000 {
            let l0 = (1 + rng.next_u64() % 3000, 1 + rng.next_u64() % 3000);
            let d = 1 + rng.next_u64() % 40;
            let mut m = (
                if rng.next_u64().is_multiple_of(2) {
                    l0.0 / d
                } else {
                    l0.0.div_ceil(d)
                } as u32,
                if rng.next_u64().is_multiple_of(2) {
                    l0.1 / d
                } else {
                    l0.1.div_ceil(d)
                } as u32,
            );
            if rng.next_u64().is_multiple_of(4) {
                m.1 += 1;
            }
            if m.0 == 0 || m.1 == 0 {
                continue;
            }
            let want = brute(m, l0, 6001);
            match mask_downsample(m, l0, None) {
                Ok(got) => assert_eq!(want, vec![got as u64], "{m:?} of {l0:?}"),
                Err(DownsampleError::NoFit { .. }) => assert!(want.is_empty(), "{m:?} {l0:?}"),
                Err(DownsampleError::Ambiguous { list, more, .. }) => {
                    assert_eq!(list[..], want[..list.len()], "{m:?} of {l0:?}");
                    assert_eq!(more, want.len() > list.len(), "{m:?} of {l0:?}");
                }
                Err(e) => panic!("{e}"),
            }
        }
    }
}
