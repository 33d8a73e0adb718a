//! Running a tissue method on a slide and writing its outputs: the mask as a tiled pyramidal
//! TIFF, a PNG preview (tissue tinted on the image it was found on) and a JSON report.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::{detect, detect_qupath, BitMask, Detection, Method, QupathSummary, TissueError};
use crate::convert::{stage_mask, ConvertError, ConvertSpec, PaletteMode};
use crate::mask::{MaskHeader, MaskReader, MemoryRows};
use crate::output::OutputSet;
use crate::slide::{plan_read, read_at, ReadPlan, Rect, RgbImage, Slide, SlideError, SlideMeta};
use crate::units::{PixelSize, Resolution};

/// Errors of a tissue run.
#[derive(Debug, thiserror::Error)]
pub enum TissueRunError {
    /// Reading the slide failed.
    #[error(transparent)]
    Slide(#[from] SlideError),
    /// The method could not run.
    #[error(transparent)]
    Tissue(#[from] TissueError),
    /// No tissue at all: nothing is written.
    #[error(
        "no tissue found on {slide} with method {method} at downsample {downsample:.2}; \
         check the slide, or try another --method or threshold"
    )]
    NoTissue {
        slide: String,
        method: String,
        downsample: f64,
    },
    /// Writing an output failed.
    #[error(transparent)]
    Convert(#[from] ConvertError),
    /// A detector outside this module (a model) failed.
    #[error(transparent)]
    Detector(Box<dyn std::error::Error + Send + Sync>),
    /// [`Method::Model`] asked of [`run`] without the model's detector (see
    /// `h2g::infer::tissue_model::run_tissue_file`, which opens the model).
    #[error("the model method needs a model detector")]
    NoDetector,
    /// Writing the preview or the report failed.
    #[error("cannot write {}", path.display())]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// FAST's parameters out of range.
    #[error("--distance must be ≥ 0 and --radius at most 60")]
    FastParams {
        /// The distance from white given.
        distance: f64,
        /// The closing radius given.
        radius: usize,
    },
    /// The outputs cannot be named or placed.
    #[error(transparent)]
    Naming(#[from] crate::naming::NamingError),
}

/// The files a run wrote.
#[derive(Debug, Clone, Serialize)]
pub struct TissueFiles {
    /// The mask (0 background, 255 tissue), tiled pyramidal TIFF.
    pub mask: PathBuf,
    /// The preview PNG.
    pub preview: PathBuf,
    /// This report as JSON.
    pub report: PathBuf,
    /// The tissue as QuPath annotations, when asked for: one "Tissue" annotation per region, or
    /// for `qupath` the one unclassified, locked annotation QuPath's detection creates.
    pub geojson: Option<PathBuf>,
}

/// What a tissue run found and wrote (also written as `STEM.tissue-METHOD.json`).
#[derive(Debug, Clone, Serialize)]
pub struct TissueReport {
    /// Always "h2g-tissue/1".
    pub format: &'static str,
    /// The slide.
    pub slide: String,
    /// The method with all its parameters.
    pub method: Method,
    /// The resolution asked for.
    pub resolution: String,
    /// How it was read (level, its downsample, the target downsample).
    pub read: ReadPlan,
    /// Mask width in pixels.
    pub width: u32,
    /// Mask height in pixels.
    pub height: u32,
    /// Level-0 pixels per mask pixel along x (level-0 width / mask width; for `qupath`, QuPath's
    /// downsample, by which it scales its outlines).
    pub downsample_x: f64,
    /// Same along y.
    pub downsample_y: f64,
    /// Mask pixel size, when the slide's is known.
    pub mpp: Option<PixelSize>,
    /// Tissue pixels in the mask.
    pub tissue_pixels: u64,
    /// Tissue pixels / all pixels.
    pub tissue_fraction: f64,
    /// Otsu's saturation threshold, for `otsu`.
    pub otsu_threshold: Option<u8>,
    /// Level-0 (slide file) coordinates of the region detected on: (0, 0), or for `qupath` the
    /// origin of the slide's OpenSlide bounds, the image QuPath sees. The mask covers the whole
    /// slide; a bounds region is placed in it at pixel (round(x / ds), round(y / ds)), and the
    /// GeoJSON is traced from the region's own pixels.
    pub origin: (u64, u64),
    /// Whether the GeoJSON is in QuPath's frame (level-0 minus the bounds origin).
    pub qupath_frame: bool,
    /// For `qupath`: the downsample QuPath's rule chose and the counts of its steps.
    pub qupath: Option<QupathRun>,
    /// The files written.
    pub files: TissueFiles,
}

/// What a `qupath` run chose and found.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QupathRun {
    /// The downsample the image was read at: QuPath's (requested pixel size over the slide's
    /// mean pixel size, coarsened to fit 4000 pixels), or the one --at asked for.
    pub downsample: f64,
    /// The pixel size QuPath measures areas with: the slide's mean pixel size × `downsample`.
    pub pixel_size_um: f64,
    /// The counts of the steps.
    #[serde(flatten)]
    pub summary: QupathSummary,
}

/// A detection on a slide, with the image it ran on and its scale.
#[derive(Debug, Clone)]
pub struct SlideDetection {
    /// The tissue mask.
    pub detection: Detection,
    /// The RGB image it was found on.
    pub image: RgbImage,
    /// How the image was read.
    pub plan: ReadPlan,
    /// The resolution asked for.
    pub resolution: Resolution,
    /// Level-0 pixels per mask pixel, along x and y.
    pub downsample: (f64, f64),
    /// Mask pixel size, when the slide's is known.
    pub mpp: Option<PixelSize>,
    /// Level-0 coordinates of the region detected on: (0, 0), or for `qupath` the bounds
    /// origin. The mask and image above always cover the whole slide; a bounds region is pasted
    /// into them at pixel (round(x / ds), round(y / ds)).
    pub origin: (u64, u64),
    /// For `qupath` on a slide whose bounds do not start at (0, 0): the mask of the bounds
    /// region itself, QuPath's pixels (its GeoJSON is traced from this one, exactly).
    pub region_mask: Option<BitMask>,
    /// For `qupath`, what it chose and found (with the built-in detector).
    pub qupath: Option<QupathRun>,
}

/// Reads the whole slide at `at` (or the method's default resolution) and detects tissue.
pub fn detect_on_slide(
    slide: &dyn Slide,
    meta: &SlideMeta,
    method: &Method,
    at: Option<Resolution>,
) -> Result<SlideDetection, TissueRunError> {
    let mut summary = None;
    let mut d = detect_on_slide_with(slide, meta, method, at, &mut |img, mpp| {
        builtin(img, method, mpp, &mut summary)
    })?;
    if let (Some(q), Some(s)) = (d.qupath.as_mut(), summary) {
        q.summary = s;
    }
    Ok(d)
}

/// The built-in detection; for `qupath` it also keeps the counts of QuPath's steps.
fn builtin(
    img: &RgbImage,
    method: &Method,
    mpp: Option<f64>,
    summary: &mut Option<QupathSummary>,
) -> Result<Detection, TissueRunError> {
    if let Method::Qupath(p) = method {
        let q = detect_qupath(img, p, mpp.ok_or(TissueError::NeedsMpp)?);
        let w = img.width as usize;
        *summary = Some(q.summary);
        return Ok(Detection {
            mask: BitMask::from_rows(w, img.height as usize, |y, out| {
                out.copy_from_slice(&q.mask[y * w..(y + 1) * w])
            }),
            otsu_threshold: None,
        });
    }
    Ok(detect(img, method, mpp)?)
}

/// A detector of tissue on an RGB image of the given pixel size (µm), for methods that run
/// outside this module (a model).
pub type Detector<'a> = dyn FnMut(&RgbImage, Option<f64>) -> Result<Detection, TissueRunError> + 'a;

/// [`detect_on_slide`] with the detection done by `detector`.
pub fn detect_on_slide_with(
    slide: &dyn Slide,
    meta: &SlideMeta,
    method: &Method,
    at: Option<Resolution>,
    detector: &mut Detector<'_>,
) -> Result<SlideDetection, TissueRunError> {
    let (w0, h0) = slide.level_size(0)?;
    // QuPath crops an OpenSlide image to its bounds: its detection sees that region only
    let region = match method {
        Method::Qupath(_) => slide.bounds(),
        _ => Rect {
            x: 0,
            y: 0,
            width: w0,
            height: h0,
        },
    };
    let mean_mpp = meta.mpp.map(|p| (p.x + p.y) / 2.0);
    let res = match (at, method, mean_mpp) {
        (Some(r), _, _) => r,
        (None, Method::Qupath(p), Some(m)) => {
            Resolution::Downsample(p.downsample(m, region.width.max(region.height) as f64))
        }
        (None, _, _) => method.default_resolution(slide.level_count()),
    };
    let plan = plan_read(slide, meta, res)?;
    let ds = plan.target_downsample;
    // QuPath's region request: Math.round(size / downsample), at least 1
    let width = ((region.width as f64 / ds).round() as u32).max(1);
    let height = ((region.height as f64 / ds).round() as u32).max(1);
    let image = read_at(slide, &plan, region.x, region.y, width, height)?;
    // QuPath places its pixels at exactly its downsample (its outlines are scaled by it); the
    // other methods' masks are stretched over the slide
    let downsample = match method {
        Method::Qupath(_) => (ds, ds),
        _ => (
            region.width as f64 / width as f64,
            region.height as f64 / height as f64,
        ),
    };
    let mpp = meta.mpp.map(|p| PixelSize {
        x: p.x * downsample.0,
        y: p.y * downsample.1,
    });
    // QuPath measures areas with its calibrated mean pixel size times the requested downsample
    let qupath = match (method, mean_mpp) {
        (Method::Qupath(_), Some(m)) => Some(QupathRun {
            downsample: ds,
            pixel_size_um: m * ds,
            summary: QupathSummary::default(),
        }),
        _ => None,
    };
    let detector_mpp = match &qupath {
        Some(q) => Some(q.pixel_size_um),
        None => mpp.map(|p| p.x),
    };
    let detection = detector(&image, detector_mpp)?;
    let origin = (region.x, region.y);
    let (detection, image, region_mask) = if origin == (0, 0) {
        (detection, image, None)
    } else {
        // the whole slide at the same spacing, the region pasted at its nearest pixel
        let cw = ((w0 as f64 / ds).round() as u32).max(1);
        let ch = ((h0 as f64 / ds).round() as u32).max(1);
        let ox = (origin.0 as f64 / ds).round() as usize;
        let oy = (origin.1 as f64 / ds).round() as usize;
        let (rw, rh) = (image.width as usize, image.height as usize);
        let mut data = vec![255u8; 3 * cw as usize * ch as usize];
        for y in 0..rh.min((ch as usize).saturating_sub(oy)) {
            let n = rw.min((cw as usize).saturating_sub(ox));
            let dst = 3 * ((oy + y) * cw as usize + ox);
            data[dst..dst + 3 * n].copy_from_slice(&image.data[3 * y * rw..3 * (y * rw + n)]);
        }
        let m = &detection.mask;
        let canvas = BitMask::from_rows(cw as usize, ch as usize, |y, out| {
            if y < oy || y - oy >= rh {
                return out.fill(false);
            }
            for (x, o) in out.iter_mut().enumerate() {
                *o = x >= ox && x - ox < rw && m.get(x - ox, y - oy);
            }
        });
        let full = Detection {
            mask: canvas,
            otsu_threshold: detection.otsu_threshold,
        };
        let img = RgbImage {
            width: cw,
            height: ch,
            data,
        };
        (full, img, Some(detection.mask))
    };
    Ok(SlideDetection {
        detection,
        image,
        plan,
        resolution: res,
        downsample,
        mpp,
        origin,
        region_mask,
        qupath,
    })
}

/// Where and how a tissue run writes its outputs.
#[derive(Debug, Clone)]
pub struct TissueOutput {
    /// The output folder.
    pub dir: PathBuf,
    /// File name stem (usually the slide's).
    pub stem: String,
    /// Tile size of the mask TIFF.
    pub tile: u32,
    /// Also write QuPath GeoJSON.
    pub geojson: bool,
    /// GeoJSON in QuPath's frame (level-0 coordinates minus the slide's OpenSlide bounds
    /// origin: MRXS, Leica SCN, some NDPI) instead of the slide file's.
    pub qupath_frame: bool,
}

/// Where a tissue run of `method` (its [`Method::name`]) writes its file with extension `ext`:
/// `DIR/STEM.tissue-METHOD.EXT`.
pub fn output_path(dir: &Path, stem: &str, method: &str, ext: &str) -> PathBuf {
    dir.join(format!("{stem}.tissue-{method}.{ext}"))
}

/// Runs `method` on `slide` at `at` (or the method's default resolution) and writes
/// `STEM.tissue-METHOD.{tif,png,json}` into `dir`.
pub fn run_tissue(
    slide: &dyn Slide,
    meta: &SlideMeta,
    method: &Method,
    at: Option<Resolution>,
    output: &TissueOutput,
) -> Result<TissueReport, TissueRunError> {
    let mut summary = None;
    run_tissue_inner(slide, meta, method, at, output, &mut summary, None)
}

/// [`run_tissue`] with the detection done by `detector` (a model, say); `method` names it.
pub fn run_tissue_with(
    slide: &dyn Slide,
    meta: &SlideMeta,
    method: &Method,
    at: Option<Resolution>,
    output: &TissueOutput,
    detector: &mut Detector<'_>,
) -> Result<TissueReport, TissueRunError> {
    let mut summary = None;
    run_tissue_inner(
        slide,
        meta,
        method,
        at,
        output,
        &mut summary,
        Some(detector),
    )
}

fn run_tissue_inner(
    slide: &dyn Slide,
    meta: &SlideMeta,
    method: &Method,
    at: Option<Resolution>,
    output: &TissueOutput,
    summary: &mut Option<QupathSummary>,
    detector: Option<&mut Detector<'_>>,
) -> Result<TissueReport, TissueRunError> {
    let TissueOutput {
        dir,
        stem,
        tile,
        geojson,
        qupath_frame,
    } = output;
    let sd = match detector {
        Some(d) => detect_on_slide_with(slide, meta, method, at, d)?,
        None => detect_on_slide_with(slide, meta, method, at, &mut |img, mpp| {
            builtin(img, method, mpp, summary)
        })?,
    };
    let SlideDetection {
        detection: det,
        image: img,
        plan,
        resolution: res,
        downsample: (dsx, dsy),
        mpp,
        origin,
        region_mask,
        mut qupath,
    } = sd;
    if let (Some(q), Some(s)) = (qupath.as_mut(), *summary) {
        q.summary = s;
    }
    let (width, height) = (img.width, img.height);
    let ds = plan.target_downsample;
    let tissue = det.mask.count();
    if tissue == 0 {
        return Err(TissueRunError::NoTissue {
            slide: slide.source(),
            method: method.name().into(),
            downsample: ds,
        });
    }
    let files = TissueFiles {
        mask: output_path(dir, stem, method.name(), "tif"),
        preview: output_path(dir, stem, method.name(), "png"),
        report: output_path(dir, stem, method.name(), "json"),
        geojson: geojson.then(|| output_path(dir, stem, method.name(), "geojson")),
    };
    let bytes = Arc::new(det.mask.to_bytes(255));
    let header = MaskHeader {
        width,
        height,
        encoding: format!("{} tissue mask", method.name()),
        palette: None,
    };
    let spec = ConvertSpec {
        tile: *tile,
        mpp: mpp.map(|p| (p.x, p.y)),
        palette: PaletteMode::Drop,
        progress: false,
        made_by: "tissue",
        ..ConvertSpec::default()
    };
    let reader = MaskReader::U8(Box::new(MemoryRows::new(bytes.clone(), width as usize)));
    // one set: nothing appears until every file is complete, the report last
    let mut set = OutputSet::new();
    stage_mask(
        &mut set,
        Path::new(&slide.source()),
        header,
        reader,
        &files.mask,
        &spec,
    )?;
    write_preview(&mut set, &img, &bytes, &files.preview)?;
    let report = TissueReport {
        format: "h2g-tissue/1",
        slide: slide.source(),
        method: method.clone(),
        resolution: res.to_string(),
        read: plan,
        width,
        height,
        downsample_x: dsx,
        downsample_y: dsy,
        mpp,
        tissue_pixels: tissue,
        tissue_fraction: tissue as f64 / (width as f64 * height as f64),
        otsu_threshold: det.otsu_threshold,
        origin,
        qupath_frame: *qupath_frame,
        qupath,
        files,
    };
    if let Some(path) = &report.files.geojson {
        // QuPath's frame starts at the bounds origin; the file's at (0, 0)
        let b = slide.bounds();
        let (fx, fy) = if *qupath_frame { (b.x, b.y) } else { (0, 0) };
        // traced from the region's own mask when there is one (QuPath's pixels, exactly)
        let (mask, (x0, y0)) = match &region_mask {
            Some(m) => (m, origin),
            None => (&det.mask, (0, 0)),
        };
        let place = crate::vector::Placement {
            dx: dsx,
            dy: dsy,
            x0: x0 as f64 - fx as f64,
            y0: y0 as f64 - fy as f64,
        };
        let single = matches!(method, Method::Qupath(_));
        write_tissue_geojson(&mut set, mask, &place, single, path)?;
    }
    set.commit_with_report(&report.files.report, &report)
        .map_err(|e| TissueRunError::Output {
            path: e.path,
            source: e.source,
        })?;
    Ok(report)
}

fn out_err(path: &Path) -> impl Fn(std::io::Error) -> TissueRunError + '_ {
    move |source| TissueRunError::Output {
        path: path.to_path_buf(),
        source,
    }
}

