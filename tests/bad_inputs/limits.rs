//! The resource-limits policy (docs/limits.md): hostile inputs made on the fly (inflation
//! bombs, archives of many or nested entries, pictures and TIFF tiles that claim gigapixels,
//! FIFOs and devices), run under an address-space cap that a genuine input passes, each
//! refused with the limit it meets, never a panic, an abort, a hang or a leftover file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::support::{corpus, BIN};

/// The address-space cap of every run here (2 GiB): the hostile files below asked for 4 to
/// 275 GB before their limits.
const CAP: &str = "--as=2147483648";

/// Runs `h2g ARGS` under [`CAP`] with `H2G_LIMITS` set to `limits` (when given), killing it
/// after a minute, and checks the status, that stderr holds `want`, that nothing panicked and
/// that `dir/out` (the `{out}` of the arguments) holds nothing after a failure.
fn capped(dir: &Path, limits: Option<&str>, args: &[&str], code: i32, want: &str) {
    let out = dir.join("out");
    if out.exists() {
        std::fs::remove_dir_all(&out).unwrap();
    }
    std::fs::create_dir(&out).unwrap();
    let argv: Vec<String> = args
        .iter()
        .map(|a| a.replace("{out}", &out.to_string_lossy()))
        .collect();
    let mut cmd = Command::new("prlimit");
    cmd.arg(CAP).arg("--").arg(BIN).args(&argv);
    cmd.current_dir(corpus("")).env_remove("H2G_LIMITS");
    if let Some(l) = limits {
        cmd.env("H2G_LIMITS", l);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("prlimit (util-linux) runs");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("h2g {} still runs after a minute", argv.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    let shown = format!("H2G_LIMITS={limits:?} h2g {}\n{err}", argv.join(" "));
    assert!(!err.contains("panicked"), "{shown}");
    assert_eq!(o.status.code(), Some(code), "{shown}");
    assert!(err.contains(want), "wanted '{want}' in:\n{shown}");
    if code != 0 {
        let left = crate::common::entries(&out);
        assert!(left.is_empty(), "{shown}\nleft behind: {left:?}");
    }
}

fn rasterize(file: &Path) -> Vec<String> {
    let f = file.to_string_lossy().into_owned();
    ["rasterize", &f, "-o", "{out}/m.png", "--size", "200x200"]
        .map(str::to_string)
        .to_vec()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// One gzip member of `data`.
fn member(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

const FEATURE: &str = r#"{"type": "Feature", "properties": {"classification": {"name": "Tumor"}}, "geometry": {"type": "Polygon", "coordinates": [[[10, 10], [100, 10], [100, 80], [10, 80], [10, 10]]]}}"#;

#[test]
fn gzip_is_read_to_its_last_member_and_inflation_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // `cat a.gz b.gz`: a document split across two members; both features are read
    let two = d.join("two.geojson.gz");
    let mut bytes =
        member(format!(r#"{{"type": "FeatureCollection", "features": [{FEATURE},"#).as_bytes());
    bytes.extend(member(format!("{FEATURE}]}}").as_bytes()));
    std::fs::write(&two, &bytes).unwrap();
    capped(
        d,
        None,
        &strs(&rasterize(&two)),
        0,
        "2 polygonal annotations",
    );
    // a string of 1.1 GiB in 17 members of 64 MiB (about 1 MB of gzip) at the default limits:
    // it once took 6.3 GB
    let bomb = d.join("bomb.geojson.gz");
    let mut f = std::fs::File::create(&bomb).unwrap();
    f.write_all(&member(br#"{"type": "Feature", "properties": {"name": ""#))
        .unwrap();
    let chunk = member(&vec![b'a'; 64 << 20]);
    for _ in 0..17 {
        f.write_all(&chunk).unwrap();
    }
    f.write_all(&member(b"\"}}")).unwrap();
    drop(f);
    capped(
        d,
        None,
        &strs(&rasterize(&bomb)),
        1,
        "a JSON string is over the limit of 64 MiB (json-string; the default); if the input \
         is genuine, raise it with the environment variable H2G_LIMITS=json-string=<amount>",
    );
    // inflated bytes: 2 MiB of white space past a limit of 1 MiB
    let spaces = d.join("spaces.geojson.gz");
    let mut text = vec![b' '; 2 << 20];
    text.extend_from_slice(b"[]");
    std::fs::write(&spaces, member(&text)).unwrap();
    capped(
        d,
        Some("decompressed=1M"),
        &strs(&rasterize(&spaces)),
        1,
        "spaces.geojson.gz: the inflated text is over the limit of 1 MiB (decompressed; \
         default 1 GiB)",
    );
    capped(
        d,
        Some("decompressed=3M"),
        &strs(&rasterize(&spaces)),
        0,
        "0 polygonal",
    );
    // a setting that is not one
    capped(
        d,
        Some("inflated=4G"),
        &strs(&rasterize(&spaces)),
        1,
        "H2G_LIMITS: 'inflated=4G': no limit 'inflated' (limits: decompressed, zip-entries",
    );
}

#[test]
fn a_feature_of_too_many_values_is_refused_as_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // one ring of 40 million vertices (240 MB of text, about 1 MB of gzip): as a JSON tree it
    // would take some 5 GB; it is refused at 16 Mi values, under the 2 GiB cap
    let huge = d.join("huge.geojson.gz");
    let mut bytes = member(
        br#"{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [["#,
    );
    let chunk = member(&b"[1,2],".repeat(1 << 20));
    for _ in 0..40 {
        bytes.extend_from_slice(&chunk);
    }
    bytes.extend(member(b"[1,2]]]}}]}"));
    std::fs::write(&huge, &bytes).unwrap();
    capped(
        d,
        None,
        &strs(&rasterize(&huge)),
        1,
        "huge.geojson.gz: the feature at features[0] is over the limit of 16777216 values \
         (feature-values; the default); if the input is genuine, raise it with the environment \
         variable H2G_LIMITS=feature-values=<amount>",
    );
    // a limit one below the values of FEATURE (each value and each key counted) refuses the
    // first feature of a collection by its path; a limit at it passes both
    let two = d.join("two.geojson");
    std::fs::write(
        &two,
        format!(r#"{{"type": "FeatureCollection", "features": [{FEATURE}, {FEATURE}]}}"#),
    )
    .unwrap();
    let values = {
        let v: serde_json::Value = serde_json::from_str(FEATURE).unwrap();
        fn count(v: &serde_json::Value) -> u64 {
            1 + match v {
                serde_json::Value::Array(a) => a.iter().map(count).sum(),
                serde_json::Value::Object(o) => o.values().map(|x| 1 + count(x)).sum(),
                _ => 0,
            }
        }
        count(&v)
    };
    capped(
        d,
        Some(&format!("feature-values={}", values - 1)),
        &strs(&rasterize(&two)),
        1,
        &format!(
            "two.geojson: the feature at features[0] is over the limit of {} values",
            values - 1
        ),
    );
    capped(
        d,
        Some(&format!("feature-values={values}")),
        &strs(&rasterize(&two)),
        0,
        "2 polygonal annotations",
    );
    // a lone feature (no collection) is named as the file's object
    let one = d.join("one.geojson");
    std::fs::write(&one, FEATURE).unwrap();
    capped(
        d,
        Some("feature-values=5"),
        &strs(&rasterize(&one)),
        1,
        "one.geojson: the GeoJSON object is over the limit of 5 values (feature-values",
    );
}

#[test]
fn a_ring_through_one_point_a_hundred_thousand_times_is_rasterized_without_a_quadratic_check() {
    // 100 000 triangular lobes meeting at (100, 100): every pair of its 300 000 sides would
    // be compared there (4.5 × 10¹⁰ pairs) by the self-crossing check
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let k = 100_000;
    let mut ring = String::new();
    for i in 0..k {
        let (a, b) = (
            i as f64 / k as f64 * std::f64::consts::TAU,
            (i as f64 + 0.5) / k as f64 * std::f64::consts::TAU,
        );
        ring.push_str(&format!(
            "[100,100],[{:.6},{:.6}],[{:.6},{:.6}],",
            100.0 + 90.0 * a.cos(),
            100.0 + 90.0 * a.sin(),
            100.0 + 90.0 * b.cos(),
            100.0 + 90.0 * b.sin()
        ));
    }
    let flower = d.join("flower.geojson");
    std::fs::write(
        &flower,
        format!(
            r#"{{"type": "Feature", "geometry": {{"type": "Polygon", "coordinates": [[{ring}[100,100]]]}}}}"#
        ),
    )
    .unwrap();
    capped(
        d,
        None,
        &strs(&rasterize(&flower)),
        0,
        "shell: touches itself at vertices too often to be checked for crossings, e.g. at \
         (100.0, 100.0)",
    );
}

/// A zip archive of `entries` (name, bytes), deflated.
fn zip_of(path: &Path, entries: &[(String, Vec<u8>)]) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        z.start_file(name.as_str(), opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
}

#[test]
fn zip_archives_are_bounded_in_entries_size_and_depth() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let doc = format!(r#"{{"type": "FeatureCollection", "features": [{FEATURE}]}}"#);
    let many: Vec<(String, Vec<u8>)> = (0..101)
        .map(|i| (format!("a{i}.geojson"), doc.clone().into_bytes()))
        .collect();
    let z = d.join("many.zip");
    zip_of(&z, &many);
    capped(
        d,
        Some("zip-entries=100"),
        &strs(&rasterize(&z)),
        1,
        "many.zip: the zip archive of 101 entries is over the limit of 100 entries \
         (zip-entries; default 10000 entries)",
    );
    capped(
        d,
        Some("zip-entries=101"),
        &strs(&rasterize(&z)),
        0,
        "101 polygonal",
    );
    // an archive inside an archive
    let inner = d.join("inner.zip");
    zip_of(&inner, &many[..1]);
    let nested = d.join("nested.zip");
    zip_of(
        &nested,
        &[("inner.json".into(), std::fs::read(&inner).unwrap())],
    );
    capped(
        d,
        None,
        &strs(&rasterize(&nested)),
        1,
        "zip archive: inner.json is itself a zip archive; archives inside archives are not read",
    );
    // an entry that declares more than the limit: refused before it is inflated
    let big = d.join("big.zip");
    zip_of(&big, &[("big.geojson".into(), vec![b' '; 2 << 20])]);
    capped(
        d,
        Some("decompressed=1M"),
        &strs(&rasterize(&big)),
        1,
        "big.zip: the inflated entries (up to big.geojson) of 2 MiB is over the limit of 1 MiB",
    );
    // the same entry declaring 10 bytes: the zip reader stops where the declaration ends
    let mut bytes = std::fs::read(&big).unwrap();
    for (sig, at) in [(b"PK\x03\x04", 22), (b"PK\x01\x02", 24)] {
        let i = bytes.windows(4).position(|w| w == sig).unwrap();
        bytes[i + at..i + at + 4].copy_from_slice(&10u32.to_le_bytes());
    }
    let liar = d.join("liar.zip");
    std::fs::write(&liar, &bytes).unwrap();
    capped(
        d,
        Some("decompressed=1M"),
        &strs(&rasterize(&liar)),
        1,
        "liar.zip is not GeoJSON: zip archive: i/o error: File is larger than its declared \
         uncompressed size",
    );
}

/// A PNG header claiming `w × h` pixels over one byte of image data.
fn claimed_png(path: &Path, w: u32, h: u32) {
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        c.extend_from_slice(&crc.sum().to_be_bytes());
        c
    };
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", &[0x78, 0x01, 0x03, 0x00, 0, 0, 0, 1]));
    png.extend(chunk(b"IEND", &[]));
    std::fs::write(path, png).unwrap();
}

/// A little-endian TIFF of 100 × 100 8-bit grey pixels in one `tile × tile` tile.
fn tiled_tiff(path: &Path, tile: u32) {
    let tags: [(u16, u16, u32); 10] = [
        (256, 3, 100),
        (257, 3, 100),
        (258, 3, 8),
        (259, 3, 1),
        (262, 3, 1),
        (277, 3, 1),
        (322, 4, tile),
        (323, 4, tile),
        (324, 4, 200),
        (325, 4, 100),
    ];
    let mut b = b"II*\x00\x08\x00\x00\x00".to_vec();
    b.extend_from_slice(&(tags.len() as u16).to_le_bytes());
    for (tag, typ, v) in tags {
        b.extend_from_slice(&tag.to_le_bytes());
        b.extend_from_slice(&typ.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&0u32.to_le_bytes());
    b.resize(300, 0);
    std::fs::write(path, b).unwrap();
}

#[test]
fn pictures_tiles_and_rasters_that_claim_gigapixels_are_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 10 Gpx as a slide (under the masks' 2^34 pixels): `tissue` once asked for 10 GB
    let huge = d.join("huge.png");
    claimed_png(&huge, 100_000, 100_000);
    let h = huge.to_string_lossy();
    capped(
        d,
        None,
        &["tissue", &h, "-o", "{out}", "--mpp", "8"],
        1,
        "a picture read as a slide, 100000 × 100000 pixels, of 10000000000 pixels is over \
         the limit of 268435456 pixels (picture-pixels; the default)",
    );
    // a 100 × 100 TIFF in one 65536² tile: 4 GiB for one chunk
    let tif = d.join("tile.tif");
    tiled_tiff(&tif, 65536);
    let t = tif.to_string_lossy();
    capped(
        d,
        None,
        &["convert-mask", &t, "{out}/m.tif", "-q"],
        1,
        "a 65536 × 65536 TIFF tile of 4 GiB is over the limit of 512 MiB (image-chunk; the \
         default)",
    );
    // a raster of 2^32 − 1 pixels a row once asked for 275 GB
    let good = corpus("geojson-good.geojson");
    let g = good.to_string_lossy();
    capped(
        d,
        None,
        &[
            "rasterize",
            &g,
            "-o",
            "{out}/m.png",
            "--size",
            "4294967295x1",
        ],
        1,
        "the 4294967295 × 1 mask's longer side of 4294967295 pixels is over the limit of \
         4194304 pixels (raster-side; the default)",
    );
    // genuine inputs pass under the same cap
    capped(
        d,
        None,
        &["rasterize", &g, "-o", "{out}/m.png", "--size", "4000x3000"],
        0,
        "1 polygonal annotation",
    );
    capped(
        d,
        None,
        &["convert-mask", "mask-good.png", "{out}/m.tif", "-q"],
        0,
        "",
    );
}

#[cfg(unix)]
#[test]
fn fifos_and_devices_are_refused_before_they_are_opened() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fifo = |name: &str| -> PathBuf {
        let p = d.join(name);
        let made = Command::new("mkfifo").arg(&p).status().unwrap();
        assert!(made.success());
        p
    };
    let (a, m, s, o) = (
        fifo("a.geojson"),
        fifo("m.png"),
        fifo("s.svs"),
        fifo("model.onnx"),
    );
    let (a, m, s, o) = (
        a.to_string_lossy(),
        m.to_string_lossy(),
        s.to_string_lossy(),
        o.to_string_lossy(),
    );
    let fifo_msg = "is a FIFO (named pipe), not a regular file";
    // a FIFO without a writer: opening it would block for ever
    capped(
        d,
        None,
        &["rasterize", &a, "-o", "{out}/m.png", "--size", "9x9"],
        1,
        fifo_msg,
    );
    capped(
        d,
        None,
        &["convert-mask", &m, "{out}/m.tif", "-q"],
        1,
        fifo_msg,
    );
    capped(d, None, &["info", &s], 1, fifo_msg);
    capped(d, None, &["models", "inspect", &o], 1, fifo_msg);
    // /dev/zero never ends: it was read for gigabytes
    capped(
        d,
        None,
        &["models", "inspect", "/dev/zero"],
        1,
        "/dev/zero: is a character device, not a regular file",
    );
    capped(
        d,
        None,
        &[
            "rasterize",
            "/dev/zero",
            "-o",
            "{out}/m.png",
            "--size",
            "9x9",
        ],
        1,
        "/dev/zero: is a character device",
    );
}
