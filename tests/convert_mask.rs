//! convert-mask end to end: round trips, the pyramid rule, every input kind, BigTIFF, errors.

mod common;

use std::path::Path;

use common::*;
use h2g::convert::{convert_mask, sidecar_path, ConvertError, ConvertSpec, PaletteMode};
use h2g::mask::{MaskError, MaskOptions, RgbLabel};
use h2g::pyramid::Reduce;
use h2g::tiff::{BigTiffMode, Compression};
use proptest::prelude::*;

fn spec(tile: u32, reduce: Reduce) -> ConvertSpec {
    ConvertSpec {
        tile,
        reduce,
        progress: false,
        ..ConvertSpec::default()
    }
}

fn round_trip(w: u32, h: u32, tile: u32, reduce: Reduce, compression: Compression) {
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("m.png"), dir.path().join("m.tif"));
    let lab = labels(w, h, 4, (w * 31 + h) as u64);
    write_gray8(&inp, w, h, &lab);
    let s = ConvertSpec {
        compression,
        ..spec(tile, reduce)
    };
    let report = convert_mask(&inp, &out, &s).unwrap();
    let levels = read_levels(&out);
    assert_eq!(report.levels.len(), levels.len());
    let input: Vec<u16> = lab.iter().map(|&v| v as u16).collect();
    assert_pyramid(&levels, &input, w, h, tile, reduce == Reduce::Mode);
    // the reported histogram is the true one
    let total: u64 = report.label_pixels.iter().map(|(_, n)| n).sum();
    assert_eq!(total, w as u64 * h as u64);
    for (l, n) in &report.label_pixels {
        assert_eq!(*n, lab.iter().filter(|&&v| v as u64 == *l).count() as u64);
    }
}

#[test]
fn one_pixel_mask_is_a_single_level() {
    round_trip(1, 1, 16, Reduce::Mode, Compression::Lzw);
}

#[test]
fn width_not_a_multiple_of_the_tile() {
    round_trip(70, 37, 16, Reduce::Mode, Compression::Lzw);
}

#[test]
fn taller_than_wide() {
    round_trip(9, 200, 16, Reduce::Mode, Compression::Lzw);
}

#[test]
fn nearest_rule_and_other_compressions() {
    round_trip(100, 61, 32, Reduce::Nearest, Compression::Lzw);
    round_trip(100, 61, 32, Reduce::Mode, Compression::Deflate(6));
    round_trip(100, 61, 32, Reduce::Mode, Compression::None);
}

