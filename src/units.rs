//! Units of scale: pixel size (µm per pixel), objective magnification, downsample factors,
//! and the resolution a caller asks for.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Physical size of one pixel in micrometres, along x and y.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PixelSize {
    /// µm per pixel along x.
    pub x: f64,
    /// µm per pixel along y.
    pub y: f64,
}

impl PixelSize {
    /// A square pixel of `um` micrometres.
    pub fn square(um: f64) -> Self {
        PixelSize { x: um, y: um }
    }
    /// Both sizes finite and positive.
    pub fn is_valid(&self) -> bool {
        self.x.is_finite() && self.y.is_finite() && self.x > 0.0 && self.y > 0.0
    }
    /// The size of a pixel `factor` times larger.
    pub fn scaled(&self, factor: f64) -> Self {
        PixelSize {
            x: self.x * factor,
            y: self.y * factor,
        }
    }
}

/// A length given in micrometres or in level-0 pixels, e.g. `2um` or `1.5px`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Length {
    /// Micrometres.
    Um(f64),
    /// Level-0 (full-resolution) pixels.
    Px(f64),
}

/// Why a length or a resolution could not be read from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitParseError {
    /// A length without `um` or `px`.
    #[error("'{0}': give a unit, micrometres or level-0 pixels (e.g. 2um or 1.5px)")]
    NoUnit(String),
    /// The number part is not a number.
    #[error("'{input}': '{number}' is not a number")]
    NotANumber {
        /// The whole text.
        input: String,
        /// The part that should be a number.
        number: String,
    },
    /// A length below zero, infinite or NaN.
    #[error("'{0}': must be finite and ≥ 0")]
    NegativeLength(String),
    /// A resolution value of zero or less, infinite or NaN.
    #[error("'{0}': the value must be positive")]
    NotPositive(String),
    /// `level:` followed by something other than a whole number.
    #[error("'{0}': level must be a whole number")]
    Level(String),
    /// None of the resolution forms.
    #[error(
        "'{0}' is not a resolution: use 10x (magnification), 1.0um or mpp:1.0 (µm/px), \
         ds:4 (downsample) or level:2"
    )]
    NotAResolution(String),
}

impl FromStr for Length {
    type Err = UnitParseError;
    /// Parses `2um` / `2µm` or `1.5px` (the unit is required).
    fn from_str(s: &str) -> Result<Self, UnitParseError> {
        let t = s.trim().to_ascii_lowercase();
        let (v, unit) = if let Some(v) = t.strip_suffix("um").or_else(|| t.strip_suffix("µm")) {
            (v, "um")
        } else if let Some(v) = t.strip_suffix("px") {
            (v, "px")
        } else {
            return Err(UnitParseError::NoUnit(s.to_string()));
        };
        let x: f64 = v.trim().parse().map_err(|_| UnitParseError::NotANumber {
            input: s.to_string(),
            number: v.to_string(),
        })?;
        if !(x.is_finite() && x >= 0.0) {
            return Err(UnitParseError::NegativeLength(s.to_string()));
        }
        Ok(if unit == "um" {
            Length::Um(x)
        } else {
            Length::Px(x)
        })
    }
}

/// The scale at which a caller wants pixels, relative to a slide.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resolution {
    /// A pyramid level as stored.
    Level(usize),
    /// A downsample factor relative to level 0.
    Downsample(f64),
    /// A pixel size in µm per pixel.
    Mpp(f64),
    /// An objective magnification, e.g. 10 for "10×".
    Magnification(f64),
}

impl FromStr for Resolution {
    type Err = UnitParseError;
    /// Parses `level:2`, `ds:4`, `mpp:1.0` / `1.0um`, `10x`.
    fn from_str(s: &str) -> Result<Self, UnitParseError> {
        let t = s.trim().to_ascii_lowercase();
        let num = |v: &str| -> Result<f64, UnitParseError> {
            let x: f64 = v.trim().parse().map_err(|_| UnitParseError::NotANumber {
                input: s.to_string(),
                number: v.to_string(),
            })?;
            if x.is_finite() && x > 0.0 {
                Ok(x)
            } else {
                Err(UnitParseError::NotPositive(s.to_string()))
            }
        };
        if let Some(v) = t.strip_prefix("level:") {
            return v
                .trim()
                .parse()
                .map(Resolution::Level)
                .map_err(|_| UnitParseError::Level(s.to_string()));
        }
        if let Some(v) = t.strip_prefix("ds:") {
            return num(v).map(Resolution::Downsample);
        }
        if let Some(v) = t.strip_prefix("mpp:") {
            return num(v).map(Resolution::Mpp);
        }
        if let Some(v) = t.strip_suffix("um").or_else(|| t.strip_suffix("µm")) {
            return num(v).map(Resolution::Mpp);
        }
        if let Some(v) = t.strip_suffix('x') {
            return num(v).map(Resolution::Magnification);
        }
        Err(UnitParseError::NotAResolution(s.to_string()))
    }
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resolution::Level(l) => write!(f, "level {l}"),
            Resolution::Downsample(d) => write!(f, "downsample {d}"),
            Resolution::Mpp(m) => write!(f, "{m} µm/px"),
            Resolution::Magnification(m) => write!(f, "{m}×"),
        }
    }
}

