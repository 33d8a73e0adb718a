//! The few header fields of an ONNX file that ONNX Runtime does not expose: IR version,
//! producer and operator-set imports, read straight from the protobuf (ModelProto fields 1, 2,
//! 3 and 8), skipping everything else, including the graph and its weights.

use std::io::{Read, Seek};
use std::path::Path;

use serde::Serialize;

/// Header fields of a ModelProto.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OnnxHeader {
    /// ONNX IR version.
    pub ir_version: i64,
    /// Producer name and version, as the exporter wrote them.
    pub producer: String,
    /// Operator sets: (domain, version); the default domain is "ai.onnx".
    pub opsets: Vec<(String, i64)>,
}

/// Why a file's ONNX header could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OnnxHeaderError {
    /// The file cannot be read.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The protobuf ends inside a varint.
    #[error("truncated varint")]
    TruncatedVarint,
    /// A varint that runs past 64 bits.
    #[error("varint longer than 10 bytes")]
    LongVarint,
    /// A field runs past the end of its message.
    #[error("truncated field")]
    TruncatedField,
    /// A wire type protobuf does not have.
    #[error("unknown protobuf wire type {0}: not an ONNX model")]
    WireType(u8),
    /// No graph (field 7) or no IR version (field 1).
    #[error("no ONNX graph or IR version in the file: not an ONNX model")]
    NotAModel,
    /// Not a regular file (a FIFO, a device, a directory).
    #[error(transparent)]
    Input(#[from] crate::guard::InputError),
}

fn varint(b: &[u8], i: &mut usize) -> Result<u64, OnnxHeaderError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let c = *b.get(*i).ok_or(OnnxHeaderError::TruncatedVarint)?;
        *i += 1;
        v |= ((c & 0x7f) as u64) << shift;
        if c & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(OnnxHeaderError::LongVarint)
}

/// One protobuf field: number, wire type, varint value, payload (length-delimited fields).
type Field<'a> = (u64, u8, u64, &'a [u8]);

/// The fields of one message.
fn fields(b: &[u8]) -> Result<Vec<Field<'_>>, OnnxHeaderError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let key = varint(b, &mut i)?;
        let (field, wire) = (key >> 3, (key & 7) as u8);
        match wire {
            0 => {
                let v = varint(b, &mut i)?;
                out.push((field, wire, v, &b[0..0]));
            }
            1 => {
                i = i
                    .checked_add(8)
                    .filter(|&e| e <= b.len())
                    .ok_or(OnnxHeaderError::TruncatedField)?;
            }
            2 => {
                let n = varint(b, &mut i)? as usize;
                let end = i
                    .checked_add(n)
                    .filter(|&e| e <= b.len())
                    .ok_or(OnnxHeaderError::TruncatedField)?;
                out.push((field, wire, 0, &b[i..end]));
                i = end;
            }
            5 => {
                i = i
                    .checked_add(4)
                    .filter(|&e| e <= b.len())
                    .ok_or(OnnxHeaderError::TruncatedField)?;
            }
            w => return Err(OnnxHeaderError::WireType(w)),
        }
    }
    Ok(out)
}

/// Parses the header of the ONNX model in `bytes`.
pub fn parse_header(bytes: &[u8]) -> Result<OnnxHeader, OnnxHeaderError> {
    let mut h = OnnxHeader::default();
    let (mut name, mut version) = (String::new(), String::new());
    let mut graph = false;
    for (f, wire, v, payload) in fields(bytes)? {
        match (f, wire) {
            (1, 0) => h.ir_version = v as i64,
            (2, 2) => name = String::from_utf8_lossy(payload).into_owned(),
            (3, 2) => version = String::from_utf8_lossy(payload).into_owned(),
            (7, 2) => graph = true,
            (8, 2) => {
                let (mut domain, mut ver) = (String::new(), 0i64);
                for (g, w2, v2, p2) in fields(payload)? {
                    match (g, w2) {
                        (1, 2) => domain = String::from_utf8_lossy(p2).into_owned(),
                        (2, 0) => ver = v2 as i64,
                        _ => {}
                    }
                }
                if domain.is_empty() {
                    domain = "ai.onnx".into();
                }
                h.opsets.push((domain, ver));
            }
            _ => {}
        }
    }
    if !graph || h.ir_version == 0 {
        return Err(OnnxHeaderError::NotAModel);
    }
    h.producer = [name, version]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(h)
}

