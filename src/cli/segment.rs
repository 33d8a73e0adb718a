//! `h2g segment SLIDE --design h2g|pw|unet-lr|otsu -o DIR`: a whole-slide tumour (or tissue)
//! segmentation, written as FAST's 1024 × 1024 result, a full-frame mask, the heatmap and
//! QuPath GeoJSON in the frame QuPath uses.

use std::process::ExitCode;

use anyhow::Context;
use clap::ValueEnum;
use h2g::infer::heatmap::HeatmapSpec;
use h2g::infer::manifest::Role;
use h2g::infer::outputs::{write_segmentation, ModelUse, RunInfo, SegmentOutputSpec};
use h2g::infer::segment::{segment, Design};
use h2g::output::progress;
use h2g::slide::{open_slide, SlideMeta};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Frame {
    /// Level-0 pixels of the slide file.
    File,
    /// QuPath's frame: minus the OpenSlide bounds origin (MRXS, some NDPI).
    Qupath,
}

#[derive(Debug, clap::Args)]
#[command(mut_arg("min_tissue", |a| a.help("Minimum tissue fraction of a patch for stage 1")))]
pub struct Args {
    #[command(flatten)]
    out: super::args::OutputArgs,
    #[command(flatten)]
    d: super::args::DesignArgs,
    /// Coordinate frame of the GeoJSON.
    #[arg(long, value_enum, default_value_t = Frame::File)]
    frame: Frame,
    #[command(flatten)]
    patches: super::args::PatchRunArgs,
    #[command(flatten)]
    input: super::args::SlideArgs,
    #[command(flatten)]
    rt: super::args::RuntimeArgs,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let rt = a.rt.runtime();
    let needs_models = !matches!(a.d.design, Design::Otsu);
    let lib = if needs_models { Some(rt.load()?) } else { None };
    let open = |arg: &Option<String>, role: Role, flag: &str, what: &str| {
        let name = arg
            .as_deref()
            .with_context(|| format!("this design needs {flag} ({what})"))?;
        anyhow::Ok(rt.open_model(name, role, flag, true)?)
    };
    let mut patch = match a.d.design {
        Design::H2g | Design::Pw => Some(open(
            &a.d.models.model,
            Role::PatchClassifier,
            "--model",
            "the patch classifier",
        )?),
        _ => None,
    };
    let mut refine = match a.d.design {
        Design::H2g | Design::UnetLr => Some(open(
            &a.d.models.refine_model,
            Role::Refinement,
            "--refine-model",
            "the refinement network",
        )?),
        _ => None,
    };
    let slide = open_slide(&a.input.slide, 1 << 34)?;
    let meta = SlideMeta::from_properties(slide.properties(), a.input.mpp.mpp);
    let spec = HeatmapSpec {
        min_tissue: a.patches.min_tissue,
        batch: a.patches.batch.max(1),
        // most slides are read directly (JPEG-tiled TIFF/SVS); one model serves them all
        readers: rt.readers(true),
        ..HeatmapSpec::default()
    };
    let bar = progress(Some(0), "patches", true);
    let seg = segment(
        &*slide,
        &meta,
        a.d.design,
        patch.as_mut().map(|(m, man)| (m, &*man)),
        refine.as_mut().map(|(m, man)| (m, &*man)),
        &spec,
        &super::bar_progress(&bar),
    )?;
    bar.finish_and_clear();
    let stem = h2g::naming::output_stem(&a.out.output, &a.input.slide, a.out.name.as_deref())?;
    let used = |m: &Option<(h2g::infer::Model, h2g::infer::manifest::Manifest)>| {
        m.as_ref().map(|(m, man)| ModelUse {
            name: man.name.clone(),
            file: m.path().to_path_buf(),
            trained: man.trained,
        })
    };
    let out = write_segmentation(
        &*slide,
        &meta,
        seg,
        &SegmentOutputSpec {
            dir: a.out.output.clone(),
            stem,
            slide: a.input.slide.clone(),
            design: a.d.design,
            mask_downsample: a.d.mask_downsample,
            qupath_frame: matches!(a.frame, Frame::Qupath),
        },
        RunInfo {
            patch_model: used(&patch),
            refine_model: used(&refine),
            onnx_runtime: lib,
            device: rt.device,
        },
    )?;
    let r = &out.report;
    let untrained = patch
        .iter()
        .map(|p| &p.1)
        .chain(refine.iter().map(|r| &r.1))
        .any(|m| !m.trained);
    eprintln!(
        "{}: {}: {} of {} × {} result cells positive, {} annotations{} → {}",
        a.input.slide.display(),
        a.d.design.name(),
        r.result.positive_cells,
        r.result.width,
        r.result.height,
        r.annotations,
        if untrained {
            " [UNTRAINED test model]"
        } else {
            ""
        },
        a.out.output.display()
    );
    Ok(ExitCode::SUCCESS)
}
