//! The paper's training augmentations, each applied with probability ½ and in this order:
//! horizontal flip, vertical flip, a rotation by 90°, 180° or 270°, a shift of hue, saturation
//! and value in [−20, 20], and a brightness factor in [0.8, 1.2].
//!
//! The HSV shift works in OpenCV's 8-bit HSV (hue 0–179 in steps of 2°, saturation and value
//! 0–255) and converts both ways exactly as OpenCV's `cvtColor` does for 8-bit images
//! (`COLOR_RGB2HSV`, `COLOR_HSV2RGB`): hue wraps around, saturation and value are clamped.
//! Brightness multiplies every channel in single precision, rounds half up and clamps to 255.
//!
//! The parameters of one patch come from a generator of their own ([`AugmentParams::draw`]),
//! so the patches drawn do not depend on whether augmentation is on, and a reference
//! implementation can replay exactly what was applied.

use super::Rng;

/// Which augmentations may be applied (each then with probability ½).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Augment {
    /// Horizontal and vertical flips.
    pub flips: bool,
    /// Rotations by multiples of 90°.
    pub rotations: bool,
    /// The HSV shift.
    pub hsv: bool,
    /// The brightness factor.
    pub brightness: bool,
}

impl Augment {
    /// All of the paper's augmentations.
    pub const PAPER: Augment = Augment {
        flips: true,
        rotations: true,
        hsv: true,
        brightness: true,
    };
    /// None.
    pub const NONE: Augment = Augment {
        flips: false,
        rotations: false,
        hsv: false,
        brightness: false,
    };

    /// Whether any augmentation is on.
    pub fn any(&self) -> bool {
        self.flips || self.rotations || self.hsv || self.brightness
    }
}

/// The half-width of the HSV shift: each channel moves by an integer in [−20, 20].
pub const HSV_SHIFT: i32 = 20;
/// The range of the brightness factor.
pub const BRIGHTNESS: (f32, f32) = (0.8, 1.2);

/// What was applied to one patch.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AugmentParams {
    /// Mirrored left–right.
    pub flip_h: bool,
    /// Mirrored top–bottom (after the horizontal flip).
    pub flip_v: bool,
    /// Quarter turns counter-clockwise (0–3), as `numpy.rot90(image, k)`.
    pub rot90: u8,
    /// Shifts of hue, saturation and value in OpenCV 8-bit units (all 0 when not applied).
    pub hsv: [i32; 3],
    /// Brightness factor (1 when not applied).
    pub brightness: f32,
}

impl AugmentParams {
    /// Nothing applied.
    pub const IDENTITY: AugmentParams = AugmentParams {
        flip_h: false,
        flip_v: false,
        rot90: 0,
        hsv: [0, 0, 0],
        brightness: 1.0,
    };

    /// Draws one patch's parameters. The generator is always advanced by the same amount,
    /// whichever augmentations are on, so switching one off leaves the others as they were.
    pub fn draw(rng: &mut Rng, on: Augment) -> Self {
        let coin = |rng: &mut Rng| rng.next_u64() >> 63 == 1;
        let flip_h = coin(rng);
        let flip_v = coin(rng);
        let rot = coin(rng);
        let k = 1 + rng.below(3) as u8;
        let hsv_on = coin(rng);
        let span = (2 * HSV_SHIFT + 1) as usize;
        let hsv = [0; 3].map(|_: i32| rng.below(span) as i32 - HSV_SHIFT);
        let bright_on = coin(rng);
        // 24 random bits: a factor on a grid of 2⁻²⁴ of the range, exact in f32
        let u = (rng.next_u64() >> 40) as f32 / (1u32 << 24) as f32;
        let factor = BRIGHTNESS.0 + (BRIGHTNESS.1 - BRIGHTNESS.0) * u;
        AugmentParams {
            flip_h: on.flips && flip_h,
            flip_v: on.flips && flip_v,
            rot90: if on.rotations && rot { k } else { 0 },
            hsv: if on.hsv && hsv_on { hsv } else { [0; 3] },
            brightness: if on.brightness && bright_on {
                factor
            } else {
                1.0
            },
        }
    }

    /// Whether this changes nothing.
    pub fn is_identity(&self) -> bool {
        *self == Self::IDENTITY
    }

