//! `h2g cluster fit` and `h2g cluster assign` as library runs: features of sampled patches from
//! a feature-extractor model, the clustering fitted on them, and clusters added to patch tables.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use super::model::{fit, ClusterModel, FeatureModelRef, FitError, FitParams, MODEL_VERSION};
use crate::infer::heatmap::{layout_of, to_tensor};
use crate::infer::manifest::{ChannelOrder, InputScale, Layout, Manifest, Role};
use crate::infer::runtime::{OpenModelError, Runtime};
use crate::infer::{chosen_output, input_scale, InferError, Model};
use crate::mask::DEFAULT_MAX_PIXELS;
use crate::output::{write_file, OutputSet};
use crate::sampling::{
    load_rows, Augment, CohortError, PatchColumns, SamplePatch, Sampler, SamplerError, SamplerSpec,
    Stage,
};
use crate::slide::{open_slide, SlideError};
use crate::table::Table;

/// The most patches one fit draws.
pub const MAX_FIT_PATCHES: usize = 1_000_000;

/// Why a clustering run failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The feature model could not be opened.
    #[error(transparent)]
    Open(#[from] OpenModelError),
    /// The feature model failed or breaks its contract.
    #[error(transparent)]
    Infer(#[from] InferError),
    /// The feature model's output is not one vector per patch.
    #[error(
        "{}: the feature model's output has shape {shape:?}, not one vector per patch (N × D, \
         or N × D × 1 × 1): give a model that ends in global pooling (e.g. VGG16 with \
         pooling='avg')",
        model.display()
    )]
    NotAVector {
        /// The model file.
        model: PathBuf,
        /// The output's shape.
        shape: Vec<usize>,
    },
    /// The model's fixed input side differs from the patches'.
    #[error(
        "{}: the feature model takes {input} × {input} images, but the patches are {patch} × \
         {patch}: make patch tables of its side (h2g patches --size {input})",
        model.display()
    )]
    Side {
        /// The model file.
        model: PathBuf,
        /// Its input side.
        input: usize,
        /// The patches' side.
        patch: usize,
    },
    /// The model's input is not one 3-channel image batch.
    #[error("{}: a feature extractor takes one batch of 3-channel images, not inputs {inputs:?}", model.display())]
    Inputs {
        /// The model file.
        model: PathBuf,
        /// The input shapes.
        inputs: Vec<Vec<i64>>,
    },
    /// The sampler (cohort, patch tables, slides, settings).
    #[error(transparent)]
    Sampler(#[from] SamplerError),
    /// The fit.
    #[error(transparent)]
    Fit(#[from] FitError),
    /// The cohort or a patch table.
    #[error(transparent)]
    Table(#[from] CohortError),
    /// A slide.
    #[error(transparent)]
    Slide(#[from] SlideError),
    /// Batches × batch size out of range.
    #[error("batches × batch size must be between 1 and {MAX_FIT_PATCHES}, not {0}")]
    Count(u64),
    /// The cluster model file.
    #[error("{}: {why}", path.display())]
    ModelFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// A cluster model fitted with another feature model.
    #[error(
        "{}: the clusters were fitted on the features of {fitted} (SHA-256 {fitted_sha}), not \
         of {given} (SHA-256 {given_sha}): give the same feature model",
        clusters.display()
    )]
    OtherFeatureModel {
        /// The cluster model file.
        clusters: PathBuf,
        /// The model it was fitted with.
        fitted: String,
        /// Its hash.
        fitted_sha: String,
        /// The model given.
        given: String,
        /// Its hash.
        given_sha: String,
    },
    /// An output cannot be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A feature extractor, opened: one vector per RGB patch.
#[derive(Debug)]
pub struct FeatureExtractor {
    model: Model,
    manifest: Manifest,
    layout: Layout,
    scale: InputScale,
    order: ChannelOrder,
    output: usize,
    reference: FeatureModelRef,
}

impl FeatureExtractor {
    /// Opens the feature-extractor model `name` (a built-in name or an `.onnx` file with its
    /// manifest beside it) on `runtime`.
    pub fn open(runtime: &Runtime, name: &str) -> Result<Self, ClusterError> {
        let (model, manifest) =
            runtime.open_model(name, Role::FeatureExtractor, "--model", false)?;
        let layout = layout_of(&manifest, &model)?;
        let shapes: Vec<Vec<i64>> = model.inputs.iter().map(|i| i.shape.clone()).collect();
        let ok = match (layout, shapes.as_slice()) {
            (Layout::Nchw, [s]) => s.len() == 4 && (s[1] == 3 || s[1] < 0),
            (_, [s]) => s.len() == 4 && (s[3] == 3 || s[3] < 0),
            _ => false,
        };
        if !ok {
            return Err(ClusterError::Inputs {
                model: model.path().into(),
                inputs: shapes,
            });
        }
        let scale = input_scale(&manifest, &model)?;
        let output = chosen_output(&model, &manifest)?;
        let sha256 =
            crate::digest::file_sha256(model.path()).map_err(|source| ClusterError::Write {
                path: model.path().into(),
                source,
            })?;
        let reference = FeatureModelRef {
            name: manifest.name.clone(),
            sha256,
        };
        Ok(FeatureExtractor {
            order: manifest.channel_order,
            model,
            manifest,
            layout,
            scale,
            output,
            reference,
        })
    }

    /// The model's name and hash, as cluster models record them.
    pub fn reference(&self) -> &FeatureModelRef {
        &self.reference
    }

    /// Its manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The model's fixed input side, if any.
    fn input_side(&self) -> Option<usize> {
        let s = &self.model.inputs[0].shape;
        let h = match self.layout {
            Layout::Nchw => s[2],
            _ => s[1],
        };
        (h > 0).then_some(h as usize)
    }

    /// The features (`n × d`, and `d`) of `n` patches of `side × side` RGB pixels laid one after
    /// the other in `images`.
    pub fn features(
        &mut self,
        side: usize,
        images: &[u8],
    ) -> Result<(Vec<f64>, usize), ClusterError> {
        if let Some(input) = self.input_side().filter(|&s| s != side) {
            return Err(ClusterError::Side {
                model: self.model.path().into(),
                input,
                patch: side,
            });
        }
        let px = side * side * 3;
        let n = images.len() / px.max(1);
        if n == 0 {
            return Ok((Vec::new(), 0));
        }
        let patches: Vec<&[u8]> = images.chunks_exact(px).collect();
        let data = to_tensor(&patches, side, self.layout, self.scale, self.order);
        let shape = match self.layout {
            Layout::Nchw => vec![n, 3, side, side],
            _ => vec![n, side, side, 3],
        };
        let mut outs = self.model.run(vec![(shape, data)])?;
        let (shape, values) = outs.swap_remove(self.output.min(outs.len().saturating_sub(1)));
        let d: usize = shape.iter().skip(1).product();
        let vector = shape.first() == Some(&n)
            && shape.iter().skip(1).filter(|&&s| s > 1).count() <= 1
            && d > 0;
        if !vector || values.len() != n * d {
            return Err(ClusterError::NotAVector {
                model: self.model.path().into(),
                shape,
            });
        }
        Ok((values.into_iter().map(f64::from).collect(), d))
    }
}

/// A fit: which cohort, which features, how many patches, which clustering.
#[derive(Debug, Clone)]
pub struct ClusterFitSpec {
    /// The cohort table (as for `h2g sample`).
    pub cohort: PathBuf,
    /// Only rows of this split.
    pub split: Option<String>,
    /// The feature-extractor model.
    pub model: String,
    /// Where it runs.
    pub runtime: Runtime,
    /// Batches drawn (the paper: 100).
    pub batches: usize,
    /// Patches per batch (the paper: 32).
    pub batch_size: usize,
    /// The seed of the draws and of k-means++.
    pub seed: u64,
    /// Reading threads.
    pub workers: usize,
    /// The clustering.
    pub params: FitParams,
    /// The cluster model to write (JSON), when given.
    pub output: Option<PathBuf>,
}

impl ClusterFitSpec {
    /// The paper's settings: 100 batches of 32, k = 10, 95 % of the variance.
    pub fn paper(cohort: impl Into<PathBuf>, model: impl Into<String>) -> Self {
        ClusterFitSpec {
            cohort: cohort.into(),
            split: None,
            model: model.into(),
            runtime: Runtime::default(),
            batches: 100,
            batch_size: 32,
            seed: 0,
            workers: 4,
            params: FitParams::default(),
            output: None,
        }
    }
}

/// Draws patches from the cohort (grade → slide → class, no augmentation), computes their
/// features and fits the clustering; writes the model when `spec.output` is given.
/// `progress(batches done, batches)` hears each batch.
pub fn cluster_fit(
    spec: &ClusterFitSpec,
    progress: &dyn Fn(u64, u64),
) -> Result<ClusterModel, ClusterError> {
    let n = spec.batches as u64 * spec.batch_size as u64;
    if n == 0 || n > MAX_FIT_PATCHES as u64 {
        return Err(ClusterError::Count(n));
    }
    let mut extractor = FeatureExtractor::open(&spec.runtime, &spec.model)?;
    let sampler = Sampler::new(SamplerSpec {
        cohort: spec.cohort.clone(),
        split: spec.split.clone(),
        cluster_column: None,
        stages: vec![Stage::Grade, Stage::Slide, Stage::Class],
        batch_size: spec.batch_size,
        batches_per_epoch: spec.batches,
        seed: spec.seed,
        augment: Augment::NONE,
        workers: spec.workers.max(1),
        queue: 4,
        skip_bad_slides: false,
    })?;
    let mut features = Vec::new();
    let mut d = 0;
    for (i, batch) in sampler.epoch(0).enumerate() {
        let batch = batch?;
        let (f, dim) = extractor.features(batch.side, &batch.images)?;
        d = dim;
        features.extend(f);
        progress(i as u64 + 1, spec.batches as u64);
    }
    let params = FitParams {
        seed: spec.seed,
        ..spec.params.clone()
    };
    let mut model = fit(&features, d.max(1), &params)?;
    model.feature_model = Some(extractor.reference().clone());
    model.drawn = Some(format!(
        "{} batches of {} from {}{} (grade → slide → class, seed {})",
        spec.batches,
        spec.batch_size,
        spec.cohort.display(),
        spec.split
            .as_ref()
            .map(|s| format!(", split {s}"))
            .unwrap_or_default(),
        spec.seed
    ));
    if let Some(out) = &spec.output {
        write_model(&model, out)?;
    }
    Ok(model)
}

/// Writes a cluster model as JSON (atomically).
pub fn write_model(model: &ClusterModel, path: &Path) -> Result<(), ClusterError> {
    write_file(path, |w| {
        serde_json::to_writer_pretty(&mut *w, model).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
    .map_err(|source| ClusterError::Write {
        path: path.into(),
        source,
    })
}

/// Reads a cluster model file, checking its version and shapes.
pub fn read_model(path: &Path) -> Result<ClusterModel, ClusterError> {
    let bad = |why: String| ClusterError::ModelFile {
        path: path.into(),
        why,
    };
    crate::guard::open_input(path).map_err(|e| bad(e.to_string()))?;
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let m: ClusterModel = serde_json::from_str(&text).map_err(|e| {
        bad(format!(
            "not a cluster model (h2g cluster fit writes them): {e}"
        ))
    })?;
    if m.version != MODEL_VERSION {
        return Err(bad(format!(
            "version {} (this h2g reads version {MODEL_VERSION})",
            m.version
        )));
    }
    let d = m.features;
    let axes = m.components.len();
    let shapes_ok = d > 0
        && m.mean.len() == d
        && m.scale.len() == d
        && m.pca_mean.len() == d
        && axes > 0
        && m.components.iter().all(|c| c.len() == d)
        && !m.centroids.is_empty()
        && m.centroids.iter().all(|c| c.len() == axes)
        && m.scale.iter().all(|s| *s > 0.0 && s.is_finite());
    if !shapes_ok {
        return Err(bad(format!(
            "inconsistent shapes: {d} features, {} means, {} scales, {axes} components, {} \
             centroids",
            m.mean.len(),
            m.scale.len(),
            m.centroids.len()
        )));
    }
    Ok(m)
}

/// An assignment: patch tables with a cluster column.
#[derive(Debug, Clone)]
pub struct ClusterAssignSpec {
    /// The cohort table whose patch tables get clusters.
    pub cohort: PathBuf,
    /// The cluster model file.
    pub clusters: PathBuf,
    /// The feature-extractor model (the one the clusters were fitted with).
    pub model: String,
    /// Where it runs.
    pub runtime: Runtime,
    /// The folder to write the new patch tables and a cohort table pointing at them into.
    pub output: PathBuf,
    /// The column to write (replaced when present).
    pub column: String,
    /// Patches per inference batch.
    pub batch_size: usize,
}

/// What an assignment wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Assigned {
    /// The new cohort table.
    pub cohort: PathBuf,
    /// Per patch table written: its path and the patches given a cluster.
    pub tables: Vec<(PathBuf, usize)>,
    /// Patches per cluster, over the cohort.
    pub counts: Vec<usize>,
}

/// Adds a cluster column to every patch table of the cohort: each tumour or non-tumour patch is
/// read from its slide, its features computed and its nearest cluster written (other rows get
/// an empty cell). The tables and a cohort table pointing at them go into `spec.output`, as one
/// set: nothing is written unless every table is.
pub fn cluster_assign(
    spec: &ClusterAssignSpec,
    progress: &dyn Fn(u64),
) -> Result<Assigned, ClusterError> {
    let model = read_model(&spec.clusters)?;
    let mut extractor = FeatureExtractor::open(&spec.runtime, &spec.model)?;
    if let Some(fitted) = &model.feature_model {
        let given = extractor.reference();
        if fitted.sha256 != given.sha256 {
            return Err(ClusterError::OtherFeatureModel {
                clusters: spec.clusters.clone(),
                fitted: fitted.name.clone(),
                fitted_sha: fitted.sha256.clone(),
                given: given.name.clone(),
                given_sha: given.sha256.clone(),
            });
        }
    }
    let rows = load_rows(&spec.cohort, None)?;
    crate::naming::create_output_dir(&spec.output).map_err(|e| ClusterError::Write {
        path: spec.output.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let mut set = OutputSet::new();
    let mut counts = vec![0usize; model.centroids.len()];
    let mut tables = Vec::new();
    let mut cohort_rows = Vec::new();
    let batch = spec.batch_size.clamp(1, 4096);
    for (i, row) in rows.iter().enumerate() {
        let slide = open_slide(&row.slide, DEFAULT_MAX_PIXELS)?;
        let mut t = Table::open(&row.patches, "patch table")?;
        let headers = t.headers();
        let cols = PatchColumns::of(&t, None)?;
        let keep_col = t.column(&spec.column);
        let mut cells: Vec<Vec<String>> = Vec::new();
        // the rows to cluster: their index among the cells, and the patch
        let mut todo: Vec<(usize, SamplePatch)> = Vec::new();
        while let Some(r) = t.next_row() {
            let r = r?;
            if let Some(p) = cols.read(&r, i)? {
                todo.push((cells.len(), p));
            }
            cells.push(r.cells().map(str::to_string).collect());
        }
        let mut cluster_of = vec![String::new(); cells.len()];
        for chunk in todo.chunks(batch) {
            let side = chunk[0].1.side();
            if let Some(other) = chunk.iter().map(|p| p.1.side()).find(|&s| s != side) {
                return Err(SamplerError::Sizes([side, other].into()).into());
            }
            let imgs: Vec<Vec<u8>> = chunk
                .par_iter()
                .map(|(_, p)| p.read(slide.as_ref()))
                .collect::<Result<_, SlideError>>()?;
            let images = imgs.concat();
            let (f, _) = extractor.features(side as usize, &images)?;
            let labels = model.assign(&f)?;
            for (p, l) in chunk.iter().zip(labels) {
                cluster_of[p.0] = l.to_string();
                counts[l as usize] += 1;
            }
            progress(chunk.len() as u64);
        }
        let name = format!(
            "{:03}-{}",
            i,
            row.patches
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| "patches.csv".into())
        );
        let out = spec.output.join(name);
        let mut header = headers.clone();
        if keep_col.is_none() {
            header.push(spec.column.clone());
        }
        let given = todo.len();
        set.write_file(&out, |w| {
            let mut csv = csv::Writer::from_writer(w);
            csv.write_record(&header)?;
            for (r, c) in cells.iter_mut().zip(&cluster_of) {
                r.resize(headers.len(), String::new());
                match keep_col {
                    Some(k) => r[k] = c.clone(),
                    None => r.push(c.clone()),
                }
                csv.write_record(&*r)?;
            }
            csv.flush()
        })
        .map_err(|source| ClusterError::Write {
            path: out.clone(),
            source,
        })?;
        cohort_rows.push((row, out.clone()));
        tables.push((out, given));
    }
    let cohort = spec.output.join("cohort.csv");
    set.write_file(&cohort, |w| {
        let mut csv = csv::Writer::from_writer(w);
        csv.write_record(["slide", "patches", "grade", "split"])?;
        for (row, table) in &cohort_rows {
            let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
            csv.write_record([
                abs(&row.slide).display().to_string(),
                abs(table).display().to_string(),
                row.grade.clone(),
                row.split.clone().unwrap_or_default(),
            ])?;
        }
        csv.flush()
    })
    .map_err(|source| ClusterError::Write {
        path: cohort.clone(),
        source,
    })?;
    set.commit().map_err(|e| ClusterError::Write {
        path: e.path,
        source: e.source,
    })?;
    Ok(Assigned {
        cohort,
        tables,
        counts,
    })
}
