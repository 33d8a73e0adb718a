//! Reading QuPath GeoJSON as every QuPath version writes it.
//!
//! Accepted: a FeatureCollection, a single Feature, a bare array of Features, or a bare
//! geometry; gzip (`.gz`); zip archives (every `.json`/`.geojson` entry); bare `NaN` / `Infinity` tokens (QuPath ≤ 0.4); duplicate keys
//! (the last wins); nested `children` / `childObjects`; classification as a string (derived
//! classes `"Tumor: Positive"`), `{name}` / `{names}` (≥ 0.4) or legacy `{name, colorRGB,
//! parentClass}` (≤ 0.3). Polygon and MultiPolygon geometries are kept (GeometryCollections
//! are searched for them), with QuPath's `"isEllipse"` member; features without area are
//! counted as skipped and their points and lines kept apart (`Annotations::marks`). ASAP XML (CAMELYON16):
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
    /// Well-formed, but an annotation in it is not: coordinates that are not finite numbers,
    /// polygons without coordinates, positions beyond any slide.
    #[error("{}: {detail}", path.display())]
    Invalid { path: PathBuf, detail: String },
}

/// Coordinates beyond this many pixels from the origin are beyond any whole-slide image.
pub const MAX_COORDINATE: f64 = 1e9;

/// Marks the messages of [`ReadError::Invalid`] raised inside the streaming parser.
const INVALID: &str = "invalid annotation: ";

/// One annotation's polygons and class.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// Class name (`None` when unclassified).
    pub class: Option<String>,
    /// Polygons, each a list of rings (shell first), in the file's coordinates.
    pub polygons: Vec<Vec<Vec<(f64, f64)>>>,
    /// The geometry carried `"isEllipse": true` (QuPath ≥ 0.4 writes its ellipses so): QuPath
    /// rebuilds an ellipse on the polygon's envelope.
    pub ellipse: bool,
}

/// A feature without area: points or lines, with its class.
#[derive(Debug, Clone, PartialEq)]
pub struct Marks {
    /// Class name (`None` when unclassified).
    pub class: Option<String>,
    /// Points (Point, MultiPoint).
    pub points: Vec<(f64, f64)>,
    /// Lines (LineString, MultiLineString), each a list of positions.
    pub lines: Vec<Vec<(f64, f64)>>,
}

/// What a file held.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Annotations {
    /// Polygonal annotations.
    pub items: Vec<Annotation>,
    /// Features without area (points, lines; kept in `marks`) or without any geometry.
    pub skipped: usize,
    /// The points and lines of the features without area, in file order.
    pub marks: Vec<Marks>,
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

impl Annotations {
    /// The figures QuPath draws for the annotations whose class passes `keep`, in
    /// full-resolution coordinates: areas (rectangles and ellipses recognised as QuPath does),
    /// then points, then lines (one figure per feature, its vertices rounded to float as
    /// QuPath's paths hold them).
    pub fn figures_where(&self, keep: impl Fn(Option<&str>) -> bool) -> Vec<super::Figure> {
        let mut out: Vec<super::Figure> = self
            .items
            .iter()
            .filter(|i| keep(i.class.as_deref()))
            .filter_map(|i| super::Figure::from_polygons(&i.polygons, i.ellipse))
            .collect();
        out.extend(
            self.marks
                .iter()
                .filter(|m| keep(m.class.as_deref()) && !m.points.is_empty())
                .map(|m| super::Figure::Points(m.points.clone())),
        );
        out.extend(
            self.marks
                .iter()
                .filter(|m| keep(m.class.as_deref()) && !m.lines.is_empty())
                .map(|m| match m.lines.as_slice() {
                    // QuPath makes a LineROI (a Line2D.Double) of a two-position LineString
                    [l] if l.len() == 2 => super::Figure::Line([l[0].0, l[0].1, l[1].0, l[1].1]),
                    _ => super::Figure::Lines(
                        m.lines
                            .iter()
                            .map(|l| {
                                l.iter()
                                    .map(|&(x, y)| (x as f32 as f64, y as f32 as f64))
                                    .collect()
                            })
                            .collect(),
                    ),
                }),
        );
        out
    }

