//! Reading QuPath GeoJSON as every QuPath version writes it.
//!
//! Accepted: a FeatureCollection, a single Feature, a bare array of Features, or a bare
//! geometry; gzip (`.gz`); zip archives (every `.json`/`.geojson` entry); bare `NaN` / `Infinity` tokens (QuPath ≤ 0.4); duplicate keys
//! (the last wins); nested `children` / `childObjects`; classification as a string (derived
//! classes `"Tumor: Positive"`), `{name}` / `{names}` (≥ 0.4) or legacy `{name, colorRGB,
//! parentClass}` (≤ 0.3). Polygon and MultiPolygon geometries are kept (GeometryCollections
//! are searched for them), with QuPath's `"isEllipse"` member; features without area are
//! counted as skipped and their points and lines kept apart (`Annotations::marks`); malformed
//! structure is an error naming its JSON path. ASAP XML (CAMELYON16), parsed as XML:
//! `Polygon`, `Spline` and `Rectangle` annotations become polygons through their listed points (a spline's
//! control points, as ASAP stores them), classed by `PartOfGroup`; `Dot` and `PointSet` are
//! skipped. The reader goes by content (`sniff`), and refuses UTF-16 and binary files.

mod asap;
mod counted;
mod features;
mod lenient;
mod sniff;

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub use asap::AsapError;
use counted::{Budget, Counted};
pub use features::{classification_name, FeatureError, Place, Positions};
use features::{collect, At};
use lenient::Lenient;
pub use sniff::SniffError;

/// Errors reading annotations.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not JSON, even leniently (bare NaN and Infinity allowed).
    #[error("{} is not GeoJSON: {error}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error, with its line and column.
        error: serde_json::Error,
    },
    /// Well-formed JSON, but a feature in it is not a valid annotation: coordinates that are
    /// not finite numbers, polygons without coordinates, positions beyond any slide.
    #[error(
        "{}: {problem}{}",
        path.display(),
        line.map(|l| format!(" (the feature ending on line {l})")).unwrap_or_default()
    )]
    Feature {
        /// The file.
        path: PathBuf,
        /// What is wrong, and in which feature.
        problem: FeatureError,
        /// The line the feature ends on.
        line: Option<usize>,
    },
    /// An ASAP XML file that is truncated or has a bad coordinate.
    #[error("{}: {problem}", path.display())]
    Asap {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: AsapError,
    },
    /// Not UTF-8 text nor an archive: UTF-16, a picture, a binary file.
    #[error("{} {problem}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What it is.
        problem: SniffError,
    },
    /// A damaged zip archive.
    #[error("{} is not GeoJSON: zip archive: {error}", path.display())]
    Zip {
        /// The archive.
        path: PathBuf,
        /// The zip reader's error.
        error: zip::result::ZipError,
    },
    /// An entry of a zip archive that cannot be read as annotations.
    #[error("{} is not GeoJSON: zip archive: {entry}: {error}", path.display())]
    ZipEntry {
        /// The archive.
        path: PathBuf,
        /// The entry's name.
        entry: String,
        /// Why it cannot be read.
        error: Box<ReadError>,
    },
    /// A zip archive without any `.json`/`.geojson` entry.
    #[error("{}: the zip archive holds no .json or .geojson entry", path.display())]
    EmptyZip {
        /// The archive.
        path: PathBuf,
    },
    /// A zip archive inside a zip archive (never read: archives do not nest).
    #[error(
        "{} is not GeoJSON: zip archive: {entry} is itself a zip archive; archives inside \
         archives are not read: unpack it and give its files",
        path.display()
    )]
    NestedZip {
        /// The archive.
        path: PathBuf,
        /// The entry.
        entry: String,
    },
    /// A size over a limit of the resource policy ([`crate::limits`]).
    #[error("{}: {error}", path.display())]
    Limit {
        /// The file.
        path: PathBuf,
        /// Which limit, the size met and how to raise it.
        error: crate::limits::LimitError,
    },
    /// Not a regular file (a FIFO, a device, a directory).
    #[error(transparent)]
    Input(#[from] crate::guard::InputError),
}

impl ReadError {
    fn limit(path: &Path, error: crate::limits::LimitError) -> Self {
        ReadError::Limit {
            path: path.into(),
            error,
        }
    }

    /// The io error `source` of reading `path`, or the limit it carries.
    fn io(path: &Path, source: std::io::Error) -> Self {
        match crate::limits::from_io(&source) {
            Some(error) => ReadError::limit(path, error),
            None => ReadError::Io {
                path: path.into(),
                source,
            },
        }
    }
}