/// The image with tissue tinted green and the rest dimmed.
fn write_preview(
    set: &mut OutputSet,
    img: &RgbImage,
    mask: &[u8],
    path: &Path,
) -> Result<(), TissueRunError> {
    let err = out_err(path);
    let mut data = img.data.clone();
    for (px, &m) in data.chunks_exact_mut(3).zip(mask) {
        if m != 0 {
            px[0] = (px[0] as u16 * 6 / 10) as u8;
            px[1] = (px[1] as u16 * 6 / 10 + 100) as u8;
            px[2] = (px[2] as u16 * 6 / 10) as u8;
        } else {
            for c in px.iter_mut() {
                *c = (*c as u16 * 7 / 10) as u8;
            }
        }
    }
    let preview = RgbImage {
        width: img.width,
        height: img.height,
        data,
    };
    set.write_png_rgb(path, &preview).map_err(&err)
}

/// The mask traced into valid polygons (pixel edges), placed by `place`: QuPath "Tissue"
/// annotations, one per polygon, or (`single`) the one annotation QuPath's simple tissue
/// detection creates: all regions in one unclassified, locked annotation (a Polygon, or a
/// MultiPolygon for several regions).
fn write_tissue_geojson(
    set: &mut OutputSet,
    mask: &super::BitMask,
    place: &crate::vector::Placement,
    single: bool,
    path: &Path,
) -> Result<(), TissueRunError> {
    use crate::vector::{trace, write_geojson, ClassEncoding, ClassSpec};
    let err = out_err(path);
    let (w, h) = (mask.width(), mask.height());
    let fg: Vec<bool> = (0..w * h).map(|i| mask.get(i % w, i / w)).collect();
    let polys = trace(&fg, w, h);
    if single {
        let json = single_annotation(&polys, place);
        return set
            .write_file(path, |w| w.write_all(json.as_bytes()))
            .map_err(&err);
    }
    let class = ClassSpec {
        label: 1,
        name: "Tissue".into(),
        color: [150, 200, 150],
    };
    let classes = vec![(class, polys)];
    set.write_file(path, |w| {
        write_geojson(w, &classes, place, ClassEncoding::ColorRgb).map(|_| ())
    })
    .map_err(&err)
}