/// Parses a number as vendors write magnifications and sizes: `40`, `40.0`, `2.5x`, ` 20X `.
///
/// ```
/// assert_eq!(h2g::units::parse_loose_number("2.5x"), Some(2.5));
/// assert_eq!(h2g::units::parse_loose_number("40.0"), Some(40.0));
/// assert_eq!(h2g::units::parse_loose_number(""), None);
/// assert_eq!(h2g::units::parse_loose_number("-1"), None);
/// ```
pub fn parse_loose_number(s: &str) -> Option<f64> {
    let t = s.trim().trim_end_matches(['x', 'X']).trim();
    let v: f64 = t.parse().ok()?;
    (v.is_finite() && v > 0.0).then_some(v)
}

/// The largest pixel size taken, in µm per pixel: a millimetre. Whole-slide images have
/// 0.1–10 µm; beyond this a value is a typo, and resolution tags made from it round to zero.
pub const MAX_MPP: f64 = 1000.0;

/// The largest area taken by `--min-area` / `--max-hole`, in µm²: a square metre, far beyond
/// any slide (a glass slide is about 2 000 mm²).
pub const MAX_AREA_UM2: f64 = 1e12;

/// A value out of its range: a pixel size or an area given on the command line or in a spec.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RangeError {
    /// A pixel size of zero or less, not a number, infinite or above [`MAX_MPP`].
    #[error(
        "{flag} {value}: a pixel size is a number of µm per pixel above 0 and at most {MAX_MPP} \
         (whole-slide images have about 0.25)"
    )]
    PixelSize {
        /// The option (or column) that gave it.
        flag: String,
        /// The value as given.
        value: String,
    },
    /// An area below zero, not a number, infinite or above [`MAX_AREA_UM2`].
    #[error("{flag} {value}: an area is a number of µm² from 0 to {MAX_AREA_UM2:e}")]
    Area {
        /// The option that gave it.
        flag: String,
        /// The value as given.
        value: String,
    },
    /// A batch size that is not a whole number from 1 to [`MAX_BATCH`].
    #[error("--batch {0}: patches per inference call are a whole number from 1 to {MAX_BATCH}")]
    Batch(String),
    /// A thread count that is not 0 (every core) or a whole number up to [`MAX_THREADS`].
    #[error(
        "--threads {asked}: give 0 (every core) or a whole number up to {MAX_THREADS} (this \
         machine has {cores} cores)"
    )]
    Threads {
        /// The value as given.
        asked: String,
        /// The machine's cores.
        cores: usize,
    },
    /// A count of slides at once that is not 0 (automatic) or a whole number up to
    /// [`MAX_JOBS`].
    #[error(
        "--jobs {0}: give 0 (one slide per 4 cores) or a whole number of slides up to {MAX_JOBS}"
    )]
    Jobs(String),
}

/// The most slides `h2g run` processes at once (`--jobs`): each is a worker thread and a
/// child process.
pub const MAX_JOBS: usize = 256;

/// `--jobs` as given: 0 (automatic) or a whole number up to [`MAX_JOBS`].
pub fn parse_jobs(s: &str) -> Result<usize, RangeError> {
    match s.trim().parse::<usize>() {
        Ok(n) if n <= MAX_JOBS => Ok(n),
        _ => Err(RangeError::Jobs(s.to_string())),
    }
}

/// The most patches one inference call takes (`--batch`): 1024 patches of 256 × 256 × 3
/// floats are 800 MB of input.
pub const MAX_BATCH: usize = 1024;

/// The most threads a `--threads` may ask for; above it a value is taken for a typo and
/// refused. Between the machine's cores and this, it is lowered to the cores
/// ([`threads_for`]).
pub const MAX_THREADS: usize = 1024;

/// `--batch` as given: a whole number from 1 to [`MAX_BATCH`].
pub fn parse_batch(s: &str) -> Result<usize, RangeError> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_BATCH).contains(&n) => Ok(n),
        _ => Err(RangeError::Batch(s.to_string())),
    }
}

