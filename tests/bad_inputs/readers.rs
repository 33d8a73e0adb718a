//! Annotation readers: ASAP XML read by the XML rules, malformed GeoJSON structure named by its
//! JSON path, text that is not UTF-8 and files of another format named for what they are.

use std::process::Command;
use std::time::{Duration, Instant};

use super::support::{case, corpus, BIN};

/// `h2g rasterize FILE -o m.png --size 200x200` in the corpus, which must succeed: its stderr
/// and the mask's labels, row by row.
fn rasterize(file: &str) -> (String, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.png");
    let o = Command::new(BIN)
        .args(["rasterize", file, "--size", "200x200", "-o"])
        .arg(&out)
        .current_dir(corpus(""))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{file}: {err}");
    let d = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap()));
    let mut r = d.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (200, 200), "{file}");
    assert_eq!(info.bit_depth, png::BitDepth::Eight, "{file}");
    buf.truncate(info.buffer_size());
    (err, buf)
}

/// The mask of the corpus's rectangle (10, 10)–(100, 80), label 1, checked pixel for pixel.
fn the_rectangle() -> Vec<u8> {
    (0..200)
        .flat_map(|y| {
            (0..200).map(move |x| u8::from((10..100).contains(&x) && (10..80).contains(&y)))
        })
        .collect()
}

#[test]
fn asap_xml_follows_the_xml_rules() {
    let rect = the_rectangle();
    for file in [
        "asap-plain.xml",
        // a commented-out annotation and one in a CDATA section are not drawn
        "asap-commented.xml",
        // single quotes, attributes in another order, line breaks inside tags
        "asap-single-quotes.xml",
        // the reader goes by content: ASAP XML named .geojson, GeoJSON named .xml
        "xml-as-geojson.geojson",
        "json-as-xml.xml",
        // a UTF-8 byte-order mark is skipped
        "geojson-bom.geojson",
    ] {
        let (err, mask) = rasterize(file);
        assert!(
            err.contains("1 polygonal annotations (0 without area skipped)"),
            "{file}: {err}"
        );
        assert!(err.contains("): Tumor=1\n"), "{file}: {err}");
        assert_eq!(mask.iter().filter(|&&v| v == 1).count(), 90 * 70, "{file}");
        assert!(mask == rect, "{file}: not the rectangle");
    }
    // entities and character references are decoded in the class name
    let (err, mask) = rasterize("asap-entities.xml");
    assert!(err.contains("): Tumor & Stroma é=1\n"), "{err}");
    assert!(mask == rect);
}

#[test]
fn hostile_and_foreign_xml_is_refused_with_its_reason() {
    // nine levels of entities (10^9 expansions): refused at once, nothing expanded
    let t = Instant::now();
    case(
        &[
            "rasterize",
            "asap-billion-laughs.xml",
            "-o",
            "{out}/m.png",
            "--size",
            "9x9",
        ],
        1,
        "asap-billion-laughs.xml: the XML declares a DTD (<!DOCTYPE …>), which ASAP XML never \
         has: refused, as its entities could expand without bound",
    );
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    for (file, want) in [
        (
            "asap-latin1.xml",
            "asap-latin1.xml: the XML is not UTF-8 text: line 3 holds a byte that is not UTF-8; \
             save it as UTF-8",
        ),
        (
            "xml-not-asap.geojson",
            "xml-not-asap.geojson: the XML's root element is <svg>, not <ASAP_Annotations>: \
             neither ASAP XML nor GeoJSON",
        ),
        (
            "geojson-utf16.geojson",
            "geojson-utf16.geojson is UTF-16 (little-endian) text: save it as UTF-8",
        ),
        (
            "geojson-utf16-no-bom.geojson",
            "geojson-utf16-no-bom.geojson is UTF-16 (big-endian) text: save it as UTF-8",
        ),
        (
            "mask-good.png",
            "mask-good.png is a PNG image, not annotations (GeoJSON or ASAP XML)",
        ),
    ] {
        case(
            &["rasterize", file, "-o", "{out}/m.png", "--size", "9x9"],
            1,
            want,
        );
    }
    // XML past the size limit: refused before it is parsed
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.xml");
    let mut text = b"<?xml version=\"1.0\"?><ASAP_Annotations>".to_vec();
    text.resize(64 << 20, b' ');
    text.extend_from_slice(b"</ASAP_Annotations>");
    std::fs::write(&big, text).unwrap();
    case(
        &[
            "rasterize",
            &big.to_string_lossy(),
            "-o",
            "{out}/m.png",
            "--size",
            "9x9",
        ],
        1,
        "big.xml: the XML file is larger than 64 MiB, beyond any ASAP annotation file",
    );
}

#[test]
fn malformed_geojson_structure_is_named_by_its_json_path() {
    for (file, want) in [
        (
            "geojson-features-not-array.geojson",
            ": features: expected an array of features, found an object",
        ),
        (
            "geojson-feature-not-object.geojson",
            ": features[1]: expected a Feature object, found a number",
        ),
        (
            "geojson-geometry-string.geojson",
            ": features[0].geometry: expected an object or null, found a string",
        ),
        (
            "geojson-no-features.geojson",
            ": the top level: a FeatureCollection without \"features\"",
        ),
        (
            "geojson-no-type.geojson",
            ": the top level: an object without \"type\": not a Feature, FeatureCollection or \
             geometry",
        ),
        (
            "geojson-type-number.geojson",
            ": [0].type: expected a string, found a number",
        ),
        (
            "geojson-collection-member.geojson",
            ": feature 1: geometries[1]: expected a geometry object, found a number",
        ),
        (
            "geojson-child-not-object.geojson",
            ": [0].children[1]: expected a Feature object, found a string",
        ),
    ] {
        case(
            &["rasterize", file, "-o", "{out}/m.png", "--size", "9x9"],
            1,
            &format!("{file}{want}"),
        );
    }
}