/// One QuPath annotation holding every polygon, as QuPath exports the object its simple tissue
/// detection creates: no classification, locked; coordinates on QuPath's 0.01 grid, which
/// QuPath 0.6+ reduces every imported geometry to (full doubles would change its area there).
pub(super) fn single_annotation(
    polys: &[crate::vector::Polygon],
    place: &crate::vector::Placement,
) -> String {
    use crate::vector::fmt_coord;
    let ring = |r: &[(i64, i64)]| -> String {
        let pts: Vec<String> = r
            .iter()
            .chain(r.first())
            .map(|&(x, y)| {
                format!(
                    "[{}, {}]",
                    fmt_coord(place.x0 + x as f64 * place.dx),
                    fmt_coord(place.y0 + y as f64 * place.dy)
                )
            })
            .collect();
        format!("[{}]", pts.join(", "))
    };
    let poly = |p: &crate::vector::Polygon| -> String {
        let rings: Vec<String> = std::iter::once(&p.shell)
            .chain(&p.holes)
            .map(|r| ring(r))
            .collect();
        format!("[{}]", rings.join(", "))
    };
    let geometry = match polys {
        [one] => format!("{{\"type\": \"Polygon\", \"coordinates\": {}}}", poly(one)),
        _ => {
            let all: Vec<String> = polys.iter().map(poly).collect();
            format!(
                "{{\"type\": \"MultiPolygon\", \"coordinates\": [{}]}}",
                all.join(", ")
            )
        }
    };
    let seed = polys
        .first()
        .map_or(0, |p| (p.shell[0].0 as u64) << 32 ^ p.shell[0].1 as u64)
        ^ polys.len() as u64;
    format!(
        "{{\"type\": \"FeatureCollection\", \"features\": [\n{{\"type\": \"Feature\", \"id\": \"{}\", \
         \"geometry\": {geometry}, \"properties\": {{\"objectType\": \"annotation\", \
         \"isLocked\": true}}}}\n]}}\n",
        crate::vector::uuid_from(seed)
    )
}

