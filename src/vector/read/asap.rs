//! ASAP XML (CAMELYON16): `Polygon`, `Spline` and `Rectangle` annotations become polygons
//! through their listed points, classed by `PartOfGroup`; other types are skipped.
//!
//! The file is parsed as XML (roxmltree), so the XML rules hold: comments and commented-out
//! annotations are ignored, entities and character references are decoded (`&amp;` → `&`),
//! attributes may come in any order and in single or double quotes. A DTD is refused (ASAP never
//! writes one, and its entities could expand without bound), and so are files or trees past
//! [`MAX_ASAP_BYTES`] and [`MAX_XML_NODES`].

use std::io::Read;
use std::path::Path;

use super::{Annotation, Annotations, ReadError, MAX_COORDINATE};

/// The largest ASAP XML file read, in bytes (64 MiB): the whole text and its tree are held in
/// memory (measured: about 9 bytes per byte of coordinates, at worst 16 for dense attributes,
/// so at most about 1 GB), and CAMELYON16's largest outlines take a few megabytes.
pub const MAX_ASAP_BYTES: u64 = 64 << 20;

/// The most XML nodes (elements and texts) an ASAP file may hold: more than [`MAX_ASAP_BYTES`]
/// of coordinates make, a bound on the tree's nodes (about 300 MB at the limit).
pub const MAX_XML_NODES: u32 = 4_000_000;

/// What is wrong with an ASAP XML file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AsapError {
    /// The document ends before its root element is closed.
    #[error("the ASAP XML ends before </ASAP_Annotations>: a truncated or unfinished file")]
    Truncated,
    /// Not well-formed XML; the parser's message names the line and column (`line:column`).
    #[error("the ASAP XML is not well-formed XML: {0}")]
    Xml(roxmltree::Error),
    /// A `<!DOCTYPE>` declaration.
    #[error(
        "the XML declares a DTD (<!DOCTYPE …>), which ASAP XML never has: refused, as its \
         entities could expand without bound"
    )]
    Dtd,
    /// More nodes than `MAX_XML_NODES` (4 000 000).
    #[error(
        "the XML holds more than {MAX_XML_NODES} elements and texts, beyond any ASAP annotation \
         file"
    )]
    TooManyNodes,
    /// A file larger than `MAX_ASAP_BYTES` (64 MiB).
    #[error(
        "the XML file is larger than {} MiB, beyond any ASAP annotation file",
        MAX_ASAP_BYTES >> 20
    )]
    TooBig,
    /// Bytes that are not UTF-8.
    #[error(
        "the XML is not UTF-8 text: line {line} holds a byte that is not UTF-8; save it as UTF-8"
    )]
    NotUtf8 {
        /// The line (from 1) of the first bad byte.
        line: usize,
    },
    /// XML whose root element is not `<ASAP_Annotations>`.
    #[error(
        "the XML's root element is <{0}>, not <ASAP_Annotations>: neither ASAP XML nor GeoJSON"
    )]
    NotAsap(String),
    /// A `<Coordinate>` without its X or Y attribute.
    #[error(
        "annotation {annotation} ('{name}'), coordinate {coordinate}: no {axis} (line {line})"
    )]
    NoValue {
        /// The annotation's number, from 1.
        annotation: usize,
        /// Its `Name`.
        name: String,
        /// The coordinate's index, from 0.
        coordinate: usize,
        /// `X` or `Y`.
        axis: &'static str,
        /// The coordinate's line, from 1.
        line: u32,
    },
    /// A coordinate beyond any whole-slide image.
    #[error(
        "annotation {annotation} ('{name}'), coordinate {coordinate}: {axis}={value} is beyond \
         any slide (line {line})"
    )]
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
        /// The coordinate's line, from 1.
        line: u32,
    },
    /// A coordinate that is not a finite number.
    #[error(
        "annotation {annotation} ('{name}'), coordinate {coordinate}: {axis}=\"{value}\" is not \
         a finite number (line {line})"
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
        /// The coordinate's line, from 1.
        line: u32,
    },
}

