//! The Java2D oracle shared by the tests: `tests/java2d/Render.java` run by a JDK on PATH or
//! under JAVA_HOME, plus the writers of its input lines.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One `path` line of the oracle's input: `rings` filled by `rule` (`nonzero` or `evenodd`).
pub fn path_line(label: u8, rule: &str, rings: &[Vec<(f64, f64)>]) -> String {
    let mut s = format!("path {label} {rule} float {}", rings.len());
    for r in rings {
        write!(s, " {}", r.len()).unwrap();
        for &(x, y) in r {
            write!(s, " {x} {y}").unwrap();
        }
    }
    s
}

/// Brute force for the test: every pair of non-adjacent edges that cross properly adds the
/// crossing to both, in order along each edge. QuPath's JTS import puts the crossing on its
/// 0.01 precision grid (half up), and its paths hold floats: so does this.
pub fn cut_at_crossings(ring: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let n = ring.len();
    let f = |v: f64| v as f32 as f64;
    let r: Vec<(f64, f64)> = ring.iter().map(|&(x, y)| (f(x), f(y))).collect();
    let mut out = Vec::new();
    for i in 0..n {
        let (p, q) = (r[i], r[(i + 1) % n]);
        let mut here: Vec<(f64, (f64, f64))> = Vec::new();
        for j in 0..n {
            if j == i || (j + 1) % n == i || (i + 1) % n == j {
                continue;
            }
            let (a, b) = (r[j], r[(j + 1) % n]);
            // solve p + t (q - p) = a + u (b - a)
            let m = [[q.0 - p.0, a.0 - b.0], [q.1 - p.1, a.1 - b.1]];
            let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
            if det == 0.0 {
                continue;
            }
            let (rx, ry) = (a.0 - p.0, a.1 - p.1);
            let t = (rx * m[1][1] - ry * m[0][1]) / det;
            let u = (m[0][0] * ry - m[1][0] * rx) / det;
            if t > 0.0 && t < 1.0 && u > 0.0 && u < 1.0 {
                // the crossing as the lower-numbered edge computes it, so both edges agree
                let (lo, hi) = if i < j { (p, q) } else { (a, b) };
                let s = if i < j { t } else { u };
                let g = |v: f64| f((v * 100.0 + 0.5).floor() / 100.0);
                here.push((
                    t,
                    (g(lo.0 + s * (hi.0 - lo.0)), g(lo.1 + s * (hi.1 - lo.1))),
                ));
            }
        }
        here.sort_by(|x, y| x.0.total_cmp(&y.0));
        out.push(p);
        out.extend(here.into_iter().map(|h| h.1));
    }
    out
}

/// A JDK `java` from JAVA_HOME or PATH that runs.
pub fn java() -> Option<PathBuf> {
    let mut cands = Vec::new();
    if let Some(j) = std::env::var_os("JAVA_HOME") {
        cands.push(PathBuf::from(j).join("bin/java"));
    }
    if let Some(path) = std::env::var_os("PATH") {
        cands.extend(std::env::split_paths(&path).map(|p| p.join("java")));
    }
    cands.into_iter().find(|p| {
        p.is_file()
            && Command::new(p)
                .arg("-version")
                .output()
                .is_ok_and(|o| o.status.success())
    })
}

/// The major version of a `java` (`17` from `openjdk version "17.0.15"`, `1` for 1.8).
pub fn java_major(java: &Path) -> Option<u32> {
    let out = Command::new(java).arg("-version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stderr).to_string();
    let v = text.split('"').nth(1)?;
    v.split(['.', '-', '+']).next()?.parse().ok()
}

/// Runs the oracle on `input` (several scenes) and returns each scene's labels.
pub fn oracle(java: &Path, input: &str) -> Vec<Vec<u8>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java2d/Render.java");
    let mut child = Command::new(java)
        .arg(src)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut scenes = Vec::new();
    let mut b = &out.stdout[..];
    while !b.is_empty() {
        // "P5\nW H\n255\n" then W*H bytes
        let mut fields = Vec::new();
        let mut i = 0;
        while fields.len() < 4 {
            let j = i + b[i..].iter().position(|c| c.is_ascii_whitespace()).unwrap();
            fields.push(String::from_utf8_lossy(&b[i..j]).to_string());
            i = j + 1;
        }
        let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
        scenes.push(b[i..i + w * h].to_vec());
        b = &b[i + w * h..];
    }
    scenes
}