/// A tissue run from a slide file, as `h2g tissue` makes it.
#[derive(Debug, Clone)]
pub struct TissueRunSpec {
    /// The slide (any OpenSlide format), or a flat PNG/TIFF picture of one.
    pub slide: PathBuf,
    /// The output folder (created if missing).
    pub output: PathBuf,
    /// The outputs' stem instead of the slide file's.
    pub name: Option<String>,
    /// The method; for [`Method::Model`], `model` names the model (a built-in name or an .onnx
    /// path), and the report gives its manifest name and threshold.
    pub method: Method,
    /// Resolution to detect at (default: the method's).
    pub at: Option<Resolution>,
    /// Level-0 pixel size in µm, for slides or pictures without one.
    pub mpp: Option<f64>,
    /// Tile size of the mask TIFF.
    pub tile: u32,
    /// Also write QuPath GeoJSON.
    pub geojson: bool,
    /// GeoJSON in QuPath's frame (minus the slide's OpenSlide bounds origin).
    pub qupath_frame: bool,
    /// ONNX Runtime threads for [`Method::Model`] (0: all cores).
    pub threads: usize,
    /// The ONNX Runtime shared library (default: the set-up's, `H2G_ORT_LIB`, `ORT_DYLIB_PATH`).
    pub ort_lib: Option<PathBuf>,
}

