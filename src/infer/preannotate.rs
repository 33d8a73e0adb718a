//! QuPath pre-annotations for an annotation campaign (`h2g preannotate`), as in the paper: AN2
//! (patch classifier → heatmap → threshold → closing, area filters → Tumor annotations) or AN1
//! (QuPath's simple tissue detection with the paper's settings → Tissue annotations), over many
//! slides, a bad slide reported and skipped.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::heatmap::{heatmap, HeatmapError, HeatmapSpec};
use super::manifest::{Manifest, Role};
use super::outputs::{write_heatmap_files, OutputError};
use super::runtime::{OpenModelError, Runtime};
use super::segment::{mask_size, write_grid_geojson, ResultGrid};
use super::Model;
use crate::naming::{output_stem, NamingError};
use crate::output::OutputSet;
use crate::slide::{open_slide, SlideError, SlideMeta};
use crate::tissue::{
    run_tissue, BitMask, Element, Method, QupathParams, TissueOutput, TissueRunError,
};
use crate::vector::{ClassSpec, Placement};

/// Where the AN2 pre-annotation of the slide named `stem` keeps its file with extension `ext`
/// (`geojson`, `json`): `DIR/STEM.preannotate-an2.EXT` (AN1's are the tissue run's,
/// `STEM.tissue-qupath.*`).
pub fn an2_path(dir: &Path, stem: &str, ext: &str) -> PathBuf {
    dir.join(format!("{stem}.preannotate-an2.{ext}"))
}

/// How the pre-annotations are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum PreMethod {
    /// Model-assisted (the paper's AN2): patch classifier → heatmap → threshold → closing, area
    /// filters → Tumor annotations.
    An2,
    /// Tissue-based (the paper's AN1): QuPath's simple tissue detection with threshold 200, 20 µm,
    /// min area 100 000 µm² → Tissue annotations to correct into tumour.
    An1,
}

/// A pre-annotation run over slides.
#[derive(Debug, Clone)]
pub struct PreannotateSpec {
    /// The slides.
    pub slides: Vec<PathBuf>,
    /// The output folder (one set of files per slide, named by the slide file's stem).
    pub output: PathBuf,
    /// AN2 or AN1.
    pub method: PreMethod,
    /// The patch classifier for AN2: a built-in name or an .onnx path.
    pub model: Option<String>,
    /// Heatmap threshold (default: the model manifest's).
    pub threshold: Option<f64>,
    /// Closing of the thresholded heatmap: a square of 2r+1 cells (0: none).
    pub closing: usize,
    /// Annotations smaller than this many µm² are dropped (≥ 0).
    pub min_area: f64,
    /// Holes smaller than this many µm² are filled (≥ 0).
    pub max_hole: f64,
    /// Level-0 pixels per pixel of the mask the annotations are traced at.
    pub mask_downsample: f64,
    /// Minimum tissue fraction of a patch for it to run.
    pub min_tissue: f64,
    /// Patches per inference call (0 is taken as 1).
    pub batch: usize,
    /// Coordinates in QuPath's frame (minus the OpenSlide bounds origin).
    pub qupath_frame: bool,
    /// AN2's stage-1 tissue gate (the paper's saturation rule, or FAST's).
    pub gate: super::heatmap::Gate,
    /// Level-0 pixel size in µm, for slides without one.
    pub mpp: Option<f64>,
    /// Cores, device and runtime library.
    pub runtime: Runtime,
}

