//! `h2g heatmap SLIDE --model M -o DIR`: stage 1, one tumour probability per patch.

use std::path::PathBuf;
use std::process::ExitCode;

use h2g::infer::heatmap::{heatmap, HeatmapSpec};
use h2g::infer::load_runtime;
use h2g::output::{progress, write_json};
use h2g::slide::{open_slide, SlideMeta};
use h2g::units::Resolution;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The slide.
    slide: PathBuf,
    /// The patch classifier: a built-in name (h2g models list) or an .onnx path.
    #[arg(long)]
    model: String,
    /// Output directory for STEM.heatmap.tif (float32), .png (preview) and .json.
    #[arg(short, long)]
    output: PathBuf,
    /// Name the outputs NAME.* instead of by the slide file's stem.
    #[arg(long)]
    name: Option<String>,
    /// Minimum tissue fraction of a patch for it to run (the published pipeline: 0.5).
    #[arg(long, default_value_t = 0.5)]
    min_tissue: f64,
    /// Patches per inference call.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Patch resolution (default: the model's magnification, e.g. 10x).
    #[arg(long)]
    at: Option<Resolution>,
    #[command(flatten)]
    rt: super::RuntimeArgs,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    if !(0.0..=1.0).contains(&a.min_tissue) {
        anyhow::bail!("--min-tissue must be within 0–1");
    }
    let slide = open_slide(&a.slide, 1 << 34)?;
    let direct = slide.reads_directly();
    let (mut model, manifest) = super::open_model(
        &a.model,
        h2g::infer::manifest::Role::PatchClassifier,
        "--model",
        &a.rt,
        direct,
    )?;
    let lib = load_runtime(a.rt.ort_lib.as_deref())?;
    let path = model.path().to_path_buf();
    let meta = SlideMeta::from_properties(slide.properties(), a.rt.mpp);
    let spec = HeatmapSpec {
        min_tissue: a.min_tissue,
        batch: a.batch.max(1),
        readers: a.rt.readers(direct),
        at: a.at,
        ..HeatmapSpec::default()
    };
    let bar = progress(Some(0), "patches", true);
    let hm = heatmap(
        &*slide,
        &meta,
        &mut model,
        &manifest,
        &spec,
        &super::bar_progress(&bar),
    )?;
    bar.finish_and_clear();
    let stem = super::output_stem(&a.output, &a.slide, a.name.as_deref())?;
    let (w, h) = (hm.grid.cols, hm.grid.rows);
    let files = h2g::infer::outputs::write_heatmap_files(&a.output, &stem, &hm)?;
    let (tif, png) = (files.tiff, files.png);
    let json = a.output.join(format!("{stem}.heatmap.json"));
    let report = serde_json::json!({
        "slide": a.slide,
        "model": manifest.name,
        "model_file": path,
        "trained": manifest.trained,
        "onnx_runtime": lib,
        "slide_reader": slide.reader(),
        "device": a.rt.device,
        "threads": a.rt.cores(),
        "inference_threads": a.rt.inference_threads(direct),
        "reader_threads": a.rt.readers(direct),
        "batch": spec.batch,
        "min_tissue": spec.min_tissue,
        "grid": {"cols": w, "rows": h, "patch": hm.grid.size, "downsample": hm.grid.downsample,
                 "level": hm.plan.level, "level0_side": hm.grid.side()},
        "cells_run": hm.ran,
        "infer_seconds": hm.infer_seconds,
        "stage_seconds": hm.stage_seconds,
        "patches_per_second": hm.patches_per_second,
        "meaning": manifest.output.meaning,
        "files": {"tiff": tif, "png": png},
    });
    write_json(&json, &report)?;
    eprintln!(
        "{}: {} of {} × {} patches run ({:.1} patches/s, {:.0} % of the stage in inference){} → {}",
        a.slide.display(),
        hm.ran,
        w,
        h,
        hm.patches_per_second,
        if hm.stage_seconds > 0.0 {
            100.0 * hm.infer_seconds / hm.stage_seconds
        } else {
            0.0
        },
        if manifest.trained {
            ""
        } else {
            " [UNTRAINED test model]"
        },
        tif.display()
    );
    Ok(ExitCode::SUCCESS)
}
