//! `h2g rasterize` against Java2D itself: tests/java2d/Render.java (JDK only, no QuPath code)
//! renders the same objects the way QuPath's LabeledImageServer sets its tiles up, and the two
//! masks must agree pixel for pixel. Without a `java` the comparison prints "skipped" (and fails
//! under CI=true); the hand-worked rectangle runs everywhere.

mod common;

use common::java2d::{cut_at_crossings, java, java_major, oracle, path_line};

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// A small deterministic generator (xorshift64*), so the shapes are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn f(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.f()
    }
    fn int(&mut self, a: usize, b: usize) -> usize {
        a + (self.next() % (b - a) as u64) as usize
    }
}

/// Two decimals, as QuPath writes coordinates.
fn c2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// One object: its GeoJSON geometry and the line(s) the Java oracle draws it with. The oracle's
/// line encodes what QuPath makes of the geometry (a rectangle, an ellipse, a float path filled
/// non-zero for one ring or even-odd for holes and multipolygons, points).
struct Obj {
    geometry: serde_json::Value,
    oracle: String,
}

fn ring_json(r: &[(f64, f64)]) -> serde_json::Value {
    let mut v: Vec<[f64; 2]> = r.iter().map(|&(x, y)| [x, y]).collect();
    v.push(v[0]);
    serde_json::json!(v)
}

/// A star-shaped ring around (cx, cy), full-resolution coordinates on QuPath's 0.01 grid.
fn star(rng: &mut Rng, cx: f64, cy: f64, r: f64, lo: usize, hi: usize) -> Vec<(f64, f64)> {
    let n = rng.int(lo, hi);
    (0..n)
        .map(|k| {
            let a = (k as f64 + rng.range(0.0, 0.8)) * std::f64::consts::TAU / n as f64;
            let rr = r * rng.range(0.35, 1.0);
            (c2(cx + rr * a.cos()), c2(cy + rr * a.sin()))
        })
        .collect()
}

fn random_obj(rng: &mut Rng, kind: usize, label: u8, w: f64, h: f64, d: f64) -> Obj {
    // positions in output pixels, scaled to full resolution; objects straddle tile edges often
    let cx = rng.range(-20.0, w + 20.0) * d;
    let cy = rng.range(-20.0, h + 20.0) * d;
    let r = rng.range(1.5, 160.0) * d;
    match kind {
        0 => {
            let ring = star(rng, cx, cy, r, 3, 40);
            Obj {
                geometry: serde_json::json!({"type": "Polygon", "coordinates": [ring_json(&ring)]}),
                oracle: path_line(label, "nonzero", std::slice::from_ref(&ring)),
            }
        }
        1 => {
            // a self-crossing ring: random vertices in a box; QuPath ≤ 0.5 makes it an Area,
            // cut at its crossings and filled even-odd
            let n = rng.int(4, 12);
            let ring: Vec<(f64, f64)> = (0..n)
                .map(|_| (c2(cx + rng.range(-r, r)), c2(cy + rng.range(-r, r))))
                .collect();
            Obj {
                geometry: serde_json::json!({"type": "Polygon", "coordinates": [ring_json(&ring)]}),
                oracle: path_line(label, "evenodd", &[cut_at_crossings(&ring)]),
            }
        }
        2 => {
            let shell = star(rng, cx, cy, r, 6, 30);
            // a hole well inside the shell's inner radius
            let hole = star(rng, cx, cy, r * 0.3, 3, 12);
            let rings = vec![shell, hole];
            Obj {
                geometry: serde_json::json!({"type": "Polygon",
                    "coordinates": [ring_json(&rings[0]), ring_json(&rings[1])]}),
                oracle: path_line(label, "evenodd", &rings),
            }
        }
        3 => {
            let a = star(rng, cx, cy, r, 3, 20);
            let dy = rng.range(-r, r);
            let b = star(rng, cx + 2.2 * r, cy + dy, r, 3, 20);
            Obj {
                geometry: serde_json::json!({"type": "MultiPolygon",
                    "coordinates": [[ring_json(&a)], [ring_json(&b)]]}),
                oracle: path_line(label, "evenodd", &[a, b]),
            }
        }
        4 => {
            let (x0, y0) = (c2(cx), c2(cy));
            let (x1, y1) = (
                c2(cx + rng.range(0.3, 2.0) * r),
                c2(cy + rng.range(0.3, 2.0) * r),
            );
            let ring = vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1)];
            // QuPath's RectangleROI: the bounds of a float path
            let (fx, fy) = (x0 as f32 as f64, y0 as f32 as f64);
            Obj {
                geometry: serde_json::json!({"type": "Polygon", "coordinates": [ring_json(&ring)]}),
                oracle: format!(
                    "rect {label} {fx} {fy} {} {}",
                    x1 as f32 as f64 - fx,
                    y1 as f32 as f64 - fy
                ),
            }
        }
        5 => {
            let (x0, y0) = (c2(cx), c2(cy));
            let (x1, y1) = (
                c2(cx + rng.range(0.2, 2.0) * r),
                c2(cy + rng.range(0.2, 2.0) * r),
            );
            // QuPath writes an ellipse as a polygon on it; its envelope is what comes back
            let (mx, my) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
            let mut ring = vec![(x1, my), (mx, y1), (x0, my), (mx, y0)];
            for k in 0..12 {
                let a = (k as f64 + 0.5) * std::f64::consts::TAU / 12.0;
                ring.push((
                    c2(mx + 0.49 * (x1 - x0) * a.cos()),
                    c2(my + 0.49 * (y1 - y0) * a.sin()),
                ));
            }
            ring.sort_by(|p, q| {
                (p.1 - my)
                    .atan2(p.0 - mx)
                    .total_cmp(&(q.1 - my).atan2(q.0 - mx))
            });
            Obj {
                geometry: serde_json::json!({"type": "Polygon", "isEllipse": true,
                    "coordinates": [ring_json(&ring)]}),
                oracle: format!("ellipse {label} {x0} {y0} {} {}", x1 - x0, y1 - y0),
            }
        }
        _ => {
            let n = rng.int(1, 30);
            let pts: Vec<(f64, f64)> = (0..n)
                .map(|_| {
                    (
                        c2(rng.range(-2.0, w + 2.0) * d),
                        c2(rng.range(-2.0, h + 2.0) * d),
                    )
                })
                .collect();
            let mut line = format!("points {label} {n}");
            for &(x, y) in &pts {
                write!(line, " {x} {y}").unwrap();
            }
            Obj {
                geometry: serde_json::json!({"type": "MultiPoint",
                    "coordinates": pts.iter().map(|&(x, y)| [x, y]).collect::<Vec<_>>()}),
                oracle: line,
            }
        }
    }
}