/// Why pre-annotation could not start, or why a slide failed.
#[derive(Debug, thiserror::Error)]
pub enum PreannotateError {
    /// A negative area filter.
    #[error("--min-area and --max-hole must be ≥ 0")]
    Areas {
        /// The minimum area given.
        min_area: f64,
        /// The maximum hole given.
        max_hole: f64,
    },
    /// AN2 with a multiclass patch classifier.
    #[error(
        "--method an2 pre-annotates tumour with a binary patch classifier; '{model}' has {classes} \
         classes: use `h2g segment --design pw` for one annotation class per model class"
    )]
    Multiclass {
        /// The model's name.
        model: String,
        /// Its classes.
        classes: usize,
    },
    /// AN2 without a model.
    #[error("--method an2 needs --model (the patch classifier)")]
    NoModel,
    /// The model could not be opened.
    #[error(transparent)]
    Model(#[from] OpenModelError),
    /// The slide could not be read.
    #[error(transparent)]
    Slide(#[from] SlideError),
    /// The outputs cannot be placed.
    #[error(transparent)]
    Naming(#[from] NamingError),
    /// AN1's tissue detection failed.
    #[error(transparent)]
    Tissue(#[from] TissueRunError),
    /// AN2's heatmap failed.
    #[error(transparent)]
    Heatmap(#[from] HeatmapError),
    /// Area filters in µm² on a slide without a pixel size.
    #[error("--min-area/--max-hole need the slide's pixel size: pass --mpp")]
    NoPixelSize,
    /// The heatmap files could not be written.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// A file could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// What `STEM.preannotate-an2.json` holds (fields in the file's order).
#[derive(Debug, Clone, Serialize)]
pub struct An2Report {
    /// Annotations written.
    pub annotations: usize,
    /// Heatmap cells at or above the threshold after the closing.
    pub cells_positive: usize,
    /// Cells the classifier ran on.
    pub cells_run: usize,
    /// The closing's radius in cells.
    pub closing_cells: usize,
    /// The files written.
    pub files: An2Files,
    /// The stage-1 tissue gate that chose the patches.
    pub gate: super::heatmap::Gate,
    /// Level-0 pixels per mask pixel.
    pub mask_downsample: f64,
    /// Holes filled below this area.
    pub max_hole_um2: f64,
    /// Always "an2".
    pub method: PreMethod,
    /// Annotations dropped below this area.
    pub min_area_um2: f64,
    /// The model's manifest name.
    pub model: String,
    /// Whether coordinates are in QuPath's frame.
    pub qupath_frame: bool,
    /// The slide file.
    pub slide: PathBuf,
    /// The heatmap threshold used.
    pub threshold: f64,
    /// Whether the model has trained weights.
    pub trained: bool,
}

/// The files of an AN2 pre-annotation.
#[derive(Debug, Clone, Serialize)]
pub struct An2Files {
    /// The Tumor annotations.
    pub geojson: PathBuf,
    /// The heatmap (float32 TIFF, PNG preview).
    pub heatmap: [PathBuf; 2],
}

/// A slide pre-annotated.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Preannotated {
    /// Tissue annotations.
    An1 {
        /// The slide file.
        slide: PathBuf,
        /// Tissue pixels / all pixels.
        tissue_fraction: f64,
        /// The annotations.
        geojson: Option<PathBuf>,
    },
    /// Tumor annotations (the report also written as JSON).
    An2(An2Report),
}

impl fmt::Display for Preannotated {
    /// The line `h2g preannotate` prints for the slide.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Preannotated::An1 {
                slide,
                tissue_fraction,
                geojson,
            } => write!(
                f,
                "{}: an1: tissue {:.2} % → {}",
                slide.display(),
                100.0 * tissue_fraction,
                geojson
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            ),
            Preannotated::An2(r) => write!(
                f,
                "{}: an2: {} Tumor annotations from {} patches{} → {}",
                r.slide.display(),
                r.annotations,
                r.cells_run,
                if r.trained {
                    ""
                } else {
                    " [UNTRAINED test model]"
                },
                r.files.geojson.display()
            ),
        }
    }
}

/// What became of one slide.
#[derive(Debug)]
pub struct SlideOutcome {
    /// The slide file.
    pub slide: PathBuf,
    /// Its pre-annotation, or why it failed.
    pub result: Result<Preannotated, PreannotateError>,
}

/// What a front end hears of a pre-annotation run; the default does nothing.
pub trait PreannotateObserver {
    /// Slide `k` (0-based) of `n` is done.
    fn slide_done(&mut self, _k: usize, _n: usize, _outcome: &SlideOutcome) {}
}

/// Pre-annotates every slide of `spec` in order, telling `observer` of each; a slide that fails
/// is recorded and the run goes on. Fails before any slide only for settings that cannot work
/// (negative areas, AN2 without a usable model).
pub fn preannotate(
    spec: &PreannotateSpec,
    observer: &mut dyn PreannotateObserver,
) -> Result<Vec<SlideOutcome>, PreannotateError> {
    if spec.min_area < 0.0 || spec.max_hole < 0.0 {
        return Err(PreannotateError::Areas {
            min_area: spec.min_area,
            max_hole: spec.max_hole,
        });
    }
    let mut model = match spec.method {
        PreMethod::An2 => {
            let name = spec.model.as_deref().ok_or(PreannotateError::NoModel)?;
            Some(
                spec.runtime
                    .open_model(name, Role::PatchClassifier, "--model", true)?,
            )
        }
        PreMethod::An1 => None,
    };
    if let Some((_, man)) = &model {
        if man.is_multiclass() {
            return Err(PreannotateError::Multiclass {
                model: man.name.clone(),
                classes: man.classes.len(),
            });
        }
    }
    let n = spec.slides.len();
    let mut outcomes = Vec::with_capacity(n);
    for (k, slide) in spec.slides.iter().enumerate() {
        let outcome = SlideOutcome {
            slide: slide.clone(),
            result: one(spec, slide, model.as_mut()),
        };
        observer.slide_done(k, n, &outcome);
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

fn one(
    spec: &PreannotateSpec,
    path: &Path,
    model: Option<&mut (Model, Manifest)>,
) -> Result<Preannotated, PreannotateError> {
    let slide = open_slide(path, 1 << 34)?;
    let meta = SlideMeta::from_properties(slide.properties(), spec.mpp);
    let stem = output_stem(&spec.output, path, None)?;
    let (m, man) = match (spec.method, model) {
        (PreMethod::An2, Some(m)) => m,
        (PreMethod::An2, None) => return Err(PreannotateError::NoModel),
        (PreMethod::An1, _) => {
            let rep = run_tissue(
                &*slide,
                &meta,
                &Method::Qupath(QupathParams::an1()),
                None,
                &TissueOutput {
                    dir: spec.output.clone(),
                    stem,
                    tile: 512,
                    geojson: true,
                    qupath_frame: spec.qupath_frame,
                },
            )?;
            return Ok(Preannotated::An1 {
                slide: path.to_path_buf(),
                tissue_fraction: rep.tissue_fraction,
                geojson: rep.files.geojson,
            });
        }
    };
    let hspec = HeatmapSpec {
        min_tissue: spec.min_tissue,
        batch: spec.batch.max(1),
        // most slides are read directly (JPEG-tiled TIFF/SVS); one model serves them all
        readers: spec.runtime.readers(true),
        tissue: spec.gate.method(),
        ..HeatmapSpec::default()
    };
    let hm = heatmap(&*slide, &meta, m, man, &hspec, &|_, _| {})?;
    let thr = spec.threshold.unwrap_or(man.threshold);
    let (cols, rows) = (hm.grid.cols as usize, hm.grid.rows as usize);
    let mut cells = BitMask::from_rows(cols, rows, |y, row| {
        for (x, v) in row.iter_mut().enumerate() {
            *v = hm.values[y * cols + x] as f64 >= thr;
        }
    });
    if spec.closing > 0 {
        cells = cells.close(&Element::square(2 * spec.closing + 1));
    }
    let side = hm.grid.side();
    let grid = Arc::new(ResultGrid {
        width: cols,
        height: rows,
        extent: (cols as f64 * side, rows as f64 * side),
        data: cells.to_bytes(1),
    });
    let d = spec.mask_downsample;
    let (mw, mh) = mask_size(slide.level_size(0)?, d);
    let px_um2 = match (spec.min_area > 0.0 || spec.max_hole > 0.0, meta.mpp) {
        (false, _) => 1.0,
        (true, Some(p)) => p.x * p.y * d * d,
        (true, None) => return Err(PreannotateError::NoPixelSize),
    };
    let place = Placement::at_downsample(d, spec.qupath_frame.then(|| slide.bounds()));
    let class = ClassSpec {
        label: 1,
        name: "Tumor".into(),
        color: [200, 0, 0],
    };
    let geojson = an2_path(&spec.output, &stem, "geojson");
    let filters = (spec.min_area / px_um2, spec.max_hole / px_um2);
    let mut set = OutputSet::new();
    let n = set
        .write_file(&geojson, |out| {
            let out = std::io::BufWriter::new(out);
            let (n, mut w) = write_grid_geojson(
                grid.clone(),
                d,
                (mw, mh),
                place,
                std::slice::from_ref(&class),
                filters,
                out,
            )?;
            w.flush()?;
            Ok(n)
        })
        .map_err(|source| PreannotateError::Write {
            path: geojson.clone(),
            source,
        })?;
    let files = write_heatmap_files(&mut set, &spec.output, &stem, &hm)?;
    let report = An2Report {
        annotations: n,
        cells_positive: grid.data.iter().filter(|&&v| v != 0).count(),
        cells_run: hm.ran,
        closing_cells: spec.closing,
        files: An2Files {
            geojson,
            heatmap: [files.tiff, files.png],
        },
        gate: spec.gate,
        mask_downsample: d,
        max_hole_um2: spec.max_hole,
        method: PreMethod::An2,
        min_area_um2: spec.min_area,
        model: man.name.clone(),
        qupath_frame: spec.qupath_frame,
        slide: path.to_path_buf(),
        threshold: thr,
        trained: man.trained,
    };
    let json = an2_path(&spec.output, &stem, "json");
    set.commit_with_report(&json, &report)
        .map_err(|e| PreannotateError::Write {
            path: e.path,
            source: e.source,
        })?;
    Ok(Preannotated::An2(report))
}
