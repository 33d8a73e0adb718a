//! Stage 1 and stage 2 against references computed here, not by h2g: the test models of
//! `scripts/make_test_models.py` are closed-form functions of where colour sits in their input
//! (a spatial weight map, a 3 × 3 convolution), so this file derives the patch grid and the
//! refinement's input from the slide and the published rules itself, evaluates those functions in
//! plain Rust (no ONNX Runtime) and compares every heatmap cell and every refinement pixel with
//! what h2g computed through ONNX Runtime, channels-last and channels-first. A transposed,
//! flipped, shifted or channel-swapped input, a grid off by a row or a pixel, or the refinement
//! fed the wrong level changes the model's output by far more than the tolerance (1e-4).

mod common;

use std::collections::BTreeMap;

use h2g::infer::heatmap::{heatmap, HeatmapSpec};
use h2g::infer::manifest::{resolve, Manifest};
use h2g::infer::refine_input::RefineLevel;
use h2g::infer::segment::{segment, Design, DesignParams};
use h2g::infer::{Device, Model};
use h2g::slide::{Slide, SlideMeta};

use common::pattern_slide::PatternSlide;

/// Tolerance on a probability: ONNX Runtime's float32 sums against this file's float64.
const TOL: f64 = 1e-4;

// ---- the test models' constants, as scripts/make_test_models.py writes them ----------------

const PATCH_A: [f64; 3] = [8.0, -3.0, 5.0];
const PATCH_B: [f64; 3] = [-7.0, -4.0, 3.0];
const PATCH_C: [f64; 3] = [3.0, 0.0, -4.0];
const PATCH_D: [f64; 3] = [24.0, 12.0, 18.0];
const PATCH_E: [f64; 3] = [18.0, 24.0, 12.0];

const SPREAD: [[f64; 3]; 3] = [
    [0.30, 0.20, 0.00],
    [-0.10, 0.40, 0.35],
    [0.05, -0.15, -0.05],
];
const HEAT_SPREAD: [[f64; 3]; 3] = [[0.0, 0.1, 0.3], [0.0, 0.4, 0.0], [0.2, 0.0, 0.0]];
const REFINE_B: f64 = -1.0;
const UNET_B: f64 = 3.9;

/// Kernel `k` (3 × 3, rows top to bottom) of input channel `ch` of a refinement model.
fn kernel(unet: bool, ch: usize) -> [[f64; 3]; 3] {
    let mut k = [[0.0; 3]; 3];
    for (i, row) in k.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = match (unet, ch) {
                (false, 0) => -SPREAD[i][j],
                (false, 1) => -SPREAD[j][i],
                (false, 2) => -SPREAD[2 - i][j],
                (false, _) => 8.0 * HEAT_SPREAD[i][j],
                (true, 0) => -2.0 * SPREAD[i][j],
                (true, 1) => -2.0 * SPREAD[j][i],
                (true, _) => -2.0 * SPREAD[i][2 - j],
            };
        }
    }
    k
}

fn sigmoid(d: f64) -> f64 {
    1.0 / (1.0 + (-d).exp())
}

/// P(tumour) of the test patch classifier for a 256 × 256 RGB patch (row-major, 8-bit).
fn patch_probability(p: &[u8]) -> f64 {
    let n = 256usize;
    let mut mean = [0f64; 3];
    let mut spatial = 0f64;
    for r in 0..n {
        let v = (r as f64 - 127.5) / 127.5;
        let wr = (2.0 * std::f64::consts::PI * r as f64 / 12.0).sin();
        for c in 0..n {
            let u = (c as f64 - 127.5) / 127.5;
            let wc = (2.0 * std::f64::consts::PI * c as f64 / 16.0).sin();
            for ch in 0..3 {
                let x = p[(r * n + c) * 3 + ch] as f64 / 255.0;
                mean[ch] += x;
                let w = PATCH_A[ch] * u
                    + PATCH_B[ch] * v
                    + PATCH_C[ch] * u * v
                    + PATCH_D[ch] * wc
                    + PATCH_E[ch] * wr;
                spatial += w * x;
            }
        }
    }
    let px = (n * n) as f64;
    let [r, g, b] = mean.map(|m| m / px);
    sigmoid(4.8 - 2.0 * (r + g + b) + 4.0 * (r - g) + spatial / (px * 3.0))
}

// ---- a slide whose pixels are a known function of position ---------------------------------

