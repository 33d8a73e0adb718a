//! A slide for the model tests whose pixels are a known function of position, so a test can
//! recompute any patch or level it reads without h2g's readers.

use std::collections::BTreeMap;

use h2g::slide::{check_region, Rect, RgbImage, Slide, SlideError};

/// A `width × height` slide with any pyramid whose level-`l` pixel (i, j) is `colour` at the
/// level-0 centre of the block it covers, in coordinates where level-0 pixel k's centre is k:
/// ((i + ½) · d − ½, (j + ½) · d − ½) at downsample d, so level 0 is `colour(x, y)` itself.
/// White beyond a level's size.
pub struct PatternSlide {
    /// Level-0 width.
    pub width: u64,
    /// Level-0 height.
    pub height: u64,
    /// Each level's downsample (the first 1).
    pub downsamples: Vec<f64>,
    props: BTreeMap<String, String>,
    colour: fn(f64, f64) -> [u8; 3],
}

impl PatternSlide {
    /// A slide at `objective`× (its level-0 pixel size 10 / objective µm, as OpenSlide's
    /// properties say) painted by `colour`.
    pub fn new(
        (width, height): (u64, u64),
        downsamples: &[f64],
        objective: f64,
        colour: fn(f64, f64) -> [u8; 3],
    ) -> Self {
        let mpp = format!("{}", 10.0 / objective);
        let props = BTreeMap::from([
            ("openslide.objective-power".into(), format!("{objective}")),
            ("openslide.mpp-x".into(), mpp.clone()),
            ("openslide.mpp-y".into(), mpp),
        ]);
        PatternSlide {
            width,
            height,
            downsamples: downsamples.to_vec(),
            props,
            colour,
        }
    }

    /// The objective power, from the slide's own property.
    pub fn objective(&self) -> f64 {
        self.props["openslide.objective-power"].parse().unwrap()
    }

    /// Level `l`'s size: the level-0 size over its downsample, rounded down (at least 1).
    pub fn size(&self, l: usize) -> (u64, u64) {
        let d = self.downsamples[l];
        (
            ((self.width as f64 / d).floor() as u64).max(1),
            ((self.height as f64 / d).floor() as u64).max(1),
        )
    }

    /// Level `l` pixel (i, j).
    pub fn pixel(&self, l: usize, i: u64, j: u64) -> [u8; 3] {
        let d = self.downsamples[l];
        let (w, h) = self.size(l);
        if i >= w || j >= h {
            return [255; 3];
        }
        (self.colour)((i as f64 + 0.5) * d - 0.5, (j as f64 + 0.5) * d - 0.5)
    }
}

impl Slide for PatternSlide {
    fn source(&self) -> String {
        format!("pattern test slide {}x{}", self.width, self.height)
    }
    fn vendor(&self) -> Option<String> {
        None
    }
    fn level_count(&self) -> usize {
        self.downsamples.len()
    }
    fn level_size(&self, level: usize) -> Result<(u64, u64), SlideError> {
        self.level_downsample(level)?;
        Ok(self.size(level))
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
        Vec::new()
    }
    fn read_associated(&self, name: &str) -> Result<RgbImage, SlideError> {
        Err(SlideError::NoSuchAssociated {
            name: name.into(),
            available: String::new(),
        })
    }
    fn read_region(
        &self,
        level: usize,
        x: u64,
        y: u64,
        width: u32,
        height: u32,
    ) -> Result<RgbImage, SlideError> {
        self.level_downsample(level)?;
        check_region(width, height)?;
        let mut data = Vec::with_capacity(3 * width as usize * height as usize);
        for j in 0..height as u64 {
            for i in 0..width as u64 {
                data.extend_from_slice(&self.pixel(level, x + i, y + j));
            }
        }
        Ok(RgbImage {
            width,
            height,
            data,
        })
    }
}