    /// How many lines (LineString parts) the annotations whose class passes `keep` hold.
    pub fn lines_where(&self, keep: impl Fn(Option<&str>) -> bool) -> usize {
        self.marks
            .iter()
            .filter(|m| keep(m.class.as_deref()))
            .map(|m| m.lines.len())
            .sum()
    }
}

/// A reader that passes JSON through, replacing bare `NaN`, `Infinity` and `-Infinity` tokens
/// outside strings with `null` (QuPath ≤ 0.4 wrote them) and dropping a leading byte-order
/// mark; tokens split across reads are handled.
struct Lenient<R> {
    inner: R,
    filter: Filter,
    pos: usize,
    done: bool,
}

/// The rewriting state of [`Lenient`]: what it has produced and where it is in the JSON.
#[derive(Default)]
struct Filter {
    out: Vec<u8>,
    /// Bytes that may be the start of a token.
    partial: Vec<u8>,
    in_str: bool,
    esc: bool,
    /// Bytes of a leading byte-order mark matched so far (3: past the start).
    bom: usize,
}

const TOKENS: [&[u8]; 3] = [b"NaN", b"Infinity", b"-Infinity"];
const BOM: [u8; 3] = [0xef, 0xbb, 0xbf];

impl Filter {
    fn push(&mut self, c: u8) {
        if !self.partial.is_empty() {
            self.partial.push(c);
            if TOKENS.contains(&self.partial.as_slice()) {
                self.out.extend_from_slice(b"null");
                self.partial.clear();
                return;
            }
            if TOKENS.iter().any(|t| t.starts_with(&self.partial)) {
                return;
            }
            // not a token: pass the bytes on, the last one afresh
            self.partial.pop();
            self.out.append(&mut self.partial);
        }
        if self.in_str {
            if self.esc {
                self.esc = false;
            } else if c == b'\\' {
                self.esc = true;
            } else if c == b'"' {
                self.in_str = false;
            }
            self.out.push(c);
        } else if c == b'"' {
            self.in_str = true;
            self.out.push(c);
        } else if matches!(c, b'N' | b'I' | b'-') {
            self.partial.push(c);
        } else {
            self.out.push(c);
        }
    }

    /// Rewrites `data` onto `out`.
    fn feed(&mut self, data: &[u8]) {
        let n = data.len();
        let mut i = 0;
        while i < n {
            let c = data[i];
            // a leading byte-order mark, possibly split across reads, is dropped
            if self.bom < 3 {
                i += 1;
                if c == BOM[self.bom] {
                    self.bom += 1;
                    continue;
                }
                for &b in &BOM[..self.bom] {
                    self.push(b);
                }
                self.bom = 3;
                self.push(c);
                continue;
            }
            if self.partial.is_empty() && !self.esc {
                // copy the plain stretch up to the next byte that matters, in one go
                let in_str = self.in_str;
                let special = |b: &u8| {
                    if in_str {
                        matches!(b, b'"' | b'\\')
                    } else {
                        matches!(b, b'"' | b'N' | b'I' | b'-')
                    }
                };
                let j = data[i..].iter().position(special).map_or(n, |k| i + k);
                self.out.extend_from_slice(&data[i..j]);
                i = j;
                if i == n {
                    break;
                }
            }
            self.push(data[i]);
            i += 1;
        }
    }
}

impl<R: std::io::BufRead> Lenient<R> {
    fn new(inner: R) -> Self {
        Lenient {
            inner,
            filter: Filter {
                out: Vec::with_capacity(1 << 16),
                ..Filter::default()
            },
            pos: 0,
            done: false,
        }
    }

    /// Refills the output from the inner reader, rewriting its buffer in place; false at the end.
    fn refill(&mut self) -> std::io::Result<bool> {
        let f = &mut self.filter;
        f.out.clear();
        self.pos = 0;
        while f.out.is_empty() && !self.done {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                self.done = true;
                f.out.append(&mut f.partial);
                break;
            }
            let n = buf.len();
            f.feed(buf);
            self.inner.consume(n);
        }
        Ok(!f.out.is_empty())
    }
}

impl<R: std::io::BufRead> Read for Lenient<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.filter.out.len() && !self.refill()? {
            return Ok(0);
        }
        let out = &self.filter.out;
        let n = buf.len().min(out.len() - self.pos);
        buf[..n].copy_from_slice(&out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Streams a GeoJSON document: the elements of a top-level array or of a `features` array are
/// parsed and converted one at a time, so a file of millions of features never exists as one
/// JSON tree in memory.
struct Top<'a>(&'a mut Annotations);

