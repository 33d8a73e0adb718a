//! QuPath GeoJSON: every real sample loads; vectorize → rasterize is the identity from the
//! command line; empty masks, unknown classes and invalid rings are handled.

mod common;

use assert_cmd::Command;
use h2g::vector::read_annotations;

#[test]
fn every_qupath_sample_loads() {
    let Some(dir) = common::shared("annotations") else {
        return;
    };
    let mut files = Vec::new();
    for sub in [
        "qupath-exports",
        "qupath-format-samples",
        "pathopatcher",
        "derived",
    ] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("json" | "geojson")
            ) {
                files.push(p);
            }
        }
    }
    assert!(files.len() >= 20);
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let derived = name.starts_with("derived-class");
        let a = match read_annotations(f) {
            // a bare classification object, not annotations: refused for what it is
            Err(e) if derived => {
                let e = e.to_string();
                assert!(e.contains("an object without \"type\""), "{e}");
                h2g::vector::Annotations::default()
            }
            Ok(a) if !derived => a,
            r => panic!("{}: {r:?}", f.display()),
        };
        let lines_or_points = ["point", "line", "polyline", "multipoint"]
            .iter()
            .any(|k| name == format!("qupath-{k}.json"));
        if name.starts_with("derived-class") {
            // a bare classification object, no annotation
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            let want = if name.contains("legacy") {
                "First-legacy: Second-legacy: Third-legacy: Fourth-legacy"
            } else {
                "First: Second: Third: Fourth"
            };
            assert_eq!(h2g::vector::classification_name(&v).as_deref(), Some(want));
        } else if lines_or_points {
            assert!(a.items.is_empty() && a.skipped > 0, "{name}");
        } else {
            assert!(!a.items.is_empty(), "{name}: no polygon");
        }
    }
    // ASAP XML: CAMELYON16 outlines (polygons and splines) and the single-shape samples
    let asap =
        |rel: &str| read_annotations(&dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let t85 = asap("camelyon16/tumor_085.xml");
    assert_eq!((t85.items.len(), t85.skipped), (50, 0));
    let vertices: usize = t85.items.iter().map(|i| i.polygons[0][0].len()).sum();
    // 7 220 listed points; the data README counts 7 270 with each ring's closing vertex
    assert_eq!(vertices + t85.items.len(), 7270);
    assert_eq!(asap("camelyon16/tumor_009.xml").items.len(), 6);
    assert_eq!(asap("qupath-exports/asap-polygon.xml").items.len(), 1);
    assert_eq!(asap("qupath-exports/asap-dot.xml").skipped, 1);
    assert_eq!(asap("qupath-exports/asap-pointset.xml").skipped, 1);
    // the three generations of QuPath's encoding give the same classes
    let classes = |n: &str| -> Vec<Option<String>> {
        read_annotations(&dir.join("qupath-format-samples").join(n))
            .unwrap()
            .items
            .into_iter()
            .map(|i| i.class)
            .collect()
    };
    let v02 = classes("v0.2.3_annotation_array.json");
    assert!(!v02.is_empty());
    assert_eq!(v02, classes("v0.3.x_annotation_array.json"));
    assert_eq!(v02, classes("v0.4.0_annotation_array.json"));
}

fn h2g() -> Command {
    Command::cargo_bin("h2g").unwrap()
}