#[test]
fn several_bands_per_level_with_uniform_tiles() {
    // a big uniform area exercises the uniform-tile cache next to detailed tiles
    let (w, h, tile) = (300u32, 250u32, 32u32);
    let mut lab = labels(w, h, 3, 7);
    for y in 0..150 {
        for x in 0..200 {
            lab[(y * w + x) as usize] = 1;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("m.png"), dir.path().join("m.tif"));
    write_gray8(&inp, w, h, &lab);
    convert_mask(&inp, &out, &spec(tile, Reduce::Mode)).unwrap();
    let input: Vec<u16> = lab.iter().map(|&v| v as u16).collect();
    assert_pyramid(&read_levels(&out), &input, w, h, tile, true);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn any_size_round_trips(w in 1u32..90, h in 1u32..90, mode in any::<bool>()) {
        let reduce = if mode { Reduce::Mode } else { Reduce::Nearest };
        round_trip(w, h, 16, reduce, Compression::Lzw);
    }
}

#[test]
fn one_bit_grey_keeps_zero_and_one() {
    let (w, h) = (21u32, 5u32);
    let lab = labels(w, h, 2, 3);
    let stride = w.div_ceil(8) as usize;
    let mut packed = vec![0u8; stride * h as usize];
    for y in 0..h as usize {
        for x in 0..w as usize {
            packed[y * stride + x / 8] |= lab[y * w as usize + x] << (7 - x % 8);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("m.png"), dir.path().join("m.tif"));
    write_png(
        &inp,
        w,
        h,
        png::ColorType::Grayscale,
        png::BitDepth::One,
        &packed,
        None,
    );
    let r = convert_mask(&inp, &out, &spec(16, Reduce::Mode)).unwrap();
    assert!(r.encoding.starts_with("1-bit grey"));
    let levels = read_levels(&out);
    assert_eq!(
        levels[0].data,
        lab.iter().map(|&v| v as u16).collect::<Vec<_>>()
    );
}

#[test]
fn sixteen_bit_grey_keeps_large_labels() {
    let (w, h) = (40u32, 23u32);
    let lab: Vec<u16> = labels(w, h, 5, 11)
        .iter()
        .map(|&v| v as u16 * 1000 + 7)
        .collect();
    let be: Vec<u8> = lab.iter().flat_map(|v| v.to_be_bytes()).collect();
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("m.png"), dir.path().join("m.tif"));
    write_png(
        &inp,
        w,
        h,
        png::ColorType::Grayscale,
        png::BitDepth::Sixteen,
        &be,
        None,
    );
    let r = convert_mask(&inp, &out, &spec(16, Reduce::Mode)).unwrap();
    assert_eq!(r.bits_per_sample, 16);
    let levels = read_levels(&out);
    assert_eq!(levels[0].bits, 16);
    assert_pyramid(&levels, &lab, w, h, 16, true);
}

#[test]
fn four_bit_palette_keeps_indices_and_writes_the_palette_sidecar() {
    let (w, h) = (33u32, 18u32);
    let lab = labels(w, h, 3, 5);
    let stride = w.div_ceil(2) as usize;
    let mut packed = vec![0u8; stride * h as usize];
    for y in 0..h as usize {
        for x in 0..w as usize {
            packed[y * stride + x / 2] |= lab[y * w as usize + x] << (4 * (1 - x % 2));
        }
    }
    let palette = [255u8, 255, 255, 200, 0, 0, 150, 200, 150];
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("m.png"), dir.path().join("m.tif"));
    write_png(
        &inp,
        w,
        h,
        png::ColorType::Indexed,
        png::BitDepth::Four,
        &packed,
        Some(&palette),
    );
    let r = convert_mask(&inp, &out, &spec(16, Reduce::Mode)).unwrap();
    assert_eq!(
        read_levels(&out)[0].data,
        lab.iter().map(|&v| v as u16).collect::<Vec<_>>()
    );
    let side: serde_json::Value =
        serde_json::from_reader(std::fs::File::open(sidecar_path(&out)).unwrap()).unwrap();
    assert_eq!(r.palette_sidecar, Some(sidecar_path(&out)));
    assert_eq!(side["labels"][1]["rgb"], serde_json::json!([200, 0, 0]));
    let ones = lab.iter().filter(|&&v| v == 1).count() as u64;
    assert_eq!(side["labels"][1]["pixels"], serde_json::json!(ones));
}

#[test]
fn palette_as_colormap_is_embedded() {
    let inp = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/qupath-label-masks/labels_tumor_first.png");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.tif");
    let s = ConvertSpec {
        palette: PaletteMode::Colormap,
        ..spec(64, Reduce::Mode)
    };
    convert_mask(&inp, &out, &s).unwrap();
    assert!(!sidecar_path(&out).exists());
    let mut d = tiff::decoder::Decoder::new(std::fs::File::open(&out).unwrap()).unwrap();
    assert_eq!(
        d.get_tag_u32(tiff::tags::Tag::PhotometricInterpretation)
            .unwrap(),
        3
    );
    let map = d.get_tag_u16_vec(tiff::tags::Tag::ColorMap).unwrap();
    assert_eq!(map.len(), 768);
    assert_eq!(
        (map[0], map[256], map[512]),
        (65535, 65535, 65535),
        "label 0 is QuPath's white background"
    );
}

