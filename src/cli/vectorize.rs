//! `h2g vectorize MASK -o OUT.geojson`: a label mask into QuPath annotations.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::ValueEnum;
use rayon::prelude::*;

use h2g::mask::{open_mask, MaskError, MaskOptions, MaskReader, RowSource};
use h2g::output::{progress, write_file};
use h2g::pyramid::Sample;
use h2g::slide::open_slide;
use h2g::units::Length;
use h2g::vector::{
    filter_areas, simplify_topology, ClassEncoding, ClassSpec, GeoJsonWriter, LabelTracer,
    Placement, Polygon,
};

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
    /// Classification as {name, color: [r, g, b]} as QuPath ≥ 0.4 writes it, with colorRGB beside
    /// it so that 0.2 and 0.3 keep the colour too.
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
    /// Simplify outlines with this tolerance: 2um, or 1.5px in level-0 pixels (Douglas–Peucker
    /// on the traced corners; each boundary between two labels, or a label and the background,
    /// simplified once for both sides, so annotations of different classes neither overlap nor
    /// leave gaps; every polygon stays valid). Holds the polygons in memory until the end.
    /// Breaks the exact pixel round trip.
    #[arg(long, value_name = "LENGTH")]
    simplify: Option<Length>,
    /// Coordinate frame of the output.
    #[arg(long, value_enum, default_value_t = Frame::File)]
    frame: Frame,
    /// Classification encoding for this QuPath version and later.
    #[arg(long, value_enum, default_value_t = QupathVersion::V02)]
    qupath_version: QupathVersion,
}

