//! GeoJSON values → annotations: features, geometries, positions and classifications, checked
//! one feature at a time.

use serde_json::Value;

use super::{Annotation, Annotations, Marks, MAX_COORDINATE};

/// A list of positions a geometry holds, as an error message names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Positions {
    /// A MultiPoint's points.
    MultiPoint,
    /// A LineString's vertices.
    LineString,
    /// Line `k` of a MultiLineString.
    MultiLineString(usize),
    /// Ring `r` of a polygon (0: the shell).
    Ring(usize),
}

impl std::fmt::Display for Positions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Positions::MultiPoint => f.write_str("MultiPoint"),
            Positions::LineString => f.write_str("LineString"),
            Positions::MultiLineString(k) => write!(f, "MultiLineString line {k}"),
            Positions::Ring(r) => write!(f, "ring {r}"),
        }
    }
}

/// Where a position is: a Point's, or position `index` of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The position of a Point.
    Point,
    /// Position `index` of a list.
    In {
        /// The list.
        of: Positions,
        /// The position's index in it, from 0.
        index: usize,
    },
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Point => f.write_str("Point"),
            Place::In { of, index } => write!(f, "{of}, position {index}"),
        }
    }
}

/// What is wrong with one GeoJSON feature (or bare geometry).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeatureError {
    /// The error is in feature `feature` (counted from 1, children included).
    #[error("feature {feature}: {problem}")]
    In {
        /// The feature's number.
        feature: usize,
        /// What is wrong.
        problem: Box<FeatureError>,
    },
    /// A position that is not an array of two numbers.
    #[error("{place} is not a pair of numbers: {value}")]
    NotAPair {
        /// Where.
        place: Place,
        /// The value found, cut short.
        value: String,
    },
    /// A coordinate beyond any whole-slide image.
    #[error("{place}: {value:e} is beyond any slide (more than {MAX_COORDINATE:e} pixels)")]
    Beyond {
        /// Where.
        place: Place,
        /// The coordinate.
        value: f64,
    },
    /// A coordinate that is NaN, Infinity or null.
    #[error("{place} is not finite (NaN, Infinity or null)")]
    NotFinite {
        /// Where.
        place: Place,
    },
    /// Coordinates that should list positions and do not.
    #[error("{}: {value}", positions_message(*of))]
    NotPositions {
        /// The list.
        of: Positions,
        /// The value found, cut short.
        value: String,
    },
    /// A geometry without `coordinates`.
    #[error("a {0} without coordinates")]
    NoCoordinates(String),
    /// MultiLineString coordinates that are not an array.
    #[error("MultiLineString coordinates are not an array of lines")]
    NotLines,
    /// Polygon coordinates that are not an array of rings.
    #[error("polygon coordinates are not an array of rings: {0}")]
    NotRings(String),
    /// MultiPolygon coordinates that are not an array.
    #[error("MultiPolygon coordinates are not an array of polygons")]
    NotPolygons,
    /// A geometry `type` GeoJSON does not have.
    #[error("unknown geometry type '{0}'")]
    UnknownGeometry(String),
    /// A geometry without `type`.
    #[error("a geometry without a type")]
    NoGeometryType,
    /// An object whose `type` is no Feature, FeatureCollection or geometry.
    #[error("{at}: an object of type '{kind}': not a Feature, FeatureCollection or geometry")]
    UnknownObject {
        /// Where it is, as a JSON path.
        at: String,
        /// Its type.
        kind: String,
    },
    /// A value of the wrong JSON type: a feature that is not an object, `features` that is
    /// not an array.
    #[error("{at}: expected {expected}, found {found}")]
    Shape {
        /// Where it is, as a JSON path (`features[3].geometry`).
        at: String,
        /// What GeoJSON has there.
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// An object without `type`.
    #[error("{0}: an object without \"type\": not a Feature, FeatureCollection or geometry")]
    NoType(String),
    /// A FeatureCollection without `features`.
    #[error("{0}: a FeatureCollection without \"features\"")]
    NoFeatures(String),
    /// A GeometryCollection without `geometries`.
    #[error("a GeometryCollection without \"geometries\"")]
    NoGeometries,
    /// A geometry whose `type` is not a string.
    #[error("a geometry whose \"type\" is {0}, not a string")]
    GeometryType(&'static str),
    /// An object with `features` whose type is not FeatureCollection.
    #[error("an object of type '{0}' with features: not a FeatureCollection")]
    NotACollection(String),
}

fn positions_message(of: Positions) -> String {
    match of {
        Positions::Ring(r) => format!("ring {r} is not an array of positions"),
        other => format!("{other} coordinates are not an array of positions"),
    }
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

/// Where a value is in the document, as a JSON path: `features[3].geometry`.
#[derive(Debug, Clone, Copy)]
pub(super) enum At<'a> {
    /// The document's top-level value.
    Top,
    /// Member `key` of an object.
    Key(&'a At<'a>, &'static str),
    /// Element `index` of an array.
    Index(&'a At<'a>, usize),
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            At::Top => f.write_str("the top level"),
            At::Key(At::Top, k) => f.write_str(k),
            At::Key(p, k) => write!(f, "{p}.{k}"),
            At::Index(At::Top, i) => write!(f, "[{i}]"),
            At::Index(p, i) => write!(f, "{p}[{i}]"),
        }
    }
}