/// The texture at level-0 point (x, y).
fn colour(x: f64, y: f64) -> [u8; 3] {
    // coarse structure, and fine texture (periods of 10–40 pixels at 10× on the 40× slide)
    use std::f64::consts::TAU;
    let r = 210.0
        + 22.0 * (x / 53.0 + 0.7 * (y / 97.0).sin()).sin()
        + 8.0 * (y / 31.0).cos()
        + 6.0 * (x / 9.0 + y / 23.0).sin()
        + 6.0 * (x * TAU / 64.0).sin();
    let g = 115.0
        + 22.0 * (y / 41.0 + x / 150.0).sin()
        + 5.0 * (y / 7.0 - x / 19.0).sin()
        + 5.0 * (y * TAU / 48.0 + 1.0).sin();
    let b = 190.0 + 20.0 * (x / 29.0 - y / 67.0).cos();
    [r, g, b].map(|v| v.round().clamp(0.0, 255.0) as u8)
}

/// A pink, textured slide covered with tissue at `objective`×, whose level-`l` pixel (i, j) is
/// [`colour`] at the level-0 centre of the block it covers ((i + ½) · d, (j + ½) · d with pixel k
/// spanning k..k + 1): asymmetric in x and y and between R and B.
fn layout_slide(width: u64, height: u64, downsamples: &[f64], objective: f64) -> PatternSlide {
    // PatternSlide's coordinates put pixel k's centre at k
    PatternSlide::new((width, height), downsamples, objective, |x, y| {
        colour(x + 0.5, y + 0.5)
    })
}

// ---- the published grid rule, derived here from the slide's own properties ----------------

/// The patch grid of a 256-pixel model at 10× (docs/models.md): the level-0 pixels per patch
/// pixel (objective / 10), columns and rows (ceil of the level-0 size over a patch's level-0
/// side).
fn expected_grid(s: &PatternSlide) -> (f64, u32, u32) {
    let t = s.objective() / 10.0;
    let side = 256.0 * t;
    (
        t,
        (s.width as f64 / side).ceil() as u32,
        (s.height as f64 / side).ceil() as u32,
    )
}

/// Patch (col, row) as the published pipeline reads it: level-0 origin (col, row) · 256 · t,
/// pixels at downsample t (read from the level of downsample t, or the 2 × 2 mean of level 0
/// when t is 2 and only level 0 is as fine), white beyond the slide.
fn reference_patch(s: &PatternSlide, t: f64, col: u32, row: u32) -> Vec<u8> {
    let n = 256u64;
    let (ox, oy) = (col as u64 * n * t as u64, row as u64 * n * t as u64);
    let inside = |o: u64, full: u64| ((full.saturating_sub(o)) as f64 / t).floor() as u64;
    let (iw, ih) = (inside(ox, s.width), inside(oy, s.height));
    let level = s.downsamples.iter().position(|&d| d == t);
    let mut p = vec![255u8; (n * n * 3) as usize];
    for py in 0..n.min(ih) {
        for px in 0..n.min(iw) {
            let v = match level {
                Some(l) => s.pixel(l, ox / t as u64 + px, oy / t as u64 + py),
                None => {
                    assert_eq!(t, 2.0, "this reference reads level 0 in 2 × 2 blocks");
                    let mut acc = [0f64; 3];
                    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                        let q = s.pixel(0, ox + 2 * px + dx, oy + 2 * py + dy);
                        for k in 0..3 {
                            acc[k] += q[k] as f64;
                        }
                    }
                    acc.map(|a| (a / 4.0).round() as u8)
                }
            };
            let i = ((py * n + px) * 3) as usize;
            p[i..i + 3].copy_from_slice(&v);
        }
    }
    p
}

/// The reference heatmap: every cell (the slide is tissue all over), row-major.
fn reference_heatmap(s: &PatternSlide) -> (u32, u32, Vec<f64>) {
    let (t, cols, rows) = expected_grid(s);
    let mut v = Vec::new();
    for row in 0..rows {
        for col in 0..cols {
            v.push(patch_probability(&reference_patch(s, t, col, row)));
        }
    }
    (cols, rows, v)
}

fn open(name: &str) -> (Model, Manifest) {
    let (manifest, path) = resolve(name).unwrap();
    let m = Model::open(&path, 2, Device::Cpu).unwrap();
    (m, manifest)
}

fn runtime_loaded() -> bool {
    match h2g::infer::load_runtime(None) {
        Ok(_) => true,
        Err(e) => {
            common::skip(&format!("ONNX Runtime ({e})"));
            false
        }
    }
}