/// Coordinates beyond this many pixels from the origin are beyond any whole-slide image.
pub const MAX_COORDINATE: f64 = 1e9;

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

/// Streams a GeoJSON document: the elements of a top-level array or of a `features` array are
/// parsed and converted one at a time, so a file of millions of features never exists as one
/// JSON tree in memory.
struct Top<'a> {
    out: &'a mut Annotations,
    /// What was wrong with a feature, when the parse stopped there.
    bad: &'a mut Option<FeatureError>,
    /// Where the value streamed is (the top level, or its `features`).
    at: At<'a>,
    /// The values one feature may take.
    budget: &'a Budget,
}

impl Top<'_> {
    /// Converts `v`, at `at`; a bad feature stops the parse and is kept.
    fn take<E: serde::de::Error>(&mut self, v: &Value, at: At) -> Result<(), E> {
        let r = collect(v, at, self.out);
        self.keep(r)
    }

    fn keep<E: serde::de::Error>(&mut self, r: Result<(), FeatureError>) -> Result<(), E> {
        r.map_err(|e| {
            let msg = e.to_string();
            *self.bad = Some(e);
            E::custom(msg)
        })
    }

    /// `features` that is not an array.
    fn scalar<E: serde::de::Error>(mut self, found: &'static str) -> Result<(), E> {
        match self.at {
            At::Top => Err(E::custom(format!(
                "expected a GeoJSON object or an array of features, found {found}"
            ))),
            at => self.keep(Err(FeatureError::not_an_array(at, found))),
        }
    }
}

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
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar("a boolean")
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar("a number")
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar("a number")
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar("a number")
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar("a string")
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.scalar("null")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let (at, mut i) = (self.at, 0);
        loop {
            self.budget.reset();
            let v = match seq.next_element_seed(Counted(self.budget)) {
                Ok(Some(v)) => v,
                Ok(None) => break,
                Err(e) => {
                    let budget = self.budget;
                    budget.blame(|| format!("the feature at {}", At::Index(&at, i)));
                    return Err(e);
                }
            };
            self.take(&v, At::Index(&at, i))?;
            i += 1;
        }
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        if let At::Key(..) = self.at {
            return self.scalar("an object");
        }
        // the members other than `features` (a single feature's, or a collection's own) are
        // held together: one budget for them all
        let mut rest = serde_json::Map::new();
        let mut streamed = false;
        let budget = self.budget;
        budget.reset();
        while let Some(k) = map.next_key::<String>()? {
            if k == "features" {
                map.next_value_seed(Top {
                    out: &mut *self.out,
                    bad: &mut *self.bad,
                    at: At::Key(&At::Top, "features"),
                    budget,
                })?;
                streamed = true;
                budget.reset();
            } else {
                budget.spend::<A::Error>()?;
                let v = map.next_value_seed(Counted(budget))?;
                rest.insert(k, v);
            }
        }
        if !streamed {
            // a single Feature or a bare geometry
            return self.take(&Value::Object(rest), At::Top);
        }
        let r = features::collection_type(&rest);
        self.keep(r)
    }
}

/// Files up to this size (uncompressed, known in advance) are read whole and parsed from
/// memory, about 3× faster than parsing from a reader; larger ones stream (the text never
/// whole in memory). Either way features are converted one at a time, never as one JSON tree.
pub const IN_MEMORY_MAX: u64 = 256 << 20;

/// Reads GeoJSON from `r` (buffered): from memory when `size` (its length, when known) is at
/// most [`IN_MEMORY_MAX`], else streaming.
fn read_json(
    path: &Path,
    r: impl std::io::BufRead,
    size: Option<u64>,
) -> Result<Annotations, ReadError> {
    let max_string = crate::limits::max(crate::limits::Limit::JsonString)
        .map_err(|e| ReadError::limit(path, e))?;
    let mut lenient = Lenient::new(r, max_string);
    match size.filter(|&n| n <= IN_MEMORY_MAX) {
        Some(n) => {
            let mut text = Vec::with_capacity(n as usize);
            lenient
                .read_to_end(&mut text)
                .map_err(|source| ReadError::io(path, source))?;
            parse_json(path, serde_json::Deserializer::from_slice(&text))
        }
        None => parse_json(
            path,
            serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(
                1 << 16,
                lenient,
            )),
        ),
    }
}