impl<'de> serde::de::DeserializeSeed<'de> for Top<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Top<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a GeoJSON object or an array of features")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            collect(&v, self.0).map_err(|e| serde::de::Error::custom(format!("{INVALID}{e}")))?;
        }
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut rest = serde_json::Map::new();
        let mut streamed = false;
        while let Some(k) = map.next_key::<String>()? {
            if k == "features" {
                map.next_value_seed(Top(&mut *self.0))?;
                streamed = true;
            } else {
                let v: Value = map.next_value()?;
                rest.insert(k, v);
            }
        }
        if !streamed {
            // a single Feature or a bare geometry
            collect(&Value::Object(rest), self.0)
                .map_err(|e| serde::de::Error::custom(format!("{INVALID}{e}")))?;
        } else if let Some(t) = rest.get("type").and_then(Value::as_str) {
            if t != "FeatureCollection" {
                return Err(serde::de::Error::custom(format!(
                    "{INVALID}an object of type '{t}' with features: not a FeatureCollection"
                )));
            }
        }
        Ok(())
    }
}

/// Reads GeoJSON from `r` (buffered), streaming.
fn read_json(path: &Path, r: impl std::io::BufRead) -> Result<Annotations, ReadError> {
    let mut out = Annotations::default();
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(
        1 << 16,
        Lenient::new(r),
    ));
    let json = |e: serde_json::Error| {
        let detail = e.to_string();
        match detail.strip_prefix(INVALID) {
            Some(d) => ReadError::Invalid {
                path: path.into(),
                // serde_json's position is the end of the feature: keep the line only
                detail: match d.rfind(" at line ") {
                    Some(i) => {
                        let line = d[i + 9..].split(' ').next().unwrap_or("");
                        format!("{} (the feature ending on line {line})", &d[..i])
                    }
                    None => d.to_string(),
                },
            },
            None => ReadError::Json {
                path: path.into(),
                detail,
            },
        }
    };
    serde::de::DeserializeSeed::deserialize(Top(&mut out), &mut de).map_err(json)?;
    de.end().map_err(json)?;
    Ok(out)
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
        all.marks.extend(part.marks);
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

/// Whether `path` names GeoJSON annotations rather than a raster mask (by its extension:
/// .geojson, .json, either gzipped).
pub fn is_geojson_path(path: &Path) -> bool {
    let name = path.to_string_lossy().to_ascii_lowercase();
    [".geojson", ".json", ".geojson.gz", ".json.gz"]
        .iter()
        .any(|e| name.ends_with(e))
}

/// Reads the annotations of `path`.
pub fn read_annotations(path: &Path) -> Result<Annotations, ReadError> {
    use std::io::BufRead;
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut r = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path).map_err(io)?);
    let head = r.fill_buf().map_err(io)?.to_vec();
    if head.starts_with(b"PK\x03\x04") {
        let mut bytes = Vec::new();
        r.read_to_end(&mut bytes).map_err(io)?;
        return read_zip(path, &bytes);
    }
    if head.starts_with(b"<?xml")
        || head
            .windows(17)
            .take(4096)
            .any(|w| w == b"<ASAP_Annotations")
    {
        let mut bytes = Vec::new();
        r.read_to_end(&mut bytes).map_err(io)?;
        return read_asap(&String::from_utf8_lossy(&bytes)).map_err(|detail| ReadError::Invalid {
            path: path.into(),
            detail,
        });
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        let gz = flate2::read::GzDecoder::new(r);
        return read_json(path, std::io::BufReader::with_capacity(1 << 20, gz));
    }
    read_json(path, r)
}

/// The value of attribute `name` in the start tag `tag`.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let i = tag.find(&key)? + key.len();
    let j = tag[i..].find('"')? + i;
    Some(&tag[i..j])
}