    /// Applies the parameters to a square `side × side` RGB patch in place (`scratch` is
    /// reused between calls to avoid allocating).
    pub fn apply(&self, side: usize, rgb: &mut [u8], scratch: &mut Vec<u8>) {
        debug_assert_eq!(rgb.len(), 3 * side * side);
        if self.flip_h || self.flip_v || self.rot90 != 0 {
            scratch.clear();
            scratch.extend_from_slice(rgb);
            let last = side - 1;
            for y in 0..side {
                for x in 0..side {
                    // output (x, y) of rot90(flipv(fliph(img)), k) reads source (sx, sy)
                    let (mut sx, mut sy) = match self.rot90 {
                        0 => (x, y),
                        1 => (last - y, x),
                        2 => (last - x, last - y),
                        _ => (y, last - x),
                    };
                    if self.flip_v {
                        sy = last - sy;
                    }
                    if self.flip_h {
                        sx = last - sx;
                    }
                    let o = 3 * (y * side + x);
                    let i = 3 * (sy * side + sx);
                    rgb[o..o + 3].copy_from_slice(&scratch[i..i + 3]);
                }
            }
        }
        if self.hsv != [0; 3] {
            let tables = hsv_tables();
            for px in rgb.chunks_exact_mut(3) {
                let [h, s, v] = rgb_to_hsv(tables, [px[0], px[1], px[2]]);
                let h = (h as i32 + self.hsv[0]).rem_euclid(180) as u8;
                let s = (s as i32 + self.hsv[1]).clamp(0, 255) as u8;
                let v = (v as i32 + self.hsv[2]).clamp(0, 255) as u8;
                px.copy_from_slice(&hsv_to_rgb([h, s, v]));
            }
        }
        if self.brightness != 1.0 {
            let f = self.brightness;
            let lut: Vec<u8> = (0..=255u32)
                .map(|c| (c as f32 * f + 0.5).floor().min(255.0) as u8)
                .collect();
            for c in rgb.iter_mut() {
                *c = lut[*c as usize];
            }
        }
    }
}

const HSV_SHIFT_BITS: u32 = 12;

struct HsvTables {
    sdiv: [i32; 256],
    hdiv: [i32; 256],
}

fn hsv_tables() -> &'static HsvTables {
    static TABLES: std::sync::OnceLock<HsvTables> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = HsvTables {
            sdiv: [0; 256],
            hdiv: [0; 256],
        };
        for i in 1..256 {
            let one = (1i64 << HSV_SHIFT_BITS) as f64;
            t.sdiv[i] = (255.0 * one / i as f64).round() as i32;
            t.hdiv[i] = (180.0 * one / (6.0 * i as f64)).round() as i32;
        }
        t
    })
}

/// RGB → 8-bit HSV in OpenCV's fixed-point arithmetic.
fn rgb_to_hsv(t: &HsvTables, [r, g, b]: [u8; 3]) -> [u8; 3] {
    let (r, g, b) = (r as i32, g as i32, b as i32);
    let v = r.max(g).max(b);
    let diff = v - r.min(g).min(b);
    let half = 1 << (HSV_SHIFT_BITS - 1);
    let s = (diff * t.sdiv[v as usize] + half) >> HSV_SHIFT_BITS;
    let h = if v == r {
        g - b
    } else if v == g {
        b - r + 2 * diff
    } else {
        r - g + 4 * diff
    };
    let mut h = (h * t.hdiv[diff as usize] + half) >> HSV_SHIFT_BITS;
    if h < 0 {
        h += 180;
    }
    [h as u8, s as u8, v as u8]
}