#[test]
fn real_qupath_palette_exports_keep_their_labels() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "labels_tumor_first.png",
        "labels_stroma_first.png",
        "labeled_both.png",
    ] {
        let inp = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/qupath-label-masks")
            .join(name);
        // decode the indices independently with the png crate
        let mut dec =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&inp).unwrap()));
        dec.set_transformations(png::Transformations::IDENTITY);
        let mut rd = dec.read_info().unwrap();
        let mut buf = vec![0; rd.output_buffer_size().unwrap()];
        let info = rd.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Indexed);
        let (w, h) = (info.width, info.height);
        let out = dir.path().join(name.replace(".png", ".tif"));
        let r = convert_mask(&inp, &out, &spec(64, Reduce::Mode)).unwrap();
        assert!(r.encoding.contains("palette"));
        let input: Vec<u16> = buf[..(w * h) as usize].iter().map(|&v| v as u16).collect();
        assert!(input.iter().any(|&v| v > 1), "{name}: more than one class");
        assert_pyramid(&read_levels(&out), &input, w, h, 64, true);
        assert!(sidecar_path(&out).exists());
    }
}

#[test]
fn shared_label_masks_match_the_fixtures() {
    // The fixtures are copies of ../shared/data/label-masks; when that tree is present, prove it.
    for name in [
        "labels_tumor_first.png",
        "labels_stroma_first.png",
        "labeled_both.png",
    ] {
        let Some(p) = shared(&format!("label-masks/{name}")) else {
            return;
        };
        let ours = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/qupath-label-masks")
            .join(name);
        assert_eq!(std::fs::read(p).unwrap(), std::fs::read(ours).unwrap());
    }
}

#[test]
fn rgb_needs_a_mapping_and_then_converts() {
    let (w, h) = (20u32, 10u32);
    let lab = labels(w, h, 2, 9);
    let rgb: Vec<u8> = lab
        .iter()
        .flat_map(|&v| if v == 1 { [200, 0, 0] } else { [255, 255, 255] })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("m.png"), dir.path().join("m.tif"));
    write_png(
        &inp,
        w,
        h,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        &rgb,
        None,
    );
    let err = convert_mask(&inp, &out, &spec(16, Reduce::Mode)).unwrap_err();
    assert!(
        matches!(err, ConvertError::Mask(MaskError::RgbNeedsMapping { .. })),
        "{err}"
    );
    assert!(!out.exists());
    let mut s = spec(16, Reduce::Mode);
    s.mask.rgb_labels = vec![
        "255,255,255=0".parse().unwrap(),
        "200,0,0=1".parse().unwrap(),
    ];
    convert_mask(&inp, &out, &s).unwrap();
    assert_eq!(
        read_levels(&out)[0].data,
        lab.iter().map(|&v| v as u16).collect::<Vec<_>>()
    );
    // a colour outside the mapping is named with its position
    s.mask.rgb_labels = vec![RgbLabel {
        rgb: [255, 255, 255],
        label: 0,
    }];
    let err = convert_mask(&inp, &dir.path().join("x.tif"), &s)
        .unwrap_err()
        .to_string();
    assert!(err.contains("200,0,0"), "{err}");
}

#[test]
fn existing_tiff_masks_are_retiled() {
    let (w, h) = (130u32, 75u32);
    let lab = labels(w, h, 4, 21);
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    // a strip TIFF written by the tiff crate
    {
        let f = std::fs::File::create(p("strips.tif")).unwrap();
        let mut enc = tiff::encoder::TiffEncoder::new(f).unwrap();
        enc.write_image::<tiff::encoder::colortype::Gray8>(w, h, &lab)
            .unwrap();
    }
    convert_mask(&p("strips.tif"), &p("a.tif"), &spec(16, Reduce::Mode)).unwrap();
    // our own tiled output, re-tiled at another size
    convert_mask(&p("a.tif"), &p("b.tif"), &spec(48, Reduce::Mode)).unwrap();
    let input: Vec<u16> = lab.iter().map(|&v| v as u16).collect();
    assert_pyramid(&read_levels(&p("a.tif")), &input, w, h, 16, true);
    assert_pyramid(&read_levels(&p("b.tif")), &input, w, h, 48, true);
}