/// 2848 × 2748: a 3 × 3 grid at 10× whose last column and row are partial (800 and 700 level-0
/// pixels of 1024) but still mostly tissue, so every cell runs.
fn slide40() -> PatternSlide {
    layout_slide(2848, 2748, &[1.0, 4.0, 16.0], 40.0)
}

/// The same at 20× with only a 4× level: 10× is read from level 0 and halved.
fn slide20() -> PatternSlide {
    layout_slide(1900, 1400, &[1.0, 4.0], 20.0)
}

#[test]
fn the_reference_tells_layout_errors_apart() {
    // the closed form itself: each layout error moves P by more than 10 × the tolerance on
    // some patch of the test slide, so the comparisons below can fail
    let s = slide40();
    let (t, _, _) = expected_grid(&s);
    let n = 256usize;
    let mut worst = BTreeMap::new();
    for (col, row) in [(0, 0), (1, 1), (2, 1)] {
        let p = reference_patch(&s, t, col, row);
        let base = patch_probability(&p);
        let at = |q: &[u8], r: usize, c: usize| {
            let i = (r * n + c) * 3;
            [q[i], q[i + 1], q[i + 2]]
        };
        let remap = |f: &dyn Fn(usize, usize) -> [u8; 3]| -> Vec<u8> {
            (0..n * n).flat_map(|i| f(i / n, i % n)).collect()
        };
        // a shift: the patch one pixel further right and down
        let shifted_x = remap(&|r, c| {
            let ox = col as u64 * 256 + c as u64 + 1;
            s.pixel(1, ox, row as u64 * 256 + r as u64)
        });
        let shifted_y = remap(&|r, c| {
            let oy = row as u64 * 256 + r as u64 + 1;
            s.pixel(1, col as u64 * 256 + c as u64, oy)
        });
        let variants: [(&str, Vec<u8>); 6] = [
            ("transpose", remap(&|r, c| at(&p, c, r))),
            ("horizontal flip", remap(&|r, c| at(&p, r, n - 1 - c))),
            ("vertical flip", remap(&|r, c| at(&p, n - 1 - r, c))),
            (
                "R and B swapped",
                remap(&|r, c| {
                    let [a, g, b] = at(&p, r, c);
                    [b, g, a]
                }),
            ),
            ("shift by one pixel in x", shifted_x),
            ("shift by one pixel in y", shifted_y),
        ];
        for (what, q) in variants {
            let d = (patch_probability(&q) - base).abs();
            let e = worst.entry(what).or_insert(0f64);
            *e = e.max(d);
        }
    }
    for (what, d) in worst {
        eprintln!("{what}: P moves by up to {d:.5}");
        assert!(d > 10.0 * TOL, "{what} moves P by only {d}");
    }
}

#[test]
fn heatmap_cells_equal_the_closed_form_on_every_patch_nhwc_and_nchw() {
    if !runtime_loaded() {
        return;
    }
    for s in [slide40(), slide20()] {
        let meta = SlideMeta::from_properties(s.properties(), None);
        let (t, cols, rows) = expected_grid(&s);
        let (_, _, want) = reference_heatmap(&s);
        for name in ["test-patch-classifier", "test-patch-classifier-nchw"] {
            let (mut m, manifest) = open(name);
            let spec = HeatmapSpec {
                batch: 4,
                ..HeatmapSpec::default()
            };
            let hm = heatmap(&s, &meta, &mut m, &manifest, &spec, &|_, _| {}).unwrap();
            let what = format!("{name} on {}", s.source());
            assert_eq!(
                (hm.grid.cols, hm.grid.rows, hm.grid.size),
                (cols, rows, 256),
                "{what}: grid"
            );
            assert_eq!(hm.grid.downsample, t, "{what}: downsample");
            assert_eq!(hm.values.len(), want.len(), "{what}: cells");
            assert_eq!(hm.ran, want.len(), "{what}: every cell is tissue and runs");
            let mut max = 0f64;
            for (i, (&got, &want)) in hm.values.iter().zip(&want).enumerate() {
                let d = (got as f64 - want).abs();
                assert!(
                    d < TOL,
                    "{what}: cell (col {}, row {}): h2g {got}, closed form {want:.6}",
                    i % cols as usize,
                    i / cols as usize
                );
                max = max.max(d);
            }
            eprintln!(
                "{what}: {} cells, max |h2g - closed form| {max:.2e}",
                want.len()
            );
        }
    }
}

