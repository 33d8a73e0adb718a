//! `h2g preannotate SLIDE... --method an2|an1 -o DIR`: QuPath annotations for pathologists to
//! correct, as in the paper's annotation campaign; many slides per call, a bad slide reported and
//! skipped.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::ValueEnum;
use h2g::infer::heatmap::{heatmap, HeatmapSpec};
use h2g::infer::manifest::{Manifest, Role};
use h2g::infer::segment::{mask_size, write_grid_geojson, ResultGrid};
use h2g::infer::Model;
use h2g::output::{write_file, write_json};
use h2g::slide::{open_slide, SlideMeta};
use h2g::tissue::{run_tissue, BitMask, Element, Method, QupathParams, TissueOutput};
use h2g::vector::{ClassSpec, Placement};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PreMethod {
    /// Model-assisted (the paper's AN2): patch classifier → heatmap → threshold → closing, area
    /// filters → Tumor annotations.
    An2,
    /// Tissue-based (the paper's AN1): QuPath's simple tissue detection with threshold 200, 20 µm,
    /// min area 100 000 µm² → Tissue annotations to correct into tumour.
    An1,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The slides.
    #[arg(required = true)]
    slides: Vec<PathBuf>,
    /// Output directory (one set of files per slide).
    #[arg(short, long)]
    output: PathBuf,
    /// an2 (model-assisted) or an1 (tissue-based).
    #[arg(long, value_enum, default_value_t = PreMethod::An2)]
    method: PreMethod,
    /// The patch classifier for an2: a built-in name or an .onnx path.
    #[arg(long)]
    model: Option<String>,
    /// Heatmap threshold (default: the model manifest's, 0.5).
    #[arg(long)]
    threshold: Option<f64>,
    /// Closing of the thresholded heatmap: square of 2r+1 cells (0: none).
    #[arg(long, default_value_t = 1)]
    closing: usize,
    /// Drop annotations smaller than this many µm².
    #[arg(long, default_value_t = 0.0)]
    min_area: f64,
    /// Fill holes smaller than this many µm².
    #[arg(long, default_value_t = 0.0)]
    max_hole: f64,
    /// Level-0 pixels per pixel of the mask the annotations are traced at.
    #[arg(long, default_value_t = 4.0, value_parser = super::positive_f64)]
    mask_downsample: f64,
    /// Minimum tissue fraction of a patch for it to run.
    #[arg(long, default_value_t = 0.5)]
    min_tissue: f64,
    /// Patches per inference call.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Coordinates in QuPath's frame (minus OpenSlide bounds: MRXS, some NDPI).
    #[arg(long)]
    qupath_frame: bool,
    #[command(flatten)]
    rt: super::RuntimeArgs,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    if a.min_area < 0.0 || a.max_hole < 0.0 {
        anyhow::bail!("--min-area and --max-hole must be ≥ 0");
    }
    let mut model = match a.method {
        PreMethod::An2 => {
            let name = a
                .model
                .as_deref()
                .context("--method an2 needs --model (the patch classifier)")?;
            Some(super::open_model(
                name,
                Role::PatchClassifier,
                "--model",
                &a.rt,
                true,
            )?)
        }
        PreMethod::An1 => None,
    };
    let mut failed = Vec::new();
    for slide in &a.slides {
        match one(&a, slide, model.as_mut()) {
            Ok(msg) => eprintln!("{msg}"),
            Err(e) => {
                let msg = format!("{e:#}");
                let name = slide.display().to_string();
                if msg.contains(&name) {
                    eprintln!("h2g: {msg} (skipped)");
                } else {
                    eprintln!("h2g: {name}: {msg} (skipped)");
                }
                failed.push(slide.display().to_string());
            }
        }
    }
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "h2g: {} of {} slides failed: {}",
            failed.len(),
            a.slides.len(),
            failed.join(", ")
        );
        Ok(ExitCode::from(1))
    }
}