#[test]
fn bigtiff_path_writes_a_readable_bigtiff() {
    let (w, h) = (90u32, 40u32);
    let lab = labels(w, h, 3, 4);
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("m.png"), dir.path().join("m.tif"));
    write_gray8(&inp, w, h, &lab);
    let s = ConvertSpec {
        bigtiff: BigTiffMode::Always,
        mpp: Some((1.0, 1.0)),
        ..spec(16, Reduce::Mode)
    };
    let r = convert_mask(&inp, &out, &s).unwrap();
    assert!(r.bigtiff);
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[..4], b"II+\0");
    assert_eq!(r.bytes, bytes.len() as u64);
    let input: Vec<u16> = lab.iter().map(|&v| v as u16).collect();
    assert_pyramid(&read_levels(&out), &input, w, h, 16, true);
    // and classic by default
    let r = convert_mask(&inp, &out, &spec(16, Reduce::Mode)).unwrap();
    assert!(!r.bigtiff);
    assert_eq!(&std::fs::read(&out).unwrap()[..4], b"II*\0");
}

#[test]
fn resolution_tags_scale_per_level() {
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("m.png"), dir.path().join("m.tif"));
    write_gray8(&inp, 64, 64, &labels(64, 64, 2, 1));
    let s = ConvertSpec {
        mpp: Some((2.0, 2.0)),
        ..spec(16, Reduce::Mode)
    };
    convert_mask(&inp, &out, &s).unwrap();
    let mut d = tiff::decoder::Decoder::new(std::fs::File::open(&out).unwrap()).unwrap();
    let mut per_cm = Vec::new();
    loop {
        match d.get_tag(tiff::tags::Tag::XResolution).unwrap() {
            tiff::decoder::ifd::Value::Rational(n, den) => per_cm.push(n as f64 / den as f64),
            other => panic!("XResolution is {other:?}"),
        }
        assert_eq!(d.get_tag_u32(tiff::tags::Tag::ResolutionUnit).unwrap(), 3);
        if !d.more_images() {
            break;
        }
        d.next_image().unwrap();
    }
    // 2 µm/px = 5000 px/cm at level 0, halving per level
    assert_eq!(per_cm, vec![5000.0, 2500.0, 1250.0]);
}

// ----- bad input: a specific error and nothing left behind -----

fn expect_clean_failure(inp: &Path, s: &ConvertSpec) -> ConvertError {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.tif");
    let err = convert_mask(inp, &out, s).unwrap_err();
    assert!(
        entries(dir.path()).is_empty(),
        "left behind: {:?}",
        entries(dir.path())
    );
    err
}

#[test]
fn missing_input() {
    let err = expect_clean_failure(
        Path::new("/definitely/not/here.png"),
        &spec(16, Reduce::Mode),
    );
    assert!(
        matches!(err, ConvertError::Mask(MaskError::Io { .. })),
        "{err}"
    );
}

#[test]
fn truncated_png_is_reported_as_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let inp = dir.path().join("m.png");
    // noisy labels so the compressed data is long enough to cut in the middle
    let lab: Vec<u8> = (0..200u32 * 200)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    write_gray8(&inp, 200, 200, &lab);
    let bytes = std::fs::read(&inp).unwrap();
    std::fs::write(&inp, &bytes[..bytes.len() / 2]).unwrap();
    let err = expect_clean_failure(&inp, &spec(16, Reduce::Mode));
    assert!(
        matches!(err, ConvertError::Mask(MaskError::Truncated { .. })),
        "{err}"
    );
}

#[test]
fn corrupt_png_is_reported_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let inp = dir.path().join("m.png");
    write_gray8(&inp, 50, 50, &labels(50, 50, 3, 2));
    let mut bytes = std::fs::read(&inp).unwrap();
    let idat = bytes.windows(4).position(|w| w == b"IDAT").unwrap();
    for b in &mut bytes[idat + 6..idat + 12] {
        *b ^= 0x5a;
    }
    std::fs::write(&inp, &bytes).unwrap();
    let err = expect_clean_failure(&inp, &spec(16, Reduce::Mode));
    assert!(
        matches!(err, ConvertError::Mask(MaskError::Decoder { .. })),
        "{err}"
    );
}

