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
    #[error("an object of type '{0}': not a Feature, FeatureCollection or geometry")]
    UnknownObject(String),
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

/// Adds the annotations of `v` (a feature, a collection, an array of them or a bare geometry)
/// to `out`.
pub(super) fn collect(v: &Value, out: &mut Annotations) -> Result<(), FeatureError> {
    let feature = out.items.len() + out.skipped + 1;
    let at = |e: FeatureError| FeatureError::In {
        feature,
        problem: Box::new(e),
    };
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
                let geometry = o.get("geometry").filter(|g| !g.is_null());
                add(geometry, class, out).map_err(at)?;
                for key in ["children", "childObjects"] {
                    for holder in [Some(v), props] {
                        if let Some(c) = holder.and_then(|h| h.get(key)) {
                            collect(c, out)?;
                        }
                    }
                }
            }
            // a bare geometry: an unclassified annotation
            Some(t) if GEOMETRIES.contains(&t) => add(Some(v), None, out).map_err(at)?,
            Some(t) => return Err(FeatureError::UnknownObject(t.to_string())),
            None => {}
        },
        _ => {}
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

fn polygons_of(g: &Value, out: &mut Vec<Rings>) -> Result<(), FeatureError> {
    let t = g.get("type").and_then(Value::as_str);
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
            if let Some(gs) = g.get("geometries").and_then(Value::as_array) {
                for x in gs {
                    polygons_of(x, out)?;
                }
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
            &mut out,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "feature 1: MultiLineString line 1 coordinates are not an array of positions: 7"
        );
        let e = collect(
            &j(r#"{"type": "Point", "coordinates": [2e9, 0]}"#),
            &mut out,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "feature 1: Point: 2e9 is beyond any slide (more than 1e9 pixels)"
        );
        let e = collect(&j(r#"{"type": "Circle"}"#), &mut out).unwrap_err();
        assert_eq!(e, FeatureError::UnknownObject("Circle".into()));
        assert_eq!(out, Annotations::default(), "nothing half-added");
    }
}
