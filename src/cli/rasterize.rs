//! `h2g rasterize ANN.geojson -o MASK`: QuPath annotations into a label mask.

use super::out::noteln;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::ValueEnum;
use h2g::vector::{rasterize_file, Jdk, MaskSize, PixelRule, RasterizeSpec, SelfCrossing};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RuleArg {
    /// QuPath's LabeledImageServer export, pixel for pixel (Java2D's rendering, tile by tile).
    Qupath,
    /// A pixel is inside when its top-left corner is, in exact arithmetic (equal to QuPath only
    /// for polygons on the pixel grid).
    TopLeft,
    /// The pixel centre.
    Centre,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum JdkArg {
    /// Java 17 (QuPath 0.2–0.5 as usually installed).
    #[value(name = "17")]
    Jdk17,
    /// Java 21 or later (QuPath 0.6, 0.7).
    #[value(name = "21")]
    Jdk21,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The annotations (QuPath GeoJSON of any version; .gz accepted).
    annotations: PathBuf,
    /// The mask to write: .png for a PNG, anything else a tiled pyramidal TIFF.
    #[arg(short, long)]
    output: PathBuf,
    /// Size the mask like this slide at --downsample: floor(W/d) × floor(H/d).
    #[arg(long, conflicts_with = "size")]
    like: Option<PathBuf>,
    /// Mask size WxH (pixels at --downsample).
    #[arg(long)]
    size: Option<String>,
    /// Level-0 pixels per mask pixel.
    #[arg(long, default_value_t = 1.0, value_parser = super::positive_f64)]
    downsample: f64,
    /// NAME=LABEL for each class to draw, in priority order (later ones overwrite earlier ones);
    /// default: every class, labels 1, 2, … in order of first appearance.
    #[arg(long = "class", value_name = "NAME=LABEL")]
    classes: Vec<String>,
    /// Label for unclassified annotations (default: the next free label when no --class is
    /// given; not drawn when --class is).
    #[arg(long)]
    unclassified: Option<u16>,
    /// Skip classes not named by --class instead of failing.
    #[arg(long)]
    ignore_unknown: bool,
    /// Draw polygons marked `"isEllipse": true` as the polygons they are, as QuPath ≤ 0.3 does
    /// (QuPath ≥ 0.4 rebuilds an ellipse on the polygon's envelope, the default here).
    #[arg(long)]
    ellipses_as_polygons: bool,
    /// How annotations become pixels.
    #[arg(long, value_enum, default_value_t = RuleArg::Qupath)]
    rule: RuleArg,
    /// QuPath's LabeledImageServer lineThickness in output pixels (its builder's
    /// `lineThickness`, default 1; above 0, at most 1024): lines are drawn with
    /// BasicStroke(T · downsample), and a stroke wider than one device pixel also changes how
    /// areas are filled, as in QuPath.
    #[arg(long, default_value_t = 1.0, value_name = "T")]
    line_thickness: f32,
    /// The Java whose Marlin stroker QuPath ran on, for wide lines (their outlines differ in a
    /// few pixels at repeated vertices and where long segments cross tile edges).
    #[arg(long, value_enum, default_value_t = JdkArg::Jdk21)]
    jdk: JdkArg,
    /// Drop consecutive repeated vertices of lines first, as QuPath 0.6 and later do on import
    /// (their precision reduction; a single line left with two vertices becomes a LineROI).
    #[arg(long)]
    drop_repeated_vertices: bool,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let size = match (a.like, &a.size) {
        (Some(p), _) => MaskSize::Like(p),
        (None, Some(sz)) => {
            let (x, y) = sz
                .split_once(['x', 'X', '×'])
                .context("--size must be WxH, e.g. 12500x6250")?;
            MaskSize::Pixels(
                x.trim().parse().context("--size width")?,
                y.trim().parse().context("--size height")?,
            )
        }
        (None, None) => anyhow::bail!("give the mask size with --like SLIDE or --size WxH"),
    };
    let mut classes = Vec::new();
    for spec in &a.classes {
        let (name, label) = spec
            .rsplit_once('=')
            .with_context(|| format!("--class '{spec}' is not NAME=LABEL"))?;
        let label: u16 = label
            .trim()
            .parse()
            .with_context(|| format!("--class '{spec}': label must be 0–65535"))?;
        classes.push((name.trim().to_string(), label));
    }
    let rule = match a.rule {
        RuleArg::Qupath => PixelRule::Qupath,
        RuleArg::TopLeft => PixelRule::TopLeft,
        RuleArg::Centre => PixelRule::Centre,
    };
    let spec = RasterizeSpec {
        annotations: a.annotations,
        output: a.output,
        size,
        downsample: a.downsample,
        classes,
        unclassified: a.unclassified,
        ignore_unknown: a.ignore_unknown,
        ellipses_as_polygons: a.ellipses_as_polygons,
        rule,
        line_thickness: a.line_thickness,
        jdk: match a.jdk {
            JdkArg::Jdk17 => Jdk::Jdk17,
            JdkArg::Jdk21 => Jdk::Jdk21,
        },
        drop_repeated_vertices: a.drop_repeated_vertices,
        progress: true,
    };
    let r = rasterize_file(&spec)?;
    let src = spec.annotations.display();
    report_self_crossings(&r.self_crossings, &src.to_string());
    let map: Vec<String> = r
        .labels
        .iter()
        .map(|(c, l)| format!("{}={l}", c.as_deref().unwrap_or("(unclassified)")))
        .collect();
    noteln!(
        "{src}: {} polygonal annotations ({} without area skipped) → {} ({} × {} at downsample \
         {}, rule {}): {}",
        r.annotations,
        r.skipped,
        spec.output.display(),
        r.width,
        r.height,
        spec.downsample,
        format!("{:?}", a.rule).to_lowercase(),
        map.join(", ")
    );
    let n = r.drawn;
    noteln!(
        "{src}: drew {} polygons, {} rectangles, {} ellipses, {} point sets and {} line features \
         ({} line(s)){}",
        n.polygons,
        n.rectangles,
        n.ellipses,
        n.points,
        n.lines,
        r.line_parts,
        if rule == PixelRule::Qupath || n.points + n.lines == 0 {
            ""
        } else {
            " (points and lines are drawn only by the qupath rule: none drawn)"
        },
    );
    Ok(ExitCode::SUCCESS)
}

/// Warns, per annotation, about rings that cross themselves: QuPath fills a lone ring
/// non-zero (a lobe wound twice stays filled) and rings with holes or several parts even-odd;
/// the exact rules fill every ring even-odd.
fn report_self_crossings(found: &[SelfCrossing], path: &str) {
    if found.is_empty() {
        return;
    }
    noteln!(
        "{path}: {} self-crossing ring(s), filled as QuPath fills them (a lone ring non-zero, \
         holes and multipolygons even-odd; repair them in QuPath to choose otherwise):",
        found.len()
    );
    for f in found.iter().take(20) {
        let ring = match f.ring {
            0 => "shell".to_string(),
            j => format!("hole {j}"),
        };
        let what = if f.checked {
            "crosses itself near"
        } else {
            "touches itself at vertices too often to be checked for crossings, e.g. at"
        };
        noteln!(
            "  annotation {} ({}), polygon {}, {ring}: {what} ({:.1}, {:.1})",
            f.annotation,
            f.class.as_deref().unwrap_or("unclassified"),
            f.polygon,
            f.at.0,
            f.at.1
        );
    }
    if found.len() > 20 {
        noteln!("  … and {} more", found.len() - 20);
    }
}
