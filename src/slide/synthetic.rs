//! An in-memory synthetic slide for tests: a procedural pattern with any pyramid and metadata.

use std::collections::BTreeMap;

use super::{Rect, RgbImage, Slide, SlideError};

/// A slide whose pixels are a function of level-0 coordinates.
///
/// Level `l` pixel (x, y) is the average of the level-0 pattern over the block it covers, so
/// levels agree with each other the way a real pyramid does. The pattern: near-white glass
/// (240–255, with faint steps every 16 px along x and y) around a pink "tissue" disc centred
/// in the slide, of radius a third of the shorter side (unless built [`without_tissue`]).
///
/// [`without_tissue`]: SyntheticSlide::without_tissue
#[derive(Debug, Clone)]
pub struct SyntheticSlide {
    width: u64,
    height: u64,
    tissue: bool,
    downsamples: Vec<f64>,
    props: BTreeMap<String, String>,
}

impl SyntheticSlide {
    /// A `width × height` slide with the given level downsamples (the first must be 1).
    pub fn new(width: u64, height: u64, downsamples: &[f64]) -> Self {
        SyntheticSlide {
            width,
            height,
            tissue: true,
            downsamples: downsamples.to_vec(),
            props: BTreeMap::new(),
        }
    }

    /// Adds a metadata property (e.g. `openslide.mpp-x`).
    pub fn with_property(mut self, key: &str, value: &str) -> Self {
        self.props.insert(key.into(), value.into());
        self
    }

    /// Blank glass only.
    pub fn without_tissue(mut self) -> Self {
        self.tissue = false;
        self
    }

    /// Centre and radius of the tissue disc, level-0 pixels.
    pub fn disc(&self) -> (f64, f64, f64) {
        (
            self.width as f64 / 2.0,
            self.height as f64 / 2.0,
            self.width.min(self.height) as f64 / 3.0,
        )
    }

    /// The level-0 pattern at (x, y).
    pub fn pattern(&self, x: u64, y: u64) -> [u8; 3] {
        let (cx, cy, r) = self.disc();
        let (dx, dy) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
        let (sx, sy) = (((x / 16) % 16) as u8, ((y / 16) % 16) as u8);
        if self.tissue && dx * dx + dy * dy <= r * r {
            [200 + sx, 120 + sy, 180]
        } else {
            [240 + sx, 240 + sy, 250]
        }
    }
}

impl Slide for SyntheticSlide {
    fn source(&self) -> String {
        format!("synthetic {}x{}", self.width, self.height)
    }
    fn vendor(&self) -> Option<String> {
        Some("synthetic".into())
    }
    fn level_count(&self) -> usize {
        self.downsamples.len()
    }
    fn level_size(&self, level: usize) -> Result<(u64, u64), SlideError> {
        let ds = self.level_downsample(level)?;
        Ok((
            (self.width as f64 / ds).floor().max(1.0) as u64,
            (self.height as f64 / ds).floor().max(1.0) as u64,
        ))
    }
    fn level_downsample(&self, level: usize) -> Result<f64, SlideError> {
        self.downsamples
            .get(level)
            .copied()
            .ok_or(SlideError::NoSuchLevel {
                level,
                count: self.downsamples.len(),
            })
    }
    fn properties(&self) -> &BTreeMap<String, String> {
        &self.props
    }
    fn bounds(&self) -> Rect {
        Rect {
            x: 0,
            y: 0,
            width: self.width,
            height: self.height,
        }
    }
    fn associated_names(&self) -> Vec<String> {
        vec!["thumbnail".into()]
    }
    fn read_associated(&self, name: &str) -> Result<RgbImage, SlideError> {
        if name != "thumbnail" {
            return Err(SlideError::NoSuchAssociated {
                name: name.into(),
                available: "thumbnail".into(),
            });
        }
        let last = self.level_count() - 1;
        let (w, h) = self.level_size(last)?;
        self.read_region(last, 0, 0, w as u32, h as u32)
    }
    fn read_region(
        &self,
        level: usize,
        x: u64,
        y: u64,
        width: u32,
        height: u32,
    ) -> Result<RgbImage, SlideError> {
        let ds = self.level_downsample(level)?;
        super::check_region(width, height)?;
        let step = ds.round().max(1.0) as u64;
        let mut data = Vec::with_capacity(3 * width as usize * height as usize);
        for j in 0..height as u64 {
            for i in 0..width as u64 {
                let (x0, y0) = (((x + i) as f64 * ds) as u64, ((y + j) as f64 * ds) as u64);
                if x0 >= self.width || y0 >= self.height {
                    data.extend_from_slice(&[255, 255, 255]);
                    continue;
                }
                let mut acc = [0u64; 3];
                let mut n = 0;
                for yy in y0..(y0 + step).min(self.height) {
                    for xx in x0..(x0 + step).min(self.width) {
                        let p = self.pattern(xx, yy);
                        for c in 0..3 {
                            acc[c] += p[c] as u64;
                        }
                        n += 1;
                    }
                }
                data.extend(acc.iter().map(|a| ((a + n / 2) / n) as u8));
            }
        }
        Ok(RgbImage {
            width,
            height,
            data,
        })
    }
}