/// Bilinear resize of a `w × h × c` image to `side × side`, pixel-centre sampling, edges
/// clamped (FAST's resize; written here independently).
fn resize(src: &[f64], (w, h, c): (usize, usize, usize), side: usize) -> Vec<f64> {
    let at = |o: usize, n: usize| {
        let x = ((o as f64 + 0.5) * n as f64 / side as f64 - 0.5).clamp(0.0, (n - 1) as f64);
        let x0 = x.floor() as usize;
        (x0, (x0 + 1).min(n - 1), x - x0 as f64)
    };
    let mut out = vec![0.0; side * side * c];
    for oy in 0..side {
        let (y0, y1, fy) = at(oy, h);
        for ox in 0..side {
            let (x0, x1, fx) = at(ox, w);
            for k in 0..c {
                let p = |x: usize, y: usize| src[(y * w + x) * c + k];
                let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
                let bot = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
                out[(oy * side + ox) * c + k] = top * (1.0 - fy) + bot * fy;
            }
        }
    }
    out
}

/// P(tumour) per pixel of a test refinement model given channel planes (each `side²`,
/// row-major): the 3 × 3 convolution, zero outside the image, through the softmax.
fn refine_reference(planes: &[Vec<f64>], unet: bool, side: usize) -> Vec<f64> {
    let bias = if unet { UNET_B } else { REFINE_B };
    let ks: Vec<_> = (0..planes.len()).map(|ch| kernel(unet, ch)).collect();
    let mut out = vec![0.0; side * side];
    for y in 0..side {
        for x in 0..side {
            let mut l = bias;
            for (plane, k) in planes.iter().zip(&ks) {
                for (i, kr) in k.iter().enumerate() {
                    let yy = y as i64 + i as i64 - 1;
                    if yy < 0 || yy >= side as i64 {
                        continue;
                    }
                    for (j, &kv) in kr.iter().enumerate() {
                        let xx = x as i64 + j as i64 - 1;
                        if xx >= 0 && xx < side as i64 {
                            l += kv * plane[yy as usize * side + xx as usize];
                        }
                    }
                }
            }
            out[y * side + x] = sigmoid(l);
        }
    }
    out
}

/// The level the paper's rule gives (§2.5: a level of at least 1024 × 1024; the coarsest such,
/// level 0 when none is), worked out here from the level sizes alone.
fn paper_level(sizes: &[(u64, u64)]) -> usize {
    let mut best = 0;
    for (l, &(w, h)) in sizes.iter().enumerate() {
        if w >= 1024 && h >= 1024 {
            best = l;
        }
    }
    best
}

