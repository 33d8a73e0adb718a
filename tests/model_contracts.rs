//! The contract-shaped test models of `scripts/make_contract_models.py` run through h2g and
//! compared with their outputs recomputed here, in float64, from the weights the script wrote
//! beside each model (NAME.weights.json) and from the manifest rules written out by hand in this
//! file (scalings, channel order, which output): never from h2g's own packing or scaling code.
//! A wrong output, a swapped channel order, a wrong scaling or a transposed layout moves the
//! outputs by far more than the tolerance; `the_references_tell_contract_errors_apart` checks
//! that on the references themselves. The errors a contract can give (several outputs and no
//! choice, a choice the file does not have, mean/std of the wrong length) and `h2g models init`
//! are tested at the end.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use h2g::infer::heatmap::{heatmap, HeatmapSpec};
use h2g::infer::manifest::{
    resolve, ContractOverrides, Manifest, ManifestOverrides, OutputRef, Role, ScalingError,
};
use h2g::infer::refine_input::{choose_level, read_resized, RefineLevel, BAND_PIXELS};
use h2g::infer::segment::refine;
use h2g::infer::{Contract, Device, InferError, Model, Runtime};
use h2g::slide::{Slide, SlideMeta};

use common::pattern_slide::PatternSlide;

/// ONNX Runtime's float32 against this file's float64.
const TOL: f64 = 1e-4;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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

// ---- the weights, and the operations of the script, in float64 -------------------------------

/// A 3 × 3 convolution (zero padding 1) or a dense layer, as the script wrote it.
struct Layer {
    shape: Vec<usize>,
    w: Vec<f64>,
    b: Vec<f64>,
    stride: usize,
}