/// The JSON type of `v`, as a message names it.
fn found(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn shape(at: At, expected: &'static str, v: &Value) -> FeatureError {
    FeatureError::Shape {
        at: at.to_string(),
        expected,
        found: found(v),
    }
}

impl FeatureError {
    /// A list of features at `at` that is `found` instead of an array.
    pub(super) fn not_an_array(at: At, found: &'static str) -> Self {
        FeatureError::Shape {
            at: at.to_string(),
            expected: "an array of features",
            found,
        }
    }
}

/// The `type` of a top-level object whose `features` were streamed: FeatureCollection.
pub(super) fn collection_type(o: &serde_json::Map<String, Value>) -> Result<(), FeatureError> {
    match o.get("type") {
        Some(Value::String(t)) if t == "FeatureCollection" => Ok(()),
        Some(Value::String(t)) => Err(FeatureError::NotACollection(t.clone())),
        Some(other) => Err(shape(At::Key(&At::Top, "type"), "a string", other)),
        None => Err(FeatureError::NoType(At::Top.to_string())),
    }
}

/// The features of the array `v` at `at` (a collection's `features`, a feature's `children`).
fn list(v: &Value, at: At, out: &mut Annotations) -> Result<(), FeatureError> {
    let items = v
        .as_array()
        .ok_or_else(|| FeatureError::not_an_array(at, found(v)))?;
    for (i, f) in items.iter().enumerate() {
        collect(f, At::Index(&at, i), out)?;
    }
    Ok(())
}

/// `v` at `at` when it is an object or null (`None`), else an error.
fn object_or_null<'v>(v: Option<&'v Value>, at: At) -> Result<Option<&'v Value>, FeatureError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(o @ Value::Object(_)) => Ok(Some(o)),
        Some(other) => Err(shape(at, "an object or null", other)),
    }
}

/// Adds the annotations of `v`, at `at` (a feature, a collection or a bare geometry), to `out`.
pub(super) fn collect(v: &Value, at: At, out: &mut Annotations) -> Result<(), FeatureError> {
    let feature = out.items.len() + out.skipped + 1;
    let in_feature = |e: FeatureError| FeatureError::In {
        feature,
        problem: Box::new(e),
    };
    let Value::Object(o) = v else {
        return Err(shape(at, "a Feature object", v));
    };
    let kind = match o.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(other) => return Err(shape(At::Key(&at, "type"), "a string", other)),
        None => return Err(FeatureError::NoType(at.to_string())),
    };
    match kind {
        "FeatureCollection" => match o.get("features") {
            Some(fs) => list(fs, At::Key(&at, "features"), out)?,
            None => return Err(FeatureError::NoFeatures(at.to_string())),
        },
        "Feature" => {
            let props_at = At::Key(&at, "properties");
            let props = object_or_null(o.get("properties"), props_at)?;
            let class = props
                .and_then(|p| p.get("classification"))
                .and_then(class_name);
            let geometry = object_or_null(o.get("geometry"), At::Key(&at, "geometry"))?;
            add(geometry, class, out).map_err(in_feature)?;
            for key in ["children", "childObjects"] {
                if let Some(c) = o.get(key) {
                    list(c, At::Key(&at, key), out)?;
                }
                if let Some(c) = props.and_then(|p| p.get(key)) {
                    list(c, At::Key(&props_at, key), out)?;
                }
            }
        }
        // a bare geometry: an unclassified annotation
        t if GEOMETRIES.contains(&t) => add(Some(v), None, out).map_err(in_feature)?,
        t => {
            return Err(FeatureError::UnknownObject {
                at: at.to_string(),
                kind: t.to_string(),
            })
        }
    }
    Ok(())
}

