//! What an annotation file holds, told from its first bytes: the reader goes by content, not by
//! name, so ASAP XML named `.geojson` and GeoJSON named `.xml` are both read; text in an encoding
//! other than UTF-8, and binary files, are refused with their real cause.

/// The readers [`sniff`] chooses between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// XML (its first character, past a UTF-8 byte-order mark and white space, is `<`): ASAP.
    Xml,
    /// A zip archive or gzip stream (their readers check them further).
    Compressed,
    /// Anything else: JSON, whose parser names what is wrong with it.
    Json,
}

/// A file that is no UTF-8 text, told from its first bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SniffError {
    /// UTF-16 or UTF-32 text (a byte-order mark, or the zero bytes of ASCII in it).
    #[error("is {0} text: save it as UTF-8 (GeoJSON and ASAP XML are read as UTF-8)")]
    WideText(&'static str),
    /// A picture, not annotations.
    #[error("is a {0} image, not annotations (GeoJSON or ASAP XML)")]
    Image(&'static str),
    /// Zero bytes in what should be text.
    #[error("is a binary file (it holds zero bytes), not annotations (GeoJSON or ASAP XML)")]
    Binary,
}

const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// UTF-16/32 told by a byte-order mark, or by the zero bytes around ASCII text (`{\0"\0` is
/// `{"` in UTF-16LE).
fn wide(head: &[u8]) -> Option<&'static str> {
    for (bom, name) in [
        (&b"\xff\xfe\0\0"[..], "UTF-32 (little-endian)"),
        (b"\0\0\xfe\xff", "UTF-32 (big-endian)"),
        (b"\xff\xfe", "UTF-16 (little-endian)"),
        (b"\xfe\xff", "UTF-16 (big-endian)"),
    ] {
        if head.starts_with(bom) {
            return Some(name);
        }
    }
    // Latin text in a wide encoding: every character's other bytes zero
    let n = head.len().min(64) / 4 * 4;
    let units = |size: usize, at: usize| {
        n >= 4
            && head[..n]
                .chunks(size)
                .all(|u| u.iter().enumerate().all(|(k, c)| (k == at) == (*c != 0)))
    };
    [
        (4, 0, "UTF-32 (little-endian)"),
        (4, 3, "UTF-32 (big-endian)"),
        (2, 0, "UTF-16 (little-endian)"),
        (2, 1, "UTF-16 (big-endian)"),
    ]
    .into_iter()
    .find(|&(size, at, _)| units(size, at))
    .map(|(_, _, name)| name)
}

/// The reader for a file whose first bytes are `head` (up to a buffer's worth); an error when
/// it is no UTF-8 text nor an archive.
pub(super) fn sniff(head: &[u8]) -> Result<Kind, SniffError> {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(&[0x1f, 0x8b]) {
        return Ok(Kind::Compressed);
    }
    if let Some(name) = wide(head) {
        return Err(SniffError::WideText(name));
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(SniffError::Image("PNG"));
    }
    if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
        return Err(SniffError::Image("TIFF"));
    }
    if head.starts_with(b"\xff\xd8\xff") {
        return Err(SniffError::Image("JPEG"));
    }
    if head.contains(&0) {
        return Err(SniffError::Binary);
    }
    let text = head.strip_prefix(UTF8_BOM).unwrap_or(head);
    Ok(match text.iter().find(|c| !c.is_ascii_whitespace()) {
        Some(b'<') => Kind::Xml,
        _ => Kind::Json,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str, big: bool) -> Vec<u8> {
        s.encode_utf16()
            .flat_map(|u| {
                if big {
                    u.to_be_bytes()
                } else {
                    u.to_le_bytes()
                }
            })
            .collect()
    }

    #[test]
    fn wide_text_is_named_with_or_without_its_mark() {
        let doc = r#"{"type": "FeatureCollection", "features": []}"#;
        for (bytes, want) in [
            (utf16(doc, false), "UTF-16 (little-endian)"),
            (utf16(doc, true), "UTF-16 (big-endian)"),
            (
                [&b"\xff\xfe"[..], &utf16(doc, false)].concat(),
                "UTF-16 (little-endian)",
            ),
            (
                [&b"\xfe\xff"[..], &utf16(doc, true)].concat(),
                "UTF-16 (big-endian)",
            ),
            (
                doc.chars().flat_map(|c| (c as u32).to_le_bytes()).collect(),
                "UTF-32 (little-endian)",
            ),
            (
                doc.chars().flat_map(|c| (c as u32).to_be_bytes()).collect(),
                "UTF-32 (big-endian)",
            ),
        ] {
            assert_eq!(sniff(&bytes), Err(SniffError::WideText(want)), "{want}");
        }
        assert_eq!(
            SniffError::WideText("UTF-16 (little-endian)").to_string(),
            "is UTF-16 (little-endian) text: save it as UTF-8 (GeoJSON and ASAP XML are read as \
             UTF-8)"
        );
    }

    #[test]
    fn the_reader_goes_by_content() {
        assert_eq!(sniff(b"\xef\xbb\xbf{\"type\": 1}"), Ok(Kind::Json));
        assert_eq!(sniff(b"\xef\xbb\xbf \n<?xml?>"), Ok(Kind::Xml));
        assert_eq!(sniff(b"\n\t<ASAP_Annotations>"), Ok(Kind::Xml));
        assert_eq!(sniff(b"<!-- a comment --><a/>"), Ok(Kind::Xml));
        assert_eq!(sniff(b""), Ok(Kind::Json));
        assert_eq!(sniff(b"garbage"), Ok(Kind::Json));
        assert_eq!(sniff(b"PK\x03\x04\0\0"), Ok(Kind::Compressed));
        assert_eq!(sniff(b"\x1f\x8b\x08\0"), Ok(Kind::Compressed));
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n\0\0"),
            Err(SniffError::Image("PNG"))
        );
        assert_eq!(sniff(b"II*\0\x08\0"), Err(SniffError::Image("TIFF")));
        assert_eq!(sniff(b"{\"a\": \0}"), Err(SniffError::Binary));
        // a single character is too little to call UTF-16
        assert_eq!(sniff(b"{\0"), Err(SniffError::Binary));
    }
}
