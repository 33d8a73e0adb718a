//! `h2g info SLIDE`: everything OpenSlide and the metadata tell about a slide.

use super::out::outln;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use h2g::slide::{OpenSlideSlide, SlideInfo, SlideMeta};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The slide (any format OpenSlide reads: SVS, NDPI, MRXS, SCN, generic tiled TIFF, …).
    slide: PathBuf,
    /// Print JSON (all properties included) instead of text.
    #[arg(long)]
    json: bool,
    /// Level-0 pixel size in µm, for slides whose metadata has none (or a wrong one).
    #[arg(long, value_parser = super::args::mpp("--mpp"))]
    mpp: Option<f64>,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let slide = OpenSlideSlide::open(&a.slide)?;
    let meta = SlideMeta::from_properties(h2g::slide::Slide::properties(&slide), a.mpp);
    let info = SlideInfo::of(&slide, meta)?;
    if a.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&info).context("serialising the summary")?
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let m = &info.meta;
    outln!("slide:         {}", info.source)?;
    outln!(
        "format:        {}",
        info.vendor.as_deref().unwrap_or("unknown")
    )?;
    outln!("reader:        {}", info.reader)?;
    match m.mpp {
        Some(p) => outln!(
            "pixel size:    {:.4} × {:.4} µm  ({})",
            p.x,
            p.y,
            m.mpp_source
        )?,
        None => outln!("pixel size:    unknown (no metadata; pass --mpp to set it)")?,
    }
    match m.objective {
        Some(o) => outln!("objective:     {o}×  ({})", m.objective_source)?,
        None => outln!("objective:     unknown")?,
    }
    let b = info.bounds;
    outln!(
        "bounds:        x {} y {}, {} × {} (level 0)",
        b.x,
        b.y,
        b.width,
        b.height
    )?;
    outln!("levels:        {}", info.levels.len())?;
    for l in &info.levels {
        let mag = l
            .magnification
            .map(|v| format!("  {v:.4}×"))
            .unwrap_or_default();
        let mpp = l
            .mpp
            .map(|p| format!("  {:.4} µm/px", p.x))
            .unwrap_or_default();
        outln!(
            "  {:>2}: {:>7} × {:<7} downsample {:<10.4}{mpp}{mag}",
            l.level,
            l.width,
            l.height,
            l.downsample
        )?;
    }
    if info.associated.is_empty() {
        outln!("associated:    none")?;
    } else {
        outln!("associated:")?;
        for a in &info.associated {
            outln!("  {}: {} × {}", a.name, a.width, a.height)?;
        }
    }
    outln!("properties:    {} (see --json)", info.properties.len())?;
    Ok(ExitCode::SUCCESS)
}
