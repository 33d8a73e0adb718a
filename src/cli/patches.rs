//! `h2g patches SLIDE -o patches.csv`: the patch grid with tissue and tumour fractions and labels.

use super::out::noteln;
use std::path::PathBuf;
use std::process::ExitCode;

use h2g::mask::DEFAULT_MAX_PIXELS;
use h2g::output::progress;
use h2g::patches::{
    run_patches, LabelRule, MaskFile, PatchSpec, PatchesObserver, PatchesRun, TissueSource,
};
use h2g::units::Resolution;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The slide.
    slide: PathBuf,
    /// The CSV to write.
    #[arg(short, long)]
    output: PathBuf,
    /// Tumour annotations: a mask (PNG or TIFF, e.g. QuPath's export at downsample 4) or
    /// QuPath GeoJSON (.geojson, .json, .gz; rasterized at --mask-downsample, default 4).
    #[arg(long)]
    mask: Option<PathBuf>,
    /// For GeoJSON annotations: the tumour class (default: every polygon).
    #[arg(long)]
    tumour_class: Option<String>,
    /// Downsample of --mask relative to level 0 (default: inferred from its size).
    #[arg(long, value_parser = super::positive_f64)]
    mask_downsample: Option<f64>,
    /// Only this label of --mask is tumour (default: every non-zero pixel).
    #[arg(long)]
    tumour_label: Option<u64>,
    /// Tissue mask (e.g. from `h2g tissue`); default: detect with --tissue-method.
    #[arg(long, conflicts_with = "tissue_method")]
    tissue: Option<PathBuf>,
    /// Downsample of --tissue (default: inferred from its size).
    #[arg(long, value_parser = super::positive_f64)]
    tissue_downsample: Option<f64>,
    /// Tissue detection when no --tissue is given: saturation, otsu or fast.
    #[arg(long, default_value = "saturation")]
    tissue_method: String,
    /// Patch side in pixels.
    #[arg(long, default_value_t = 256)]
    size: u32,
    /// Patch resolution: 10x, 1.0um, ds:4 or level:2.
    #[arg(long, default_value = "10x")]
    at: Resolution,
    /// Keep patches whose tissue fraction is above this.
    #[arg(long, default_value_t = 0.25)]
    min_tissue: f64,
    /// Tumour when the tumour fraction is above this (non-tumour when exactly 0).
    #[arg(long, default_value_t = 0.25)]
    min_tumour: f64,
    /// Write every patch with its label (ambiguous, background too), not only kept ones.
    #[arg(long)]
    all: bool,
    /// Also write the kept patches as PNG files into this folder, as one set with the CSV
    /// (PNGs an earlier export of the slide left there are replaced).
    #[arg(long)]
    export: Option<PathBuf>,
    /// Level-0 pixel size in µm, for slides without one.
    #[arg(long, value_parser = super::args::mpp("--mpp"))]
    mpp: Option<f64>,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

/// The progress bars of a patches run (hidden off a terminal and with --quiet).
struct Bars {
    show: bool,
    rows: indicatif::ProgressBar,
    /// Made when the export starts.
    export: std::sync::OnceLock<indicatif::ProgressBar>,
}

impl PatchesObserver for Bars {
    fn mask_rows(&self, n: u64) {
        self.rows.inc(n);
        if self.rows.position() % 4096 < n {
            self.rows
                .set_message(format!("reading masks: {} rows", self.rows.position()));
        }
    }
    fn export_started(&self, patches: u64) {
        self.rows.finish_and_clear();
        let _ = self
            .export
            .set(progress(Some(patches), "exporting patches", self.show));
    }
    fn exported(&self, n: u64) {
        if let Some(b) = self.export.get() {
            b.inc(n);
        }
    }
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let tissue = match &a.tissue {
        Some(p) => TissueSource::Mask(MaskFile {
            path: p.clone(),
            downsample: a.tissue_downsample,
            label: None,
            class: None,
        }),
        None => TissueSource::detect_by_name(&a.tissue_method)?,
    };
    let run = PatchesRun {
        slide: a.slide.clone(),
        mpp: a.mpp,
        spec: PatchSpec {
            size: a.size,
            at: a.at,
            rule: LabelRule {
                min_tissue: a.min_tissue,
                min_tumour: a.min_tumour,
            },
            all: a.all,
        },
        tissue,
        tumour: a.mask.as_ref().map(|p| MaskFile {
            path: p.clone(),
            downsample: a.mask_downsample,
            label: a.tumour_label,
            class: a.tumour_class.clone(),
        }),
        csv: a.output.clone(),
        export: a.export.clone(),
        max_picture_pixels: DEFAULT_MAX_PIXELS,
    };
    let bars = Bars {
        show: !a.quiet,
        rows: progress(None, "reading masks", !a.quiet),
        export: std::sync::OnceLock::new(),
    };
    let done = run_patches(&run, &bars)?;
    bars.rows.finish_and_clear();
    if let Some(b) = bars.export.get() {
        b.finish_and_clear();
    }
    let table = &done.table;
    let counts: Vec<String> = table
        .counts()
        .iter()
        .map(|(l, n)| format!("{n} {}", l.as_str()))
        .collect();
    noteln!(
        "{}: {} × {} grid of {}-px patches at downsample {:.3} (level {}): {}; wrote {} rows to {}",
        table.slide,
        table.grid.cols,
        table.grid.rows,
        table.grid.size,
        table.grid.downsample,
        table.plan.level,
        counts.join(", "),
        done.rows,
        a.output.display()
    );
    if let (Some(n), Some(dir)) = (done.exported, &a.export) {
        noteln!("exported {n} patches to {}", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}
