//! `h2g rasterize ANN.geojson -o MASK`: QuPath annotations into a label mask.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::ValueEnum;
use h2g::convert::{write_mask, ConvertSpec, PaletteMode};
use h2g::mask::{MaskHeader, MaskReader};
use h2g::output::{progress, write_png_rows};
use h2g::slide::open_slide;
use h2g::vector::{
    read_annotations, self_crossing, Figure, Jdk, LineStroke, PixelRule, QupathFill, ScanFill,
};

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
    let mut ann = read_annotations(&a.annotations)?;
    if a.ellipses_as_polygons {
        ann.items.iter_mut().for_each(|i| i.ellipse = false);
    }
    let d = a.downsample;
    let (w, h) = match (&a.like, &a.size) {
        (Some(p), _) => {
            let s = open_slide(p, 1 << 34)?;
            let (sw, sh) = s.level_size(0)?;
            (
                ((sw as f64 / d).floor() as usize).max(1),
                ((sh as f64 / d).floor() as usize).max(1),
            )
        }
        (None, Some(sz)) => {
            let (x, y) = sz
                .split_once(['x', 'X', '×'])
                .context("--size must be WxH, e.g. 12500x6250")?;
            (
                x.trim().parse().context("--size width")?,
                y.trim().parse().context("--size height")?,
            )
        }
        (None, None) => anyhow::bail!("give the mask size with --like SLIDE or --size WxH"),
    };
    if w == 0 || h == 0 || w > u32::MAX as usize || h > u32::MAX as usize {
        anyhow::bail!("a {w} × {h} mask: each side must be 1 to 2^32 − 1 pixels");
    }
    // class → label, in priority order
    let mut order: Vec<(Option<String>, u16)> = Vec::new();
    if a.classes.is_empty() {
        let mut seen = Vec::new();
        let classes = ann.items.iter().map(|i| &i.class);
        for it in classes
            .chain(ann.marks.iter().map(|m| &m.class))
            .flatten()
            .cloned()
        {
            if !seen.contains(&it) {
                seen.push(it);
            }
        }
        for (i, c) in seen.iter().enumerate() {
            order.push((Some(c.clone()), (i + 1) as u16));
        }
        // unclassified annotations (a bare geometry, say) get the next label, drawn first
        if a.unclassified.is_none()
            && (ann.items.iter().any(|i| i.class.is_none())
                || ann.marks.iter().any(|m| m.class.is_none()))
        {
            order.insert(0, (None, (seen.len() + 1) as u16));
        }
    } else {
        for spec in &a.classes {
            let (name, label) = spec
                .rsplit_once('=')
                .with_context(|| format!("--class '{spec}' is not NAME=LABEL"))?;
            order.push((
                Some(name.trim().to_string()),
                label
                    .trim()
                    .parse()
                    .with_context(|| format!("--class '{spec}': label must be 0–65535"))?,
            ));
        }
        let known: BTreeSet<&str> = order.iter().filter_map(|(n, _)| n.as_deref()).collect();
        let unknown: BTreeSet<&str> = ann
            .items
            .iter()
            .map(|i| &i.class)
            .chain(ann.marks.iter().map(|m| &m.class))
            .filter_map(|c| c.as_deref())
            .filter(|c| !known.contains(c))
            .collect();
        if !unknown.is_empty() && !a.ignore_unknown {
            anyhow::bail!(
                "{} has classes that no --class maps: {} (map them, or pass --ignore-unknown)",
                a.annotations.display(),
                unknown.into_iter().collect::<Vec<_>>().join(", ")
            );
        }
    }
    if let Some(l) = a.unclassified {
        order.insert(0, (None, l));
    }
    report_self_crossings(&ann, &a.annotations);
    let rule = match a.rule {
        RuleArg::Qupath => PixelRule::Qupath,
        RuleArg::TopLeft => PixelRule::TopLeft,
        RuleArg::Centre => PixelRule::Centre,
    };
    let rank: std::collections::HashMap<&Option<String>, usize> =
        order.iter().enumerate().map(|(i, (c, _))| (c, i)).collect();
    let drawn = |c: Option<&str>| rank.contains_key(&c.map(str::to_string));
    let lines = ann.lines_where(drawn);
    let jdk = match a.jdk {
        JdkArg::Jdk17 => Jdk::Jdk17,
        JdkArg::Jdk21 => Jdk::Jdk21,
    };
    let stroke = LineStroke::new(a.line_thickness, jdk)?;
    let mut layers: Vec<(u16, Vec<Figure>)> = order.iter().map(|(_, l)| (*l, Vec::new())).collect();
    let mut kinds = [0usize; 5];
    for (r, (class, _)) in order.iter().enumerate() {
        let mut figs = ann.figures_where(|c| c == class.as_deref());
        if a.drop_repeated_vertices {
            figs = figs
                .into_iter()
                .map(Figure::without_repeated_vertices)
                .collect();
        }
        for f in &figs {
            kinds[match f {
                Figure::Area { .. } => 0,
                Figure::Rect { .. } => 1,
                Figure::Ellipse { .. } => 2,
                Figure::Points(_) => 3,
                Figure::Lines(_) | Figure::Line(_) => 4,
            }] += 1;
        }
        layers[r].1 = figs;
    }
    let (n_items, n_skipped) = (ann.items.len(), ann.skipped);
    drop(ann);
    let max = order.iter().map(|o| o.1).max().unwrap_or(0);
    let mut fill = if rule == PixelRule::Qupath {
        Fill::Qupath(Box::new(QupathFill::with_stroke(&layers, w, h, d, stroke)))
    } else {
        Fill::Exact(ScanFill::figures(&layers, w, h, d, rule))
    };
    drop(layers);
    let png = a
        .output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if png {
        let mut row = vec![0u16; w];
        let bar = progress(Some(h as u64), "rasterizing", true);
        write_png_rows(&a.output, w as u32, h as u32, max > 255, |_, buf| {
            fill.fill_row(&mut row);
            if max > 255 {
                for (d, v) in buf.chunks_exact_mut(2).zip(&row) {
                    d.copy_from_slice(&v.to_be_bytes());
                }
            } else {
                for (d, v) in buf.iter_mut().zip(&row) {
                    *d = *v as u8;
                }
            }
            bar.inc(1);
            Ok(())
        })
        .with_context(|| format!("cannot write {}", a.output.display()))?;
        bar.finish_and_clear();
    } else {
        let header = MaskHeader {
            width: w as u32,
            height: h as u32,
            encoding: "rasterized annotations".into(),
            palette: None,
        };
        let reader = match (fill, max > 255) {
            (Fill::Qupath(q), true) => MaskReader::U16(q),
            (Fill::Qupath(q), false) => MaskReader::U8(q),
            (Fill::Exact(e), true) => MaskReader::U16(Box::new(e)),
            (Fill::Exact(e), false) => MaskReader::U8(Box::new(e)),
        };
        let spec = ConvertSpec {
            palette: PaletteMode::Drop,
            progress: true,
            tile: 512,
            ..ConvertSpec::default()
        };
        write_mask(&a.annotations, header, reader, &a.output, &spec)?;
    }
    let map: Vec<String> = order
        .iter()
        .map(|(c, l)| format!("{}={l}", c.as_deref().unwrap_or("(unclassified)")))
        .collect();
    eprintln!(
        "{}: {n_items} polygonal annotations ({n_skipped} without area skipped) → {} ({w} × {h} \
         at downsample {d}, rule {}): {}",
        a.annotations.display(),
        a.output.display(),
        format!("{:?}", a.rule).to_lowercase(),
        map.join(", ")
    );
    eprintln!(
        "{}: drew {} polygons, {} rectangles, {} ellipses, {} point sets and {} line \
         features ({lines} line(s)){}",
        a.annotations.display(),
        kinds[0],
        kinds[1],
        kinds[2],
        kinds[3],
        kinds[4],
        if rule == PixelRule::Qupath || kinds[3] + kinds[4] == 0 {
            ""
        } else {
            " (points and lines are drawn only by the qupath rule: none drawn)"
        },
    );
    Ok(ExitCode::SUCCESS)
}

