//! Reading QuPath GeoJSON as every QuPath version writes it (QUPATH.md §1–2).
//!
//! Accepted: a FeatureCollection, a single Feature, a bare array of Features, or a bare
//! geometry; gzip (`.gz`); zip archives (every `.json`/`.geojson` entry); bare `NaN` / `Infinity` tokens (QuPath ≤ 0.4); duplicate keys
//! (the last wins); nested `children` / `childObjects`; classification as a string (derived
//! classes `"Tumor: Positive"`), `{name}` / `{names}` (≥ 0.4) or legacy `{name, colorRGB,
//! parentClass}` (≤ 0.3). Polygon and MultiPolygon geometries are kept (GeometryCollections
//! are searched for them); points and lines are counted and skipped. ASAP XML (CAMELYON16):
//! `Polygon` and `Spline` annotations become polygons through their listed points (a spline's
//! control points, as ASAP stores them), classed by `PartOfGroup`; `Dot` and `PointSet` are
//! skipped.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Errors reading annotations.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not JSON, even leniently.
    #[error("{} is not GeoJSON: {detail}", path.display())]
    Json { path: PathBuf, detail: String },
    /// A format this reader does not take yet.
    #[error("{}: {what}", path.display())]
    Unsupported { path: PathBuf, what: String },
}

/// One annotation's polygons and class.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// Class name (`None` when unclassified).
    pub class: Option<String>,
    /// Polygons, each a list of rings (shell first), in the file's coordinates.
    pub polygons: Vec<Vec<Vec<(f64, f64)>>>,
}

/// What a file held.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Annotations {
    /// Polygonal annotations.
    pub items: Vec<Annotation>,
    /// Features skipped because their geometry has no area (points, lines).
    pub skipped: usize,
}

impl Annotations {
    /// The polygons of the annotations whose class passes `keep`, divided by `downsample`
    /// (level-0 coordinates into mask pixels).
    pub fn polygons_where(
        &self,
        keep: impl Fn(Option<&str>) -> bool,
        downsample: f64,
    ) -> Vec<super::PolygonF> {
        self.items
            .iter()
            .filter(|i| keep(i.class.as_deref()))
            .flat_map(|i| {
                i.polygons.iter().map(|p| {
                    p.iter()
                        .map(|r| {
                            r.iter()
                                .map(|&(x, y)| (x / downsample, y / downsample))
                                .collect()
                        })
                        .collect()
                })
            })
            .collect()
    }
}

/// Replaces bare `NaN`, `Infinity` and `-Infinity` tokens outside strings with `null`.
fn lenient(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut i, mut in_str, mut esc) = (0, false, false);
    let mut last = 0;
    while i < b.len() {
        let c = b[i];
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
            i += 1;
            continue;
        }
        if c == b'"' {
            in_str = true;
            i += 1;
            continue;
        }
        for tok in ["-Infinity", "Infinity", "NaN"] {
            if b[i..].starts_with(tok.as_bytes()) {
                out.push_str(&text[last..i]);
                out.push_str("null");
                i += tok.len();
                last = i;
                break;
            }
        }
        i += 1;
    }
    out.push_str(&text[last.min(text.len())..]);
    out
}

/// Every `.json`/`.geojson` (or gzipped) entry of a zip archive, as QuPath imports them.
fn read_zip(path: &Path, bytes: &[u8]) -> Result<Annotations, ReadError> {
    let bad = |e: &dyn std::fmt::Display| ReadError::Json {
        path: path.into(),
        detail: format!("zip archive: {e}"),
    };
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| bad(&e))?;
    let mut all = Annotations::default();
    let mut entries = 0;
    for i in 0..z.len() {
        let mut f = z.by_index(i).map_err(|e| bad(&e))?;
        let entry = f.name().map(|n| n.to_string()).unwrap_or_default();
        let name = entry.to_ascii_lowercase();
        if !(name.ends_with(".json") || name.ends_with(".geojson") || name.ends_with(".gz")) {
            continue;
        }
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).map_err(|e| bad(&e))?;
        let tmp = tempfile::Builder::new()
            .suffix(".geojson")
            .tempfile()
            .map_err(|source| ReadError::Io {
                path: path.into(),
                source,
            })?;
        std::fs::write(tmp.path(), &buf).map_err(|source| ReadError::Io {
            path: path.into(),
            source,
        })?;
        let part = read_annotations(tmp.path()).map_err(|e| bad(&format!("{entry}: {e}")))?;
        all.items.extend(part.items);
        all.skipped += part.skipped;
        entries += 1;
    }
    if entries == 0 {
        return Err(ReadError::Unsupported {
            path: path.into(),
            what: "the zip archive holds no .json or .geojson entry".into(),
        });
    }
    Ok(all)
}

