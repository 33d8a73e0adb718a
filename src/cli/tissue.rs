//! `h2g tissue SLIDE -o DIR`: tissue detection with a named method (`h2g::infer::tissue_model::run_tissue_file`); this
//! file is its flags, their method and the printed report.

use super::out::{noteln, outln};
use std::process::ExitCode;

use anyhow::Context;
use clap::ValueEnum;
use h2g::tissue::{Closing, Method, MethodKind, QupathParams, SaturationThreshold, TissueRunSpec};
use h2g::units::Resolution;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ClosingArg {
    /// 5×5 then 3×3 squares (the paper's text).
    Squares,
    /// Disks of radius 5 then 3 (the authors' code).
    Disks,
    /// No closing (design I of the paper, with --method otsu).
    None,
    /// One disk of radius 5 (design I as the authors evaluated it).
    Disk5,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PresetArg {
    /// QuPath's defaults (threshold 127, min area 10 000 µm²).
    Default,
    /// The paper's AN1 settings (threshold 200, min area 100 000 µm²).
    An1,
}

#[derive(Debug, clap::Args)]
#[command(mut_arg("slide", |a| a.help(
    "The slide (any OpenSlide format), or a flat PNG/TIFF picture of one"
)))]
#[command(mut_arg("mpp", |a| a.help(
    "Level-0 pixel size in µm, for slides or pictures without one"
)))]
#[command(mut_arg("output", |a| a.help(
    "Output directory (created if missing) for STEM.tissue-METHOD.tif, .png and .json"
)))]
pub struct Args {
    #[command(flatten)]
    out: super::args::OutputArgs,
    /// Detection method.
    #[arg(long, value_enum, default_value_t = MethodKind::Saturation)]
    method: MethodKind,
    /// Resolution to detect at (default: 1.25x for saturation/otsu, the lowest level for fast,
    /// for qupath QuPath's rule: 20um, coarsened to fit 4000 pixels): 1.25x, 8um, ds:32 or level:2.
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
    #[arg(long, value_parser = super::args::area("--min-area"))]
    min_area: Option<f64>,
    /// QuPath maximum hole area to fill in µm² (overrides the preset).
    #[arg(long, value_parser = super::args::area("--max-hole"))]
    max_hole: Option<f64>,
    #[command(flatten)]
    input: super::args::SlideArgs,
    /// Tile size of the mask TIFF.
    #[arg(long, default_value_t = 512)]
    tile_size: u32,
    /// The tissue model for --method model: a built-in name or an .onnx path.
    #[arg(long)]
    model: Option<String>,
    /// ONNX Runtime threads for --method model (0: all cores).
    #[arg(long, default_value_t = 0, value_parser = super::args::threads)]
    threads: usize,
    #[command(flatten)]
    lib: super::model_args::OrtLibArg,
    #[command(flatten)]
    contract: super::model_args::ContractArgs,
    /// Also write the tissue as QuPath annotations (STEM.tissue-METHOD.geojson); for qupath, the
    /// one unclassified, locked annotation QuPath's simple tissue detection creates.
    #[arg(long)]
    geojson: bool,
    #[command(flatten)]
    frame: super::args::FrameArg,
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
                ClosingArg::None => Closing::None,
                ClosingArg::Disk5 => Closing::Disk5,
            },
        },
        MethodKind::Fast => Method::Fast {
            distance: a.distance,
            radius: a.radius,
        },
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
    let over = a.contract.overrides(false)?.model;
    let r = h2g::infer::tissue_model::run_tissue_file_with(
        &TissueRunSpec {
            slide: a.input.slide,
            output: a.out.output,
            name: a.out.name,
            method,
            at: a.at,
            mpp: a.input.mpp.mpp,
            tile: a.tile_size,
            geojson: a.geojson,
            qupath_frame: a.frame.qupath(),
            threads: a.threads,
            ort_lib: a.lib.ort_lib,
        },
        &over,
    )?;
    if a.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&r).context("serialising the report")?
        )?;
    } else {
        noteln!(
            "{}: {} tissue {:.2} % of {} × {} (level {}, downsample {:.2}{}){}",
            r.slide,
            r.method,
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
        noteln!(
            "wrote {}, {}, {}",
            r.files.mask.display(),
            r.files.preview.display(),
            r.files.report.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