/// A thread count as asked for and as it will run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threads {
    /// As given (0: every core).
    pub asked: usize,
    /// What runs: `asked`, or the machine's cores where it asked for more.
    pub used: usize,
}

impl Threads {
    /// Whether more threads were asked for than the machine has (and `used` is its cores).
    pub fn lowered(&self) -> bool {
        self.used != self.asked
    }
}

/// `--threads` as given, on a machine of `cores` cores: 0 (every core) or a count up to
/// [`MAX_THREADS`], lowered to `cores` (threads beyond the cores only take memory).
pub fn threads_for(s: &str, cores: usize) -> Result<Threads, RangeError> {
    let cores = cores.max(1);
    match s.trim().parse::<usize>() {
        Ok(asked) if asked <= MAX_THREADS => Ok(Threads {
            asked,
            used: if asked > cores { cores } else { asked },
        }),
        _ => Err(RangeError::Threads {
            asked: s.to_string(),
            cores,
        }),
    }
}

/// `value` if it is a usable pixel size (µm per pixel), given by `flag`.
pub fn check_mpp(flag: &str, value: f64) -> Result<f64, RangeError> {
    if value.is_finite() && value > 0.0 && value <= MAX_MPP {
        return Ok(value);
    }
    Err(RangeError::PixelSize {
        flag: flag.to_string(),
        value: format!("{value:?}"),
    })
}

/// `value` if it is a usable area in µm² (0 included), given by `flag`.
pub fn check_area(flag: &str, value: f64) -> Result<f64, RangeError> {
    if value.is_finite() && (0.0..=MAX_AREA_UM2).contains(&value) {
        return Ok(value);
    }
    Err(RangeError::Area {
        flag: flag.to_string(),
        value: format!("{value:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolutions_parse() {
        assert_eq!("10x".parse(), Ok(Resolution::Magnification(10.0)));
        assert_eq!("2.5X".parse(), Ok(Resolution::Magnification(2.5)));
        assert_eq!("1.0um".parse(), Ok(Resolution::Mpp(1.0)));
        assert_eq!("mpp:0.5".parse(), Ok(Resolution::Mpp(0.5)));
        assert_eq!("ds:4".parse(), Ok(Resolution::Downsample(4.0)));
        assert_eq!("level:2".parse(), Ok(Resolution::Level(2)));
        assert!("0x".parse::<Resolution>().is_err());
        assert!("ten".parse::<Resolution>().is_err());
        assert!("level:-1".parse::<Resolution>().is_err());
    }

    #[test]
    fn pixel_sizes_and_areas_out_of_range_are_named_with_the_range() {
        assert_eq!(check_mpp("--mpp", 0.25), Ok(0.25));
        assert_eq!(check_mpp("--mpp", MAX_MPP), Ok(MAX_MPP));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e300, 1000.5] {
            let e = check_mpp("--mpp", bad).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("--mpp {bad:?}: a pixel size is a number of µm per pixel above 0 and at most 1000")),
                "{e}"
            );
        }
        assert_eq!(check_area("--min-area", 0.0), Ok(0.0));
        assert_eq!(check_area("--min-area", 5e5), Ok(5e5));
        for bad in [-1.0, f64::NAN, f64::NEG_INFINITY, 1e13] {
            assert_eq!(
                check_area("--max-hole", bad).unwrap_err().to_string(),
                format!("--max-hole {bad:?}: an area is a number of µm² from 0 to 1e12")
            );
        }
    }

    #[test]
    fn batch_and_threads_are_checked_against_their_ranges() {
        assert_eq!(parse_batch("16").unwrap(), 16);
        for bad in ["0", "1025", "-3", "x", ""] {
            assert!(matches!(parse_batch(bad), Err(RangeError::Batch(v)) if v == bad));
        }
        assert_eq!(threads_for("0", 8).unwrap(), Threads { asked: 0, used: 0 });
        assert_eq!(threads_for("8", 8).unwrap(), Threads { asked: 8, used: 8 });
        let t = threads_for("100", 8).unwrap();
        assert_eq!((t.used, t.lowered()), (8, true));
        let e = threads_for("1025", 8).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--threads 1025: give 0 (every core) or a whole number up to 1024 (this machine has \
             8 cores)"
        );
        assert!(threads_for("-1", 2).is_err());
        assert_eq!(parse_jobs("0").unwrap(), 0);
        assert_eq!(parse_jobs("256").unwrap(), 256);
        assert!(matches!(parse_jobs("100000"), Err(RangeError::Jobs(_))));
    }
}