#[test]
fn not_an_image_names_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let inp = dir.path().join("m.png");
    std::fs::write(&inp, b"GIF89a......").unwrap();
    let err = expect_clean_failure(&inp, &spec(16, Reduce::Mode)).to_string();
    assert!(
        err.contains("neither a PNG nor a TIFF") && err.contains("47 49 46"),
        "{err}"
    );
}

#[test]
fn decompression_bomb_is_refused_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let inp = dir.path().join("m.png");
    write_gray8(&inp, 100, 100, &labels(100, 100, 2, 1));
    let s = ConvertSpec {
        mask: MaskOptions {
            max_pixels: 9_999,
            ..MaskOptions::default()
        },
        ..spec(16, Reduce::Mode)
    };
    let err = expect_clean_failure(&inp, &s);
    assert!(
        matches!(err, ConvertError::Mask(MaskError::TooLarge { .. })),
        "{err}"
    );
}

#[test]
fn unwritable_output_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let inp = dir.path().join("m.png");
    write_gray8(&inp, 10, 10, &labels(10, 10, 2, 1));
    let err = convert_mask(
        &inp,
        &dir.path().join("no/such/dir/out.tif"),
        &spec(16, Reduce::Mode),
    )
    .unwrap_err();
    assert!(matches!(err, ConvertError::Output { .. }), "{err}");
    let err = convert_mask(&inp, dir.path(), &spec(16, Reduce::Mode)).unwrap_err();
    let cause = std::error::Error::source(&err)
        .map(|c| c.to_string())
        .unwrap_or_default();
    assert!(
        matches!(err, ConvertError::Output { .. }) && cause.contains("is a directory"),
        "{err}: {cause}"
    );
}

#[test]
fn failed_conversion_keeps_a_previous_output() {
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("m.png"), dir.path().join("m.tif"));
    write_gray8(&inp, 30, 30, &labels(30, 30, 2, 1));
    convert_mask(&inp, &out, &spec(16, Reduce::Mode)).unwrap();
    let before = std::fs::read(&out).unwrap();
    let bytes = std::fs::read(&inp).unwrap();
    std::fs::write(&inp, &bytes[..bytes.len() - 20]).unwrap();
    assert!(convert_mask(&inp, &out, &spec(16, Reduce::Mode)).is_err());
    assert_eq!(std::fs::read(&out).unwrap(), before);
    assert_eq!(entries(dir.path()), vec!["m.png", "m.tif"]);
}

#[test]
fn bad_tile_sizes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let inp = dir.path().join("m.png");
    write_gray8(&inp, 10, 10, &labels(10, 10, 2, 1));
    for t in [0, 17, 100, 65536] {
        let err = expect_clean_failure(&inp, &spec(t, Reduce::Mode));
        assert!(
            matches!(err, ConvertError::TileSize(x) if x == t),
            "{t}: {err}"
        );
    }
}

// ----- re-tiling TIFF masks written by other software -----

#[test]
fn strip_tiffs_with_each_compression_and_the_horizontal_predictor() {
    use tiff::encoder::{
        colortype, compression::DeflateLevel, Compression as C, Predictor, TiffEncoder,
    };
    let (w, h) = (77u32, 45u32);
    let lab = labels(w, h, 5, 33);
    let lab16: Vec<u16> = lab.iter().map(|&v| v as u16 * 300).collect();
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, C, Predictor)> = vec![
        ("none", C::Uncompressed, Predictor::None),
        ("lzw", C::Lzw, Predictor::None),
        ("lzw-pred", C::Lzw, Predictor::Horizontal),
        (
            "deflate-pred",
            C::Deflate(DeflateLevel::Balanced),
            Predictor::Horizontal,
        ),
        ("packbits", C::Packbits, Predictor::None),
    ];
    for (name, comp, pred) in cases {
        for sixteen in [false, true] {
            let inp = dir.path().join(format!("{name}-{sixteen}.tif"));
            let f = std::fs::File::create(&inp).unwrap();
            let mut enc = TiffEncoder::new(f)
                .unwrap()
                .with_compression(comp)
                .with_predictor(pred);
            if sixteen {
                enc.write_image::<colortype::Gray16>(w, h, &lab16).unwrap();
            } else {
                enc.write_image::<colortype::Gray8>(w, h, &lab).unwrap();
            }
            let out = dir.path().join(format!("{name}-{sixteen}.out.tif"));
            convert_mask(&inp, &out, &spec(32, Reduce::Mode))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let want: Vec<u16> = if sixteen {
                lab16.clone()
            } else {
                lab.iter().map(|&v| v as u16).collect()
            };
            assert_pyramid(&read_levels(&out), &want, w, h, 32, true);
        }
    }
}