/// A tissue model's detector, as [`run`] takes it for [`Method::Model`].
pub struct ModelDetector<'a> {
    /// The model's manifest name, for the report.
    pub name: String,
    /// Its threshold, for the report.
    pub threshold: f64,
    /// The detection itself.
    pub detect: &'a mut Detector<'a>,
}

impl std::fmt::Debug for ModelDetector<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ModelDetector({}, {})", self.name, self.threshold)
    }
}

/// Opens the slide of `spec`, runs its method and writes the mask, the preview, the report and,
/// when asked, the GeoJSON. [`Method::Model`] runs `model` (the library's ONNX Runtime front end,
/// `h2g::infer::tissue_model::run_tissue_file`, opens it and calls this).
pub fn run(
    spec: &TissueRunSpec,
    model: Option<ModelDetector<'_>>,
) -> Result<TissueReport, TissueRunError> {
    if let Method::Fast { distance, radius } = spec.method {
        if !(distance.is_finite() && distance >= 0.0) || radius > 60 {
            return Err(TissueRunError::FastParams { distance, radius });
        }
    }
    let method = match (&spec.method, &model) {
        (Method::Model { .. }, Some(m)) => Method::Model {
            model: m.name.clone(),
            threshold: m.threshold,
        },
        (Method::Model { .. }, None) => return Err(TissueRunError::NoDetector),
        _ => spec.method.clone(),
    };
    let stem = crate::naming::output_stem(&spec.output, &spec.slide, spec.name.as_deref())?;
    let slide = crate::slide::open_slide(&spec.slide, crate::mask::DEFAULT_MAX_PIXELS)?;
    let meta = SlideMeta::from_properties(slide.properties(), spec.mpp);
    let out = TissueOutput {
        dir: spec.output.clone(),
        stem,
        tile: spec.tile,
        geojson: spec.geojson,
        qupath_frame: spec.qupath_frame,
    };
    match model {
        Some(m) => run_tissue_with(slide.as_ref(), &meta, &method, spec.at, &out, m.detect),
        None => run_tissue(slide.as_ref(), &meta, &method, spec.at, &out),
    }
}
