//! `h2g convert-mask IN OUT.tif`: a QuPath annotation mask into a tiled pyramidal TIFF.

use super::out::{noteln, outln};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::ValueEnum;
use h2g::convert::{convert_mask, ConvertSpec, PaletteMode};
use h2g::mask::{open_mask, MaskOptions, RgbLabel, DEFAULT_MAX_PIXELS};
use h2g::pyramid::Reduce;
use h2g::slide::{mask_downsample, OpenSlideSlide, Slide, SlideMeta};
use h2g::tiff::{BigTiffMode, Compression};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CompressionArg {
    Lzw,
    Deflate,
    None,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ReduceArg {
    /// Most frequent label of each 2×2 block (ties: top-left).
    Mode,
    /// Top-left pixel of each 2×2 block.
    Nearest,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum BigTiffArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PaletteArg {
    /// Labels as grey values, palette in OUT.palette.json (every reader sees labels).
    Sidecar,
    /// Palette embedded as a TIFF ColorMap (viewers show colours; OpenSlide returns colours).
    Colormap,
    /// Drop the palette.
    Drop,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The mask: 8-bit grey, palette (QuPath's labelled export), 1/2/4-bit or 16-bit grey PNG,
    /// RGB PNG with --rgb-label, or an existing TIFF mask to re-tile.
    input: PathBuf,
    /// The tiled pyramidal TIFF to write (replaced atomically when complete).
    output: PathBuf,
    /// Tile width and height (a multiple of 16, at most 8192).
    #[arg(long, default_value_t = 1024)]
    tile_size: u32,
    /// Tile compression.
    #[arg(long, value_enum, default_value_t = CompressionArg::Lzw)]
    compression: CompressionArg,
    /// zlib level for --compression deflate (0–9).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(0..=9))]
    deflate_level: u32,
    /// How each pyramid level is reduced from the previous one (never a mean: labels stay labels).
    #[arg(long, value_enum, default_value_t = ReduceArg::Mode)]
    reduce: ReduceArg,
    /// Classic TIFF or BigTIFF (auto: BigTIFF only when offsets pass 4 GiB).
    #[arg(long, value_enum, default_value_t = BigTiffArg::Auto)]
    bigtiff: BigTiffArg,
    /// Pixel size of the mask in µm (written as resolution tags).
    #[arg(long, value_parser = super::args::mpp("--mpp"), conflicts_with = "slide")]
    mpp: Option<f64>,
    /// The slide the mask was exported from: its pixel size × --downsample gives the mask's.
    #[arg(long)]
    slide: Option<PathBuf>,
    /// The mask's scale relative to --slide's level 0 (QuPath export downsample); default: the
    /// one whole downsample d with the mask floor or ceil of the slide's size / d.
    #[arg(long, value_parser = super::positive_f64, requires = "slide")]
    downsample: Option<f64>,
    /// Level-0 pixel size of --slide in µm, when its metadata has none.
    #[arg(long, value_parser = super::args::mpp("--slide-mpp"), requires = "slide")]
    slide_mpp: Option<f64>,
    /// What to do with the input's palette.
    #[arg(long, value_enum, default_value_t = PaletteArg::Sidecar)]
    palette: PaletteArg,
    /// Label of an RGB colour, R,G,B=LABEL (repeat for each colour of an RGB mask).
    #[arg(long = "rgb-label", value_name = "R,G,B=LABEL")]
    rgb_labels: Vec<RgbLabel>,
    /// Refuse inputs with more pixels than this (protects against decompression bombs).
    #[arg(long, default_value_t = DEFAULT_MAX_PIXELS)]
    max_pixels: u64,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let mpp = match (&a.slide, a.mpp) {
        (Some(slide_path), _) => {
            let slide = OpenSlideSlide::open(slide_path)?;
            let meta = SlideMeta::from_properties(slide.properties(), a.slide_mpp);
            let p = meta.mpp.with_context(|| {
                format!(
                    "{} records no pixel size: pass --slide-mpp (its level-0 µm/px) or --mpp (the mask's)",
                    slide_path.display()
                )
            })?;
            // one downsample for both axes: the given one checked, or the only whole one
            let (header, _) = open_mask(
                &a.input,
                &MaskOptions {
                    max_pixels: a.max_pixels,
                    rgb_labels: a.rgb_labels.clone(),
                },
            )?;
            let d = mask_downsample(
                (header.width, header.height),
                slide.level_size(0)?,
                a.downsample,
            )
            .with_context(|| {
                format!(
                    "{} does not fit {} (pass --downsample if several fit)",
                    a.input.display(),
                    slide_path.display()
                )
            })?;
            Some((p.x * d, p.y * d))
        }
        (None, Some(m)) => Some((m, m)),
        (None, None) => None,
    };
    let spec = ConvertSpec {
        tile: a.tile_size,
        compression: match a.compression {
            CompressionArg::Lzw => Compression::Lzw,
            CompressionArg::Deflate => Compression::Deflate(a.deflate_level),
            CompressionArg::None => Compression::None,
        },
        reduce: match a.reduce {
            ReduceArg::Mode => Reduce::Mode,
            ReduceArg::Nearest => Reduce::Nearest,
        },
        bigtiff: match a.bigtiff {
            BigTiffArg::Auto => BigTiffMode::Auto,
            BigTiffArg::Always => BigTiffMode::Always,
            BigTiffArg::Never => BigTiffMode::Never,
        },
        mpp,
        palette: match a.palette {
            PaletteArg::Sidecar => PaletteMode::Sidecar,
            PaletteArg::Colormap => PaletteMode::Colormap,
            PaletteArg::Drop => PaletteMode::Drop,
        },
        mask: MaskOptions {
            max_pixels: a.max_pixels,
            rgb_labels: a.rgb_labels.clone(),
        },
        progress: !a.quiet,
        made_by: "convert-mask",
    };
    let t = Instant::now();
    let report = convert_mask(&a.input, &a.output, &spec)?;
    if a.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&report).context("serialising the report")?
        )?;
    } else {
        let (w, h) = report.levels[0];
        noteln!(
            "{} ({}, {w} × {h}) → {}: {} levels, {} {}, {:.1} MB in {:.2} s",
            report.input.display(),
            report.encoding,
            report.output.display(),
            report.levels.len(),
            if report.bigtiff { "BigTIFF" } else { "TIFF" },
            report.bits_per_sample,
            report.bytes as f64 / 1e6,
            t.elapsed().as_secs_f64()
        );
        let total: u64 = report.label_pixels.iter().map(|(_, n)| n).sum();
        // instance masks hold thousands of labels: the first few, and a count of the rest
        const SHOWN: usize = 16;
        let mut labels: Vec<String> = report
            .label_pixels
            .iter()
            .take(SHOWN)
            .map(|(l, n)| {
                format!(
                    "{l}: {n} ({:.2} %)",
                    100.0 * *n as f64 / total.max(1) as f64
                )
            })
            .collect();
        if report.label_pixels.len() > SHOWN {
            labels.push(format!(
                "and {} more labels (--json lists them all)",
                report.label_pixels.len() - SHOWN
            ));
        }
        noteln!("labels (level-0 pixels): {}", labels.join(", "));
        if let Some(s) = &report.palette_sidecar {
            noteln!("palette written to {}", s.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