/// Regression: tiled LZW masks as libvips writes them (right-edge tiles padded, streams that
/// end right after their end code) failed to re-tile with "no lzw end code found", because the
/// `tiff` crate's row-wise edge-tile reading rejects them. Chunks are now decoded whole.
#[test]
fn retiles_tiled_lzw_whose_streams_end_at_the_end_code() {
    use h2g::tiff::{CompressionTag, PyramidLayout, PyramidWriter};
    let (w, h, t) = (70u32, 37u32, 16u32);
    let lab = labels(w, h, 3, 8);
    let dir = tempfile::tempdir().unwrap();
    let inp = dir.path().join("vips-like.tif");
    let layout = PyramidLayout {
        levels: vec![(w, h)],
        tile: t,
        bits_per_sample: 8,
        compression: CompressionTag::Lzw,
        colormap: None,
        mpp: None,
        software: "test".into(),
    };
    let mut wr = PyramidWriter::new(std::fs::File::create(&inp).unwrap(), layout).unwrap();
    for ty in 0..h.div_ceil(t) {
        for tx in 0..w.div_ceil(t) {
            let mut tile = vec![0u8; (t * t) as usize];
            for y in 0..t.min(h - ty * t) {
                for x in 0..t.min(w - tx * t) {
                    tile[(y * t + x) as usize] = lab[((ty * t + y) * w + tx * t + x) as usize];
                }
            }
            let lzw = weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
                .encode(&tile)
                .unwrap();
            wr.write_tile(0, tx, ty, &lzw).unwrap();
        }
    }
    wr.finish(h2g::tiff::BigTiffMode::Auto).unwrap();
    let out = dir.path().join("retiled.tif");
    convert_mask(&inp, &out, &spec(32, Reduce::Mode)).unwrap();
    let want: Vec<u16> = lab.iter().map(|&v| v as u16).collect();
    assert_pyramid(&read_levels(&out), &want, w, h, 32, true);
}

#[test]
fn truncated_tiff_is_reported_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (inp, full) = (dir.path().join("m.png"), dir.path().join("full.tif"));
    let lab: Vec<u8> = (0..120u32 * 90)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    write_gray8(&inp, 120, 90, &lab);
    convert_mask(&inp, &full, &spec(32, Reduce::Mode)).unwrap();
    let bytes = std::fs::read(&full).unwrap();
    // keep the IFDs (at the end) but cut tile data out of the middle: offsets now point past data
    let cut = dir.path().join("cut.tif");
    let mut b = bytes.clone();
    b.truncate(bytes.len() / 3);
    std::fs::write(&cut, &b).unwrap();
    let err = expect_clean_failure(&cut, &spec(32, Reduce::Mode));
    assert!(
        matches!(
            err,
            ConvertError::Mask(MaskError::Damaged { .. } | MaskError::Truncated { .. })
        ),
        "{err}"
    );
}

