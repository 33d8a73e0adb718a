//! `h2g region SLIDE`: read any region at any resolution and save it as PNG.

use super::out::noteln;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use h2g::output::write_png_rgb;
use h2g::slide::{plan_read, read_at, OpenSlideSlide, Slide, SlideMeta};
use h2g::units::Resolution;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The slide.
    slide: PathBuf,
    /// The output PNG.
    #[arg(short, long)]
    output: PathBuf,
    /// Resolution: 10x (magnification), 1.0um (µm/px), ds:4 (downsample) or level:2.
    #[arg(long, default_value = "level:0")]
    at: Resolution,
    /// Left edge, level-0 pixels.
    #[arg(long, default_value_t = 0)]
    x: u64,
    /// Top edge, level-0 pixels.
    #[arg(long, default_value_t = 0)]
    y: u64,
    /// Output width in pixels (default: to the slide's right edge).
    #[arg(long)]
    width: Option<u32>,
    /// Output height in pixels (default: to the slide's bottom edge).
    #[arg(long)]
    height: Option<u32>,
    /// Level-0 pixel size in µm, for slides without metadata.
    #[arg(long, value_parser = super::args::mpp("--mpp"))]
    mpp: Option<f64>,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let slide = OpenSlideSlide::open(&a.slide)?;
    let meta = SlideMeta::from_properties(slide.properties(), a.mpp);
    let plan = plan_read(&slide, &meta, a.at)?;
    let (w0, h0) = slide.level_size(0)?;
    let ds = plan.target_downsample;
    let fit =
        |edge: u64, start: u64| ((edge.saturating_sub(start)) as f64 / ds).floor().max(1.0) as u32;
    let width = a.width.unwrap_or_else(|| fit(w0, a.x));
    let height = a.height.unwrap_or_else(|| fit(h0, a.y));
    if width as u64 * height as u64 > 1 << 28 {
        anyhow::bail!(
            "a {width} × {height} region is too large for one PNG; give --width/--height"
        );
    }
    let img = read_at(&slide, &plan, a.x, a.y, width, height)?;
    noteln!(
        "read level {} (downsample {:.4}){} → {} × {} at downsample {:.4}",
        plan.level,
        plan.level_downsample,
        if plan.exact() { "" } else { ", resampled" },
        width,
        height,
        ds
    );
    write_png_rgb(&a.output, &img)
        .with_context(|| format!("cannot write {}", a.output.display()))?;
    Ok(ExitCode::SUCCESS)
}
