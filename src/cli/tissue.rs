//! `h2g tissue SLIDE -o DIR`: tissue detection with a named method.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::ValueEnum;
use h2g::infer::manifest::Role;
use h2g::infer::tissue_model::detect_with_model;
use h2g::mask::DEFAULT_MAX_PIXELS;
use h2g::slide::{open_slide, SlideMeta};
use h2g::tissue::{
    run_tissue, run_tissue_with, Closing, Method, MethodKind, QupathParams, SaturationThreshold,
    TissueOutput,
};
use h2g::units::Resolution;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ClosingArg {
    /// 5×5 then 3×3 squares (the paper's text).
    Squares,
    /// Disks of radius 5 then 3 (the authors' code).
    Disks,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PresetArg {
    /// QuPath's defaults (threshold 127, min area 10 000 µm²).
    Default,
    /// The paper's AN1 settings (threshold 200, min area 100 000 µm²).
    An1,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The slide (any OpenSlide format), or a flat PNG/TIFF picture of one.
    slide: PathBuf,
    /// Output directory (created if missing) for STEM.tissue-METHOD.tif, .png and .json.
    #[arg(short, long)]
    output: PathBuf,
    /// Name the outputs NAME.* instead of by the slide file's stem.
    #[arg(long)]
    name: Option<String>,
    /// Detection method.
    #[arg(long, value_enum, default_value_t = MethodKind::Saturation)]
    method: MethodKind,
    /// Resolution to detect at (default: 1.25x for saturation/otsu, the lowest level for fast,
    /// 20um for qupath): 1.25x, 8um, ds:32 or level:2.
    #[arg(long)]
    at: Option<Resolution>,
    /// Saturation threshold for --method saturation (0–255).
    #[arg(long, default_value_t = 20)]
    saturation: u8,
    /// Closing shapes for saturation/otsu.
    #[arg(long, value_enum, default_value_t = ClosingArg::Squares)]
    closing: ClosingArg,
    /// Distance from white for --method fast.
    #[arg(long, default_value_t = 85.0)]
    distance: f64,
    /// Closing disk radius for --method fast.
    #[arg(long, default_value_t = 4)]
    radius: usize,
    /// QuPath parameter preset.
    #[arg(long, value_enum, default_value_t = PresetArg::Default)]
    preset: PresetArg,
    /// QuPath grey threshold (overrides the preset).
    #[arg(long)]
    qupath_threshold: Option<u8>,
    /// QuPath minimum object area in µm² (overrides the preset).
    #[arg(long)]
    min_area: Option<f64>,
    /// QuPath maximum hole area to fill in µm² (overrides the preset).
    #[arg(long)]
    max_hole: Option<f64>,
    /// Level-0 pixel size in µm, for slides or pictures without one.
    #[arg(long, value_parser = super::positive_f64)]
    mpp: Option<f64>,
    /// Tile size of the mask TIFF.
    #[arg(long, default_value_t = 512)]
    tile_size: u32,
    /// The tissue model for --method model: a built-in name or an .onnx path.
    #[arg(long)]
    model: Option<String>,
    /// ONNX Runtime threads for --method model (0: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// The ONNX Runtime shared library (default: the set-up's, H2G_ORT_LIB, ORT_DYLIB_PATH).
    #[arg(long)]
    ort_lib: Option<std::path::PathBuf>,
    /// Also write the tissue as QuPath annotations (STEM.tissue-METHOD.geojson).
    #[arg(long)]
    geojson: bool,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let method = match a.method {
        MethodKind::Saturation | MethodKind::Otsu => Method::Saturation {
            threshold: match a.method {
                MethodKind::Otsu => SaturationThreshold::Otsu,
                _ => SaturationThreshold::Fixed(a.saturation),
            },
            closing: match a.closing {
                ClosingArg::Squares => Closing::Squares,
                ClosingArg::Disks => Closing::Disks,
            },
        },
        MethodKind::Fast => {
            if !(a.distance.is_finite() && a.distance >= 0.0) || a.radius > 60 {
                anyhow::bail!("--distance must be ≥ 0 and --radius at most 60");
            }
            Method::Fast {
                distance: a.distance,
                radius: a.radius,
            }
        }
        MethodKind::Qupath => {
            let mut p = match a.preset {
                PresetArg::Default => QupathParams::default(),
                PresetArg::An1 => QupathParams::an1(),
            };
            if let Some(t) = a.qupath_threshold {
                p.threshold = t;
            }
            if let Some(m) = a.min_area {
                p.min_area_um2 = m;
            }
            if let Some(m) = a.max_hole {
                p.max_hole_area_um2 = m;
            }
            Method::Qupath(p)
        }
        MethodKind::Model => Method::Model {
            model: a.model.clone().context("--method model needs --model")?,
            threshold: 0.0,
        },
    };
    // the model, for --method model
    let mut model = match &method {
        Method::Model { model, .. } => {
            let rt = super::RuntimeArgs {
                mpp: a.mpp,
                // one inference on a thumbnail: no patch readers beside it
                read_threads: Some(0),
                threads: a.threads,
                device: h2g::infer::Device::Cpu,
                ort_lib: a.ort_lib.clone(),
            };
            Some(super::open_model(
                model,
                Role::Tissue,
                "--model",
                &rt,
                false,
            )?)
        }
        _ => None,
    };
    let method = match (&method, &model) {
        (Method::Model { .. }, Some((_, m))) => Method::Model {
            model: m.name.clone(),
            threshold: m.threshold,
        },
        _ => method,
    };
    let slide = open_slide(&a.slide, DEFAULT_MAX_PIXELS)?;
    let meta = SlideMeta::from_properties(slide.properties(), a.mpp);
    let stem = super::output_stem(&a.output, &a.slide, a.name.as_deref())?;
    let out = TissueOutput {
        dir: a.output.clone(),
        stem,
        tile: a.tile_size,
        geojson: a.geojson,
    };
    let r = match model.as_mut() {
        Some((session, manifest)) => {
            let mut detector = |img: &h2g::slide::RgbImage, _mpp: Option<f64>| {
                detect_with_model(img, session, manifest)
            };
            run_tissue_with(slide.as_ref(), &meta, &method, a.at, &out, &mut detector)?
        }
        None => run_tissue(slide.as_ref(), &meta, &method, a.at, &out)?,
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&r).context("serialising the report")?
        );
    } else {
        eprintln!(
            "{}: {} tissue {:.2} % of {} × {} (level {}, downsample {:.2}{}){}",
            r.slide,
            method,
            100.0 * r.tissue_fraction,
            r.width,
            r.height,
            r.read.level,
            r.downsample_x,
            if r.read.level_downsample == r.read.target_downsample {
                ""
            } else {
                ", resampled"
            },
            r.otsu_threshold
                .map(|t| format!(", Otsu threshold {t}"))
                .unwrap_or_default()
        );
        eprintln!(
            "wrote {}, {}, {}",
            r.files.mask.display(),
            r.files.preview.display(),
            r.files.report.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