fn one(a: &Args, path: &Path, model: Option<&mut (Model, Manifest)>) -> anyhow::Result<String> {
    let slide = open_slide(path, 1 << 34)?;
    let meta = SlideMeta::from_properties(slide.properties(), a.rt.mpp);
    let stem = super::output_stem(&a.output, path, None)?;
    if a.method == PreMethod::An1 {
        let rep = run_tissue(
            &*slide,
            &meta,
            &Method::Qupath(QupathParams::an1()),
            None,
            &TissueOutput {
                dir: a.output.clone(),
                stem,
                tile: 512,
                geojson: true,
            },
        )?;
        return Ok(format!(
            "{}: an1: tissue {:.2} % → {}",
            path.display(),
            100.0 * rep.tissue_fraction,
            rep.files
                .geojson
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ));
    }
    let (m, man) = model.context("an2 needs a model")?;
    let spec = HeatmapSpec {
        min_tissue: a.min_tissue,
        batch: a.batch.max(1),
        // most slides are read directly (JPEG-tiled TIFF/SVS); one model serves them all
        readers: a.rt.readers(true),
        ..HeatmapSpec::default()
    };
    let hm = heatmap(&*slide, &meta, m, man, &spec, &|_, _| {})?;
    let thr = a.threshold.unwrap_or(man.threshold);
    let (cols, rows) = (hm.grid.cols as usize, hm.grid.rows as usize);
    let mut cells = BitMask::from_rows(cols, rows, |y, row| {
        for (x, v) in row.iter_mut().enumerate() {
            *v = hm.values[y * cols + x] as f64 >= thr;
        }
    });
    if a.closing > 0 {
        cells = cells.close(&Element::square(2 * a.closing + 1));
    }
    let side = hm.grid.side();
    let grid = Arc::new(ResultGrid {
        width: cols,
        height: rows,
        extent: (cols as f64 * side, rows as f64 * side),
        data: cells.to_bytes(1),
    });
    let d = a.mask_downsample;
    let (mw, mh) = mask_size(slide.level_size(0)?, d);
    let px_um2 = match (a.min_area > 0.0 || a.max_hole > 0.0, meta.mpp) {
        (false, _) => 1.0,
        (true, Some(p)) => p.x * p.y * d * d,
        (true, None) => {
            anyhow::bail!("--min-area/--max-hole need the slide's pixel size: pass --mpp")
        }
    };
    let place = Placement::at_downsample(d, a.qupath_frame.then(|| slide.bounds()));
    let class = ClassSpec {
        label: 1,
        name: "Tumor".into(),
        color: [200, 0, 0],
    };
    let geojson = a.output.join(format!("{stem}.preannotate-an2.geojson"));
    let n = write_file(&geojson, |out| {
        let (n, mut w) = write_grid_geojson(
            grid.clone(),
            d,
            (mw, mh),
            place,
            &class,
            (a.min_area / px_um2, a.max_hole / px_um2),
            std::io::BufWriter::new(out),
        )?;
        w.flush()?;
        Ok(n)
    })
    .with_context(|| format!("cannot write {}", geojson.display()))?;
    let files = h2g::infer::outputs::write_heatmap_files(&a.output, &stem, &hm)?;
    let (tif, png) = (files.tiff, files.png);
    write_json(
        &a.output.join(format!("{stem}.preannotate-an2.json")),
        &serde_json::json!({
            "slide": path, "method": "an2", "model": man.name, "trained": man.trained,
            "threshold": thr, "closing_cells": a.closing, "min_area_um2": a.min_area,
            "max_hole_um2": a.max_hole, "mask_downsample": d, "qupath_frame": a.qupath_frame,
            "cells_run": hm.ran, "cells_positive": grid.data.iter().filter(|&&v| v != 0).count(),
            "annotations": n, "files": {"geojson": geojson, "heatmap": [tif, png]},
        }),
    )?;
    Ok(format!(
        "{}: an2: {n} Tumor annotations from {} patches{} → {}",
        path.display(),
        hm.ran,
        if man.trained {
            ""
        } else {
            " [UNTRAINED test model]"
        },
        geojson.display()
    ))
}
