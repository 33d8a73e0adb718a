//! `h2g vectorize MASK -o OUT.geojson`: a label mask into QuPath annotations
//! (`h2g::vector::vectorize`); this file is its flags and the printed line.

use super::out::noteln;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;

use h2g::output::progress;
use h2g::units::Length;
use h2g::vector::{vectorize, ClassEncoding, ClassSpec, VectorizeSpec};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Frame {
    /// Level-0 pixels of the slide file.
    File,
    /// QuPath's frame: level-0 pixels minus the OpenSlide bounds origin (MRXS, Leica SCN, some NDPI).
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
    #[arg(long, value_parser = super::args::mpp("--mpp"))]
    mpp: Option<f64>,
    /// Drop annotations smaller than this many µm² (as QuPath's tissue detection does).
    #[arg(long, value_parser = super::args::area("--min-area"))]
    min_area: Option<f64>,
    /// Fill holes smaller than this many µm².
    #[arg(long, value_parser = super::args::area("--max-hole"))]
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

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let spec = VectorizeSpec {
        mask: a.mask,
        output: a.output,
        classes: a.classes,
        downsample: a.downsample,
        slide: a.slide,
        mpp: a.mpp,
        min_area: a.min_area,
        max_hole: a.max_hole,
        simplify: a.simplify,
        qupath_frame: matches!(a.frame, Frame::Qupath),
        encoding: match a.qupath_version {
            QupathVersion::V02 => ClassEncoding::ColorRgb,
            QupathVersion::V04 => ClassEncoding::ColorArray,
        },
    };
    let bar = progress(Some(0), "tracing", true);
    let done = vectorize(&spec, &super::bar_progress(&bar))?;
    bar.finish_and_clear();
    noteln!("{done}");
    Ok(ExitCode::SUCCESS)
}