/// 8-bit HSV → RGB as OpenCV does it: in single precision, rounded to nearest (ties to even).
fn hsv_to_rgb([h, s, v]: [u8; 3]) -> [u8; 3] {
    let s = s as f32 * (1.0 / 255.0);
    let v = v as f32 * (1.0 / 255.0);
    let (r, g, b) = if s == 0.0 {
        (v, v, v)
    } else {
        let mut h = h as f32 * (6.0 / 180.0);
        while h >= 6.0 {
            h -= 6.0;
        }
        let mut sector = h.floor() as usize;
        h -= sector as f32;
        if sector >= 6 {
            sector = 0;
            h = 0.0;
        }
        let tab = [
            v,
            v * (1.0 - s),
            v * (1.0 - s * h),
            v * (1.0 - s * (1.0 - h)),
        ];
        // (b, g, r) indices into tab per sector, as OpenCV's table
        const SECTORS: [[usize; 3]; 6] = [
            [1, 3, 0],
            [1, 0, 2],
            [3, 0, 1],
            [0, 2, 1],
            [0, 1, 3],
            [2, 1, 0],
        ];
        let [bi, gi, ri] = SECTORS[sector];
        (tab[ri], tab[gi], tab[bi])
    };
    let q = |c: f32| (c * 255.0).round_ties_even().clamp(0.0, 255.0) as u8;
    [q(r), q(g), q(b)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(side: usize) -> Vec<u8> {
        (0..3 * side * side).map(|i| (i * 37 % 251) as u8).collect()
    }

    #[test]
    fn geometric_transforms_match_their_definitions() {
        let side = 5;
        let img = patch(side);
        let at = |d: &[u8], x: usize, y: usize| d[3 * (y * side + x)];
        let mut scratch = Vec::new();
        // rot90 k=1 (numpy): out[y][x] = in[x][last - y]
        let mut out = img.clone();
        AugmentParams {
            rot90: 1,
            ..AugmentParams::IDENTITY
        }
        .apply(side, &mut out, &mut scratch);
        assert_eq!(at(&out, 1, 0), at(&img, 4, 1));
        assert_eq!(at(&out, 0, 4), at(&img, 0, 0));
        // four quarter turns are the identity; two flips are a half turn
        let mut four = img.clone();
        for _ in 0..4 {
            AugmentParams {
                rot90: 1,
                ..AugmentParams::IDENTITY
            }
            .apply(side, &mut four, &mut scratch);
        }
        assert_eq!(four, img);
        let mut flips = img.clone();
        AugmentParams {
            flip_h: true,
            flip_v: true,
            ..AugmentParams::IDENTITY
        }
        .apply(side, &mut flips, &mut scratch);
        let mut half = img.clone();
        AugmentParams {
            rot90: 2,
            ..AugmentParams::IDENTITY
        }
        .apply(side, &mut half, &mut scratch);
        assert_eq!(flips, half);
    }

    #[test]
    fn hsv_round_trip_without_a_shift_is_close_and_greys_are_exact() {
        let t = hsv_tables();
        for g in 0..=255u8 {
            assert_eq!(hsv_to_rgb(rgb_to_hsv(t, [g, g, g])), [g, g, g]);
        }
        // primary colours, as OpenCV gives them
        assert_eq!(rgb_to_hsv(t, [255, 0, 0]), [0, 255, 255]);
        assert_eq!(rgb_to_hsv(t, [0, 255, 0]), [60, 255, 255]);
        assert_eq!(rgb_to_hsv(t, [0, 0, 255]), [120, 255, 255]);
        assert_eq!(hsv_to_rgb([120, 255, 255]), [0, 0, 255]);
    }

    #[test]
    fn parameters_are_in_range_and_each_is_on_about_half_the_time() {
        let mut rng = Rng::new(11);
        let n = 20_000;
        let mut counts = [0usize; 4];
        for _ in 0..n {
            let p = AugmentParams::draw(&mut rng, Augment::PAPER);
            counts[0] += p.flip_h as usize;
            counts[1] += (p.rot90 != 0) as usize;
            counts[2] += (p.hsv != [0; 3]) as usize;
            counts[3] += (p.brightness != 1.0) as usize;
            assert!(p.rot90 <= 3);
            assert!(p.hsv.iter().all(|d| d.abs() <= HSV_SHIFT));
            assert!((0.8..=1.2).contains(&p.brightness));
        }
        // mean 10 000, sd ≈ 71 (an all-zero HSV shift is one draw in 68 921)
        for c in counts {
            assert!((9_650..=10_350).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn switching_one_augmentation_off_leaves_the_others() {
        let on = AugmentParams::draw(&mut Rng::new(5), Augment::PAPER);
        let off = AugmentParams::draw(
            &mut Rng::new(5),
            Augment {
                hsv: false,
                ..Augment::PAPER
            },
        );
        assert_eq!(off.hsv, [0; 3]);
        assert_eq!(
            (on.flip_h, on.rot90, on.brightness),
            (off.flip_h, off.rot90, off.brightness)
        );
    }
}
