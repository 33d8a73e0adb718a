//! `h2g patches` as one library call ([`run_patches`]): a slide's patch table written as CSV,
//! and its kept patches as PNG files when asked, committed as one set of outputs.

use std::path::{Path, PathBuf};

use super::run::{build_patches, export_into, write_csv, MaskFile, PatchSpec, PatchTable};
use super::{PatchError, TissueSource};
use crate::output::OutputSet;
use crate::slide::{open_slide, SlideMeta};

pub use crate::limits::MAX_PATCH_SIDE;

/// What `h2g patches` does for one slide.
#[derive(Debug, Clone)]
pub struct PatchesRun {
    /// The slide.
    pub slide: PathBuf,
    /// Its level-0 pixel size in µm, for slides that record none.
    pub mpp: Option<f64>,
    /// The grid and the labelling rule.
    pub spec: PatchSpec,
    /// Where the tissue comes from.
    pub tissue: TissueSource,
    /// The tumour annotations, if any.
    pub tumour: Option<MaskFile>,
    /// The CSV to write.
    pub csv: PathBuf,
    /// A folder to write the kept patches into as PNG files, `STEM_x{X}_y{Y}_{label}.png`.
    pub export: Option<PathBuf>,
    /// The most pixels of a flat picture read as the slide.
    pub max_picture_pixels: u64,
}

/// What a front end hears of a patches run; the default does nothing.
pub trait PatchesObserver: Sync {
    /// `n` more rows of the masks have been read.
    fn mask_rows(&self, _n: u64) {}
    /// The export of `patches` PNG files begins.
    fn export_started(&self, _patches: u64) {}
    /// `n` more patches have been exported.
    fn exported(&self, _n: u64) {}
}

impl PatchesObserver for () {}

/// What a patches run wrote.
#[derive(Debug, Clone)]
pub struct PatchesDone {
    /// The table, every patch with its fractions and label.
    pub table: PatchTable,
    /// The rows written to the CSV.
    pub rows: usize,
    /// The PNG files exported, when an export was asked for.
    pub exported: Option<usize>,
}

impl PatchesRun {
    /// Checks the settings before any file is read.
    pub fn check(&self) -> Result<(), PatchError> {
        for (flag, value) in [
            ("--min-tissue", self.spec.rule.min_tissue),
            ("--min-tumour", self.spec.rule.min_tumour),
        ] {
            if !(0.0..1.0).contains(&value) {
                return Err(PatchError::Threshold { flag, value });
            }
        }
        if !(1..=MAX_PATCH_SIDE).contains(&self.spec.size) {
            return Err(PatchError::Side(self.spec.size));
        }
        if let Some(dir) = &self.export {
            if std::fs::metadata(dir).is_ok_and(|m| !m.is_dir()) {
                return Err(PatchError::ExportNotAFolder(dir.clone()));
            }
        }
        Ok(())
    }
}

/// Builds the patch table of `run.slide` and writes it as CSV, with the kept patches as PNG
/// files into `run.export` when given: the CSV and the PNGs are one set, put in place only
/// when every file is complete (the PNGs first, the CSV last), and PNGs an earlier export of
/// the same slide left in the folder that this one did not write are removed. An error or a
/// signal leaves the earlier outputs as they were and no new file.
pub fn run_patches(
    run: &PatchesRun,
    observer: &dyn PatchesObserver,
) -> Result<PatchesDone, PatchError> {
    run.check()?;
    let slide = open_slide(&run.slide, run.max_picture_pixels)?;
    let meta = SlideMeta::from_properties(slide.properties(), run.mpp);
    let table = build_patches(
        slide.as_ref(),
        &meta,
        &run.spec,
        &run.tissue,
        run.tumour.as_ref(),
        &|n| observer.mask_rows(n),
    )?;
    let mut set = OutputSet::new();
    let exported = match &run.export {
        Some(dir) => {
            crate::naming::create_output_dir(dir).map_err(PatchError::ExportFolder)?;
            let stem = run
                .slide
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            for old in earlier_export(dir, &stem) {
                set.replaces(&old);
            }
            let kept = table.patches.iter().filter(|p| p.label.kept()).count() as u64;
            observer.export_started(kept);
            let n = export_into(&mut set, slide.as_ref(), &table, dir, &stem, &|k| {
                observer.exported(k)
            })?;
            Some(n)
        }
        None => None,
    };
    let rows = set
        .write_file(&run.csv, |w| write_csv(w, &table, run.spec.all))
        .map_err(|source| PatchError::Output {
            path: run.csv.clone(),
            source,
        })?;
    set.commit().map_err(|e| PatchError::Output {
        path: e.path,
        source: e.source,
    })?;
    Ok(PatchesDone {
        table,
        rows,
        exported,
    })
}

/// The PNG files in `dir` named as an export of `stem` names them
/// (`STEM_x{digits}_y{digits}_{label}.png`, a kept label).
fn earlier_export(dir: &Path, stem: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| is_export_name(n, stem))
        })
        .map(|e| e.path())
        .collect()
}

fn is_export_name(name: &str, stem: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let Some(rest) = name
        .strip_prefix(stem)
        .and_then(|r| r.strip_prefix("_x"))
        .and_then(|r| r.strip_suffix(".png"))
    else {
        return false;
    };
    let Some((x, rest)) = rest.split_once("_y") else {
        return false;
    };
    let Some((y, label)) = rest.split_once('_') else {
        return false;
    };
    digits(x)
        && digits(y)
        && super::PatchLabel::ALL
            .iter()
            .any(|l| l.kept() && l.as_str() == label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_of_an_export_of_the_stem_are_taken_for_its_files() {
        assert!(is_export_name("s1_x0_y256_tumour.png", "s1"));
        assert!(is_export_name("s1_x10_y2_non-tumour.png", "s1"));
        assert!(is_export_name("s1_x10_y2_unlabelled.png", "s1"));
        for other in [
            "s1_x10_y2_ambiguous.png",
            "s1_x10_y2_tumour.jpg",
            "s10_x10_y2_tumour.png",
            "s1_x_y2_tumour.png",
            "s1_x1a_y2_tumour.png",
            "s1_x1_y2_tumour_copy.png",
            "notes.png",
        ] {
            assert!(!is_export_name(other, "s1"), "{other}");
        }
    }
}
