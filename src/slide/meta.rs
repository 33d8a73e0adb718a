//! Slide scale metadata (pixel size, objective power) with where each value came from, and
//! the summary that `h2g info` prints.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Rect, Slide, SlideError};
use crate::units::{parse_loose_number, PixelSize};

/// Where a metadata value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Source {
    /// Read from this slide property.
    Property(String),
    /// Given by the user (`--mpp`).
    Override,
    /// Derived from another value, as described.
    Derived(String),
    /// Not available.
    Missing,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Property(p) => write!(f, "property {p}"),
            Source::Override => f.write_str("--mpp override"),
            Source::Derived(d) => f.write_str(d),
            Source::Missing => f.write_str("missing"),
        }
    }
}

/// The scale of a slide's level 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlideMeta {
    /// Level-0 pixel size.
    pub mpp: Option<PixelSize>,
    /// Where `mpp` came from.
    pub mpp_source: Source,
    /// Objective magnification of level 0.
    pub objective: Option<f64>,
    /// Where `objective` came from.
    pub objective_source: Source,
}

impl SlideMeta {
    /// Reads the scale from a slide's properties; `mpp_override` (µm/px) wins over metadata.
    ///
    /// Pixel size: `openslide.mpp-x/-y`, else `aperio.MPP`, else the TIFF resolution tags
    /// (`tiff.XResolution`/`YResolution` with `tiff.ResolutionUnit` centimeter or inch, which
    /// OpenSlide 3.4 exposes but does not interpret). Objective power: the raw
    /// `openslide.objective-power` property (parsed leniently: "40.0", "2.5x"), else
    /// `aperio.AppMag`, else `hamamatsu.SourceLens`, else estimated as 10 / mpp (a 0.25 µm
    /// pixel is a 40× scan).
    pub fn from_properties(props: &BTreeMap<String, String>, mpp_override: Option<f64>) -> Self {
        let num = |k: &str| props.get(k).and_then(|v| parse_loose_number(v));
        let (mpp, mpp_source) = if let Some(m) = mpp_override {
            (Some(PixelSize::square(m)), Source::Override)
        } else if let (Some(x), Some(y)) = (num("openslide.mpp-x"), num("openslide.mpp-y")) {
            (
                Some(PixelSize { x, y }),
                Source::Property("openslide.mpp-x/y".into()),
            )
        } else if let Some(m) = num("aperio.MPP") {
            (
                Some(PixelSize::square(m)),
                Source::Property("aperio.MPP".into()),
            )
        } else if let Some(p) = tiff_resolution(props) {
            (
                Some(p),
                Source::Property("tiff.XResolution/YResolution".into()),
            )
        } else {
            (None, Source::Missing)
        };
        let (objective, objective_source) = [
            "openslide.objective-power",
            "aperio.AppMag",
            "hamamatsu.SourceLens",
        ]
        .iter()
        .find_map(|k| num(k).map(|v| (Some(v), Source::Property((*k).into()))))
        .unwrap_or_else(|| match mpp {
            Some(p) => (
                Some(10.0 / p.x),
                Source::Derived("estimated as 10 / mpp (0.25 µm/px = 40×)".into()),
            ),
            None => (None, Source::Missing),
        });
        SlideMeta {
            mpp,
            mpp_source,
            objective,
            objective_source,
        }
    }
}

fn tiff_resolution(props: &BTreeMap<String, String>) -> Option<PixelSize> {
    let unit = props.get("tiff.ResolutionUnit")?.to_ascii_lowercase();
    let per = match unit.as_str() {
        "centimeter" | "3" => 10_000.0,
        "inch" | "2" => 25_400.0,
        _ => return None,
    };
    let x = parse_loose_number(props.get("tiff.XResolution")?)?;
    let y = parse_loose_number(props.get("tiff.YResolution")?)?;
    let p = PixelSize {
        x: per / x,
        y: per / y,
    };
    // Scanners never go below 0.05 µm/px; 72-dpi style defaults are not a scale either.
    (p.is_valid() && p.x > 0.05 && p.x < 100.0).then_some(p)
}

