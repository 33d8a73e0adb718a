//! Writing traced polygons as QuPath annotations (GeoJSON FeatureCollection).
//!
//! What every QuPath version from 0.2 to 0.7 imports: a FeatureCollection whose
//! Features all carry an `id` (a UUID), `properties.objectType = "annotation"`, a
//! classification, and only valid Polygon geometries with closed rings; coordinates with at
//! most 2 decimals and never NaN.

use std::io::Write;
use std::str::FromStr;

use serde::Serialize;

use super::Polygon;

/// A label of the mask and the QuPath class it becomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassSpec {
    /// The mask label.
    pub label: u64,
    /// QuPath class name (e.g. "Tumor").
    pub name: String,
    /// Class colour.
    pub color: [u8; 3],
}

/// A `--class` value that is not `LABEL=NAME[:#RRGGBB]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not LABEL=NAME[:#RRGGBB] (e.g. 1=Tumor:#c80000)")]
pub struct ClassSpecError(pub String);

impl FromStr for ClassSpec {
    type Err = ClassSpecError;
    /// Parses `LABEL=NAME` or `LABEL=NAME:#RRGGBB`, e.g. `1=Tumor:#c80000`.
    fn from_str(s: &str) -> Result<Self, ClassSpecError> {
        let err = || ClassSpecError(s.to_string());
        let (label, rest) = s.split_once('=').ok_or_else(err)?;
        let label: u64 = label.trim().parse().map_err(|_| err())?;
        let (name, color) = match rest.rsplit_once(":#") {
            Some((n, c)) if c.len() == 6 => {
                let v = u32::from_str_radix(c, 16).map_err(|_| err())?;
                (n, [(v >> 16) as u8, (v >> 8) as u8, v as u8])
            }
            Some(_) => return Err(err()),
            None => (rest, default_color(label)),
        };
        if name.trim().is_empty() {
            return Err(err());
        }
        Ok(ClassSpec {
            label,
            name: name.trim().to_string(),
            color,
        })
    }
}

/// A distinct default colour per label (QuPath's Tumor red for label 1).
pub fn default_color(label: u64) -> [u8; 3] {
    const P: [[u8; 3]; 6] = [
        [200, 0, 0],
        [150, 200, 150],
        [0, 0, 180],
        [200, 150, 0],
        [160, 90, 160],
        [0, 150, 150],
    ];
    P[(label.max(1) as usize - 1) % P.len()]
}

/// How the classification is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClassEncoding {
    /// `{"name", "colorRGB": signed ARGB int}`: keeps its colour in QuPath 0.2 to 0.7.
    #[default]
    ColorRgb,
    /// `{"name", "color": [r, g, b], "colorRGB": signed ARGB int}`: the array form QuPath ≥ 0.4
    /// writes, with the legacy integer beside it so that 0.2 and 0.3 (which read only
    /// `colorRGB` and skip unknown members) keep the colour too; 0.4 to 0.7 take any
    /// classification object with a `colorRGB` member the legacy way, so both agree.
    ColorArray,
}

/// Level-0 placement of mask pixel coordinates: `x0 + x · dx`, `y0 + y · dy`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// Level-0 pixels per mask pixel along x.
    pub dx: f64,
    /// Along y.
    pub dy: f64,
    /// Level-0 x of the mask's left edge.
    pub x0: f64,
    /// Level-0 y of the mask's top edge.
    pub y0: f64,
}

impl Placement {
    /// A mask at downsample `d` of a slide, in the slide file's frame, or in QuPath's frame
    /// (level-0 coordinates minus the origin of the slide's OpenSlide `bounds`, as QuPath shows
    /// MRXS and some NDPI slides) when `qupath_bounds` gives them.
    pub fn at_downsample(d: f64, qupath_bounds: Option<crate::slide::Rect>) -> Placement {
        let (x0, y0) = qupath_bounds.map_or((0.0, 0.0), |b| (-(b.x as f64), -(b.y as f64)));
        Placement {
            dx: d,
            dy: d,
            x0,
            y0,
        }
    }
}

