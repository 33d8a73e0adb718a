//! Helpers shared by the integration tests: PNG writers, a TIFF level reader built on the
//! `tiff` crate, an independent reference for the pyramid rules, and test-data lookup.
#![allow(dead_code)]

pub mod java2d;
pub mod pattern_slide;

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Writes an 8-bit (or lower) grey or palette PNG.
pub fn write_png(
    path: &Path,
    w: u32,
    h: u32,
    ct: png::ColorType,
    depth: png::BitDepth,
    data: &[u8],
    palette: Option<&[u8]>,
) {
    let f = BufWriter::new(File::create(path).unwrap());
    let mut e = png::Encoder::new(f, w, h);
    e.set_color(ct);
    e.set_depth(depth);
    if let Some(p) = palette {
        e.set_palette(p.to_vec());
    }
    let mut wr = e.write_header().unwrap();
    wr.write_image_data(data).unwrap();
    wr.finish().unwrap();
}

/// Writes 8-bit grey labels.
pub fn write_gray8(path: &Path, w: u32, h: u32, labels: &[u8]) {
    write_png(
        path,
        w,
        h,
        png::ColorType::Grayscale,
        png::BitDepth::Eight,
        labels,
        None,
    );
}

/// Deterministic pseudo-random labels in `0..n` with runs (so masks look like masks).
pub fn labels(w: u32, h: u32, n: u8, seed: u64) -> Vec<u8> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut v = Vec::with_capacity((w * h) as usize);
    let mut cur = 0u8;
    for _ in 0..w * h {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        if (s >> 33).is_multiple_of(5) {
            cur = ((s >> 40) % n as u64) as u8;
        }
        v.push(cur);
    }
    v
}

/// One level of a TIFF as the `tiff` crate decodes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    pub width: u32,
    pub height: u32,
    pub tile: Option<(u32, u32)>,
    pub data: Vec<u16>,
    pub bits: u8,
}

/// Every image in the main IFD chain.
pub fn read_levels(path: &Path) -> Vec<Level> {
    use tiff::decoder::{Decoder, DecodingResult, Limits};
    let mut d = Decoder::new(std::io::BufReader::new(File::open(path).unwrap()))
        .unwrap()
        .with_limits(Limits::unlimited());
    let mut out = Vec::new();
    loop {
        let (width, height) = d.dimensions().unwrap();
        let tile = match d.get_chunk_type() {
            tiff::decoder::ChunkType::Tile => Some(d.chunk_dimensions()),
            _ => None,
        };
        let (data, bits) = match d.read_image().unwrap() {
            DecodingResult::U8(v) => (v.into_iter().map(u16::from).collect(), 8),
            DecodingResult::U16(v) => (v, 16),
            other => panic!(
                "unexpected sample type {:?}",
                std::mem::discriminant(&other)
            ),
        };
        out.push(Level {
            width,
            height,
            tile,
            data,
            bits,
        });
        if !d.more_images() {
            break;
        }
        d.next_image().unwrap();
    }
    out
}

/// Reference 2×2 reduction, written independently of the library: for each output pixel,
/// gather its block, count, keep the most frequent; ties go to the top-left pixel if it is
/// among the most frequent, else to the first most frequent in row-major order.
pub fn reference_reduce(src: &[u16], w: u32, h: u32, mode: bool) -> (Vec<u16>, u32, u32) {
    let (nw, nh) = (w.div_ceil(2), h.div_ceil(2));
    let mut out = Vec::with_capacity((nw * nh) as usize);
    for y in 0..nh {
        for x in 0..nw {
            let mut block = Vec::new();
            for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                let (sx, sy) = (2 * x + dx, 2 * y + dy);
                if sx < w && sy < h {
                    block.push(src[(sy * w + sx) as usize]);
                }
            }
            if !mode {
                out.push(block[0]);
                continue;
            }
            let count = |v: u16| block.iter().filter(|&&b| b == v).count();
            let best = block.iter().map(|&b| count(b)).max().unwrap();
            let pick = if count(block[0]) == best {
                block[0]
            } else {
                *block.iter().find(|&&b| count(b) == best).unwrap()
            };
            out.push(pick);
        }
    }
    (out, nw, nh)
}