/// One pyramid level in a [`SlideInfo`].
#[derive(Debug, Clone, Serialize)]
pub struct LevelInfo {
    /// Level index.
    pub level: usize,
    /// Width in pixels.
    pub width: u64,
    /// Height in pixels.
    pub height: u64,
    /// Downsample relative to level 0.
    pub downsample: f64,
    /// Pixel size at this level, when known.
    pub mpp: Option<PixelSize>,
    /// Equivalent magnification, when known.
    pub magnification: Option<f64>,
}

/// One associated image in a [`SlideInfo`].
#[derive(Debug, Clone, Serialize)]
pub struct AssociatedInfo {
    /// Its name.
    pub name: String,
    /// Width (0 when it could not be read).
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// Everything `h2g info` reports about a slide.
#[derive(Debug, Clone, Serialize)]
pub struct SlideInfo {
    /// The slide's path or description.
    pub source: String,
    /// Format / vendor.
    pub vendor: Option<String>,
    /// How pixels are read (library, direct tile decoding).
    pub reader: String,
    /// Scale metadata.
    #[serde(flatten)]
    pub meta: SlideMeta,
    /// The pyramid.
    pub levels: Vec<LevelInfo>,
    /// Level-0 rectangle of the scanned area.
    pub bounds: Rect,
    /// Associated images.
    pub associated: Vec<AssociatedInfo>,
    /// All raw properties.
    pub properties: BTreeMap<String, String>,
}

impl SlideInfo {
    /// Gathers the summary of `slide` with the given scale.
    pub fn of(slide: &dyn Slide, meta: SlideMeta) -> Result<Self, SlideError> {
        let levels = (0..slide.level_count())
            .map(|l| {
                let (width, height) = slide.level_size(l)?;
                let downsample = slide.level_downsample(l)?;
                Ok(LevelInfo {
                    level: l,
                    width,
                    height,
                    downsample,
                    mpp: meta.mpp.map(|p| p.scaled(downsample)),
                    magnification: meta.objective.map(|o| o / downsample),
                })
            })
            .collect::<Result<Vec<_>, SlideError>>()?;
        let associated = slide
            .associated_names()
            .into_iter()
            .map(|name| {
                let (width, height) = slide
                    .read_associated(&name)
                    .map(|i| (i.width, i.height))
                    .unwrap_or((0, 0));
                AssociatedInfo {
                    name,
                    width,
                    height,
                }
            })
            .collect();
        Ok(SlideInfo {
            source: slide.source(),
            vendor: slide.vendor(),
            reader: slide.reader(),
            meta,
            levels,
            bounds: slide.bounds(),
            associated,
            properties: slide.properties().clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn objective_power_parsed_from_raw_values_openslide_drops() {
        let m = SlideMeta::from_properties(&props(&[("openslide.objective-power", "2.5x")]), None);
        assert_eq!(m.objective, Some(2.5));
        let m = SlideMeta::from_properties(&props(&[("openslide.objective-power", "40.0")]), None);
        assert_eq!(m.objective, Some(40.0));
    }

    #[test]
    fn missing_scale_is_missing_and_override_wins() {
        let m = SlideMeta::from_properties(&props(&[]), None);
        assert_eq!((m.mpp, m.objective), (None, None));
        let m = SlideMeta::from_properties(
            &props(&[("openslide.mpp-x", "0.5"), ("openslide.mpp-y", "0.5")]),
            Some(0.25),
        );
        assert_eq!(m.mpp, Some(PixelSize::square(0.25)));
        assert_eq!(m.mpp_source, Source::Override);
        assert_eq!(m.objective, Some(40.0));
    }

    #[test]
    fn tiff_resolution_in_centimetres_gives_mpp() {
        let m = SlideMeta::from_properties(
            &props(&[
                ("tiff.ResolutionUnit", "centimeter"),
                ("tiff.XResolution", "10000"),
                ("tiff.YResolution", "10000"),
            ]),
            None,
        );
        assert_eq!(m.mpp, Some(PixelSize::square(1.0)));
        // a 72-dpi default is not a scan resolution
        let m = SlideMeta::from_properties(
            &props(&[
                ("tiff.ResolutionUnit", "inch"),
                ("tiff.XResolution", "72"),
                ("tiff.YResolution", "72"),
            ]),
            None,
        );
        assert_eq!(m.mpp, None);
    }
}