/// ASAP XML: one annotation per `<Annotation>` element.
fn read_asap(text: &str) -> Result<Annotations, String> {
    let mut out = Annotations::default();
    if !text.contains("</ASAP_Annotations>") && !text.trim_end().ends_with("/>") {
        return Err(
            "the ASAP XML ends before </ASAP_Annotations>: a truncated or unfinished file".into(),
        );
    }
    for (n, block) in text.split("<Annotation ").skip(1).enumerate() {
        let head = &block[..block.find('>').unwrap_or(block.len())];
        let kind = attr(head, "Type").unwrap_or("");
        let group = attr(head, "PartOfGroup")
            .filter(|g| !g.is_empty() && *g != "None")
            .map(str::to_string);
        let body = &block[..block.find("</Annotation>").unwrap_or(block.len())];
        let spaced = format!(" {head}");
        let name = attr(&spaced, "Name").unwrap_or("");
        let mut pts: Vec<(u64, (f64, f64))> = Vec::new();
        for (i, c) in body.split("<Coordinate ").skip(1).enumerate() {
            let num = |k: &str| -> Result<f64, String> {
                let v = attr(c, k).ok_or_else(|| {
                    format!("annotation {} ('{name}'), coordinate {i}: no {k}", n + 1)
                })?;
                match v.trim().replace(',', ".").parse::<f64>() {
                    Ok(x) if x.is_finite() && x.abs() <= MAX_COORDINATE => Ok(x),
                    Ok(x) if x.is_finite() => Err(format!(
                        "annotation {} ('{name}'), coordinate {i}: {k}={v} is beyond any slide",
                        n + 1
                    )),
                    _ => Err(format!(
                        "annotation {} ('{name}'), coordinate {i}: {k}=\"{v}\" is not a finite number",
                        n + 1
                    )),
                }
            };
            let order = attr(c, "Order")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(i as u64);
            pts.push((order, (num("X")?, num("Y")?)));
        }
        pts.sort_by_key(|p| p.0);
        match kind {
            "Polygon" | "Spline" | "Rectangle" if pts.len() >= 3 => out.items.push(Annotation {
                class: group,
                polygons: vec![vec![pts.into_iter().map(|p| p.1).collect()]],
                ellipse: false,
            }),
            _ => out.skipped += 1,
        }
    }
    Ok(out)
}

/// The geometry types of GeoJSON.
const GEOMETRIES: [&str; 7] = [
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
];