#[test]
fn refinement_probabilities_equal_the_convolution_of_what_the_published_rule_feeds() {
    if !runtime_loaded() {
        return;
    }
    let s = slide40();
    let meta = SlideMeta::from_properties(s.properties(), None);
    let side = 1024;
    let sizes: Vec<(u64, u64)> = (0..s.downsamples.len()).map(|l| s.size(l)).collect();
    let (cols, rows, heat) = reference_heatmap(&s);
    let heat = resize(&heat, (cols as usize, rows as usize, 1), side);
    // the paper's level (here level 0, 2848 × 2748: level 1 is 712 × 687), FAST's lowest
    // (level 2, 178 × 171) and one named level; every model under the paper's rule
    let every = [
        (Design::H2g, "test-refinement-2in"),
        (Design::H2g, "test-refinement-4ch"),
        (Design::H2g, "test-refinement-2in-nchw"),
        (Design::H2g, "test-refinement-4ch-nchw"),
        (Design::UnetLr, "test-unet-lr"),
        (Design::UnetLr, "test-unet-lr-nchw"),
    ];
    let two = [
        (Design::H2g, "test-refinement-2in"),
        (Design::UnetLr, "test-unet-lr-nchw"),
    ];
    type Models<'a> = &'a [(Design, &'a str)];
    let cases: [(RefineLevel, usize, Models); 3] = [
        (RefineLevel::Auto, paper_level(&sizes), &every),
        (RefineLevel::Lowest, sizes.len() - 1, &two),
        (RefineLevel::Level(1), 1, &two),
    ];
    assert_eq!(cases[0].1, 0, "the test slide's paper level");
    for (rule, level, models) in cases {
        // the network's image: the level, min-max over all pixels and channels, resized
        let (lw, lh) = s.size(level);
        let mut img = Vec::new();
        for j in 0..lh {
            for i in 0..lw {
                img.extend(s.pixel(level, i, j).map(|v| v as f64));
            }
        }
        let lo = img.iter().copied().fold(255.0, f64::min);
        let hi = img.iter().copied().fold(0.0, f64::max);
        let scaled: Vec<f64> = img.iter().map(|v| (v - lo) / (hi - lo)).collect();
        drop(img);
        let image = resize(&scaled, (lw as usize, lh as usize, 3), side);
        drop(scaled);
        let plane = |k: usize| -> Vec<f64> { (0..side * side).map(|i| image[i * 3 + k]).collect() };
        let (r, g, b) = (plane(0), plane(1), plane(2));
        let with_heat = refine_reference(
            &[r.clone(), g.clone(), b.clone(), heat.clone()],
            false,
            side,
        );
        let alone = refine_reference(&[r, g, b], true, side);
        for &(design, refine) in models {
            let mut patch = open("test-patch-classifier");
            let mut rm = open(refine);
            let seg = segment(
                &s,
                &meta,
                design,
                Some((&mut patch.0, &patch.1)),
                Some((&mut rm.0, &rm.1)),
                &HeatmapSpec::default(),
                &DesignParams {
                    refine_level: rule,
                    ..DesignParams::default()
                },
                &|_, _| {},
            )
            .unwrap();
            let input = seg
                .refine_input
                .expect("the refinement's level is reported");
            assert_eq!(
                (input.level, input.width, input.height),
                (level, lw, lh),
                "{refine} {rule}"
            );
            assert_eq!(input.upsampled, lw < 1024 || lh < 1024);
            let p = seg.probability.expect("a refinement ran").0;
            let want = if design == Design::H2g {
                &with_heat
            } else {
                &alone
            };
            assert_eq!(p.len(), want.len(), "{refine}");
            let mut max = 0f64;
            for (i, (&got, &w)) in p.iter().zip(want).enumerate() {
                let d = (got as f64 - w).abs();
                assert!(
                    d < TOL,
                    "{refine} at level {level} ({rule}): pixel (x {}, y {}): h2g {got}, \
                     convolution {w:.6}",
                    i % side,
                    i / side
                );
                max = max.max(d);
            }
            eprintln!(
                "{refine}, level {level} ({rule}): {} pixels, max |h2g - convolution| {max:.2e}",
                p.len()
            );
        }
    }
}

#[test]
fn heatmap_cells_equal_the_closed_form_on_the_real_slide_nhwc_and_nchw() {
    use h2g::slide::{open_slide, OpenSlideSlide};
    let Some(path) = common::cmu_slide() else {
        common::skip("the demo slide (scripts/setup.sh)");
        return;
    };
    if !runtime_loaded() {
        return;
    }
    // the reference reads level 0 through OpenSlide itself; h2g reads the slide as it does on
    // the command line (its direct JPEG reader where it can)
    let os = OpenSlideSlide::open(&path).unwrap();
    let objective: f64 = os.properties()["openslide.objective-power"]
        .parse()
        .unwrap();
    let (w, h) = os.level_size(0).unwrap();
    let full = os.read_region(0, 0, 0, w as u32, h as u32).unwrap();
    // 10× from the slide's objective; the published grid: ceil over a patch's level-0 side
    let t = objective / 10.0;
    assert_eq!(t, 2.0, "CMU-1-Small-Region is a 20× scan");
    let side = 256.0 * t;
    let (cols, rows) = (
        (w as f64 / side).ceil() as usize,
        (h as f64 / side).ceil() as usize,
    );
    let patch = |col: usize, row: usize| -> Vec<u8> {
        let (ox, oy) = (col * 512, row * 512);
        let iw = (w as usize).saturating_sub(ox) / 2;
        let ih = (h as usize).saturating_sub(oy) / 2;
        let mut p = vec![255u8; 256 * 256 * 3];
        for py in 0..256.min(ih) {
            for px in 0..256.min(iw) {
                for k in 0..3 {
                    let mut a = 0f64;
                    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                        let (x, y) = (ox + 2 * px + dx, oy + 2 * py + dy);
                        a += full.data[(y * w as usize + x) * 3 + k] as f64;
                    }
                    p[(py * 256 + px) * 3 + k] = (a / 4.0).round() as u8;
                }
            }
        }
        p
    };
    let slide = open_slide(&path, 1 << 34).unwrap();
    let meta = SlideMeta::from_properties(slide.properties(), None);
    let mut results = Vec::new();
    for name in ["test-patch-classifier", "test-patch-classifier-nchw"] {
        let (mut m, manifest) = open(name);
        let hm = heatmap(
            &*slide,
            &meta,
            &mut m,
            &manifest,
            &HeatmapSpec::default(),
            &|_, _| {},
        )
        .unwrap();
        assert_eq!(
            (hm.grid.cols as usize, hm.grid.rows as usize),
            (cols, rows),
            "{name}: grid"
        );
        assert_eq!(hm.values.len(), cols * rows);
        let ran: Vec<usize> = (0..hm.values.len())
            .filter(|&i| hm.values[i] != 0.0)
            .collect();
        assert_eq!(
            ran.len(),
            hm.ran,
            "{name}: cells that ran hold a probability"
        );
        assert!(ran.len() >= 5, "{name}: only {} cells ran", ran.len());
        let mut max = 0f64;
        for &i in &ran {
            let want = patch_probability(&patch(i % cols, i / cols));
            let d = (hm.values[i] as f64 - want).abs();
            assert!(
                d < TOL,
                "{name}: cell (col {}, row {}): h2g {}, closed form {want:.6}",
                i % cols,
                i / cols,
                hm.values[i]
            );
            max = max.max(d);
        }
        eprintln!(
            "{name} on the real slide: {} of {} cells ran, max |h2g - closed form| {max:.2e}",
            ran.len(),
            cols * rows
        );
        results.push(hm.values);
    }
    // the same function in either layout: the same cells run
    assert_eq!(
        results[0].iter().map(|&v| v != 0.0).collect::<Vec<_>>(),
        results[1].iter().map(|&v| v != 0.0).collect::<Vec<_>>()
    );
}

#[test]
fn the_refinement_level_follows_the_rule_and_bands_change_no_number() {
    use h2g::infer::manifest::{InputScale, Scaling};
    use h2g::infer::refine_input::{choose_level, read_resized, BAND_PIXELS};
    use h2g::infer::segment::{resize_bilinear, SegmentError};
    // 4096 × 2048, 1024 × 512, 256 × 128: only level 0 is 1024 tall, so the paper's rule takes
    // it; 2048 × 2048 at ds 2 would be chosen over it
    let wide = layout_slide(4096, 2048, &[1.0, 4.0, 16.0], 40.0);
    let pick = |s: &PatternSlide, rule| choose_level(s, rule).map(|i| (i.level, i.upsampled));
    assert_eq!(pick(&wide, RefineLevel::Auto).unwrap(), (0, false));
    assert_eq!(pick(&wide, RefineLevel::Lowest).unwrap(), (2, true));
    let deep = layout_slide(4096, 4096, &[1.0, 2.0, 8.0], 40.0);
    assert_eq!(pick(&deep, RefineLevel::Auto).unwrap(), (1, false));
    let i = choose_level(&deep, RefineLevel::Auto).unwrap();
    assert_eq!((i.width, i.height, i.downsample), (2048, 2048, 2.0));
    assert_eq!(i.scale, [0.5, 0.5]);
    // none at 1024: level 0, enlarged, and said so
    let small = layout_slide(900, 1500, &[1.0, 4.0], 40.0);
    let i = choose_level(&small, RefineLevel::Auto).unwrap();
    assert_eq!((i.level, i.upsampled), (0, true));
    assert_eq!(i.scale, [1024.0 / 900.0, 1024.0 / 1500.0]);
    match choose_level(&small, RefineLevel::Level(2)) {
        Err(e @ SegmentError::RefineLevel { level: 2, count: 2 }) => {
            assert!(e.to_string().contains("0 to 1"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // bands of 2, 7 and many rows give the numbers of one resize of the whole scaled level
    let s = layout_slide(1900, 1400, &[1.0, 4.0], 20.0);
    let (w, h) = s.size(0);
    let whole = s.read_region(0, 0, 0, w as u32, h as u32).unwrap();
    for scaling in [Scaling::Minmax, Scaling::Div255, Scaling::Symmetric] {
        let scale = InputScale::plain(scaling);
        let map = scale.map_for(&whole.data);
        let f: Vec<f32> = whole
            .data
            .iter()
            .enumerate()
            .map(|(i, &v)| map.apply(v, i % 3))
            .collect();
        let want = resize_bilinear(&f, (w as usize, h as usize, 3), (1024, 1024));
        let input = choose_level(&s, RefineLevel::Level(0)).unwrap();
        for band in [2 * w, 7 * w + 3, BAND_PIXELS] {
            let got = read_resized(&s, &input, scale, band).unwrap();
            assert!(got == want, "{scaling:?}, bands of {band} pixels");
        }
    }
}