impl From<roxmltree::Error> for AsapError {
    fn from(e: roxmltree::Error) -> Self {
        use roxmltree::Error as E;
        match e {
            E::UnexpectedEndOfStream | E::UnclosedRootNode => AsapError::Truncated,
            E::DtdDetected => AsapError::Dtd,
            E::NodesLimitReached => AsapError::TooManyNodes,
            other => AsapError::Xml(other),
        }
    }
}

/// Reads the ASAP XML of `path` from `r`, at most [`MAX_ASAP_BYTES`] of it.
pub(super) fn read_asap_file(path: &Path, r: impl Read) -> Result<Annotations, ReadError> {
    let asap = |problem| ReadError::Asap {
        path: path.into(),
        problem,
    };
    let mut bytes = Vec::new();
    r.take(MAX_ASAP_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| ReadError::Io {
            path: path.into(),
            source,
        })?;
    if bytes.len() as u64 > MAX_ASAP_BYTES {
        return Err(asap(AsapError::TooBig));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        asap(AsapError::NotUtf8 {
            line: 1 + good.iter().filter(|&&b| b == b'\n').count(),
        })
    })?;
    read_asap(&text).map_err(asap)
}

/// The child elements of `n` whose local name is `name`.
fn children<'a, 'i>(
    n: roxmltree::Node<'a, 'i>,
    name: &'static str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

/// ASAP XML: one annotation per `<Annotation>` element of `<Annotations>`.
pub(super) fn read_asap(text: &str) -> Result<Annotations, AsapError> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_XML_NODES,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, options)?;
    let root = doc.root_element();
    if root.tag_name().name() != "ASAP_Annotations" {
        return Err(AsapError::NotAsap(root.tag_name().name().to_string()));
    }
    let mut out = Annotations::default();
    let annotations = children(root, "Annotations").flat_map(|a| children(a, "Annotation"));
    for (n, a) in annotations.enumerate() {
        let kind = a.attribute("Type").unwrap_or("");
        let group = a
            .attribute("PartOfGroup")
            .filter(|g| !g.is_empty() && *g != "None")
            .map(str::to_string);
        let name = a.attribute("Name").unwrap_or("");
        let mut pts: Vec<(u64, (f64, f64))> = Vec::new();
        let coordinates = children(a, "Coordinates").flat_map(|c| children(c, "Coordinate"));
        for (i, c) in coordinates.enumerate() {
            // counted from the start of the text: only for an error
            let line = || doc.text_pos_at(c.range().start).row;
            let num = |axis: &'static str| -> Result<f64, AsapError> {
                let v = c.attribute(axis).ok_or_else(|| AsapError::NoValue {
                    annotation: n + 1,
                    name: name.to_string(),
                    coordinate: i,
                    axis,
                    line: line(),
                })?;
                match v.trim().replace(',', ".").parse::<f64>() {
                    Ok(x) if x.is_finite() && x.abs() <= MAX_COORDINATE => Ok(x),
                    Ok(x) if x.is_finite() => Err(AsapError::Beyond {
                        annotation: n + 1,
                        name: name.to_string(),
                        coordinate: i,
                        axis,
                        value: v.to_string(),
                        line: line(),
                    }),
                    _ => Err(AsapError::NotANumber {
                        annotation: n + 1,
                        name: name.to_string(),
                        coordinate: i,
                        axis,
                        value: v.to_string(),
                        line: line(),
                    }),
                }
            };
            let order = c
                .attribute("Order")
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

    const DOC: &str = r#"<?xml version="1.0"?><ASAP_Annotations><Annotations>
<Annotation Name="A" Type="Polygon" PartOfGroup="Tumor"><Coordinates>
<Coordinate Order="2" X="4" Y="4" /><Coordinate Order="0" X="0" Y="0" />
<Coordinate Order="1" X="4,5" Y="0" /></Coordinates></Annotation>
<Annotation Name="B" Type="Dot" PartOfGroup="None"><Coordinates>
<Coordinate Order="0" X="1" Y="1" /></Coordinates></Annotation>
</Annotations></ASAP_Annotations>"#;

    #[test]
    fn asap_polygons_in_point_order_and_bad_coordinates_named() {
        let a = read_asap(DOC).unwrap();
        assert_eq!(a.skipped, 1);
        assert_eq!(
            a.items[0].polygons,
            vec![vec![vec![(0.0, 0.0), (4.5, 0.0), (4.0, 4.0)]]]
        );
        assert_eq!(a.items[0].class.as_deref(), Some("Tumor"));
        let bad = DOC.replace("Y=\"0\" /></Coordinates>", "Y=\"inf\" /></Coordinates>");
        let e = read_asap(&bad).unwrap_err();
        assert_eq!(
            e,
            AsapError::NotANumber {
                annotation: 1,
                name: "A".into(),
                coordinate: 2,
                axis: "Y",
                value: "inf".into(),
                line: 4,
            }
        );
        assert_eq!(
            e.to_string(),
            "annotation 1 ('A'), coordinate 2: Y=\"inf\" is not a finite number (line 4)"
        );
        assert_eq!(read_asap(&DOC[..200]).unwrap_err(), AsapError::Truncated);
        let no_y = DOC.replace("X=\"4\" Y=\"4\"", "X=\"4\"");
        assert_eq!(
            read_asap(&no_y).unwrap_err().to_string(),
            "annotation 1 ('A'), coordinate 0: no Y (line 3)"
        );
    }

    #[test]
    fn the_xml_rules_hold() {
        let plain = read_asap(DOC).unwrap();
        // single quotes, another attribute order, a namespace and white space in the tags
        let odd = DOC
            .replace(
                r#"Name="A" Type="Polygon" PartOfGroup="Tumor""#,
                "PartOfGroup='Tumor'\n  Type = 'Polygon' Name='A'",
            )
            .replace("<ASAP_Annotations>", "<ASAP_Annotations xmlns='urn:x'>")
            .replace(r#"Order="2" X="4" Y="4""#, r#"Y="4"   X='4' Order="2""#);
        assert_eq!(read_asap(&odd).unwrap(), plain);
        // a commented-out annotation and a CDATA section are no annotations
        let commented = DOC.replace(
            "<Annotation Name=\"B\"",
            "<!-- <Annotation Name=\"C\" Type=\"Polygon\"><Coordinates><Coordinate X=\"1\" \
             Y=\"1\"/></Coordinates></Annotation> --><![CDATA[<Annotation>]]><Annotation Name=\"B\"",
        );
        assert_eq!(read_asap(&commented).unwrap(), plain);
        // entities and character references are decoded
        let named = DOC.replace(
            "PartOfGroup=\"Tumor\"",
            "PartOfGroup=\"Tumor &amp; DCIS &#233;&lt;&#x41;&gt;\"",
        );
        assert_eq!(
            read_asap(&named).unwrap().items[0].class.as_deref(),
            Some("Tumor & DCIS é<A>")
        );
        // an unknown entity, a bad tag and a mismatched close tag are named with their place
        for (text, want) in [
            (
                DOC.replace("Tumor", "&tumor;"),
                "unknown entity reference 'tumor' at 2:",
            ),
            (
                DOC.replace("</Annotations>", "</Annotation>"),
                "expected 'Annotations' tag, not 'Annotation' at 7:",
            ),
        ] {
            let e = read_asap(&text).unwrap_err();
            assert!(matches!(e, AsapError::Xml(_)), "{e:?}");
            assert!(e.to_string().contains(want), "{e}");
        }
    }

    #[test]
    fn dtds_other_roots_and_huge_trees_are_refused() {
        let laughs = format!(
            "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"lol\">{}]><ASAP_Annotations>&j;\
             </ASAP_Annotations>",
            (b'b'..=b'j')
                .map(|c| format!(
                    "<!ENTITY {} \"{}\">",
                    c as char,
                    format!("&{};", (c - 1) as char).repeat(10)
                ))
                .collect::<String>()
        );
        assert_eq!(read_asap(&laughs).unwrap_err(), AsapError::Dtd);
        assert_eq!(
            read_asap("<?xml version=\"1.0\"?>\n<Annotations/>").unwrap_err(),
            AsapError::NotAsap("Annotations".into())
        );
        let many = format!(
            "<ASAP_Annotations>{}</ASAP_Annotations>",
            "<a/>".repeat(MAX_XML_NODES as usize)
        );
        assert_eq!(read_asap(&many).unwrap_err(), AsapError::TooManyNodes);
    }
}