fn collect(v: &Value, out: &mut Annotations) -> Result<(), String> {
    let feature = out.items.len() + out.skipped + 1;
    let at = |e: String| format!("feature {feature}: {e}");
    match v {
        Value::Array(items) => {
            for f in items {
                collect(f, out)?;
            }
        }
        Value::Object(o) => match o.get("type").and_then(Value::as_str) {
            Some("FeatureCollection") => {
                if let Some(fs) = o.get("features") {
                    collect(fs, out)?;
                }
            }
            Some("Feature") => {
                let props = o.get("properties");
                let class = props
                    .and_then(|p| p.get("classification"))
                    .and_then(class_name);
                let mut polygons = Vec::new();
                let mut marks = Marks {
                    class: class.clone(),
                    points: Vec::new(),
                    lines: Vec::new(),
                };
                let mut ellipse = false;
                if let Some(g) = o.get("geometry").filter(|g| !g.is_null()) {
                    polygons_of(g, &mut polygons).map_err(at)?;
                    marks_of(g, &mut marks).map_err(at)?;
                    ellipse = is_ellipse(g);
                }
                if polygons.is_empty() {
                    out.skipped += 1;
                    if !(marks.points.is_empty() && marks.lines.is_empty()) {
                        out.marks.push(marks);
                    }
                } else {
                    out.items.push(Annotation {
                        class,
                        polygons,
                        ellipse,
                    });
                }
                for key in ["children", "childObjects"] {
                    for holder in [Some(v), props] {
                        if let Some(c) = holder.and_then(|h| h.get(key)) {
                            collect(c, out)?;
                        }
                    }
                }
            }
            Some(t) if GEOMETRIES.contains(&t) => {
                // a bare geometry: an unclassified annotation
                let mut polygons = Vec::new();
                polygons_of(v, &mut polygons).map_err(at)?;
                let mut marks = Marks {
                    class: None,
                    points: Vec::new(),
                    lines: Vec::new(),
                };
                marks_of(v, &mut marks).map_err(at)?;
                if polygons.is_empty() {
                    out.skipped += 1;
                    if !(marks.points.is_empty() && marks.lines.is_empty()) {
                        out.marks.push(marks);
                    }
                } else {
                    out.items.push(Annotation {
                        class: None,
                        polygons,
                        ellipse: is_ellipse(v),
                    });
                }
            }
            Some(t) => {
                return Err(format!(
                    "an object of type '{t}': not a Feature, FeatureCollection or geometry"
                ))
            }
            None => {}
        },
        _ => {}
    }
    Ok(())
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

/// Whether a geometry carries QuPath's `"isEllipse": true` foreign member (≥ 0.4).
fn is_ellipse(g: &Value) -> bool {
    g.get("isEllipse").and_then(Value::as_bool) == Some(true)
}

/// One position: two finite numbers within [`MAX_COORDINATE`].
fn position(p: &Value, what: &str) -> Result<(f64, f64), String> {
    let xy = p
        .as_array()
        .filter(|q| q.len() >= 2)
        .ok_or_else(|| format!("{what} is not a pair of numbers: {}", short(p)))?;
    let mut c = [0.0; 2];
    for (k, q) in xy.iter().take(2).enumerate() {
        c[k] = match q.as_f64() {
            Some(x) if x.abs() <= MAX_COORDINATE => x,
            Some(x) => {
                return Err(format!(
                    "{what}: {x:e} is beyond any slide (more than {MAX_COORDINATE:e} pixels)"
                ))
            }
            None if q.is_null() => {
                return Err(format!("{what} is not finite (NaN, Infinity or null)"))
            }
            None => return Err(format!("{what} is not a pair of numbers: {}", short(p))),
        };
    }
    Ok((c[0], c[1]))
}

/// The positions of a LineString's coordinates.
fn positions(v: &Value, what: &str) -> Result<Vec<(f64, f64)>, String> {
    let a = v.as_array().ok_or_else(|| {
        format!(
            "{what} coordinates are not an array of positions: {}",
            short(v)
        )
    })?;
    a.iter()
        .enumerate()
        .map(|(i, p)| position(p, &format!("{what}, position {i}")))
        .collect()
}

/// The points and lines of a geometry (GeometryCollections searched).
fn marks_of(g: &Value, out: &mut Marks) -> Result<(), String> {
    let t = g.get("type").and_then(Value::as_str);
    let coords = || {
        g.get("coordinates")
            .ok_or_else(|| format!("a {} without coordinates", t.unwrap_or("geometry")))
    };
    match t {
        Some("Point") => out.points.push(position(coords()?, "Point")?),
        Some("MultiPoint") => out.points.extend(positions(coords()?, "MultiPoint")?),
        Some("LineString") => {
            let l = positions(coords()?, "LineString")?;
            if !l.is_empty() {
                out.lines.push(l);
            }
        }
        Some("MultiLineString") => {
            let ls = coords()?
                .as_array()
                .ok_or("MultiLineString coordinates are not an array of lines")?;
            for (k, l) in ls.iter().enumerate() {
                let l = positions(l, &format!("MultiLineString line {k}"))?;
                if !l.is_empty() {
                    out.lines.push(l);
                }
            }
        }
        Some("GeometryCollection") => {
            if let Some(gs) = g.get("geometries").and_then(Value::as_array) {
                for x in gs {
                    marks_of(x, out)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// A ring's positions; `None` for a ring of fewer than 3 (no area). Every position must be
/// two finite numbers within [`MAX_COORDINATE`] (`null` is what bare `NaN`/`Infinity` became).
fn ring(v: &Value, r: usize) -> Result<Option<Vec<(f64, f64)>>, String> {
    let a = v
        .as_array()
        .ok_or_else(|| format!("ring {r} is not an array of positions: {}", short(v)))?;
    let mut pts = Vec::with_capacity(a.len());
    for (i, p) in a.iter().enumerate() {
        let xy = p.as_array().filter(|q| q.len() >= 2).ok_or_else(|| {
            format!(
                "ring {r}, position {i} is not a pair of numbers: {}",
                short(p)
            )
        })?;
        let mut c = [0.0; 2];
        for (k, q) in xy.iter().take(2).enumerate() {
            c[k] = match q.as_f64() {
                Some(x) if x.abs() <= MAX_COORDINATE => x,
                Some(x) => {
                    return Err(format!(
                        "ring {r}, position {i}: {x:e} is beyond any slide (more than {MAX_COORDINATE:e} pixels)"
                    ))
                }
                None if q.is_null() => {
                    return Err(format!(
                        "ring {r}, position {i} is not finite (NaN, Infinity or null)"
                    ))
                }
                None => {
                    return Err(format!(
                        "ring {r}, position {i} is not a pair of numbers: {}",
                        short(p)
                    ))
                }
            };
        }
        pts.push((c[0], c[1]));
    }
    Ok((pts.len() >= 3).then_some(pts))
}

/// A value in an error message, cut short.
fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

/// A polygon's rings, shell first.
type Rings = Vec<Vec<(f64, f64)>>;

fn polygon(v: &Value) -> Result<Option<Rings>, String> {
    let a = v.as_array().ok_or_else(|| {
        format!(
            "polygon coordinates are not an array of rings: {}",
            short(v)
        )
    })?;
    let mut rings = Vec::with_capacity(a.len());
    for (r, x) in a.iter().enumerate() {
        rings.extend(ring(x, r)?);
    }
    Ok((!rings.is_empty()).then_some(rings))
}

fn polygons_of(g: &Value, out: &mut Vec<Rings>) -> Result<(), String> {
    let t = g.get("type").and_then(Value::as_str);
    let coords = || {
        g.get("coordinates")
            .ok_or_else(|| format!("a {} without coordinates", t.unwrap_or("geometry")))
    };
    match t {
        Some("Polygon") => out.extend(polygon(coords()?)?),
        Some("MultiPolygon") => {
            let ps = coords()?
                .as_array()
                .ok_or("MultiPolygon coordinates are not an array of polygons")?;
            for p in ps {
                out.extend(polygon(p)?);
            }
        }
        Some("GeometryCollection") => {
            if let Some(gs) = g.get("geometries").and_then(Value::as_array) {
                for x in gs {
                    polygons_of(x, out)?;
                }
            }
        }
        Some(t) if GEOMETRIES.contains(&t) => {}
        Some(t) => return Err(format!("unknown geometry type '{t}'")),
        None => return Err("a geometry without a type".into()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lenient(s: &str) -> String {
        let mut out = String::new();
        // tiny reads, so tokens straddle buffer ends
        let r = std::io::BufReader::with_capacity(2, s.as_bytes());
        Lenient::new(r).read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn bare_nan_and_infinity_become_null_outside_strings() {
        // non-ASCII text outside strings must not split a character (regression: it panicked)
        assert_eq!(lenient("µ NaN"), "µ null");
        assert_eq!(
            lenient(r#"{"a": NaN, "b": "NaN", "c": -Infinity}"#),
            r#"{"a": null, "b": "NaN", "c": null}"#
        );
        assert_eq!(
            lenient("\u{feff}[-1, -Infinity, \"a\\\"NaN\", NaN]"),
            "[-1, null, \"a\\\"NaN\", null]"
        );
        assert_eq!(lenient("[N"), "[N", "an unfinished token is passed on");
    }

    fn parse(text: &str) -> Annotations {
        read_json(
            Path::new("t.geojson"),
            std::io::BufReader::with_capacity(3, text.as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn features_stream_in_any_key_order() {
        let sq =
            r#"{"type": "Polygon", "coordinates": [[[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]]}"#;
        let fc = format!(
            r#"{{"features": [{{"geometry": {sq}, "type": "Feature", "properties": {{"classification": "Tumor", "m": NaN}}}},
               {{"type": "Feature", "geometry": {{"type": "Point", "coordinates": [1, 2]}}}}],
               "metadata": {{"a": 1}}, "metadata": {{"a": 2}}, "type": "FeatureCollection"}}"#
        );
        let a = parse(&fc);
        assert_eq!((a.items.len(), a.skipped), (1, 1));
        assert_eq!(a.items[0].class.as_deref(), Some("Tumor"));
        // a single Feature whose type comes last, and a bare geometry
        let f = format!(r#"{{"geometry": {sq}, "properties": {{}}, "type": "Feature"}}"#);
        assert_eq!(parse(&f).items.len(), 1);
        assert_eq!(parse(sq).items[0].class, None);
        // trailing garbage is an error, with its place
        let e = read_json(Path::new("t"), format!("{sq} x").as_bytes()).unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
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