/// Asserts the pyramid: level 0 equals `input`, each level is the rule applied to the
/// previous one, the last level fits one tile, all levels tiled with `tile`.
pub fn assert_pyramid(levels: &[Level], input: &[u16], w: u32, h: u32, tile: u32, mode: bool) {
    assert_eq!((levels[0].width, levels[0].height), (w, h));
    assert!(
        levels[0].data == input,
        "level 0 differs from the input labels"
    );
    for k in 1..levels.len() {
        let p = &levels[k - 1];
        let (want, nw, nh) = reference_reduce(&p.data, p.width, p.height, mode);
        assert_eq!(
            (levels[k].width, levels[k].height),
            (nw, nh),
            "level {k} size"
        );
        assert!(
            levels[k].data == want,
            "level {k} is not the rule applied to level {}",
            k - 1
        );
    }
    for l in levels {
        assert_eq!(l.tile, Some((tile, tile)));
    }
    let last = levels.last().unwrap();
    assert!(
        last.width <= tile && last.height <= tile,
        "pyramid stops at one tile"
    );
    if levels.len() > 1 {
        let prev = &levels[levels.len() - 2];
        assert!(
            prev.width > tile || prev.height > tile,
            "no level beyond the first that fits one tile"
        );
    }
}

/// `../shared/data/<rel>` from the project root; when it is absent the calling test is skipped
/// ([`skip`]: said and counted, a failure under `CI=true`).
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(rel);
    if p.exists() {
        return Some(p);
    }
    skip(&format!("../shared/data/{rel}"));
    None
}

/// The real CMU-1-Small-Region slide: fetched by scripts/setup.sh, or from ../shared; the calling
/// test is skipped without it ([`skip`]).
pub fn cmu_slide() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fetched = root.join(".deps/data/cmu_small_region.svs");
    let beside = root.join("../shared/data/slides/CMU-1-Small-Region.svs");
    if let Some(p) = [fetched, beside].into_iter().find(|p| p.exists()) {
        return Some(p);
    }
    skip("the demo slide .deps/data/cmu_small_region.svs (scripts/setup.sh fetches it)");
    None
}

/// Every file under `dir` (recursively) with its bytes, by path relative to `dir`.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut m = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                m.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    m
}

/// Files in `dir` (to check nothing half-written is left).
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The set-up's ONNX Runtime; the calling test is skipped without it ([`skip`]).
pub fn runtime() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".deps/onnxruntime/lib/libonnxruntime.so.1.31.1");
    if p.is_file() {
        return Some(p);
    }
    skip("ONNX Runtime in .deps/onnxruntime (scripts/setup.sh fetches it)");
    None
}

/// Says that the calling test is skipped for want of `what`, and counts it: one line in
/// `target/tmp/skipped-tests.txt`, which `scripts/test.sh` reports. Under `CI=true` a missing
/// prerequisite is a failure instead. The test returns after calling it.
#[allow(dead_code)]
pub fn skip(what: &str) {
    let current = std::thread::current();
    let test = current.name().unwrap_or("a test");
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "{test}: CI lacks {what}"
    );
    eprintln!("skipped: {test}: needs {what}");
    use std::io::Write;
    let log = Path::new(env!("CARGO_TARGET_TMPDIR")).join("skipped-tests.txt");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        let _ = writeln!(f, "{test}: {what}");
    }
}

/// The area inside a ring (shoelace formula), in the ring's units squared.
pub fn shoelace(ring: &[(f64, f64)]) -> f64 {
    let n = ring.len();
    let twice: f64 = (0..n)
        .map(|k| {
            let (a, b) = (ring[k], ring[(k + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum();
    twice.abs() / 2.0
}

/// The area an annotation file covers: each polygon's shell less its holes, summed.
pub fn annotation_area(ann: &h2g::vector::Annotations) -> f64 {
    ann.items
        .iter()
        .flat_map(|i| i.polygons.iter())
        .map(|p| shoelace(&p[0]) - p[1..].iter().map(|h| shoelace(h)).sum::<f64>())
        .sum()
}