/// Reads the annotations of `path`.
pub fn read_annotations(path: &Path) -> Result<Annotations, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let bytes = std::fs::read(path).map_err(io)?;
    if bytes.starts_with(b"PK\x03\x04") {
        return read_zip(path, &bytes);
    }
    if bytes.starts_with(b"<?xml")
        || bytes
            .windows(17)
            .take(4096)
            .any(|w| w == b"<ASAP_Annotations")
    {
        let text = String::from_utf8_lossy(&bytes);
        return Ok(read_asap(&text));
    }
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .map_err(io)?;
        s
    } else {
        String::from_utf8(bytes).map_err(|e| ReadError::Json {
            path: path.into(),
            detail: format!("not UTF-8 ({e})"),
        })?
    };
    // a byte-order mark (Windows editors add one) is not JSON
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let v: Value = serde_json::from_str(text)
        .or_else(|_| serde_json::from_str(&lenient(text)))
        .map_err(|e| ReadError::Json {
            path: path.into(),
            detail: e.to_string(),
        })?;
    let mut out = Annotations::default();
    collect(&v, &mut out);
    Ok(out)
}

/// The value of attribute `name` in the start tag `tag`.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let i = tag.find(&key)? + key.len();
    let j = tag[i..].find('"')? + i;
    Some(&tag[i..j])
}

/// ASAP XML: one annotation per `<Annotation>` element.
fn read_asap(text: &str) -> Annotations {
    let mut out = Annotations::default();
    for block in text.split("<Annotation ").skip(1) {
        let head = &block[..block.find('>').unwrap_or(block.len())];
        let kind = attr(head, "Type").unwrap_or("");
        let group = attr(head, "PartOfGroup")
            .filter(|g| !g.is_empty() && *g != "None")
            .map(str::to_string);
        let body = &block[..block.find("</Annotation>").unwrap_or(block.len())];
        let mut pts: Vec<(u64, (f64, f64))> = body
            .split("<Coordinate ")
            .skip(1)
            .filter_map(|c| {
                let num =
                    |n: &str| attr(c, n).and_then(|v| v.replace(',', ".").parse::<f64>().ok());
                Some((num("Order").unwrap_or(0.0) as u64, (num("X")?, num("Y")?)))
            })
            .collect();
        pts.sort_by_key(|p| p.0);
        match kind {
            "Polygon" | "Spline" | "Rectangle" if pts.len() >= 3 => out.items.push(Annotation {
                class: group,
                polygons: vec![vec![pts.into_iter().map(|p| p.1).collect()]],
            }),
            _ => out.skipped += 1,
        }
    }
    out
}