const CLASSES: [&str; 3] = ["A", "B", "C"];

/// Writes the scene's GeoJSON, rasterizes it with h2g and returns the labels.
fn h2g(dir: &Path, name: &str, objs: &[(u8, Obj)], w: usize, h: usize, d: f64) -> Vec<u8> {
    h2g_with(dir, name, objs, w, h, d, &[])
}

/// The same with more `rasterize` arguments.
fn h2g_with(
    dir: &Path,
    name: &str,
    objs: &[(u8, Obj)],
    w: usize,
    h: usize,
    d: f64,
    extra: &[&str],
) -> Vec<u8> {
    let features: Vec<serde_json::Value> = objs
        .iter()
        .map(|(l, o)| {
            serde_json::json!({"type": "Feature", "geometry": o.geometry,
                "properties": {"objectType": "annotation",
                    "classification": {"name": CLASSES[*l as usize - 1], "color": [255, 0, 0]}}})
        })
        .collect();
    let gj = dir.join(format!("{name}.geojson"));
    std::fs::write(
        &gj,
        serde_json::to_string(
            &serde_json::json!({"type": "FeatureCollection", "features": features}),
        )
        .unwrap(),
    )
    .unwrap();
    let png = dir.join(format!("{name}.png"));
    let out = Command::new(env!("CARGO_BIN_EXE_h2g"))
        .arg("rasterize")
        .arg(&gj)
        .arg("-o")
        .arg(&png)
        .args([
            "--size",
            &format!("{w}x{h}"),
            "--downsample",
            &d.to_string(),
        ])
        .args([
            "--class",
            "A=1",
            "--class",
            "B=2",
            "--class",
            "C=3",
            "--ignore-unknown",
        ])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut r = dec.read_info().unwrap();
    let mut buf = vec![0u8; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    assert_eq!((info.width as usize, info.height as usize), (w, h));
    buf.truncate(w * h);
    buf
}

#[test]
fn hand_worked_rectangle_at_downsample_4() {
    // a rectangle at (401, 453), 100 × 100, at downsample 4: QuPath's columns 100–124 and rows
    // 113–137 (its sides move to floor(v/4 + 0.25) + 0.25 and pixel centres are sampled:
    // 401/4 = 100.25 → 100.25, 501/4 = 125.25 → 125.25; 453/4 = 113.25, 553/4 = 138.25)
    let dir = tempfile::tempdir().unwrap();
    let ring = vec![
        (401.0, 453.0),
        (501.0, 453.0),
        (501.0, 553.0),
        (401.0, 553.0),
    ];
    let obj = Obj {
        geometry: serde_json::json!({"type": "Polygon", "coordinates": [ring_json(&ring)]}),
        oracle: String::new(),
    };
    let m = h2g(dir.path(), "rect", &[(1, obj)], 200, 200, 4.0);
    let set: Vec<usize> = (0..m.len()).filter(|&i| m[i] != 0).collect();
    let (xs, ys): (Vec<usize>, Vec<usize>) = set.iter().map(|&i| (i % 200, i / 200)).unzip();
    assert_eq!(set.len(), 25 * 25);
    assert_eq!(
        (
            xs.iter().min(),
            xs.iter().max(),
            ys.iter().min(),
            ys.iter().max()
        ),
        (Some(&100), Some(&124), Some(&113), Some(&137))
    );
}

#[test]
fn equal_to_java2d_for_every_kind_and_downsample() {
    let Some(java) = java() else {
        return common::skip("java on PATH or JAVA_HOME (the Java2D oracle needs a JDK 17+)");
    };
    let dir = tempfile::tempdir().unwrap();
    let names = [
        "polygon",
        "self-crossing",
        "holes",
        "multipolygon",
        "rectangle",
        "ellipse",
        "points",
    ];
    let mut failures = Vec::new();
    for (di, d) in [1.0, 2.0, 4.0, 3.7].into_iter().enumerate() {
        let (w, h) = (700usize, 600usize);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((di as u64 + 1) * 0x1234_5678));
        let mut input = String::new();
        let mut scenes = Vec::new();
        // one kind per scene (several objects, three labels drawn in order), then mixed scenes
        for s in 0..(names.len() * 3 + 6) {
            let mut objs: Vec<(u8, Obj)> = (0..rng.int(1, 6))
                .map(|_| {
                    let kind = if s < names.len() * 3 {
                        s / 3
                    } else {
                        rng.int(0, names.len())
                    };
                    let label = rng.int(1, 4) as u8;
                    (
                        label,
                        random_obj(&mut rng, kind, label, w as f64, h as f64, d),
                    )
                })
                .collect();
            objs.sort_by_key(|o| o.0);
            writeln!(input, "size {w} {h} {d}").unwrap();
            for (_, o) in &objs {
                writeln!(input, "{}", o.oracle).unwrap();
            }
            writeln!(input, "end").unwrap();
            let kind = if s < names.len() * 3 {
                names[s / 3]
            } else {
                "mixed"
            };
            scenes.push((kind, objs));
        }
        let want = oracle(&java, &input);
        assert_eq!(want.len(), scenes.len());
        for (i, ((kind, objs), want)) in scenes.iter().zip(&want).enumerate() {
            let got = h2g(dir.path(), &format!("d{di}s{i}"), objs, w, h, d);
            let diff = got.iter().zip(want).filter(|(a, b)| a != b).count();
            let fg = want.iter().filter(|&&v| v != 0).count();
            println!(
                "d={d} scene {i} ({kind}): {diff} of {} pixels differ ({fg} drawn)",
                w * h
            );
            if diff != 0 {
                failures.push(format!("d={d} scene {i} ({kind}): {diff} pixels differ"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A random line (`LineROI`, `Line2D.Double`), polyline (`PolylineROI`, an open float path) or
/// multi-line (several open parts in one float path), in full-resolution coordinates.
fn random_line(rng: &mut Rng, label: u8, w: f64, h: f64, d: f64) -> Obj {
    let kind = rng.int(0, 3);
    let cx = rng.range(-20.0, w + 20.0) * d;
    let cy = rng.range(-20.0, h + 20.0) * d;
    let r = if rng.int(0, 4) == 0 {
        rng.range(0.0, 2.0)
    } else {
        rng.range(1.0, 300.0)
    } * d;
    let part = |rng: &mut Rng, lo: usize, hi: usize| -> Vec<(f64, f64)> {
        let n = rng.int(lo, hi);
        // some vertices on the full-resolution grid or on whole output pixels, most anywhere
        let snap = rng.int(0, 4);
        let put = |x: f64, y: f64| match snap {
            0 => (x.round(), y.round()),
            1 => ((x / d).round() * d, (y / d).round() * d),
            _ => (c2(x), c2(y)),
        };
        match rng.int(0, 8) {
            // horizontal and vertical runs (a staircase)
            0 => {
                let (mut x, mut y) = (cx, cy);
                (0..n)
                    .map(|k| {
                        if k % 2 == 1 {
                            x += rng.range(-r, r);
                        } else if k > 0 {
                            y += rng.range(-r, r);
                        }
                        put(x, y)
                    })
                    .collect()
            }
            // a zigzag of sharp turns, some beyond the miter limit (10 half-widths)
            1 => (0..n)
                .map(|k| {
                    let x = if k % 2 == 0 { cx - r } else { cx + r };
                    put(x, cy + k as f64 * rng.range(0.0, 0.3) * r)
                })
                .collect(),
            // all at one point (zero-length segments)
            2 if rng.int(0, 2) == 0 => vec![put(cx, cy); n],
            _ => (0..n)
                .map(|_| put(cx + rng.range(-r, r), cy + rng.range(-r, r)))
                .collect(),
        }
    };
    let json =
        |p: &[(f64, f64)]| serde_json::json!(p.iter().map(|&(x, y)| [x, y]).collect::<Vec<_>>());
    let coords = |p: &[(f64, f64)]| {
        p.iter().fold(String::new(), |mut s, &(x, y)| {
            write!(s, " {x} {y}").unwrap();
            s
        })
    };
    // some polylines repeat a vertex (a zero-length segment)
    let repeat = |rng: &mut Rng, mut p: Vec<(f64, f64)>| {
        if rng.int(0, 5) == 0 {
            let i = rng.int(0, p.len());
            p.insert(i, p[i]);
        }
        p
    };
    match kind {
        0 => {
            let p = part(rng, 2, 3);
            Obj {
                geometry: serde_json::json!({"type": "LineString", "coordinates": json(&p)}),
                oracle: format!("line {label}{}", coords(&p)),
            }
        }
        1 => {
            let p = part(rng, 3, 12);
            let p = repeat(rng, p);
            Obj {
                geometry: serde_json::json!({"type": "LineString", "coordinates": json(&p)}),
                oracle: format!("polyline {label} {}{}", p.len(), coords(&p)),
            }
        }
        _ => {
            let parts: Vec<Vec<(f64, f64)>> = (0..rng.int(2, 4))
                .map(|_| {
                    let p = part(rng, 2, 8);
                    repeat(rng, p)
                })
                .collect();
            let mut line = format!("polylines {label} {}", parts.len());
            for p in &parts {
                write!(line, " {}{}", p.len(), coords(p)).unwrap();
            }
            Obj {
                geometry: serde_json::json!({"type": "MultiLineString",
                    "coordinates": parts.iter().map(|p| json(p)).collect::<Vec<_>>()}),
                oracle: line,
            }
        }
    }
}

#[test]
fn lines_equal_to_java2d_at_thin_downsamples() {
    let Some(java) = java() else {
        return common::skip("java on PATH or JAVA_HOME (the Java2D oracle needs a JDK 17+)");
    };
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (di, d) in [1.0, 2.0, 4.0].into_iter().enumerate() {
        let (w, h) = (700usize, 600usize);
        let mut rng = Rng(0x51_7cc1_b727_220a ^ ((di as u64 + 1) * 0x9876_5431));
        let mut input = String::new();
        let mut scenes = Vec::new();
        for s in 0..12 {
            let mut objs: Vec<(u8, Obj)> = (0..rng.int(1, 8))
                .map(|_| {
                    let label = rng.int(1, 4) as u8;
                    // a few scenes mix lines with filled polygons and points
                    let o = if s >= 9 && rng.int(0, 3) == 0 {
                        let kind = [0, 6][rng.int(0, 2)];
                        random_obj(&mut rng, kind, label, w as f64, h as f64, d)
                    } else {
                        random_line(&mut rng, label, w as f64, h as f64, d)
                    };
                    (label, o)
                })
                .collect();
            objs.sort_by_key(|o| o.0);
            writeln!(input, "size {w} {h} {d}").unwrap();
            for (_, o) in &objs {
                writeln!(input, "{}", o.oracle).unwrap();
            }
            writeln!(input, "end").unwrap();
            scenes.push(objs);
        }
        let want = oracle(&java, &input);
        assert_eq!(want.len(), scenes.len());
        for (i, (objs, want)) in scenes.iter().zip(&want).enumerate() {
            let got = h2g(dir.path(), &format!("l{di}s{i}"), objs, w, h, d);
            let diff = got.iter().zip(want).filter(|(a, b)| a != b).count();
            let fg = want.iter().filter(|&&v| v != 0).count();
            println!(
                "d={d} lines scene {i}: {diff} of {} pixels differ ({fg} drawn)",
                w * h
            );
            if diff != 0 && std::env::var("H2G_DEBUG_LINES").is_ok() {
                for (_, o) in objs {
                    println!("  {}", o.oracle);
                }
                let mut k = 0;
                for (j, (a, b)) in got.iter().zip(want).enumerate() {
                    if a != b && k < 40 {
                        println!("  ({}, {}) got {a} want {b}", j % w, j / w);
                        k += 1;
                    }
                }
            }
            if diff != 0 {
                failures.push(format!("d={d} lines scene {i}: {diff} pixels differ"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn lines_equal_to_java2d_at_every_downsample_and_thickness() {
    let Some(java) = java() else {
        return common::skip("java on PATH or JAVA_HOME (the Java2D oracle needs a JDK 17+)");
    };
    // the oracle's JDK decides which stroker h2g must follow
    let major = java_major(&java).unwrap_or(0);
    if major < 17 {
        return common::skip(&format!(
            "a JDK 17+ for the Java2D oracle ({} is Java {major})",
            java.display()
        ));
    }
    let jdk = if major >= 21 { "21" } else { "17" };
    println!("oracle: {} (Java {major}), h2g --jdk {jdk}", java.display());
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let (w, h) = (700usize, 600usize);
    let mut input = String::new();
    let mut scenes = Vec::new();
    let mut rng = Rng(0x2f6b_1d8e_53c9_a047);
    for d in [1.0, 1.5, 2.0, 3.7, 4.0, 5.3] {
        for t in [1.0f32, 1.5, 2.0, 3.0, 5.0] {
            for s in 0..2 {
                let objs: Vec<(u8, Obj)> = (0..rng.int(2, 8))
                    .map(|_| {
                        let label = rng.int(1, 4) as u8;
                        // the second scene mixes in areas and points: a wide stroke sends areas
                        // to the span iterator
                        let o = if s == 1 && rng.int(0, 3) == 0 {
                            let kind = [0, 2, 4, 5, 6][rng.int(0, 5)];
                            random_obj(&mut rng, kind, label, w as f64, h as f64, d)
                        } else {
                            random_line(&mut rng, label, w as f64, h as f64, d)
                        };
                        (label, o)
                    })
                    .collect();
                let mut objs = objs;
                objs.sort_by_key(|o| o.0);
                writeln!(input, "thick {t}").unwrap();
                writeln!(input, "size {w} {h} {d}").unwrap();
                for (_, o) in &objs {
                    writeln!(input, "{}", o.oracle).unwrap();
                }
                writeln!(input, "end").unwrap();
                scenes.push((d, t, objs));
            }
        }
    }
    let want = oracle(&java, &input);
    assert_eq!(want.len(), scenes.len());
    let mut wide = 0;
    for (i, ((d, t, objs), want)) in scenes.iter().zip(&want).enumerate() {
        let ts = t.to_string();
        let extra = ["--line-thickness", ts.as_str(), "--jdk", jdk];
        let got = h2g_with(dir.path(), &format!("w{i}"), objs, w, h, *d, &extra);
        let diff = got.iter().zip(want).filter(|(a, b)| a != b).count();
        let fg = want.iter().filter(|&&v| v != 0).count();
        // thin only for thickness 1 at D = 1, 2, 4 (float(D) = D there)
        let thin = *t == 1.0 && [1.0, 2.0, 4.0].contains(d);
        wide += usize::from(!thin);
        println!(
            "d={d} thickness {t} ({}) scene {i}: {diff} of {} pixels differ ({fg} drawn)",
            if thin { "thin" } else { "wide" },
            w * h
        );
        if diff != 0 {
            failures.push(format!(
                "d={d} thickness {t} scene {i}: {diff} pixels differ"
            ));
        }
    }
    // most of these strokes are wide: the test is about the stroker
    assert!(
        wide * 4 >= scenes.len() * 3,
        "{wide} of {} wide",
        scenes.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn line_thickness_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let gj = dir.path().join("l.geojson");
    std::fs::write(
        &gj,
        r#"{"type":"Feature","geometry":{"type":"LineString","coordinates":[[1,1],[50,40]]},
            "properties":{"objectType":"annotation"}}"#,
    )
    .unwrap();
    let run = |t: &str| {
        Command::new(env!("CARGO_BIN_EXE_h2g"))
            .arg("rasterize")
            .arg(&gj)
            .arg("-o")
            .arg(dir.path().join("m.png"))
            .args(["--size", "20x20", "--downsample", "3.7"])
            .arg(format!("--line-thickness={t}"))
            .output()
            .unwrap()
    };
    for bad in ["0", "-2", "NaN", "inf", "2000"] {
        let out = run(bad);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{bad}: {err}");
        assert!(err.contains("at most 1024"), "{bad}: {err}");
    }
    // lines at a wide-stroke downsample are drawn (they used to be refused)
    let out = run("2");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
