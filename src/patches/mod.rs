//! Patch grids and their labels: a non-overlapping grid of square patches at
//! a target resolution, each patch's tissue and tumour fractions computed exactly from masks
//! at the masks' own resolution, and the paper's keep/label rules.

mod command;
mod fractions;
mod run;

use serde::Serialize;

pub use command::{run_patches, PatchesDone, PatchesObserver, PatchesRun, MAX_PATCH_SIDE};
pub use fractions::{area_fractions, FractionError};
pub use run::{
    build_patches, read_patch, write_csv, MaskFile, PatchError, PatchRecord, PatchSpec, PatchTable,
    TissueSource,
};

/// A non-overlapping grid of square patches over level 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PatchGrid {
    /// Patch side in output pixels (256).
    pub size: u32,
    /// Level-0 pixels per output pixel (4 for 10× on a 40× slide).
    pub downsample: f64,
    /// Patches across.
    pub cols: u32,
    /// Patches down.
    pub rows: u32,
}

impl PatchGrid {
    /// The grid of whole patches inside a `width × height` level 0 (partial edge patches are
    /// left out).
    pub fn new(width: u64, height: u64, size: u32, downsample: f64) -> Self {
        let side = size as f64 * downsample;
        PatchGrid {
            size,
            downsample,
            cols: (width as f64 / side).floor() as u32,
            rows: (height as f64 / side).floor() as u32,
        }
    }

    /// Side of a patch in level-0 pixels.
    pub fn side(&self) -> f64 {
        self.size as f64 * self.downsample
    }

    /// Level-0 top-left corner of patch (col, row), rounded to whole pixels.
    pub fn origin(&self, col: u32, row: u32) -> (u64, u64) {
        let s = self.side();
        (
            (col as f64 * s).round() as u64,
            (row as f64 * s).round() as u64,
        )
    }

    /// Number of patches.
    pub fn len(&self) -> usize {
        self.cols as usize * self.rows as usize
    }

    /// Whether the grid has no patch.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The label a patch gets from its fractions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PatchLabel {
    /// Tumour fraction above the tumour threshold.
    Tumour,
    /// Tumour fraction exactly 0.
    NonTumour,
    /// Tumour fraction in (0, threshold]: discarded by the paper's rule.
    Ambiguous,
    /// Tissue fraction at or below the tissue threshold: discarded.
    Background,
    /// No annotation given: kept on tissue alone.
    Unlabelled,
}

impl PatchLabel {
    /// Every label, kept ones first.
    pub const ALL: [PatchLabel; 5] = [
        PatchLabel::Tumour,
        PatchLabel::NonTumour,
        PatchLabel::Unlabelled,
        PatchLabel::Ambiguous,
        PatchLabel::Background,
    ];

    /// Whether the paper's rules keep this patch.
    pub fn kept(self) -> bool {
        matches!(
            self,
            PatchLabel::Tumour | PatchLabel::NonTumour | PatchLabel::Unlabelled
        )
    }

    /// The label as written in CSV files.
    pub fn as_str(self) -> &'static str {
        match self {
            PatchLabel::Tumour => "tumour",
            PatchLabel::NonTumour => "non-tumour",
            PatchLabel::Ambiguous => "ambiguous",
            PatchLabel::Background => "background",
            PatchLabel::Unlabelled => "unlabelled",
        }
    }
}

/// The keep/label thresholds (the paper: tissue > 25 %, tumour > 25 %).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LabelRule {
    /// Keep patches whose tissue fraction is above this.
    pub min_tissue: f64,
    /// Tumour when the tumour fraction is above this; non-tumour when exactly 0.
    pub min_tumour: f64,
}

impl Default for LabelRule {
    fn default() -> Self {
        LabelRule {
            min_tissue: 0.25,
            min_tumour: 0.25,
        }
    }
}

impl LabelRule {
    /// The label of a patch with these fractions (`tumour` is `None` without an annotation).
    ///
    /// ```
    /// use h2g::patches::{LabelRule, PatchLabel};
    /// let r = LabelRule::default();
    /// assert_eq!(r.label(0.8, Some(0.3)), PatchLabel::Tumour);
    /// assert_eq!(r.label(0.8, Some(0.0)), PatchLabel::NonTumour);
    /// assert_eq!(r.label(0.8, Some(0.25)), PatchLabel::Ambiguous);
    /// assert_eq!(r.label(0.25, Some(0.9)), PatchLabel::Background);
    /// assert_eq!(r.label(0.3, None), PatchLabel::Unlabelled);
    /// ```
    pub fn label(&self, tissue: f64, tumour: Option<f64>) -> PatchLabel {
        if tissue <= self.min_tissue {
            return PatchLabel::Background;
        }
        match tumour {
            None => PatchLabel::Unlabelled,
            Some(t) if t > self.min_tumour => PatchLabel::Tumour,
            Some(0.0) => PatchLabel::NonTumour,
            Some(_) => PatchLabel::Ambiguous,
        }
    }
}
