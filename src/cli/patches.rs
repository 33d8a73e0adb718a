//! `h2g patches SLIDE -o patches.csv`: the patch grid with tissue and tumour fractions and labels.

use super::out::noteln;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use h2g::mask::DEFAULT_MAX_PIXELS;
use h2g::output::progress;
use h2g::patches::{
    build_patches, export_pngs, write_csv, LabelRule, MaskFile, PatchSpec, TissueSource,
};
use h2g::slide::{open_slide, SlideMeta};
use h2g::tissue::Method;
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
    /// Also write the kept patches as PNG files into this directory.
    #[arg(long)]
    export: Option<PathBuf>,
    /// Level-0 pixel size in µm, for slides without one.
    #[arg(long, value_parser = super::args::mpp("--mpp"))]
    mpp: Option<f64>,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    for (name, v) in [
        ("--min-tissue", a.min_tissue),
        ("--min-tumour", a.min_tumour),
    ] {
        if !(0.0..1.0).contains(&v) {
            anyhow::bail!("{name} must be in [0, 1), not {v}");
        }
    }
    if a.size == 0 || a.size > 8192 {
        anyhow::bail!("--size must be between 1 and 8192");
    }
    let tissue = match &a.tissue {
        Some(p) => TissueSource::Mask(MaskFile {
            path: p.clone(),
            downsample: a.tissue_downsample,
            label: None,
            class: None,
        }),
        None => TissueSource::Detect(match a.tissue_method.as_str() {
            "saturation" => Method::paper(),
            "otsu" => Method::otsu(),
            "fast" => Method::fast(),
            other => {
                anyhow::bail!("--tissue-method must be saturation, otsu or fast, not '{other}'")
            }
        }),
    };
    let tumour = a.mask.as_ref().map(|p| MaskFile {
        path: p.clone(),
        downsample: a.mask_downsample,
        label: a.tumour_label,
        class: a.tumour_class.clone(),
    });
    let slide = open_slide(&a.slide, DEFAULT_MAX_PIXELS)?;
    let meta = SlideMeta::from_properties(slide.properties(), a.mpp);
    let spec = PatchSpec {
        size: a.size,
        at: a.at,
        rule: LabelRule {
            min_tissue: a.min_tissue,
            min_tumour: a.min_tumour,
        },
        all: a.all,
    };
    let rows = progress(None, "reading masks", !a.quiet);
    let on_rows = |n: u64| {
        rows.inc(n);
        if rows.position() % 4096 < n {
            rows.set_message(format!("reading masks: {} rows", rows.position()));
        }
    };
    let table = build_patches(
        slide.as_ref(),
        &meta,
        &spec,
        &tissue,
        tumour.as_ref(),
        &on_rows,
    )?;
    rows.finish_and_clear();
    let written = write_csv(&table, &a.output, a.all)?;
    let counts: Vec<String> = table
        .counts()
        .iter()
        .map(|(l, n)| format!("{n} {}", l.as_str()))
        .collect();
    noteln!(
        "{}: {} × {} grid of {}-px patches at downsample {:.3} (level {}): {}; wrote {written} rows to {}",
        table.slide,
        table.grid.cols,
        table.grid.rows,
        table.grid.size,
        table.grid.downsample,
        table.plan.level,
        counts.join(", "),
        a.output.display()
    );
    if let Some(dir) = &a.export {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let kept = table.patches.iter().filter(|p| p.label.kept()).count() as u64;
        let b = progress(Some(kept), "exporting patches", !a.quiet);
        let stem = a
            .slide
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let n = export_pngs(slide.as_ref(), &table, dir, &stem, &|k| b.inc(k))?;
        b.finish_and_clear();
        noteln!("exported {n} patches to {}", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}
