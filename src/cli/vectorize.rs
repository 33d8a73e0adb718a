//! `h2g vectorize MASK -o OUT.geojson`: a label mask into QuPath annotations.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::ValueEnum;
use h2g::mask::{open_mask, MaskOptions, MaskReader};
use h2g::output::{progress, write_file};
use h2g::slide::open_slide;
use h2g::vector::{filter_areas, trace, write_geojson, ClassEncoding, ClassSpec, Placement};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Frame {
    /// Level-0 pixels of the slide file.
    File,
    /// QuPath's frame: level-0 pixels minus the OpenSlide bounds origin (MRXS, some NDPI).
    Qupath,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum QupathVersion {
    /// Classification as {name, colorRGB}: colours kept by every QuPath 0.2–0.7.
    #[value(name = "0.2")]
    V02,
    /// Classification as {name, color: [r, g, b]} (QuPath ≥ 0.4).
    #[value(name = "0.4")]
    V04,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The mask (PNG or TIFF; label values).
    mask: PathBuf,
    /// The GeoJSON to write.
    #[arg(short, long)]
    output: PathBuf,
    /// A label and its class, LABEL=NAME[:#RRGGBB] (repeat); default: every non-zero label,
    /// named "Label N".
    #[arg(long = "class", value_name = "LABEL=NAME[:#RRGGBB]")]
    classes: Vec<ClassSpec>,
    /// Level-0 pixels per mask pixel (default: from --slide's size, else 1).
    #[arg(long, value_parser = super::positive_f64)]
    downsample: Option<f64>,
    /// The slide the mask belongs to (gives the downsample and the bounds for --frame qupath).
    #[arg(long)]
    slide: Option<PathBuf>,
    /// Level-0 pixel size in µm (default: the slide's), for --min-area and --max-hole.
    #[arg(long, value_parser = super::positive_f64)]
    mpp: Option<f64>,
    /// Drop annotations smaller than this many µm² (as QuPath's tissue detection does).
    #[arg(long)]
    min_area: Option<f64>,
    /// Fill holes smaller than this many µm².
    #[arg(long)]
    max_hole: Option<f64>,
    /// Coordinate frame of the output.
    #[arg(long, value_enum, default_value_t = Frame::File)]
    frame: Frame,
    /// Classification encoding for this QuPath version and later.
    #[arg(long, value_enum, default_value_t = QupathVersion::V02)]
    qupath_version: QupathVersion,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let (header, reader) = open_mask(&a.mask, &MaskOptions::default())?;
    let (w, h) = (header.width as usize, header.height as usize);
    if w as u64 * h as u64 > 1 << 31 {
        anyhow::bail!(
            "{} has {w} × {h} pixels: this version vectorizes masks of up to 2^31 pixels in memory \
             (strip-by-strip streaming is not implemented yet)",
            a.mask.display()
        );
    }
    let mut labels = vec![0u16; w * h];
    match reader {
        MaskReader::U8(mut r) => {
            let mut row = vec![0u8; w];
            for y in 0..h {
                r.read_rows(&mut row, 1)?;
                for (d, s) in labels[y * w..(y + 1) * w].iter_mut().zip(&row) {
                    *d = *s as u16;
                }
            }
        }
        MaskReader::U16(mut r) => r.read_rows(&mut labels, h)?,
    }
    let slide = a
        .slide
        .as_ref()
        .map(|p| open_slide(p, 1 << 34))
        .transpose()?;
    let (mut place, bounds) = match &slide {
        Some(s) => {
            let (sw, sh) = s.level_size(0)?;
            let d = a.downsample;
            let place = Placement {
                dx: d.unwrap_or(sw as f64 / w as f64),
                dy: d.unwrap_or(sh as f64 / h as f64),
                x0: 0.0,
                y0: 0.0,
            };
            (place, Some(s.bounds()))
        }
        None => {
            let d = a.downsample.unwrap_or(1.0);
            (
                Placement {
                    dx: d,
                    dy: d,
                    x0: 0.0,
                    y0: 0.0,
                },
                None,
            )
        }
    };
    if let (Frame::Qupath, Some(b)) = (a.frame, bounds) {
        place.x0 = -(b.x as f64);
        place.y0 = -(b.y as f64);
    } else if matches!(a.frame, Frame::Qupath) {
        anyhow::bail!("--frame qupath needs --slide (its OpenSlide bounds)");
    }
    let mut present: Vec<u16> = labels
        .iter()
        .copied()
        .filter(|&v| v != 0)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    present.sort_unstable();
    let specs: Vec<ClassSpec> = if a.classes.is_empty() {
        present
            .iter()
            .map(|&l| ClassSpec {
                label: l as u64,
                name: format!("Label {l}"),
                color: h2g::vector::default_color(l as u64),
            })
            .collect()
    } else {
        a.classes.clone()
    };
    // µm² per mask pixel, for the area filters
    let px_um2 = if a.min_area.is_some() || a.max_hole.is_some() {
        let mpp = match (a.mpp, &slide) {
            (Some(m), _) => m,
            (None, Some(s)) => h2g::slide::SlideMeta::from_properties(s.properties(), None)
                .mpp
                .map(|p| p.x)
                .context(
                    "--min-area/--max-hole need a pixel size: the slide has none, pass --mpp",
                )?,
            (None, None) => {
                anyhow::bail!("--min-area/--max-hole need a pixel size: pass --slide or --mpp")
            }
        };
        place.dx * place.dy * mpp * mpp
    } else {
        1.0
    };
    let (min_px, hole_px) = (
        a.min_area.unwrap_or(0.0) / px_um2,
        a.max_hole.unwrap_or(0.0) / px_um2,
    );
    let spinner = progress(None, "tracing", true);
    let classes: Vec<(ClassSpec, Vec<h2g::vector::Polygon>)> = specs
        .into_iter()
        .map(|c| {
            spinner.set_message(format!("tracing {}", c.name));
            let fg: Vec<bool> = labels.iter().map(|&v| v as u64 == c.label).collect();
            let polys = filter_areas(trace(&fg, w, h), min_px, hole_px);
            (c, polys)
        })
        .collect();
    let enc = match a.qupath_version {
        QupathVersion::V02 => ClassEncoding::ColorRgb,
        QupathVersion::V04 => ClassEncoding::ColorArray,
    };
    spinner.finish_and_clear();
    let n = write_file(&a.output, |w| write_geojson(w, &classes, &place, enc))
        .with_context(|| format!("cannot write {}", a.output.display()))?;
    let per: Vec<String> = classes
        .iter()
        .map(|(c, p)| format!("{} {}", p.len(), c.name))
        .collect();
    eprintln!(
        "{}: {n} annotations ({}) → {}",
        a.mask.display(),
        per.join(", "),
        a.output.display()
    );
    Ok(ExitCode::SUCCESS)
}