#[test]
fn openslide_reads_every_level_as_written() {
    use h2g::slide::{OpenSlideSlide, Slide, SlideMeta};
    let (w, h) = (300u32, 170u32);
    let lab = labels(w, h, 4, 13);
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("m.png"), dir.path().join("m.tif"));
    write_gray8(&inp, w, h, &lab);
    let s = ConvertSpec {
        mpp: Some((1.0, 1.0)),
        ..spec(64, Reduce::Mode)
    };
    convert_mask(&inp, &out, &s).unwrap();
    let levels = read_levels(&out);
    let slide = OpenSlideSlide::open(&out).unwrap();
    assert_eq!(slide.vendor().as_deref(), Some("generic-tiff"));
    assert_eq!(slide.level_count(), levels.len());
    for (i, l) in levels.iter().enumerate() {
        assert_eq!(
            slide.level_size(i).unwrap(),
            (l.width as u64, l.height as u64)
        );
        let img = slide.read_region(i, 0, 0, l.width, l.height).unwrap();
        let grey: Vec<u16> = img.data.chunks_exact(3).map(|p| p[0] as u16).collect();
        assert!(
            grey == l.data,
            "OpenSlide level {i} differs from the tiff crate's"
        );
    }
    // and the resolution tags give the slide its scale back
    let meta = SlideMeta::from_properties(slide.properties(), None);
    assert_eq!(meta.mpp.map(|p| p.x), Some(1.0));
}

/// Starts `h2g ARGS` held once its first output exists (`H2G_HOLD_OUTPUT`), sends `signal`
/// when a temporary file has appeared in `dir`, and returns the exit status.
#[cfg(unix)]
fn interrupted(args: &[&std::ffi::OsStr], dir: &Path, signal: &str) -> std::process::ExitStatus {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_h2g"))
        .args(args)
        .env("H2G_HOLD_OUTPUT", "1")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let tmp_in = |d: &Path| entries(d).iter().any(|n| n.ends_with(".tmp"));
    while !tmp_in(dir) {
        assert!(
            started.elapsed().as_secs() < 50,
            "no temporary output appeared"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "ended before any output was created"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .unwrap()
        .success());
    child.wait().unwrap()
}

#[cfg(unix)]
#[test]
fn an_interrupted_conversion_leaves_no_file_for_int_term_and_hup() {
    let dir = tempfile::tempdir().unwrap();
    let inp = dir.path().join("m.png");
    write_gray8(&inp, 300, 200, &labels(300, 200, 3, 5));
    let out = dir.path().join("out.tif");
    for signal in ["INT", "TERM", "HUP"] {
        let status = interrupted(
            &["convert-mask".as_ref(), inp.as_os_str(), out.as_os_str()],
            dir.path(),
            signal,
        );
        assert_eq!(status.code(), Some(130), "exit status after SIG{signal}");
        assert_eq!(entries(dir.path()), vec!["m.png"], "after SIG{signal}");
    }
    // the same command without the hold converts (the hold, not the input, kept it waiting)
    convert_mask(&inp, &out, &spec(16, Reduce::Mode)).unwrap();
}

/// A 1 × 1 grey PNG with Adam7 interlacing, built byte by byte (no encoder here writes one).
fn interlaced_png(path: &Path) {
    use std::io::Write;
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend(kind);
        out.extend(data);
        out.extend(crc.sum().to_be_bytes());
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    // width 1, height 1, depth 8, grey, deflate, adaptive filters, Adam7
    chunk(&mut png, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 1]);
    // pass 1 holds the only pixel: filter byte 0, label 2
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&[0, 2]).unwrap();
    chunk(&mut png, b"IDAT", &z.finish().unwrap());
    chunk(&mut png, b"IEND", &[]);
    std::fs::write(path, png).unwrap();
}

#[test]
fn interlaced_pngs_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let inp = dir.path().join("adam7.png");
    interlaced_png(&inp);
    // the file is a valid PNG: the png crate decodes it in memory
    let d = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&inp).unwrap()));
    let r = d.read_info().unwrap();
    assert!(r.info().interlaced);
    let err = expect_clean_failure(&inp, &spec(16, Reduce::Mode));
    assert!(
        matches!(err, ConvertError::Mask(MaskError::Unsupported { .. }))
            && err.to_string().contains("interlaced (Adam7)"),
        "{err}"
    );
}