/// A number as QuPath writes it: at most 2 decimals, no trailing zeros.
pub fn fmt_coord(v: f64) -> String {
    let r = (v * 100.0).round() / 100.0;
    let mut s = format!("{r:.2}");
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// A UUID (version-4 layout) derived from `seed`, so identical inputs give identical files.
pub fn uuid_from(seed: u64) -> String {
    let mut r = crate::sampling::Rng::new(seed);
    let (a, b) = (r.next_u64(), r.next_u64());
    let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    let a = (a & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// Appends `v` as QuPath writes coordinates: rounded to 2 decimals, no trailing zeros.
fn push_coord(out: &mut Vec<u8>, v: f64) {
    let r = (v * 100.0).round();
    if r.is_nan() || r.abs() >= 9.0e15 {
        out.extend_from_slice(fmt_coord(v).as_bytes());
        return;
    }
    let r = r as i64;
    if r < 0 {
        out.push(b'-');
    }
    let a = r.unsigned_abs();
    let (int, frac) = (a / 100, a % 100);
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = int;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
    if frac != 0 {
        out.push(b'.');
        out.push(b'0' + (frac / 10) as u8);
        if frac % 10 != 0 {
            out.push(b'0' + (frac % 10) as u8);
        }
    }
}

fn push_ring(out: &mut Vec<u8>, ring: &[(i64, i64)], p: &Placement) {
    out.push(b'[');
    for (i, &(x, y)) in ring.iter().chain(ring.first()).enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.push(b'[');
        push_coord(out, p.x0 + x as f64 * p.dx);
        out.extend_from_slice(b", ");
        push_coord(out, p.y0 + y as f64 * p.dy);
        out.push(b']');
    }
    out.push(b']');
}

/// Writes QuPath annotations one polygon at a time, as a FeatureCollection.
pub struct GeoJsonWriter<W: Write> {
    w: W,
    place: Placement,
    enc: ClassEncoding,
    n: usize,
    per_label: std::collections::HashMap<u64, u64>,
    buf: Vec<u8>,
}

impl<W: Write> GeoJsonWriter<W> {
    /// Starts the collection.
    pub fn new(mut w: W, place: Placement, enc: ClassEncoding) -> std::io::Result<Self> {
        w.write_all(b"{\"type\": \"FeatureCollection\", \"features\": [")?;
        Ok(GeoJsonWriter {
            w,
            place,
            enc,
            n: 0,
            per_label: Default::default(),
            buf: Vec::new(),
        })
    }

    /// Writes one Feature: `poly` (mask-pixel corners) classified as `class`.
    pub fn polygon(&mut self, class: &ClassSpec, poly: &Polygon) -> std::io::Result<()> {
        let i = self.per_label.entry(class.label).or_default();
        let seed = class.label.wrapping_mul(0x1000_0000_01b3)
            ^ i.wrapping_mul(0x9E37_79B9)
            ^ (poly.shell[0].0 as u64) << 20
            ^ poly.shell[0].1 as u64;
        *i += 1;
        let b = &mut self.buf;
        b.clear();
        if self.n > 0 {
            b.push(b',');
        }
        b.extend_from_slice(b"\n{\"type\": \"Feature\", \"id\": \"");
        b.extend_from_slice(uuid_from(seed).as_bytes());
        b.extend_from_slice(b"\", \"geometry\": {\"type\": \"Polygon\", \"coordinates\": [");
        for (k, ring) in std::iter::once(&poly.shell).chain(&poly.holes).enumerate() {
            if k > 0 {
                b.extend_from_slice(b", ");
            }
            push_ring(b, ring, &self.place);
        }
        b.extend_from_slice(
            b"]}, \"properties\": {\"objectType\": \"annotation\", \"classification\": ",
        );
        b.extend_from_slice(classification_json(class, self.enc).as_bytes());
        b.extend_from_slice(b", \"isLocked\": false, \"measurements\": []}}");
        self.w.write_all(b)?;
        self.n += 1;
        Ok(())
    }

    /// Ends the collection; returns the number of features and the sink.
    pub fn finish(mut self) -> std::io::Result<(usize, W)> {
        self.w.write_all(b"\n]}\n")?;
        Ok((self.n, self.w))
    }
}

fn classification_json(class: &ClassSpec, enc: ClassEncoding) -> String {
    let name = serde_json::to_string(&class.name).unwrap_or_else(|_| "\"\"".into());
    let [r, g, b] = class.color;
    match enc {
        ClassEncoding::ColorRgb => {
            let argb = (0xffu32 << 24 | (r as u32) << 16 | (g as u32) << 8 | b as u32) as i32;
            format!("{{\"name\": {name}, \"colorRGB\": {argb}}}")
        }
        ClassEncoding::ColorArray => {
            let argb = (0xffu32 << 24 | (r as u32) << 16 | (g as u32) << 8 | b as u32) as i32;
            format!("{{\"name\": {name}, \"color\": [{r}, {g}, {b}], \"colorRGB\": {argb}}}")
        }
    }
}

/// Writes one Feature per polygon, classified by its class, as a FeatureCollection.
pub fn write_geojson(
    w: &mut dyn Write,
    classes: &[(ClassSpec, Vec<Polygon>)],
    place: &Placement,
    enc: ClassEncoding,
) -> std::io::Result<usize> {
    let mut g = GeoJsonWriter::new(w, *place, enc)?;
    for (class, polys) in classes {
        for p in polys {
            g.polygon(class, p)?;
        }
    }
    Ok(g.finish()?.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_have_at_most_two_decimals() {
        assert_eq!(fmt_coord(7053.4700001), "7053.47");
        assert_eq!(fmt_coord(4.0), "4");
        assert_eq!(fmt_coord(0.5), "0.5");
        assert_eq!(fmt_coord(-0.001), "0");
    }

    #[test]
    fn fast_coordinates_match_the_reference_formatting() {
        for v in [
            0.0,
            4.0,
            0.5,
            -0.001,
            -0.5,
            -12.345,
            7053.4700001,
            1e6 + 0.125,
            99.995,
            0.07,
        ] {
            let mut b = Vec::new();
            push_coord(&mut b, v);
            assert_eq!(String::from_utf8(b).unwrap(), fmt_coord(v), "{v}");
        }
    }

    #[test]
    fn class_specs_parse() {
        assert_eq!(
            "1=Tumor:#c80000".parse::<ClassSpec>(),
            Ok(ClassSpec {
                label: 1,
                name: "Tumor".into(),
                color: [200, 0, 0]
            })
        );
        assert_eq!(
            "2=Stroma".parse::<ClassSpec>().map(|c| c.name),
            Ok("Stroma".into())
        );
        assert!("x=Tumor".parse::<ClassSpec>().is_err());
        assert!("1=".parse::<ClassSpec>().is_err());
    }

    #[test]
    fn the_04_form_carries_the_legacy_colour_too() {
        let c = ClassSpec {
            label: 1,
            name: "Tumor".into(),
            color: [200, 0, 0],
        };
        // 0xffc80000 as a signed 32-bit integer, worked by hand: −(2³² − 0xffc80000)
        let legacy = -(0x1_0000_0000i64 - 0xffc8_0000i64);
        assert_eq!(legacy, -3670016);
        assert_eq!(
            classification_json(&c, ClassEncoding::ColorRgb),
            r#"{"name": "Tumor", "colorRGB": -3670016}"#
        );
        assert_eq!(
            classification_json(&c, ClassEncoding::ColorArray),
            r#"{"name": "Tumor", "color": [200, 0, 0], "colorRGB": -3670016}"#
        );
    }

    #[test]
    fn uuids_are_v4_shaped_and_deterministic() {
        let u = uuid_from(42);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(u, uuid_from(42));
        assert_ne!(u, uuid_from(43));
    }
}