/// Rows per batch handed from the reading thread to the tracer.
const BATCH_ROWS: usize = 256;

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let (header, reader) = open_mask(&a.mask, &MaskOptions::default())?;
    let (w, h) = (header.width as usize, header.height as usize);
    let slide = a
        .slide
        .as_ref()
        .map(|p| open_slide(p, 1 << 34))
        .transpose()?;
    let (mut place, bounds) = match &slide {
        Some(s) => {
            let (sw, sh) = s.level_size(0)?;
            // one downsample for both axes (the paper's convention), never a per-axis ratio
            let d =
                h2g::slide::mask_downsample((header.width, header.height), (sw, sh), a.downsample)
                    .with_context(|| {
                        format!(
                            "{} does not fit {} (pass --downsample if several fit)",
                            a.mask.display(),
                            s.source()
                        )
                    })?;
            let place = Placement {
                dx: d,
                dy: d,
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
    if let Some(c) = a.classes.iter().find(|c| c.label > u16::MAX as u64) {
        anyhow::bail!(
            "--class {}={}: mask labels are at most 65535",
            c.label,
            c.name
        );
    }
    // µm per level-0 pixel, when a physical size is given
    let needs_mpp =
        a.min_area.is_some() || a.max_hole.is_some() || matches!(a.simplify, Some(Length::Um(_)));
    let mpp = if needs_mpp {
        let mpp = match (a.mpp, &slide) {
            (Some(m), _) => m,
            (None, Some(s)) => h2g::slide::SlideMeta::from_properties(s.properties(), None)
                .mpp
                .map(|p| p.x)
                .context(
                    "--min-area/--max-hole/--simplify in µm need a pixel size: the slide has \
                     none, pass --mpp",
                )?,
            (None, None) => anyhow::bail!(
                "--min-area/--max-hole/--simplify in µm need a pixel size: pass --slide or --mpp"
            ),
        };
        mpp
    } else {
        1.0
    };
    // µm² per mask pixel, for the area filters
    let px_um2 = place.dx * place.dy * mpp * mpp;
    // the simplification tolerance in mask pixels
    let mask_px = (place.dx + place.dy) / 2.0;
    let tol = match a.simplify {
        None => 0.0,
        Some(Length::Px(v)) => v / mask_px,
        Some(Length::Um(v)) => v / mpp / mask_px,
    };
    let (min_px, hole_px) = (
        a.min_area.unwrap_or(0.0) / px_um2,
        a.max_hole.unwrap_or(0.0) / px_um2,
    );
    let keep: Option<Vec<u16>> =
        (!a.classes.is_empty()).then(|| a.classes.iter().map(|c| c.label as u16).collect());
    let class_of = |l: u16| -> ClassSpec {
        a.classes
            .iter()
            .find(|c| c.label == l as u64)
            .cloned()
            .unwrap_or_else(|| ClassSpec {
                label: l as u64,
                name: format!("Label {l}"),
                color: h2g::vector::default_color(l as u64),
            })
    };
    let enc = match a.qupath_version {
        QupathVersion::V02 => ClassEncoding::ColorRgb,
        QupathVersion::V04 => ClassEncoding::ColorArray,
    };
    let bar = progress(Some(h as u64), "tracing", true);
    let mut counts: std::collections::BTreeMap<u16, usize> = Default::default();
    let mut tracer = LabelTracer::new(keep);
    let n = write_file(&a.output, |out| {
        let mut g = GeoJsonWriter::new(std::io::BufWriter::new(out), place, enc)?;
        // with --simplify every polygon is held until the end: the boundaries they share are
        // simplified once for both sides (h2g::vector::simplify_topology)
        let mut held: Vec<(u16, Polygon)> = Vec::new();
        let mut emit = |t: &mut LabelTracer| -> std::io::Result<()> {
            // area filters in parallel, writing in order
            let done: Vec<(u16, Polygon)> = t
                .take_done()
                .into_par_iter()
                .flat_map_iter(|(l, p)| {
                    filter_areas(vec![p], min_px, hole_px)
                        .into_iter()
                        .map(move |p| (l, p))
                })
                .collect();
            if tol > 0.0 {
                held.extend(done);
                return Ok(());
            }
            for (l, p) in done {
                g.polygon(&class_of(l), &p)?;
                *counts.entry(l).or_default() += 1;
            }
            Ok(())
        };
        match reader {
            MaskReader::U8(r) => stream_rows(r, w, h, &mut tracer, &bar, &mut emit)?,
            MaskReader::U16(r) => stream_rows(r, w, h, &mut tracer, &bar, &mut emit)?,
        }
        tracer.finish();
        emit(&mut tracer)?;
        if tol > 0.0 {
            let (labels, polys): (Vec<u16>, Vec<Polygon>) = held.into_iter().unzip();
            for (l, p) in labels.into_iter().zip(simplify_topology(&polys, tol)) {
                g.polygon(&class_of(l), &p)?;
                *counts.entry(l).or_default() += 1;
            }
        }
        let (n, mut out) = g.finish()?;
        out.flush()?;
        Ok(n)
    })
    .with_context(|| {
        format!(
            "cannot vectorize {} into {}",
            a.mask.display(),
            a.output.display()
        )
    })?;
    bar.finish_and_clear();
    let per: Vec<String> = counts
        .iter()
        .map(|(l, n)| format!("{n} {}", class_of(*l).name))
        .collect();
    eprintln!(
        "{}: {n} annotations ({}) → {}",
        a.mask.display(),
        if per.is_empty() {
            "none".to_string()
        } else {
            per.join(", ")
        },
        a.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Reads the mask on a second thread in batches of rows while this one traces them.
fn stream_rows<T: Sample>(
    mut src: Box<dyn RowSource<T>>,
    w: usize,
    h: usize,
    tracer: &mut LabelTracer,
    bar: &indicatif::ProgressBar,
    emit: &mut dyn FnMut(&mut LabelTracer) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<T>, MaskError>>(2);
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut y = 0;
            while y < h {
                let n = BATCH_ROWS.min(h - y);
                let mut buf = vec![T::default(); n * w];
                let r = src.read_rows(&mut buf, n).map(|_| buf);
                let failed = r.is_err();
                if tx.send(r).is_err() || failed {
                    return;
                }
                y += n;
            }
        });
        for batch in rx {
            let rows = batch.map_err(std::io::Error::other)?;
            tracer.push_rows(&rows, w);
            bar.inc((rows.len() / w.max(1)) as u64);
            emit(tracer)?;
        }
        Ok(())
    })
}