fn collect(v: &Value, out: &mut Annotations) {
    match v {
        Value::Array(items) => items.iter().for_each(|f| collect(f, out)),
        Value::Object(o) => match o.get("type").and_then(Value::as_str) {
            Some("FeatureCollection") => {
                if let Some(fs) = o.get("features") {
                    collect(fs, out);
                }
            }
            Some("Feature") => {
                let props = o.get("properties");
                let class = props
                    .and_then(|p| p.get("classification"))
                    .and_then(class_name);
                let mut polygons = Vec::new();
                if let Some(g) = o.get("geometry") {
                    polygons_of(g, &mut polygons);
                }
                if polygons.is_empty() {
                    out.skipped += 1;
                } else {
                    out.items.push(Annotation { class, polygons });
                }
                for key in ["children", "childObjects"] {
                    for holder in [Some(v), props] {
                        if let Some(c) = holder.and_then(|h| h.get(key)) {
                            collect(c, out);
                        }
                    }
                }
            }
            Some(_) => {
                // a bare geometry: an unclassified annotation
                let mut polygons = Vec::new();
                polygons_of(v, &mut polygons);
                if polygons.is_empty() {
                    out.skipped += 1;
                } else {
                    out.items.push(Annotation {
                        class: None,
                        polygons,
                    });
                }
            }
            None => {}
        },
        _ => {}
    }
}

/// The class name of a QuPath classification in any encoding (derived classes joined by ": ").
pub fn classification_name(c: &Value) -> Option<String> {
    class_name(c)
}

fn class_name(c: &Value) -> Option<String> {
    match c {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Object(o) => {
            if let Some(names) = o.get("names").and_then(Value::as_array) {
                let parts: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
                return (!parts.is_empty()).then(|| parts.join(": "));
            }
            let name = o.get("name").and_then(Value::as_str)?.trim().to_string();
            match o.get("parentClass").and_then(class_name) {
                Some(parent) => Some(format!("{parent}: {name}")),
                None => Some(name),
            }
        }
        _ => None,
    }
}

fn ring(v: &Value) -> Option<Vec<(f64, f64)>> {
    let pts: Vec<(f64, f64)> = v
        .as_array()?
        .iter()
        .filter_map(|p| {
            let a = p.as_array()?;
            Some((a.first()?.as_f64()?, a.get(1)?.as_f64()?))
        })
        .collect();
    (pts.len() >= 3).then_some(pts)
}

fn polygon(v: &Value) -> Option<Vec<Vec<(f64, f64)>>> {
    let rings: Vec<Vec<(f64, f64)>> = v.as_array()?.iter().filter_map(ring).collect();
    (!rings.is_empty()).then_some(rings)
}

fn polygons_of(g: &Value, out: &mut Vec<Vec<Vec<(f64, f64)>>>) {
    let coords = g.get("coordinates");
    match g.get("type").and_then(Value::as_str) {
        Some("Polygon") => out.extend(coords.and_then(polygon)),
        Some("MultiPolygon") => {
            if let Some(ps) = coords.and_then(Value::as_array) {
                out.extend(ps.iter().filter_map(polygon));
            }
        }
        Some("GeometryCollection") => {
            if let Some(gs) = g.get("geometries").and_then(Value::as_array) {
                gs.iter().for_each(|x| polygons_of(x, out));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_nan_and_infinity_become_null_outside_strings() {
        // non-ASCII text outside strings must not split a character (regression: it panicked)
        assert_eq!(lenient("µ NaN"), "µ null");
        assert_eq!(
            lenient(r#"{"a": NaN, "b": "NaN", "c": -Infinity}"#),
            r#"{"a": null, "b": "NaN", "c": null}"#
        );
    }

    #[test]
    fn classifications_in_every_encoding() {
        let j = |s: &str| serde_json::from_str::<Value>(s).unwrap();
        assert_eq!(
            class_name(&j(r#""Tumor: Positive""#)),
            Some("Tumor: Positive".into())
        );
        assert_eq!(
            class_name(&j(r#"{"names": ["Tumor", "Positive"], "color": [1,2,3]}"#)),
            Some("Tumor: Positive".into())
        );
        assert_eq!(
            class_name(&j(
                r#"{"name": "Positive", "colorRGB": -1, "parentClass": {"name": "Tumor", "colorRGB": -2}}"#
            )),
            Some("Tumor: Positive".into())
        );
        assert_eq!(
            class_name(&j(r#"{"name": "Tumor", "color": [200, 0, 0]}"#)),
            Some("Tumor".into())
        );
    }
}