fn parse_json<'de, R: serde_json::de::Read<'de>>(
    path: &Path,
    mut de: serde_json::Deserializer<R>,
) -> Result<Annotations, ReadError> {
    let mut out = Annotations::default();
    let mut bad = None;
    let max_values = crate::limits::max(crate::limits::Limit::FeatureValues)
        .map_err(|e| ReadError::limit(path, e))?;
    let budget = Budget::new(max_values);
    let top = Top {
        out: &mut out,
        bad: &mut bad,
        at: At::Top,
        budget: &budget,
    };
    let parsed = serde::de::DeserializeSeed::deserialize(top, &mut de).and_then(|()| de.end());
    match parsed {
        Ok(()) => Ok(out),
        // serde_json's position is the end of the feature: the line is kept
        Err(e) => Err(match (budget.exceeded(), bad) {
            (Some(what), _) => ReadError::limit(
                path,
                crate::limits::LimitError::Exceeded {
                    limit: crate::limits::Limit::FeatureValues,
                    what,
                    value: None,
                    max: budget.max(),
                },
            ),
            (None, Some(problem)) => ReadError::Feature {
                path: path.into(),
                problem,
                line: (e.line() > 0).then_some(e.line()),
            },
            // a limit met while streaming comes back as serde_json's io error
            (None, None) if e.is_io() => ReadError::io(path, e.into()),
            (None, None) => ReadError::Json {
                path: path.into(),
                error: e,
            },
        }),
    }
}

/// Every `.json`/`.geojson` (or gzipped) entry of a zip archive, as QuPath imports them: at
/// most [`Limit::ZipEntries`](crate::limits::Limit::ZipEntries) entries, inflating to at most
/// [`Limit::Decompressed`](crate::limits::Limit::Decompressed) bytes together (each entry's
/// declared size checked before it is read, its actual size while it is); no archive inside.
fn read_zip(
    path: &Path,
    r: impl std::io::Read + std::io::Seek,
    limits: &crate::limits::Limits,
) -> Result<Annotations, ReadError> {
    use crate::limits::{Limit, LimitError};
    let zip = |error| ReadError::Zip {
        path: path.into(),
        error,
    };
    let mut z = zip::ZipArchive::new(r).map_err(zip)?;
    crate::limits::check(Limit::ZipEntries, "the zip archive", z.len() as u64)
        .map_err(|e| ReadError::limit(path, e))?;
    let mut all = Annotations::default();
    let mut entries = 0;
    let mut left = limits.decompressed;
    let over = |entry: &str, value| {
        ReadError::limit(
            path,
            LimitError::Exceeded {
                limit: Limit::Decompressed,
                what: format!("the inflated entries (up to {entry})"),
                value,
                max: limits.decompressed,
            },
        )
    };
    for i in 0..z.len() {
        let f = z.by_index(i).map_err(zip)?;
        let entry = f.name().map(|n| n.to_string()).unwrap_or_default();
        let name = entry.to_ascii_lowercase();
        if !(name.ends_with(".json") || name.ends_with(".geojson") || name.ends_with(".gz")) {
            continue;
        }
        let used = limits.decompressed - left;
        if f.size() > left {
            return Err(over(&entry, Some(used.saturating_add(f.size()))));
        }
        let mut buf = Vec::with_capacity(f.size() as usize);
        // the declared size may lie: one byte past what is left says so
        f.take(left + 1)
            .read_to_end(&mut buf)
            .map_err(|e| zip(zip::result::ZipError::Io(e)))?;
        if buf.len() as u64 > left {
            return Err(over(&entry, None));
        }
        left -= buf.len() as u64;
        if buf.starts_with(b"PK\x03\x04") {
            return Err(ReadError::NestedZip {
                path: path.into(),
                entry,
            });
        }
        let size = buf.len() as u64;
        let part = read_from(
            Path::new(&entry),
            std::io::Cursor::new(buf),
            Some(size),
            left,
        )
        .map_err(|e| ReadError::ZipEntry {
            path: path.into(),
            entry: entry.clone(),
            error: Box::new(e),
        })?;
        all.items.extend(part.items);
        all.skipped += part.skipped;
        all.marks.extend(part.marks);
        entries += 1;
    }
    if entries == 0 {
        return Err(ReadError::EmptyZip { path: path.into() });
    }
    Ok(all)
}

/// Whether `path` names annotations that [`read_annotations`] reads rather than a raster mask,
/// by its extension: `.geojson` or `.json` (either gzipped), a `.zip` of them (as QuPath
/// exports), or ASAP's `.xml`.
pub fn is_geojson_path(path: &Path) -> bool {
    let name = path.to_string_lossy().to_ascii_lowercase();
    [
        ".geojson",
        ".json",
        ".geojson.gz",
        ".json.gz",
        ".zip",
        ".xml",
    ]
    .iter()
    .any(|e| name.ends_with(e))
}

