//! ASAP XML (CAMELYON16): `Polygon`, `Spline` and `Rectangle` annotations become polygons
//! through their listed points, classed by `PartOfGroup`; other types are skipped.

use super::{Annotation, Annotations, MAX_COORDINATE};

/// What is wrong with an ASAP XML file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AsapError {
    /// The document does not end with `</ASAP_Annotations>`.
    #[error("the ASAP XML ends before </ASAP_Annotations>: a truncated or unfinished file")]
    Truncated,
    /// A `<Coordinate>` without its X or Y attribute.
    #[error("annotation {annotation} ('{name}'), coordinate {coordinate}: no {axis}")]
    NoValue {
        /// The annotation's number, from 1.
        annotation: usize,
        /// Its `Name`.
        name: String,
        /// The coordinate's index, from 0.
        coordinate: usize,
        /// `X` or `Y`.
        axis: &'static str,
    },
    /// A coordinate beyond any whole-slide image.
    #[error("annotation {annotation} ('{name}'), coordinate {coordinate}: {axis}={value} is beyond any slide")]
    Beyond {
        /// The annotation's number, from 1.
        annotation: usize,
        /// Its `Name`.
        name: String,
        /// The coordinate's index, from 0.
        coordinate: usize,
        /// `X` or `Y`.
        axis: &'static str,
        /// The attribute's text.
        value: String,
    },
    /// A coordinate that is not a finite number.
    #[error(
        "annotation {annotation} ('{name}'), coordinate {coordinate}: {axis}=\"{value}\" is not \
         a finite number"
    )]
    NotANumber {
        /// The annotation's number, from 1.
        annotation: usize,
        /// Its `Name`.
        name: String,
        /// The coordinate's index, from 0.
        coordinate: usize,
        /// `X` or `Y`.
        axis: &'static str,
        /// The attribute's text.
        value: String,
    },
}

/// The value of attribute `name` in the start tag `tag`.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let i = tag.find(&key)? + key.len();
    let j = tag[i..].find('"')? + i;
    Some(&tag[i..j])
}

/// ASAP XML: one annotation per `<Annotation>` element.
pub(super) fn read_asap(text: &str) -> Result<Annotations, AsapError> {
    let mut out = Annotations::default();
    if !text.contains("</ASAP_Annotations>") && !text.trim_end().ends_with("/>") {
        return Err(AsapError::Truncated);
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
            // the first attribute has no space before it
            let c = &format!(" {c}");
            let num = |axis: &'static str| -> Result<f64, AsapError> {
                let v = attr(c, axis).ok_or_else(|| AsapError::NoValue {
                    annotation: n + 1,
                    name: name.to_string(),
                    coordinate: i,
                    axis,
                })?;
                match v.trim().replace(',', ".").parse::<f64>() {
                    Ok(x) if x.is_finite() && x.abs() <= MAX_COORDINATE => Ok(x),
                    Ok(x) if x.is_finite() => Err(AsapError::Beyond {
                        annotation: n + 1,
                        name: name.to_string(),
                        coordinate: i,
                        axis,
                        value: v.to_string(),
                    }),
                    _ => Err(AsapError::NotANumber {
                        annotation: n + 1,
                        name: name.to_string(),
                        coordinate: i,
                        axis,
                        value: v.to_string(),
                    }),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asap_polygons_in_point_order_and_bad_coordinates_named() {
        let doc = r#"<?xml version="1.0"?><ASAP_Annotations><Annotations>
<Annotation Name="A" Type="Polygon" PartOfGroup="Tumor"><Coordinates>
<Coordinate Order="2" X="4" Y="4" /><Coordinate Order="0" X="0" Y="0" />
<Coordinate Order="1" X="4,5" Y="0" /></Coordinates></Annotation>
<Annotation Name="B" Type="Dot" PartOfGroup="None"><Coordinates>
<Coordinate Order="0" X="1" Y="1" /></Coordinates></Annotation>
</Annotations></ASAP_Annotations>"#;
        let a = read_asap(doc).unwrap();
        assert_eq!(a.skipped, 1);
        assert_eq!(
            a.items[0].polygons,
            vec![vec![vec![(0.0, 0.0), (4.5, 0.0), (4.0, 4.0)]]]
        );
        assert_eq!(a.items[0].class.as_deref(), Some("Tumor"));
        let bad = doc.replace("Y=\"0\" /></Coordinates>", "Y=\"inf\" /></Coordinates>");
        assert_eq!(
            read_asap(&bad).unwrap_err(),
            AsapError::NotANumber {
                annotation: 1,
                name: "A".into(),
                coordinate: 2,
                axis: "Y",
                value: "inf".into()
            }
        );
        assert_eq!(read_asap(&doc[..200]).unwrap_err(), AsapError::Truncated);
    }
}