/// One feature's geometry: an annotation when it has area, else its points and lines.
fn add(
    geometry: Option<&Value>,
    class: Option<String>,
    out: &mut Annotations,
) -> Result<(), FeatureError> {
    let mut polygons = Vec::new();
    let mut marks = Marks {
        class: class.clone(),
        points: Vec::new(),
        lines: Vec::new(),
    };
    let mut ellipse = false;
    if let Some(g) = geometry {
        polygons_of(g, &mut polygons)?;
        marks_of(g, &mut marks)?;
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

/// One position: two finite numbers within [`MAX_COORDINATE`] (`null` is what bare
/// `NaN`/`Infinity` became).
fn position(p: &Value, place: Place) -> Result<(f64, f64), FeatureError> {
    let not_a_pair = || FeatureError::NotAPair {
        place,
        value: short(p),
    };
    let xy = p
        .as_array()
        .filter(|q| q.len() >= 2)
        .ok_or_else(not_a_pair)?;
    let mut c = [0.0; 2];
    for (k, q) in xy.iter().take(2).enumerate() {
        c[k] = match q.as_f64() {
            Some(x) if x.abs() <= MAX_COORDINATE => x,
            Some(value) => return Err(FeatureError::Beyond { place, value }),
            None if q.is_null() => return Err(FeatureError::NotFinite { place }),
            None => return Err(not_a_pair()),
        };
    }
    Ok((c[0], c[1]))
}

/// The positions of a list of coordinates.
fn positions(v: &Value, of: Positions) -> Result<Vec<(f64, f64)>, FeatureError> {
    let a = v.as_array().ok_or_else(|| FeatureError::NotPositions {
        of,
        value: short(v),
    })?;
    a.iter()
        .enumerate()
        .map(|(index, p)| position(p, Place::In { of, index }))
        .collect()
}

fn coordinates<'a>(g: &'a Value, t: Option<&str>) -> Result<&'a Value, FeatureError> {
    g.get("coordinates")
        .ok_or_else(|| FeatureError::NoCoordinates(t.unwrap_or("geometry").to_string()))
}