#[test]
fn vectorize_then_rasterize_is_the_identity() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (157u32, 93u32);
    let lab = common::labels(w, h, 3, 77);
    let mask = dir.path().join("m.png");
    common::write_gray8(&mask, w, h, &lab);
    let gj = dir.path().join("m.geojson");
    let o = h2g()
        .arg("vectorize")
        .arg(&mask)
        .arg("-o")
        .arg(&gj)
        .args([
            "--class",
            "1=Tumor:#c80000",
            "--class",
            "2=Stroma",
            "--downsample",
            "4",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&gj).unwrap();
    assert!(text.contains("\"colorRGB\": -3670016") && !text.contains("NaN"));
    for rule in ["top-left", "centre"] {
        let back = dir.path().join(format!("back-{rule}.png"));
        let o = h2g()
            .arg("rasterize")
            .arg(&gj)
            .arg("-o")
            .arg(&back)
            .args([
                "--size",
                "157x93",
                "--downsample",
                "4",
                "--class",
                "Tumor=1",
                "--class",
                "Stroma=2",
                "--rule",
                rule,
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut d = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&back).unwrap()));
        d.set_transformations(png::Transformations::IDENTITY);
        let mut r = d.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        r.next_frame(&mut buf).unwrap();
        assert!(
            buf[..(w * h) as usize] == lab[..],
            "{rule}: round trip differs"
        );
    }
    // unknown classes are listed
    let o = h2g()
        .arg("rasterize")
        .arg(&gj)
        .arg("-o")
        .arg(dir.path().join("x.png"))
        .args([
            "--size",
            "157x93",
            "--downsample",
            "4",
            "--class",
            "Tumor=1",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no --class maps: Stroma"));
}

#[test]
fn zipped_and_gzipped_geojson_read_like_plain() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let text = r#"{"type": "Feature", "id": "x", "geometry": {"type": "Polygon", "coordinates": [[[0,0],[4,0],[4,4],[0,4],[0,0]]]}, "properties": {"classification": {"name": "Tumor", "colorRGB": -65536}, "measurements": {"a": NaN}}}"#;
    let plain = dir.path().join("a.geojson");
    std::fs::write(&plain, text).unwrap();
    let gz = dir.path().join("a.geojson.gz");
    let mut e = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap();
    let zp = dir.path().join("a.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&zp).unwrap());
    z.start_file("one.geojson", zip::write::SimpleFileOptions::default())
        .unwrap();
    z.write_all(text.as_bytes()).unwrap();
    z.start_file("two.json", zip::write::SimpleFileOptions::default())
        .unwrap();
    z.write_all(text.as_bytes()).unwrap();
    z.finish().unwrap();
    let a = read_annotations(&plain).unwrap();
    // the same with a UTF-8 byte-order mark in front
    let bom = dir.path().join("bom.geojson");
    std::fs::write(&bom, format!("\u{feff}{text}")).unwrap();
    assert_eq!(read_annotations(&bom).unwrap(), a);
    assert_eq!(a.items.len(), 1);
    assert_eq!(a.items[0].class.as_deref(), Some("Tumor"));
    assert_eq!(read_annotations(&gz).unwrap(), a);
    assert_eq!(read_annotations(&zp).unwrap().items.len(), 2);
}

#[test]
fn a_bare_geometry_is_drawn_as_an_unclassified_annotation() {
    let Some(f) = common::shared("annotations/qupath-format-samples/polygon.geojson") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.png");
    let o = h2g()
        .arg("rasterize")
        .arg(&f)
        .arg("-o")
        .arg(&out)
        .args(["--size", "2000x2000", "--downsample", "8"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("(unclassified)=1"));
    let mut d = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap()));
    d.set_transformations(png::Transformations::IDENTITY);
    let mut r = d.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    r.next_frame(&mut buf).unwrap();
    assert!(buf.contains(&1), "the polygon is drawn");
}

#[test]
fn an_empty_mask_gives_an_empty_feature_collection() {
    let dir = tempfile::tempdir().unwrap();
    let mask = dir.path().join("z.png");
    common::write_gray8(&mask, 10, 10, &[0; 100]);
    let gj = dir.path().join("z.geojson");
    assert!(h2g()
        .arg("vectorize")
        .arg(&mask)
        .arg("-o")
        .arg(&gj)
        .output()
        .unwrap()
        .status
        .success());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&gj).unwrap()).unwrap();
    assert_eq!(v["type"], "FeatureCollection");
    assert_eq!(v["features"].as_array().map(Vec::len), Some(0));
}