/// Reads the annotations of `path` (a regular file: a FIFO or a device is refused before it
/// is opened), within the resource limits of [`crate::limits`].
pub fn read_annotations(path: &Path) -> Result<Annotations, ReadError> {
    crate::guard::open_input(path)?;
    let limits = crate::limits::Limits::current().map_err(|e| ReadError::limit(path, e))?;
    let file = std::fs::File::open(path).map_err(|e| ReadError::io(path, e))?;
    let size = file.metadata().ok().map(|m| m.len());
    let r = std::io::BufReader::with_capacity(1 << 20, file);
    read_from(path, r, size, limits.decompressed)
}

/// Reads annotations from `r` (`size` bytes when known), told apart by their first bytes: a
/// zip archive, ASAP XML, gzip (every member, inflating to at most `inflate` bytes) or JSON.
/// Zip archives are read only at the top (an entry holding one is refused by [`read_zip`]).
fn read_from<R: std::io::BufRead + std::io::Seek>(
    path: &Path,
    mut r: R,
    size: Option<u64>,
    inflate: u64,
) -> Result<Annotations, ReadError> {
    let io = |e| ReadError::io(path, e);
    let buf = r.fill_buf().map_err(io)?;
    let head = buf[..buf.len().min(4096 + 17)].to_vec();
    if head.starts_with(b"PK\x03\x04") {
        let limits = crate::limits::Limits::current().map_err(|e| ReadError::limit(path, e))?;
        return read_zip(path, r, limits);
    }
    let kind = sniff::sniff(&head).map_err(|problem| ReadError::Format {
        path: path.into(),
        problem,
    })?;
    if kind == sniff::Kind::Xml {
        return asap::read_asap_file(path, r);
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        // every member (`cat a.gz b.gz` makes one file of two), inflated within the limit
        let gz = flate2::bufread::MultiGzDecoder::new(r);
        let bounded = crate::limits::Bounded::new(gz, inflate, "the inflated text");
        return read_json(
            path,
            std::io::BufReader::with_capacity(1 << 20, bounded),
            None,
        );
    }
    read_json(path, r, size)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both ways of reading: streamed through tiny reads, and from memory.
    fn both(text: &str) -> [Result<Annotations, ReadError>; 2] {
        let r = || std::io::BufReader::with_capacity(3, text.as_bytes());
        [
            read_json(Path::new("t.geojson"), r(), None),
            read_json(Path::new("t.geojson"), r(), Some(text.len() as u64)),
        ]
    }

    fn parse(text: &str) -> Annotations {
        let [streamed, in_memory] = both(text);
        let a = streamed.unwrap();
        assert_eq!(a, in_memory.unwrap(), "streamed and in memory alike");
        a
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
        for e in both(&format!("{sq} x")) {
            let e = e.unwrap_err();
            assert!(matches!(e, ReadError::Json { .. }), "{e:?}");
            assert!(e.to_string().contains("line 1"), "{e}");
        }
    }

    #[test]
    fn annotation_files_are_told_from_masks_by_extension() {
        for a in [
            "a.geojson",
            "A.JSON",
            "a.geojson.gz",
            "a.json.gz",
            "export.zip",
            "camelyon.xml",
        ] {
            assert!(is_geojson_path(Path::new(a)), "{a}");
        }
        for m in ["m.png", "m.tif", "m.tiff", "m.ome.tif", "geojson", "a.gz"] {
            assert!(!is_geojson_path(Path::new(m)), "{m}");
        }
    }

    #[test]
    fn a_bad_feature_is_named_with_its_line() {
        let text = "{\"type\": \"FeatureCollection\", \"features\": [\n{\"type\": \"Feature\", \"geometry\": {\"type\": \"Point\", \"coordinates\": [1]}}]}";
        for e in both(text) {
            let e = e.unwrap_err();
            let ReadError::Feature { problem, line, .. } = &e else {
                panic!("{e:?}")
            };
            assert!(
                matches!(problem, FeatureError::In { feature: 1, .. }),
                "{problem:?}"
            );
            assert_eq!(*line, Some(2));
            assert_eq!(
                e.to_string(),
                "t.geojson: feature 1: Point is not a pair of numbers: [1] (the feature ending on \
                 line 2)"
            );
        }
        for e in both("{\"type\": \"Thing\", \"features\": []}") {
            let e = e.unwrap_err();
            assert!(
                matches!(&e, ReadError::Feature { problem: FeatureError::NotACollection(t), .. } if t == "Thing"),
                "{e:?}"
            );
        }
    }
}