/// The row source of the chosen rule.
enum Fill {
    Qupath(Box<QupathFill>),
    Exact(ScanFill),
}

impl Fill {
    fn fill_row(&mut self, row: &mut [u16]) {
        match self {
            Fill::Qupath(q) => q.fill_row(row),
            Fill::Exact(e) => e.fill_row(row),
        }
    }
}

/// Warns, per annotation, about rings that cross themselves: QuPath fills a lone ring
/// non-zero (a lobe wound twice stays filled) and rings with holes or several parts even-odd;
/// the exact rules fill every ring even-odd.
fn report_self_crossings(ann: &h2g::vector::Annotations, path: &std::path::Path) {
    let mut found = Vec::new();
    for (i, item) in ann.items.iter().enumerate() {
        for (k, poly) in item.polygons.iter().enumerate() {
            for (j, ring) in poly.iter().enumerate() {
                if let Some((x, y)) = self_crossing(ring) {
                    found.push(format!(
                        "annotation {} ({}), polygon {k}, {}: crosses itself near ({x:.1}, {y:.1})",
                        i + 1,
                        item.class.as_deref().unwrap_or("unclassified"),
                        if j == 0 {
                            "shell".to_string()
                        } else {
                            format!("hole {j}")
                        }
                    ));
                }
            }
        }
    }
    if !found.is_empty() {
        eprintln!(
            "{}: {} self-crossing ring(s), filled as QuPath fills them (a lone ring non-zero, \
             holes and multipolygons even-odd; repair them in QuPath to choose otherwise):",
            path.display(),
            found.len()
        );
        for f in found.iter().take(20) {
            eprintln!("  {f}");
        }
        if found.len() > 20 {
            eprintln!("  … and {} more", found.len() - 20);
        }
    }
}