fn weights(file: &str) -> BTreeMap<String, Layer> {
    let path = repo()
        .join("models/test/contract")
        .join(format!("{file}.weights.json"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let nums = |x: &serde_json::Value| -> Vec<f64> {
        x.as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, l)| {
            (
                k.clone(),
                Layer {
                    shape: nums(&l["shape"]).iter().map(|&d| d as usize).collect(),
                    w: nums(&l["w"]),
                    b: nums(&l["b"]),
                    stride: l["stride"].as_u64().unwrap_or(1) as usize,
                },
            )
        })
        .collect()
}

/// Channels-first planes `x` (`cin × h × w`) through convolution `l`: `cout × oh × ow`.
fn conv(l: &Layer, x: &[f64], (h, w): (usize, usize)) -> (Vec<f64>, usize, usize) {
    let (cout, cin) = (l.shape[0], l.shape[1]);
    assert_eq!(x.len(), cin * h * w);
    let s = l.stride;
    let (oh, ow) = ((h - 1) / s + 1, (w - 1) / s + 1);
    let mut out = vec![0f64; cout * oh * ow];
    for o in 0..cout {
        for y in 0..oh {
            for xx in 0..ow {
                let mut acc = l.b[o];
                for i in 0..cin {
                    for dy in 0..3 {
                        let sy = (y * s + dy) as i64 - 1;
                        if sy < 0 || sy >= h as i64 {
                            continue;
                        }
                        for dx in 0..3 {
                            let sx = (xx * s + dx) as i64 - 1;
                            if sx < 0 || sx >= w as i64 {
                                continue;
                            }
                            acc += l.w[((o * cin + i) * 3 + dy) * 3 + dx]
                                * x[(i * h + sy as usize) * w + sx as usize];
                        }
                    }
                }
                out[(o * oh + y) * ow + xx] = acc;
            }
        }
    }
    (out, oh, ow)
}

/// Softmax over two channel planes: the planes of P0 and P1.
fn softmax2(l: &[f64]) -> Vec<f64> {
    let n = l.len() / 2;
    let mut p = vec![0f64; 2 * n];
    for i in 0..n {
        let (a, b) = (l[i], l[n + i]);
        let m = a.max(b);
        let (ea, eb) = ((a - m).exp(), (b - m).exp());
        p[i] = ea / (ea + eb);
        p[n + i] = eb / (ea + eb);
    }
    p
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

// ---- the manifest rules, by hand ---------------------------------------------------------------

/// Pixel value `v` of the model's channel `k` under the manifest's scaling (minmax over the
/// image's range `(lo, hi)`): div255 x / 255; minmax (x − lo) / (hi − lo); symmetric
/// x / 127.5 − 1; meanstd (x / 255 − mean[k]) / std[k].
fn scaled(m: &Manifest, v: u8, k: usize, (lo, hi): (f64, f64)) -> f64 {
    let x = v as f64;
    match m.scaling.name() {
        "div255" => x / 255.0,
        "minmax" => (x - lo) / (hi - lo).max(1.0),
        "symmetric" => x / 127.5 - 1.0,
        "meanstd" => {
            let (mean, std) = (m.mean.as_ref().unwrap(), m.std.as_ref().unwrap());
            (x / 255.0 - mean[k]) / std[k]
        }
        s => panic!("scaling {s}"),
    }
}

/// The RGB channel the model's colour channel `k` holds.
fn source(m: &Manifest, k: usize) -> usize {
    match m.channel_order.name() {
        "bgr" => 2 - k,
        _ => k,
    }
}

// ---- a one-level slide whose colour is a known function of position --------------------------

/// Pink, textured, asymmetric between x and y and between R and B: tissue everywhere.
fn colour(x: f64, y: f64) -> [u8; 3] {
    let r = 205.0 + 25.0 * (x / 37.0 + (y / 83.0).sin()).sin() + 10.0 * (y / 11.0).cos();
    let g = 120.0 + 25.0 * (y / 29.0 - x / 120.0).sin() + 8.0 * (x / 7.0).sin();
    let b = 185.0 + 22.0 * (x / 23.0 - y / 51.0).cos() + 6.0 * ((x + 2.0 * y) / 5.0).sin();
    [r, g, b].map(|v| v.round().clamp(0.0, 255.0) as u8)
}

/// A one-level 20× slide (0.5 µm pixels) of `width × height` painted by [`colour`].
fn test_slide(width: u64, height: u64) -> PatternSlide {
    PatternSlide::new((width, height), &[1.0], 20.0, colour)
}

// ---- patch classifiers -------------------------------------------------------------------------

/// P(tumour) of patch classifier `file` for the `n × n` patch at level-0 (x0, y0) of `s` (20×
/// models on a 20× slide: level-0 pixels, white beyond the slide): the model's channels are
/// the manifest's order and scaling of the patch, then softmax(W2 · mean(tanh(conv(x))) + b2).
fn patch_reference(m: &Manifest, file: &str, s: &PatternSlide, (x0, y0): (u64, u64)) -> f64 {
    let w = weights(file);
    let n = m.size as usize;
    let mut x = vec![0f64; 3 * n * n];
    for k in 0..3 {
        for r in 0..n {
            for c in 0..n {
                let px = s.pixel(0, x0 + c as u64, y0 + r as u64);
                x[(k * n + r) * n + c] = scaled(m, px[source(m, k)], k, (0.0, 255.0));
            }
        }
    }
    let (t, _, _) = conv(&w["c1"], &x, (n, n));
    let feats: Vec<f64> = t
        .chunks_exact(n * n)
        .map(|p| p.iter().map(|v| v.tanh()).sum::<f64>() / (n * n) as f64)
        .collect();
    let d = &w["d1"];
    let logit = |j: usize| d.b[j] + (0..4).map(|i| feats[i] * d.w[i * 2 + j]).sum::<f64>();
    let (l0, l1) = (logit(0), logit(1));
    1.0 / (1.0 + (l0 - l1).exp())
}

/// A slide of 2.7 × 1.8 patches: a 3 × 2 grid whose last column and row are partial.
fn patch_slide(m: &Manifest) -> PatternSlide {
    let s = m.size as f64;
    test_slide((2.7 * s) as u64, (1.8 * s) as u64)
}

fn open(name: &str) -> (Model, Manifest) {
    let (manifest, path) = resolve(name).unwrap();
    (Model::open(&path, 2, Device::Cpu).unwrap(), manifest)
}

/// Runs the heatmap stage with `m` (overrides applied) and returns (h2g, reference) per cell.
fn patch_run(name: &str, over: &ManifestOverrides) -> Vec<(f64, f64)> {
    let (mut model, mut m) = open(name);
    over.apply(&mut m);
    let file = Path::new(&m.file)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let s = patch_slide(&m);
    let meta = SlideMeta::from_properties(s.properties(), None);
    let spec = HeatmapSpec {
        batch: 4,
        ..HeatmapSpec::default()
    };
    let hm = heatmap(&s, &meta, &mut model, &m, &spec, &|_, _| {}).unwrap();
    assert_eq!((hm.grid.cols, hm.grid.rows), (3, 2), "{name}");
    assert_eq!(hm.ran, 6, "{name}: every cell is tissue");
    let side = m.size as u64;
    (0..6)
        .map(|i| {
            let (c, r) = (i as u64 % 3, i as u64 / 3);
            let want = patch_reference(&m, &file, &s, (c * side, r * side));
            (hm.values[i] as f64, want)
        })
        .collect()
}

fn worst(pairs: &[(f64, f64)]) -> f64 {
    pairs.iter().map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
}

#[test]
fn patch_classifiers_of_every_contract_match_their_weights() {
    if !runtime_loaded() {
        return;
    }
    for name in [
        "test-contract-inceptionv3",
        "test-contract-mobilenetv2",
        "test-contract-patch-bgr",
        "test-contract-patch-meanstd",
    ] {
        let pairs = patch_run(name, &ManifestOverrides::default());
        let d = worst(&pairs);
        let (lo, hi) = pairs
            .iter()
            .fold((1f64, 0f64), |(a, b), p| (a.min(p.1), b.max(p.1)));
        eprintln!("{name}: 6 cells, P {lo:.4}…{hi:.4}, max |diff| {d:.2e}");
        assert!(d <= TOL, "{name}: max |diff| {d}: {pairs:?}");
    }
}

#[test]
fn overrides_change_the_contract_the_stage_runs() {
    if !runtime_loaded() {
        return;
    }
    // the BGR model run as RGB and the symmetric one as x / 255: the reference follows the
    // overridden manifest, and so must h2g
    for (name, over) in [
        (
            "test-contract-patch-bgr",
            ManifestOverrides {
                channel_order: Some(h2g::infer::manifest::ChannelOrder::Rgb),
                ..Default::default()
            },
        ),
        (
            "test-contract-mobilenetv2",
            ManifestOverrides {
                scaling: Some(h2g::infer::manifest::Scaling::Div255),
                ..Default::default()
            },
        ),
    ] {
        let pairs = patch_run(name, &over);
        assert!(worst(&pairs) <= TOL, "{name} {over:?}: {pairs:?}");
        // and the overridden run differs from the manifest's own
        let plain = patch_run(name, &ManifestOverrides::default());
        let moved = pairs
            .iter()
            .zip(&plain)
            .map(|(a, b)| (a.0 - b.0).abs())
            .fold(0.0, f64::max);
        assert!(
            moved > 10.0 * TOL,
            "{name}: the override moved P by {moved}"
        );
    }
    // Runtime::open_model applies the overrides of the role it opens
    let rt = Runtime {
        threads: 1,
        overrides: ContractOverrides {
            refine: ManifestOverrides {
                output: Some(OutputRef::Name("first".into())),
                ..Default::default()
            },
            ..Default::default()
        },
        ..Runtime::default()
    };
    let (_, m) = rt
        .open_model(
            "test-contract-doubleunet",
            Role::Refinement,
            "--refine-model",
            false,
        )
        .unwrap();
    assert_eq!(m.output.tensor, Some(OutputRef::Name("first".into())));
    let (_, m) = rt
        .open_model(
            "test-contract-inceptionv3",
            Role::PatchClassifier,
            "--model",
            false,
        )
        .unwrap();
    assert_eq!(m.output.tensor, None);
}

// ---- refinement networks -------------------------------------------------------------------------

const N: usize = 1024;

/// A 1024 × 1024 image (interleaved RGB, already scaled: about −1…1) and heatmap (0…1), with
/// structure that differs between x and y and between channels.
fn refine_inputs() -> (Vec<f32>, Vec<f32>) {
    let mut image = Vec::with_capacity(3 * N * N);
    let mut heat = Vec::with_capacity(N * N);
    for y in 0..N {
        for x in 0..N {
            let (xf, yf) = (x as f64, y as f64);
            image.push(((xf / 17.0).sin() * 0.8 + (yf / 90.0).cos() * 0.2) as f32);
            image.push(((yf / 13.0 + xf / 200.0).sin() * 0.7) as f32);
            image.push(((xf / 31.0 - yf / 7.0).cos() * 0.9) as f32);
            heat.push((0.5 + 0.45 * (xf / 150.0).sin() * (yf / 110.0).cos()) as f32);
        }
    }
    (image, heat)
}

/// The channels-first input of a refinement: the image's channels in the model's order, then
/// the heatmap.
fn refine_x(m: &Manifest, image: &[f32], heat: &[f32]) -> Vec<f64> {
    let mut x = vec![0f64; 4 * N * N];
    for i in 0..N * N {
        for k in 0..3 {
            x[k * N * N + i] = image[i * 3 + source(m, k)] as f64;
        }
        x[3 * N * N + i] = heat[i] as f64;
    }
    x
}

/// Every output of the refinement `file`, as (channel planes, side), in the model's order.
fn refine_reference(
    m: &Manifest,
    file: &str,
    image: &[f32],
    heat: &[f32],
) -> Vec<(Vec<f64>, usize)> {
    let w = weights(file);
    let x = refine_x(m, image, heat);
    match file {
        "unet_2in" => {
            let (l, _, _) = conv(&w["c1"], &x, (N, N));
            vec![(l.iter().map(|&v| sigmoid(v)).collect(), N)]
        }
        "unet_4ch" => vec![(softmax2(&conv(&w["c1"], &x, (N, N)).0), N)],
        "agunet" => ["c_full", "c_half", "c_quarter"]
            .iter()
            .map(|c| {
                let (l, oh, _) = conv(&w[*c], &x, (N, N));
                (softmax2(&l), oh)
            })
            .collect(),
        "doubleunet" => {
            let first = softmax2(&conv(&w["c_first"], &x, (N, N)).0);
            let cat: Vec<f64> = x.iter().chain(&first).copied().collect();
            let refined = softmax2(&conv(&w["c_refined"], &cat, (N, N)).0);
            vec![(first, N), (refined, N)]
        }
        f => panic!("{f}"),
    }
}

/// The manifest's channel of the plane set `p` (side N).
fn channel_plane(p: &[f64], ch: usize) -> &[f64] {
    &p[ch * N * N..(ch + 1) * N * N]
}

fn max_diff(a: &[f32], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn refinements_of_every_contract_use_the_output_their_manifest_names() {
    if !runtime_loaded() {
        return;
    }
    let (image, heat) = refine_inputs();
    for (name, file, used) in [
        ("test-contract-unet-2in", "unet_2in", 0),
        ("test-contract-unet-4ch", "unet_4ch", 0),
        ("test-contract-agunet", "agunet", 0),
        ("test-contract-doubleunet", "doubleunet", 1),
    ] {
        let (mut model, m) = open(name);
        let got = refine(&mut model, &m, &image, Some((&heat[..], 1)))
            .unwrap()
            .probability;
        let outs = refine_reference(&m, file, &image, &heat);
        let want = channel_plane(&outs[used].0, m.output.channel);
        let d = max_diff(&got, want);
        eprintln!("{name}: output {used}, max |dP| {d:.2e} over 1024 × 1024");
        assert!(d <= TOL, "{name}: max |dP| {d}");
        // the other full-resolution outputs are far from the one used
        for (i, (o, side)) in outs.iter().enumerate() {
            if i != used && *side == N {
                let other = max_diff(&got, channel_plane(o, m.output.channel));
                assert!(
                    other > 100.0 * TOL,
                    "{name}: output {i} is as close ({other})"
                );
            }
        }
    }
    // DoubleU-Net's second output by name gives the same map
    let (mut model, mut m) = open("test-contract-doubleunet");
    let by_index = refine(&mut model, &m, &image, Some((&heat[..], 1)))
        .unwrap()
        .probability;
    m.output.tensor = Some(OutputRef::Name("refined".into()));
    assert_eq!(
        refine(&mut model, &m, &image, Some((&heat[..], 1)))
            .unwrap()
            .probability,
        by_index
    );
}

#[test]
fn the_references_tell_contract_errors_apart() {
    // the BGR refinement read as RGB, and the references' outputs with each other: far apart
    let (image, heat) = refine_inputs();
    let (_, mut m) = open("test-contract-unet-4ch");
    let bgr = refine_reference(&m, "unet_4ch", &image, &heat);
    m.channel_order = h2g::infer::manifest::ChannelOrder::Rgb;
    let rgb = refine_reference(&m, "unet_4ch", &image, &heat);
    let d = bgr[0]
        .0
        .iter()
        .zip(&rgb[0].0)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(d > 100.0 * TOL, "channel order moves P by {d}");
    // a patch transposed (x for y) moves P by more than the tolerance
    let (_, m) = open("test-contract-patch-meanstd");
    let s = test_slide(96, 96);
    let p = patch_reference(&m, "patch_meanstd", &s, (0, 0));
    let transposed = {
        // the same patch with rows and columns swapped, through the same reference
        let w = weights("patch_meanstd");
        let n = 96usize;
        let mut x = vec![0f64; 3 * n * n];
        for k in 0..3 {
            for r in 0..n {
                for c in 0..n {
                    let px = s.pixel(0, r as u64, c as u64);
                    x[(k * n + r) * n + c] = scaled(&m, px[source(&m, k)], k, (0.0, 255.0));
                }
            }
        }
        let (tt, _, _) = conv(&w["c1"], &x, (n, n));
        let feats: Vec<f64> = tt
            .chunks_exact(n * n)
            .map(|q| q.iter().map(|v| v.tanh()).sum::<f64>() / (n * n) as f64)
            .collect();
        let d = &w["d1"];
        let logit = |j: usize| d.b[j] + (0..4).map(|i| feats[i] * d.w[i * 2 + j]).sum::<f64>();
        sigmoid(logit(1) - logit(0))
    };
    eprintln!("patch transposed: P {p:.5} → {transposed:.5}; BGR read as RGB: max |dP| {d:.3}");
    assert!((p - transposed).abs() > 10.0 * TOL, "{p} {transposed}");
}

#[test]
fn the_refinement_level_is_scaled_as_the_manifest_says() {
    // 1024 × 1024: the resize to the network's side keeps every pixel as it is
    let s = test_slide(1024, 1024);
    let img = s.read_region(0, 0, 0, 1024, 1024).unwrap();
    let input = choose_level(&s, RefineLevel::Level(0)).unwrap();
    let lo = *img.data.iter().min().unwrap() as f64;
    let hi = *img.data.iter().max().unwrap() as f64;
    for name in [
        "test-contract-unet-2in",   // minmax
        "test-contract-unet-4ch",   // div255
        "test-contract-agunet",     // symmetric
        "test-contract-doubleunet", // meanstd
    ] {
        let (m, _) = resolve(name).unwrap();
        let f = read_resized(&s, &input, m.input_scale().unwrap(), BAND_PIXELS).unwrap();
        // in RGB order: the mean and std of RGB channel c are the manifest's for the model
        // channel holding c
        let d = f
            .iter()
            .zip(&img.data)
            .enumerate()
            .map(|(i, (&got, &v))| {
                let c = i % 3;
                let k = (0..3).find(|&k| source(&m, k) == c).unwrap();
                (got as f64 - scaled(&m, v, k, (lo, hi))).abs()
            })
            .fold(0.0, f64::max);
        assert!(d <= 1e-6, "{name}: max |diff| {d}");
    }
}

// ---- a tissue model ------------------------------------------------------------------------------

#[test]
fn a_tissue_model_uses_the_output_its_manifest_names_in_bgr() {
    if !runtime_loaded() {
        return;
    }
    // a 256 × 256 thumbnail: the model's own side, so the resize to it is the identity
    let n = 256usize;
    let img = test_slide(n as u64, n as u64)
        .read_region(0, 0, 0, n as u32, n as u32)
        .unwrap();
    let (mut model, m) = open("test-contract-tissue-2out");
    let d = h2g::infer::tissue_model::detect_with_model(&img, &mut model, &m).unwrap();
    // the reference: BGR channels scaled x / 127.5 − 1, conv, softmax, P1 ≥ the threshold
    let probability = |m: &Manifest| -> Vec<f64> {
        let mut x = vec![0f64; 3 * n * n];
        for k in 0..3 {
            for i in 0..n * n {
                x[k * n * n + i] = scaled(m, img.data[i * 3 + source(m, k)], k, (0.0, 255.0));
            }
        }
        let w = weights("tissue_2out");
        softmax2(&conv(&w["c_mask"], &x, (n, n)).0)[n * n..].to_vec()
    };
    let p = probability(&m);
    let thr = m.threshold;
    let (mut compared, mut tissue) = (0, 0);
    for y in 0..n {
        for x in 0..n {
            let v = p[y * n + x];
            if (v - thr).abs() < TOL {
                continue; // float noise at the cut
            }
            compared += 1;
            tissue += usize::from(v >= thr);
            assert_eq!(d.mask.get(x, y), v >= thr, "pixel ({x}, {y}): P {v}");
        }
    }
    eprintln!("tissue-2out: {compared} pixels compared, {tissue} tissue");
    assert!(compared > n * n * 99 / 100);
    assert!(
        tissue > n * n / 20 && tissue < n * n * 19 / 20,
        "{tissue}: a mask that can fail"
    );
    // read as RGB the mask changes
    let mut rgb = m.clone();
    rgb.channel_order = h2g::infer::manifest::ChannelOrder::Rgb;
    let flipped = probability(&rgb)
        .iter()
        .zip(&p)
        .filter(|(a, b)| (**a >= thr) != (**b >= thr))
        .count();
    assert!(flipped > 100, "{flipped}");
    // without the name the model is refused with both outputs listed
    let mut none = m.clone();
    none.output.tensor = None;
    let e = h2g::infer::tissue_model::detect_with_model(&img, &mut model, &none).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("'aux' [1, 2, 64, 64]") && text.contains("'mask'"),
        "{text}"
    );
}

// ---- contract errors -----------------------------------------------------------------------------

#[test]
fn several_outputs_without_a_choice_and_choices_the_file_lacks_are_named() {
    if !runtime_loaded() {
        return;
    }
    let (image, heat) = refine_inputs();
    let (mut model, mut m) = open("test-contract-agunet");
    let problem =
        |model: &mut Model, m: &Manifest| match refine(model, m, &image, Some((&heat[..], 1))) {
            Err(InferError::Contract { problem, .. }) => problem,
            other => panic!("{:?}", other.map(|v| v.labels.len())),
        };
    m.output.tensor = None;
    let p = problem(&mut model, &m);
    let text = p.to_string();
    assert!(
        matches!(&p, Contract::OutputChoice { outputs } if outputs.len() == 3),
        "{p:?}"
    );
    for want in [
        "3 outputs",
        "'full' [1, 2, 1024, 1024]",
        "'half' [1, 2, 512, 512]",
        "'quarter' [1, 2, 256, 256]",
        "\"tensor\"",
    ] {
        assert!(text.contains(want), "{want} not in: {text}");
    }
    m.output.tensor = Some(OutputRef::Index(3));
    let p = problem(&mut model, &m);
    assert!(
        matches!(
            &p,
            Contract::NoSuchOutput {
                asked: OutputRef::Index(3),
                ..
            }
        ),
        "{p:?}"
    );
    assert!(p.to_string().contains("'quarter'"), "{p}");
    m.output.tensor = Some(OutputRef::Name("fullres".into()));
    let p = problem(&mut model, &m);
    assert!(
        p.to_string()
            .contains("\"fullres\" is not one of its outputs"),
        "{p}"
    );
    // the half-resolution output exists but is no 1024 × 1024 map
    m.output.tensor = Some(OutputRef::Name("half".into()));
    assert!(matches!(
        problem(&mut model, &m),
        Contract::OutputShape { side: 1024, .. }
    ));
}

#[test]
fn meanstd_of_the_wrong_length_or_a_zero_std_is_refused() {
    let (mut m, _) = resolve("test-contract-patch-meanstd").unwrap();
    m.mean = Some(vec![0.5, 0.5]);
    assert_eq!(
        m.input_scale(),
        Err(ScalingError::Length {
            field: "mean",
            len: 2,
            channels: 3
        })
    );
    let e = m.input_scale().unwrap_err().to_string();
    assert!(
        e.contains("\"mean\" has 2 value(s)") && e.contains("3 colour channels"),
        "{e}"
    );
    m.mean = Some(vec![0.5; 3]);
    m.std = Some(vec![0.2, 0.0, 0.2]);
    assert_eq!(
        m.input_scale(),
        Err(ScalingError::StdNotPositive {
            channel: 1,
            value: 0.0
        })
    );
    m.std = None;
    assert_eq!(m.input_scale(), Err(ScalingError::MeanStdMissing));
    // and the stage refuses it before running a patch
    if !runtime_loaded() {
        return;
    }
    let (mut model, mut m) = open("test-contract-patch-meanstd");
    m.std = Some(vec![0.2; 4]);
    let s = patch_slide(&m);
    let meta = SlideMeta::from_properties(s.properties(), None);
    let e = heatmap(
        &s,
        &meta,
        &mut model,
        &m,
        &HeatmapSpec::default(),
        &|_, _| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("\"std\" has 4 value(s)"), "{e}");
}

// ---- h2g models init -----------------------------------------------------------------------------

fn h2g(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_h2g"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn models_init_describes_a_real_file_and_refuses_to_overwrite() {
    if !runtime_loaded() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("doubleunet.json");
    let model = repo().join("models/test/contract/doubleunet.onnx");
    let (model_s, out_s) = (model.to_str().unwrap(), out.to_str().unwrap());
    let o = h2g(&[
        "models",
        "init",
        model_s,
        "--role",
        "refinement",
        "-o",
        out_s,
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    for want in [
        "check these",
        "output.tensor",
        "scaling: div255",
        "2 outputs",
    ] {
        assert!(stderr.contains(want), "{want} not in: {stderr}");
    }
    let m: Manifest = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    // from the file (make_contract_models.py): [1, 1024, 1024, 4] channels last, two outputs
    assert_eq!(m.layout, h2g::infer::manifest::Layout::Nhwc);
    assert_eq!(m.size, 1024);
    assert_eq!(m.inputs.len(), 1);
    assert_eq!(
        (m.inputs[0].channels, m.inputs[0].role.as_str()),
        (4, "image+heatmap")
    );
    let outs: Vec<(&str, &[i64])> = m
        .outputs
        .iter()
        .map(|o| (o.name.as_str(), &o.shape[..]))
        .collect();
    assert_eq!(
        outs,
        vec![
            ("first", &[1, 1024, 1024, 2][..]),
            ("refined", &[1, 1024, 1024, 2][..])
        ]
    );
    assert_eq!(m.output.tensor, None, "the choice is the user's");
    let bytes = std::fs::read(&model).unwrap();
    assert_eq!(m.sha256, Some(h2g::digest::sha256_hex(&bytes)));
    // an existing file is kept without --force, replaced with it; a directory never
    std::fs::write(&out, "keep").unwrap();
    let o = h2g(&[
        "models",
        "init",
        model_s,
        "--role",
        "refinement",
        "-o",
        out_s,
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("pass --force"));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep");
    let o = h2g(&[
        "models",
        "init",
        model_s,
        "--role",
        "refinement",
        "-o",
        out_s,
        "--force",
    ]);
    assert!(o.status.success());
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("\"refined\""));
    let d = dir.path().join("sub");
    std::fs::create_dir(&d).unwrap();
    let o = h2g(&[
        "models",
        "init",
        model_s,
        "--role",
        "refinement",
        "-o",
        d.to_str().unwrap(),
        "--force",
    ]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a regular file"));
    assert!(d.is_dir());
    // dynamic height and width: the size is a default to check; the layout still read
    let o = h2g(&[
        "models",
        "init",
        repo()
            .join("models/test/contract/inceptionv3.onnx")
            .to_str()
            .unwrap(),
        "--role",
        "patch-classifier",
        "-o",
        dir.path().join("inc.json").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && stderr.contains("size: 256"),
        "{stderr}"
    );
    let m: Manifest =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("inc.json")).unwrap())
            .unwrap();
    assert_eq!(m.layout, h2g::infer::manifest::Layout::Nhwc);
    // a patch classifier with a 4-channel input does not fit the role
    let o = h2g(&[
        "models",
        "init",
        repo()
            .join("models/test/contract/unet_4ch.onnx")
            .to_str()
            .unwrap(),
        "--role",
        "patch-classifier",
        "-o",
        dir.path().join("bad.json").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("do not fit a patch classifier"));
}

#[test]
fn contract_models_match_their_pinned_sha256() {
    for (name, m) in h2g::infer::manifest::built_in()
        .into_iter()
        .filter(|m| m.name.starts_with("test-contract-"))
        .map(|m| (m.name.clone(), m))
    {
        assert!(!m.trained, "{name}");
        let bytes = std::fs::read(repo().join("models").join(&m.file)).unwrap();
        assert_eq!(Some(h2g::digest::sha256_hex(&bytes)), m.sha256, "{name}");
    }
}

#[test]
fn tissue_overrides_without_a_model_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let spec = h2g::tissue::TissueRunSpec {
        slide: repo().join("no-such-slide.svs"),
        output: dir.path().to_path_buf(),
        name: None,
        method: h2g::tissue::Method::paper(),
        at: None,
        mpp: None,
        tile: 512,
        geojson: false,
        qupath_frame: false,
        threads: 1,
        ort_lib: None,
    };
    let over = ManifestOverrides {
        output: Some(OutputRef::Index(0)),
        ..Default::default()
    };
    let e = h2g::infer::tissue_model::run_tissue_file_with(&spec, &over).unwrap_err();
    assert!(
        matches!(&e, h2g::infer::tissue_model::TissueFileError::OverridesWithoutModel { method } if method == "saturation"),
        "{e}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
