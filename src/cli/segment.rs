//! `h2g segment SLIDE --design h2g|pw|unet-lr|otsu -o DIR`: a whole-slide tumour (or tissue)
//! segmentation, written as FAST's 1024 × 1024 result, a full-frame mask, the heatmap and
//! QuPath GeoJSON in the frame QuPath uses.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::ValueEnum;
use h2g::convert::{write_mask, ConvertSpec, PaletteMode};
use h2g::infer::heatmap::HeatmapSpec;
use h2g::infer::load_runtime;
use h2g::infer::manifest::Role;
use h2g::infer::segment::{mask_size, segment, write_grid_geojson, Design, GridRows, Segmentation};
use h2g::mask::{MaskHeader, MaskReader, MemoryRows};
use h2g::output::{progress, write_file, write_json};
use h2g::slide::{open_slide, SlideMeta};
use h2g::vector::{ClassSpec, Placement};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Frame {
    /// Level-0 pixels of the slide file.
    File,
    /// QuPath's frame: minus the OpenSlide bounds origin (MRXS, some NDPI).
    Qupath,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The slide.
    slide: PathBuf,
    /// Output directory.
    #[arg(short, long)]
    output: PathBuf,
    /// Name the outputs NAME.* instead of by the slide file's stem.
    #[arg(long)]
    name: Option<String>,
    /// Which design of the paper's ablation study.
    #[arg(long, value_enum, default_value_t = Design::H2g)]
    design: Design,
    /// Patch classifier (designs h2g, pw): a built-in name or an .onnx path.
    #[arg(long)]
    model: Option<String>,
    /// Refinement network (designs h2g, unet-lr): a built-in name or an .onnx path.
    #[arg(long)]
    refine_model: Option<String>,
    /// Level-0 pixels per pixel of the full-frame mask.
    #[arg(long, default_value_t = 4.0, value_parser = super::positive_f64)]
    mask_downsample: f64,
    /// Coordinate frame of the GeoJSON.
    #[arg(long, value_enum, default_value_t = Frame::File)]
    frame: Frame,
    /// Minimum tissue fraction of a patch for stage 1.
    #[arg(long, default_value_t = 0.5)]
    min_tissue: f64,
    /// Patches per inference call.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    #[command(flatten)]
    rt: super::RuntimeArgs,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let needs_models = !matches!(a.design, Design::Otsu);
    let lib = if needs_models {
        Some(load_runtime(a.rt.ort_lib.as_deref())?)
    } else {
        None
    };
    let open = |arg: &Option<String>, role: Role, flag: &str, what: &str| {
        let name = arg
            .as_deref()
            .with_context(|| format!("this design needs {flag} ({what})"))?;
        super::open_model(name, role, flag, &a.rt, true)
    };
    let mut patch = match a.design {
        Design::H2g | Design::Pw => Some(open(
            &a.model,
            Role::PatchClassifier,
            "--model",
            "the patch classifier",
        )?),
        _ => None,
    };
    let mut refine = match a.design {
        Design::H2g | Design::UnetLr => Some(open(
            &a.refine_model,
            Role::Refinement,
            "--refine-model",
            "the refinement network",
        )?),
        _ => None,
    };
    let slide = open_slide(&a.slide, 1 << 34)?;
    let meta = SlideMeta::from_properties(slide.properties(), a.rt.mpp);
    let spec = HeatmapSpec {
        min_tissue: a.min_tissue,
        batch: a.batch.max(1),
        // most slides are read directly (JPEG-tiled TIFF/SVS); one model serves them all
        readers: a.rt.readers(true),
        ..HeatmapSpec::default()
    };
    let bar = progress(Some(0), "patches", true);
    let seg = segment(
        &*slide,
        &meta,
        a.design,
        patch.as_mut().map(|(m, man)| (m, &*man)),
        refine.as_mut().map(|(m, man)| (m, &*man)),
        &spec,
        &super::bar_progress(&bar),
    )?;
    bar.finish_and_clear();
    let stem = super::output_stem(&a.output, &a.slide, a.name.as_deref())?;
    let design = a.design.name();
    let base = |ext: &str| a.design.output_path(&a.output, &stem, ext);
    let Segmentation {
        grid,
        heatmap,
        probability,
    } = seg;
    let g = std::sync::Arc::new(grid);
    let tiff_spec = ConvertSpec {
        tile: 256,
        palette: PaletteMode::Drop,
        progress: false,
        mpp: None,
        ..ConvertSpec::default()
    };
    // the result grid as FAST writes it: uint8 0/1, pyramidal LZW TIFF, 256 tiles
    let result = base("tif");
    write_mask(
        &a.slide,
        MaskHeader {
            width: g.width as u32,
            height: g.height as u32,
            encoding: format!("{design} result grid"),
            palette: None,
        },
        MaskReader::U8(Box::new(MemoryRows::new(
            std::sync::Arc::new(g.data.clone()),
            g.width,
        ))),
        &result,
        &tiff_spec,
    )?;
    // the full-frame mask at --mask-downsample: floor(W/d) × floor(H/d), top-left rule
    let d = a.mask_downsample;
    let (mw, mh) = mask_size(slide.level_size(0)?, d);
    let mask = base("mask.tif");
    let mpp = meta.mpp.map(|p| (p.x * d, p.y * d));
    write_mask(
        &a.slide,
        MaskHeader {
            width: mw as u32,
            height: mh as u32,
            encoding: format!("{design} mask at downsample {d}"),
            palette: None,
        },
        MaskReader::U8(Box::new(GridRows::new(g.clone(), d))),
        &mask,
        &ConvertSpec {
            tile: 512,
            mpp,
            ..tiff_spec.clone()
        },
    )?;
    // QuPath annotations of the full-frame mask
    let mut place = Placement {
        dx: d,
        dy: d,
        x0: 0.0,
        y0: 0.0,
    };
    if matches!(a.frame, Frame::Qupath) {
        let b = slide.bounds();
        place.x0 = -(b.x as f64);
        place.y0 = -(b.y as f64);
    }
    let (class_name, color) = a.design.annotation_class();
    let class = ClassSpec {
        label: 1,
        name: class_name.into(),
        color,
    };
    let geojson = base("geojson");
    let n = write_file(&geojson, |out| {
        let (n, mut w) = write_grid_geojson(
            g.clone(),
            d,
            (mw, mh),
            place,
            &class,
            (0.0, 0.0),
            std::io::BufWriter::new(out),
        )?;
        w.flush()?;
        Ok(n)
    })
    .with_context(|| format!("cannot write {}", geojson.display()))?;
    // the refinement's P(tumour) on its 1024 × 1024 grid (float32), for designs that ran it
    let prob = match &probability {
        Some(p) => {
            let path = base("prob.tif");
            super::heatmap::write_f32_tiff(&path, g.width as u32, g.height as u32, p)?;
            Some(path)
        }
        None => None,
    };
    let heat = match &heatmap {
        Some(hm) => Some(super::heatmap::write_heatmap_files(&a.output, &stem, hm)?),
        None => None,
    };
    let positive = g.data.iter().filter(|&&v| v != 0).count();
    let report = serde_json::json!({
        "slide": a.slide,
        "design": a.design,
        "level0": {"width": slide.level_size(0)?.0, "height": slide.level_size(0)?.1,
                   "mpp": meta.mpp.map(|p| (p.x + p.y) / 2.0)},
        "patch_model": patch.as_ref().map(|(m, man)| serde_json::json!({"name": man.name, "file": m.path(), "trained": man.trained})),
        "refine_model": refine.as_ref().map(|(m, man)| serde_json::json!({"name": man.name, "file": m.path(), "trained": man.trained})),
        "onnx_runtime": lib,
        "device": a.rt.device,
        "result": {"width": g.width, "height": g.height, "level0_extent": [g.extent.0, g.extent.1],
                   "scale_x": g.scale().0, "scale_y": g.scale().1, "positive_cells": positive},
        "mask": {"width": mw, "height": mh, "downsample": d},
        "frame": if matches!(a.frame, Frame::Qupath) { "qupath" } else { "file" },
        "annotations": n,
        "heatmap": heatmap.as_ref().map(|h| serde_json::json!({"cols": h.grid.cols, "rows": h.grid.rows, "cells_run": h.ran, "patches_per_second": h.patches_per_second})),
        "files": {"result": result, "mask": mask, "geojson": geojson, "probability": prob,
                  "heatmap": heat.as_ref().map(|(t, p)| [t, p])},
    });
    write_json(&base("json"), &report)?;
    let untrained = patch
        .iter()
        .map(|p| &p.1)
        .chain(refine.iter().map(|r| &r.1))
        .any(|m| !m.trained);
    eprintln!(
        "{}: {design}: {positive} of {} × {} result cells positive, {n} annotations{} → {}",
        a.slide.display(),
        g.width,
        g.height,
        if untrained {
            " [UNTRAINED test model]"
        } else {
            ""
        },
        a.output.display()
    );
    Ok(ExitCode::SUCCESS)
}