/// The points and lines of a geometry (GeometryCollections searched).
fn marks_of(g: &Value, out: &mut Marks) -> Result<(), FeatureError> {
    let t = g.get("type").and_then(Value::as_str);
    match t {
        Some("Point") => out.points.push(position(coordinates(g, t)?, Place::Point)?),
        Some("MultiPoint") => out
            .points
            .extend(positions(coordinates(g, t)?, Positions::MultiPoint)?),
        Some("LineString") => {
            let l = positions(coordinates(g, t)?, Positions::LineString)?;
            if !l.is_empty() {
                out.lines.push(l);
            }
        }
        Some("MultiLineString") => {
            let ls = coordinates(g, t)?
                .as_array()
                .ok_or(FeatureError::NotLines)?;
            for (k, l) in ls.iter().enumerate() {
                let l = positions(l, Positions::MultiLineString(k))?;
                if !l.is_empty() {
                    out.lines.push(l);
                }
            }
        }
        Some("GeometryCollection") => {
            for x in members(g)? {
                marks_of(x, out)?;
            }
        }
        _ => {}
    }
    Ok(())
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

/// A polygon's rings of 3 positions or more; `None` when none has (no area).
fn polygon(v: &Value) -> Result<Option<Rings>, FeatureError> {
    let a = v
        .as_array()
        .ok_or_else(|| FeatureError::NotRings(short(v)))?;
    let mut rings = Vec::with_capacity(a.len());
    for (r, x) in a.iter().enumerate() {
        let pts = positions(x, Positions::Ring(r))?;
        if pts.len() >= 3 {
            rings.push(pts);
        }
    }
    Ok((!rings.is_empty()).then_some(rings))
}

/// The member geometries of a GeometryCollection, each an object.
fn members(g: &Value) -> Result<&[Value], FeatureError> {
    let gs = match g.get("geometries") {
        Some(Value::Array(gs)) => gs,
        Some(other) => {
            return Err(FeatureError::Shape {
                at: "geometries".into(),
                expected: "an array of geometries",
                found: found(other),
            })
        }
        None => return Err(FeatureError::NoGeometries),
    };
    match gs.iter().enumerate().find(|(_, x)| !x.is_object()) {
        Some((i, x)) => Err(FeatureError::Shape {
            at: format!("geometries[{i}]"),
            expected: "a geometry object",
            found: found(x),
        }),
        None => Ok(gs),
    }
}

fn polygons_of(g: &Value, out: &mut Vec<Rings>) -> Result<(), FeatureError> {
    let t = match g.get("type") {
        None | Some(Value::String(_)) => g.get("type").and_then(Value::as_str),
        Some(other) => return Err(FeatureError::GeometryType(found(other))),
    };
    match t {
        Some("Polygon") => out.extend(polygon(coordinates(g, t)?)?),
        Some("MultiPolygon") => {
            let ps = coordinates(g, t)?
                .as_array()
                .ok_or(FeatureError::NotPolygons)?;
            for p in ps {
                out.extend(polygon(p)?);
            }
        }
        Some("GeometryCollection") => {
            for x in members(g)? {
                polygons_of(x, out)?;
            }
        }
        Some(t) if GEOMETRIES.contains(&t) => {}
        Some(t) => return Err(FeatureError::UnknownGeometry(t.to_string())),
        None => return Err(FeatureError::NoGeometryType),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn classifications_in_every_encoding() {
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

    #[test]
    fn bad_features_are_named_by_variant_and_place() {
        let mut out = Annotations::default();
        let e = collect(
            &j(r#"{"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, null]]]}"#),
            At::Top,
            &mut out,
        )
        .unwrap_err();
        let FeatureError::In { feature, problem } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(*feature, 1);
        assert_eq!(
            **problem,
            FeatureError::NotFinite {
                place: Place::In {
                    of: Positions::Ring(0),
                    index: 2
                }
            }
        );
        assert_eq!(
            e.to_string(),
            "feature 1: ring 0, position 2 is not finite (NaN, Infinity or null)"
        );
        let e = collect(
            &j(r#"{"type": "MultiLineString", "coordinates": [[[0, 0]], 7]}"#),
            At::Top,
            &mut out,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "feature 1: MultiLineString line 1 coordinates are not an array of positions: 7"
        );
        let e = collect(
            &j(r#"{"type": "Point", "coordinates": [2e9, 0]}"#),
            At::Top,
            &mut out,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "feature 1: Point: 2e9 is beyond any slide (more than 1e9 pixels)"
        );
        let e = collect(&j(r#"{"type": "Circle"}"#), At::Top, &mut out).unwrap_err();
        assert_eq!(
            e,
            FeatureError::UnknownObject {
                at: "the top level".into(),
                kind: "Circle".into()
            }
        );
        assert_eq!(out, Annotations::default(), "nothing half-added");
    }

    #[test]
    fn malformed_structure_is_named_by_its_json_path_streamed_or_not() {
        let f = r#"{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [4, 0], [4, 4]]]}}"#;
        let fc =
            |features: &str| format!(r#"{{"type": "FeatureCollection", "features": {features}}}"#);
        for (text, want) in [
            (fc("\"x\""), "features: expected an array of features, found a string"),
            (fc("null"), "features: expected an array of features, found null"),
            (fc("3.5"), "features: expected an array of features, found a number"),
            (fc("true"), "features: expected an array of features, found a boolean"),
            (fc(&format!("[{f}, [{f}]]")), "features[1]: expected a Feature object, found an array"),
            (
                fc(&format!(r#"[{{"type": "FeatureCollection", "features": [{f}, 1]}}]"#)),
                "features[0].features[1]: expected a Feature object, found a number",
            ),
            (
                fc(r#"[{"type": "Feature", "properties": [], "geometry": null}]"#),
                "features[0].properties: expected an object or null, found an array",
            ),
            (
                format!(r#"[{{"type": "Feature", "properties": {{"children": [{f}, {{}}]}}}}]"#),
                "[0].properties.children[1]: an object without \"type\"",
            ),
            (
                fc(r#"[{"type": "Feature", "geometry": {"type": 1}}]"#),
                "feature 1: a geometry whose \"type\" is a number, not a string",
            ),
            (
                r#"{"type": "GeometryCollection", "geometries": {}}"#.into(),
                "feature 1: geometries: expected an array of geometries, found an object",
            ),
            (
                r#"{"type": "GeometryCollection"}"#.into(),
                "feature 1: a GeometryCollection without \"geometries\"",
            ),
            (
                fc(&format!("[{f}]")).replace("\"FeatureCollection\"", "null"),
                "type: expected a string, found null",
            ),
            ("3".into(), "is not GeoJSON: expected a GeoJSON object or an array of features, found a number at line 1"),
        ] {
            for size in [None, Some(text.len() as u64)] {
                let r = std::io::BufReader::with_capacity(3, text.as_bytes());
                let e = super::super::read_json(std::path::Path::new("t.geojson"), r, size)
                    .unwrap_err()
                    .to_string();
                assert!(
                    e.starts_with(&format!("t.geojson: {want}"))
                        || e.starts_with(&format!("t.geojson {want}")),
                    "{text}: {e}"
                );
            }
        }
        // QuPath's forms still read: null geometries and properties, nested collections
        let mut out = Annotations::default();
        let ok = j(&fc(&format!(
            r#"[{f}, {{"type": "Feature", "geometry": null, "properties": null}},
                {{"type": "FeatureCollection", "features": [{f}]}}, {{"type": "Feature"}}]"#
        )));
        collect(&ok, At::Top, &mut out).unwrap();
        assert_eq!((out.items.len(), out.skipped), (2, 2));
    }
}