#[test]
fn self_intersecting_rings_rasterize_without_a_crash() {
    let Some(f) = common::shared("annotations/derived/camelyon16_tumor_085.qupath.geojson") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c.tif");
    let o = h2g()
        .arg("rasterize")
        .arg(&f)
        .arg("-o")
        .arg(&out)
        .args(["--size", "3000x3000", "--downsample", "32"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    // the two self-crossing rings are reported, each with its annotation and place
    assert!(err.contains("2 self-crossing ring(s)"), "{err}");
    assert_eq!(err.matches("crosses itself near").count(), 2, "{err}");
    let levels = common::read_levels(&out);
    assert!(levels[0].data.contains(&1), "tumour drawn");
}

#[test]
fn vectorize_drops_small_objects_and_fills_small_holes_in_square_micrometres() {
    let dir = tempfile::tempdir().unwrap();
    // 12×12 mask: a 6×6 block with a 2×2 hole, and a single-pixel speck
    let mut px = vec![0u8; 144];
    for y in 1..7 {
        for x in 1..7 {
            px[y * 12 + x] = 1;
        }
    }
    for (x, y) in [(3, 3), (4, 3), (3, 4), (4, 4)] {
        px[y * 12 + x] = 0;
    }
    px[10 * 12 + 10] = 1;
    let mask = dir.path().join("m.png");
    common::write_gray8(&mask, 12, 12, &px);
    let gj = dir.path().join("m.geojson");
    // downsample 4 at 0.25 µm/px: one mask pixel is 1 µm²; speck 1 µm², hole 4 µm²
    let run = |extra: &[&str]| {
        h2g()
            .arg("vectorize")
            .arg(&mask)
            .arg("-o")
            .arg(&gj)
            .args(["--downsample", "4"])
            .args(extra)
            .output()
            .unwrap()
    };
    let o = run(&["--mpp", "0.25", "--min-area", "2", "--max-hole", "5"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&gj).unwrap()).unwrap();
    let feats = v["features"].as_array().unwrap();
    assert_eq!(feats.len(), 1, "speck dropped");
    assert_eq!(
        feats[0]["geometry"]["coordinates"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "hole filled"
    );
    // without a pixel size the filters are refused
    let o = run(&["--min-area", "2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--mpp"));
}

/// Decodes a grey PNG (8- or 16-bit) into labels.
fn read_png_labels(path: &std::path::Path) -> Vec<u16> {
    let mut d = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    d.set_transformations(png::Transformations::IDENTITY);
    let mut r = d.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    match info.bit_depth {
        png::BitDepth::Sixteen => buf[..info.buffer_size()]
            .chunks_exact(2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .collect(),
        _ => buf[..info.buffer_size()]
            .iter()
            .map(|&v| v as u16)
            .collect(),
    }
}

#[test]
fn sixteen_bit_labels_round_trip_across_streaming_batches() {
    // taller than the 256-row batches the reader hands to the tracer, labels above 255,
    // shapes that span batch seams
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (211u32, 777u32);
    let small = common::labels(w, h, 4, 5);
    let lab: Vec<u16> = small
        .iter()
        .map(|&v| [0u16, 300, 1000, 65535][v as usize])
        .collect();
    let bytes: Vec<u8> = lab.iter().flat_map(|v| v.to_be_bytes()).collect();
    let mask = dir.path().join("m16.png");
    common::write_png(
        &mask,
        w,
        h,
        png::ColorType::Grayscale,
        png::BitDepth::Sixteen,
        &bytes,
        None,
    );
    let gj = vectorize_ok(&mask, dir.path().join("m16.geojson"));
    let (back, tif) = (dir.path().join("back.png"), dir.path().join("back.tif"));
    for out in [&back, &tif] {
        let o = h2g()
            .arg("rasterize")
            .arg(&gj)
            .arg("-o")
            .arg(out)
            .args(["--size", &format!("{w}x{h}")])
            .args(["--class", "Label 300=300", "--class", "Label 1000=1000"])
            .args(["--class", "Label 65535=65535"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert!(
        read_png_labels(&back) == lab,
        "16-bit PNG round trip differs"
    );
    let levels = common::read_levels(&tif);
    assert!(levels[0].data == lab, "TIFF round trip differs");
}

#[test]
fn masks_over_two_to_the_31_pixels_are_vectorized_streaming() {
    // 65536 × 32769 = 2^31 + 65536 pixels, mostly background: two squares, one at the very
    // bottom, and a 1-pixel object at the right edge
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (65536u32, 32769u32);
    let mask = dir.path().join("big.png");
    {
        let f = std::io::BufWriter::new(std::fs::File::create(&mask).unwrap());
        let mut e = png::Encoder::new(f, w, h);
        e.set_color(png::ColorType::Grayscale);
        e.set_depth(png::BitDepth::Eight);
        e.set_compression(png::Compression::Fast);
        let mut wr = e.write_header().unwrap();
        let mut sw = wr.stream_writer().unwrap();
        let mut row = vec![0u8; w as usize];
        for y in 0..h {
            row.fill(0);
            if (100..110).contains(&y) {
                row[1000..1010].fill(1);
            }
            if y >= h - 3 {
                row[40000..40005].fill(1);
            }
            if y == 20000 {
                row[w as usize - 1] = 1;
            }
            std::io::Write::write_all(&mut sw, &row).unwrap();
        }
        sw.finish().unwrap();
        wr.finish().unwrap();
    }
    let gj = vectorize_ok(&mask, dir.path().join("big.geojson"));
    let ann = h2g::vector::read_annotations(&gj).unwrap();
    let mut shells: Vec<Vec<(f64, f64)>> = ann
        .items
        .iter()
        .flat_map(|i| i.polygons.iter().map(|p| p[0].clone()))
        .collect();
    shells.sort_by(|a, b| a[0].1.total_cmp(&b[0].1));
    assert_eq!(shells.len(), 3);
    let bbox = |r: &Vec<(f64, f64)>| {
        r.iter()
            .fold((f64::MAX, f64::MAX, f64::MIN, f64::MIN), |b, &(x, y)| {
                (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y))
            })
    };
    assert_eq!(bbox(&shells[0]), (1000.0, 100.0, 1010.0, 110.0));
    assert_eq!(bbox(&shells[1]), (65535.0, 20000.0, 65536.0, 20001.0));
    assert_eq!(bbox(&shells[2]), (40000.0, 32766.0, 40005.0, 32769.0));
}

/// Runs `h2g vectorize MASK -o OUT` and asserts success.
fn vectorize_ok(mask: &std::path::Path, out: std::path::PathBuf) -> std::path::PathBuf {
    let o = h2g()
        .arg("vectorize")
        .arg(mask)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

#[test]
fn a_50000_by_25000_mask_round_trips_exactly_through_the_command_line() {
    // smooth blobs with holes, islands in holes and diagonal contacts, as a ×400 slide's mask at
    // downsample 4; written, compared and read row by row (the test itself stays small)
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (50000usize, 25000usize);
    // tissue-like discs; every other one with a concentric hole, every fourth with an island
    // in that hole (holes in holes)
    let discs: Vec<(f64, f64, f64, u8)> = (0..40)
        .flat_map(|i| {
            let f = i as f64;
            let (x, y) = ((f * 7919.0) % w as f64, (f * 4513.0) % h as f64);
            let r = 300.0 + (f * 131.0) % 2500.0;
            let mut d = vec![(x, y, r, 1u8)];
            if i % 2 == 0 {
                d.push((x, y, r * 0.5, 0));
            }
            if i % 4 == 0 {
                d.push((x + r * 0.1, y, r * 0.2, 1));
            }
            d
        })
        .collect();
    // each row painted span by span: discs in order (later ones overwrite), then a
    // checkerboard patch (diagonal contacts)
    let row = |y: usize, buf: &mut [u8]| {
        buf.fill(0);
        for &(cx, cy, r, l) in &discs {
            let dy = y as f64 + 0.5 - cy;
            if dy.abs() < r {
                let half = (r * r - dy * dy).sqrt();
                let x0 = (cx - half).max(0.0) as usize;
                let x1 = ((cx + half).max(0.0) as usize).min(w);
                if x1 > x0 {
                    buf[x0..x1].fill(l);
                }
            }
        }
        if (1000..1064).contains(&y) {
            for (x, b) in buf.iter_mut().enumerate().take(1064).skip(1000) {
                *b = ((x + y) % 2) as u8;
            }
        }
    };
    let mask = dir.path().join("big.png");
    {
        let f = std::io::BufWriter::new(std::fs::File::create(&mask).unwrap());
        let mut e = png::Encoder::new(f, w as u32, h as u32);
        e.set_color(png::ColorType::Grayscale);
        e.set_depth(png::BitDepth::Eight);
        e.set_compression(png::Compression::Fast);
        let mut wr = e.write_header().unwrap();
        let mut sw = wr.stream_writer().unwrap();
        let mut buf = vec![0u8; w];
        for y in 0..h {
            row(y, &mut buf);
            std::io::Write::write_all(&mut sw, &buf).unwrap();
        }
        sw.finish().unwrap();
        wr.finish().unwrap();
    }
    let gj = vectorize_ok(&mask, dir.path().join("big.geojson"));
    let ann = h2g::vector::read_annotations(&gj).unwrap();
    let polys: Vec<_> = ann.items.iter().flat_map(|i| &i.polygons).collect();
    let holes = polys.iter().filter(|p| p.len() > 1).count();
    assert!(
        polys.len() > 1000 && holes > 5,
        "{} polygons, {holes} with holes",
        polys.len()
    );
    let back = dir.path().join("back.png");
    let o = h2g()
        .arg("rasterize")
        .arg(&gj)
        .arg("-o")
        .arg(&back)
        .args(["--size", "50000x25000", "--class", "Label 1=1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let open = |p: &std::path::Path| {
        let mut d = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(p).unwrap()));
        d.set_transformations(png::Transformations::IDENTITY);
        d.read_info().unwrap()
    };
    let (mut a, mut b) = (open(&mask), open(&back));
    for y in 0..h {
        let ra = a.next_row().unwrap().unwrap().data().to_vec();
        let rb = b.next_row().unwrap().unwrap();
        assert!(ra == rb.data(), "row {y} differs");
    }
}

/// Every coordinate of every feature of a GeoJSON file.
fn all_coords(path: &std::path::Path) -> Vec<(f64, f64)> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = Vec::new();
    for f in v["features"].as_array().unwrap() {
        for ring in f["geometry"]["coordinates"].as_array().unwrap() {
            for p in ring.as_array().unwrap() {
                out.push((p[0].as_f64().unwrap(), p[1].as_f64().unwrap()));
            }
        }
    }
    out
}

#[test]
fn a_rounded_up_mask_of_the_demo_slide_sits_at_downsample_4_exactly() {
    // regression: a 555 × 742 mask (QuPath's round(2967 / 4)) of the 2220 × 2967 slide was
    // placed at a y downsample of 2967 / 742 = 3.99865; floor(2967 / 4) = 741 rows too
    let Some(slide) = common::cmu_slide() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for rows in [741u32, 742] {
        let mut m = vec![0u8; 555 * rows as usize];
        // a block reaching the last row and column, and a small one inside
        for y in rows - 100..rows {
            for x in 455..555 {
                m[(y * 555 + x) as usize] = 1;
            }
        }
        for y in 10..13 {
            for x in 7..9 {
                m[(y * 555 + x) as usize] = 1;
            }
        }
        let mask = dir.path().join(format!("m{rows}.png"));
        common::write_gray8(&mask, 555, rows, &m);
        let gj = dir.path().join(format!("m{rows}.geojson"));
        let o = h2g()
            .arg("vectorize")
            .arg(&mask)
            .arg("-o")
            .arg(&gj)
            .arg("--slide")
            .arg(&slide)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let c = all_coords(&gj);
        assert!(!c.is_empty());
        for &(x, y) in &c {
            assert!(x % 4.0 == 0.0 && y % 4.0 == 0.0, "{rows} rows: ({x}, {y})");
        }
        let ymax = c.iter().map(|p| p.1).fold(0.0, f64::max);
        let xmax = c.iter().map(|p| p.0).fold(0.0, f64::max);
        assert_eq!((xmax, ymax), (2220.0, 4.0 * rows as f64));
        assert!(c.contains(&(28.0, 40.0)) && c.contains(&(36.0, 52.0)));
    }
    // a size no whole downsample gives, and a downsample that does not give the size
    let mask = dir.path().join("m741.png");
    let o = h2g()
        .arg("vectorize")
        .arg(&mask)
        .arg("-o")
        .arg(dir.path().join("x.geojson"))
        .arg("--slide")
        .arg(&slide)
        .args(["--downsample", "3.99865"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("at downsample 3.99865 gives 555 × 742"), "{e}");
}

/// A 40 × 40 level-0 scene: a Tumor square, a Stroma square and an unclassified square.
fn three_classes(dir: &std::path::Path) -> std::path::PathBuf {
    let sq = |x: f64, cls: Option<&str>| {
        let mut props = serde_json::json!({"objectType": "annotation"});
        if let Some(c) = cls {
            props["classification"] = serde_json::json!({"name": c, "colorRGB": -65536});
        }
        serde_json::json!({"type": "Feature", "properties": props, "geometry": {"type": "Polygon",
            "coordinates": [[[x, 0.0], [x + 10.0, 0.0], [x + 10.0, 10.0], [x, 10.0], [x, 0.0]]]}})
    };
    let fc = serde_json::json!({"type": "FeatureCollection", "features":
        [sq(0.0, Some("Tumor")), sq(10.0, Some("Stroma")), sq(20.0, None)]});
    let p = dir.join("three.geojson");
    std::fs::write(&p, fc.to_string()).unwrap();
    p
}

/// The labels of row 5 of a grey PNG, one per 10-pixel square.
fn row5_squares(png_path: &std::path::Path) -> Vec<u8> {
    let mut d = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).unwrap(),
    ));
    d.set_transformations(png::Transformations::IDENTITY);
    let mut r = d.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    let row = &buf[5 * info.line_size..6 * info.line_size];
    (0..4).map(|k| row[10 * k + 5]).collect()
}

#[test]
fn unknown_and_unclassified_annotations_are_drawn_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let gj = three_classes(dir.path());
    let out = dir.path().join("m.png");
    let raster = |extra: &[&str]| {
        h2g()
            .arg("rasterize")
            .arg(&gj)
            .arg("-o")
            .arg(&out)
            .args(["--size", "40x40", "--downsample", "1", "--class", "Tumor=1"])
            .args(extra)
            .output()
            .unwrap()
    };
    // a class the command was not told about is an error naming it, and nothing is written
    let o = raster(&[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("Stroma"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!out.exists());
    // --ignore-unknown: Stroma left out; unclassified not drawn either when --class is given
    let o = raster(&["--ignore-unknown"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(row5_squares(&out), [1, 0, 0, 0]);
    // --unclassified 7 draws the unclassified square with 7
    let o = raster(&["--ignore-unknown", "--unclassified", "7"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(row5_squares(&out), [1, 0, 7, 0]);
}

#[test]
fn qupath_04_classifications_carry_a_colour_array_and_colour_rgb() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = vec![0u8; 20 * 10];
    for y in 2..6 {
        for x in 3..9 {
            m[y * 20 + x] = 1;
        }
    }
    let mask = dir.path().join("m.png");
    common::write_gray8(&mask, 20, 10, &m);
    let run = |version: &str| {
        let out = dir.path().join(format!("v{version}.geojson"));
        let o = h2g()
            .arg("vectorize")
            .arg(&mask)
            .arg("-o")
            .arg(&out)
            .args(["--class", "1=Tumor", "--qupath-version", version])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        v["features"][0]["properties"]["classification"].clone()
    };
    let old = run("0.2");
    let new = run("0.4");
    assert_eq!(old["name"], "Tumor");
    assert!(
        old["colorRGB"].is_i64() && old.get("color").is_none(),
        "{old}"
    );
    // 0.4: [r, g, b] as QuPath ≥ 0.4 writes it, the same colour packed beside it for 0.2/0.3
    let rgb: Vec<i64> = new["color"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(rgb.len(), 3);
    let packed = new["colorRGB"].as_i64().unwrap();
    assert_eq!(packed, old["colorRGB"].as_i64().unwrap());
    let p = packed as i32 as u32;
    assert_eq!(
        [(p >> 16) & 255, (p >> 8) & 255, p & 255]
            .map(|v| v as i64)
            .to_vec(),
        rgb
    );
}

#[test]
fn the_qupath_frame_subtracts_the_slides_bounds_origin() {
    // fixtures/slides/leica-bounds.scn: OpenSlide reports bounds x 1000 y 500 (4000 × 3000 at
    // level 0); QuPath shows only the bounds, so its (0, 0) is level-0 (1000, 500)
    let slide =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/slides/leica-bounds.scn");
    let dir = tempfile::tempdir().unwrap();
    // a 1000 × 750 mask (downsample 4) with one square at mask (300..500, 150..300)
    let (w, h) = (1000usize, 750usize);
    let mut m = vec![0u8; w * h];
    for y in 150..300 {
        for x in 300..500 {
            m[y * w + x] = 1;
        }
    }
    let mask = dir.path().join("m.png");
    common::write_gray8(&mask, w as u32, h as u32, &m);
    let square = |frame: &str| {
        let out = dir.path().join(format!("{frame}.geojson"));
        let o = h2g()
            .arg("vectorize")
            .arg(&mask)
            .arg("-o")
            .arg(&out)
            .arg("--slide")
            .arg(&slide)
            .args(["--class", "1=Tumor", "--frame", frame])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let xy = all_coords(&out);
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for (x, y) in xy {
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
        (x0, y0, x1, y1)
    };
    assert_eq!(square("file"), (1200.0, 600.0, 2000.0, 1200.0));
    assert_eq!(square("qupath"), (200.0, 100.0, 1000.0, 700.0));
}