/// Fields of the top-level message longer than this (other than the graph, always skipped)
/// are skipped too: a header field is a few bytes, and no read grows with the file.
pub const MAX_HEADER_FIELD: u64 = 1 << 20;

/// Reads the header of the ONNX file at `path` (a regular file): only its top-level fields are
/// read, each at most 1 MiB (`MAX_HEADER_FIELD`); the graph and its weights are seeked past.
pub fn read_header(path: &Path) -> Result<OnnxHeader, OnnxHeaderError> {
    crate::guard::open_input(path)?;
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let bytes = header_fields(&mut std::io::BufReader::new(file), len)?;
    parse_header(&bytes)
}

fn read_varint(r: &mut impl Read, pos: &mut u64) -> Result<u64, OnnxHeaderError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let mut c = [0u8];
        r.read_exact(&mut c).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => OnnxHeaderError::TruncatedVarint,
            _ => OnnxHeaderError::Io(e),
        })?;
        *pos += 1;
        v |= ((c[0] & 0x7f) as u64) << shift;
        if c[0] & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(OnnxHeaderError::LongVarint)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The top-level fields of the `len`-byte message in `r`, re-encoded, with the graph (field 7)
/// and any field over [`MAX_HEADER_FIELD`] bytes left empty (seeked past, never read).
fn header_fields(r: &mut (impl Read + Seek), len: u64) -> Result<Vec<u8>, OnnxHeaderError> {
    let mut out = Vec::new();
    let mut pos = 0u64;
    while pos < len {
        let key = read_varint(r, &mut pos)?;
        put_varint(&mut out, key);
        let fixed = match key & 7 {
            0 => {
                let v = read_varint(r, &mut pos)?;
                put_varint(&mut out, v);
                continue;
            }
            1 => 8,
            5 => 4,
            2 => {
                let n = read_varint(r, &mut pos)?;
                if pos.checked_add(n).is_none_or(|end| end > len) {
                    return Err(OnnxHeaderError::TruncatedField);
                }
                pos += n;
                if key >> 3 == 7 || n > MAX_HEADER_FIELD {
                    r.seek_relative(n as i64)?;
                    put_varint(&mut out, 0);
                } else {
                    put_varint(&mut out, n);
                    let start = out.len();
                    out.resize(start + n as usize, 0);
                    r.read_exact(&mut out[start..])?;
                }
                continue;
            }
            w => return Err(OnnxHeaderError::WireType(w as u8)),
        };
        if pos + fixed > len {
            return Err(OnnxHeaderError::TruncatedField);
        }
        pos += fixed;
        let start = out.len();
        out.resize(start + fixed as usize, 0);
        r.read_exact(&mut out[start..])?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_models_headers_read() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/test");
        let h = read_header(&dir.join("patch_classifier.onnx")).unwrap();
        assert_eq!(h.ir_version, 7);
        assert_eq!(h.opsets, vec![("ai.onnx".to_string(), 13)]);
        assert!(h.producer.contains("untrained"));
    }

    #[test]
    fn garbage_is_not_a_model() {
        assert!(matches!(
            parse_header(b"\xff\xff\xff"),
            Err(OnnxHeaderError::TruncatedVarint)
        ));
        // 'P' is field 10 as a varint, 'N' its value, 'G' = field 8 with wire type 7
        assert!(matches!(
            parse_header(b"PNG not onnx at all"),
            Err(OnnxHeaderError::WireType(7))
        ));
        assert!(matches!(parse_header(&[]), Err(OnnxHeaderError::NotAModel)));
    }

    #[test]
    fn the_header_is_read_past_the_graph_without_reading_it() {
        let model = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("models/test/patch_classifier.onnx"),
        )
        .unwrap();
        let mut r = std::io::Cursor::new(&model);
        let fields = header_fields(&mut r, model.len() as u64).unwrap();
        assert!(fields.len() < 200, "{} bytes kept", fields.len());
        assert_eq!(
            parse_header(&fields).unwrap(),
            parse_header(&model).unwrap()
        );
        // a field that claims more than the file holds
        let mut bad = vec![0x08, 0x07, 0x3a, 0xff, 0xff, 0x03];
        bad.extend_from_slice(&[0; 10]);
        let mut r = std::io::Cursor::new(&bad);
        assert!(matches!(
            header_fields(&mut r, bad.len() as u64),
            Err(OnnxHeaderError::TruncatedField)
        ));
    }
}
