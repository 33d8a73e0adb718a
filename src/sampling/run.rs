//! `h2g sample` as a library run: a cohort's patches drawn hierarchically into a draws CSV and,
//! optionally, the patch pixels and labels as NumPy arrays.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use rayon::prelude::*;
use serde::Serialize;

use super::{load_cohort, CohortError, CohortSlide, Draw, NpyWriter, SamplePatch, SamplingTree};
use crate::mask::DEFAULT_MAX_PIXELS;
use crate::output::{progress, write_file};
use crate::slide::{open_slide, Slide, SlideError};

/// The most draws one run makes.
pub const MAX_DRAWS: usize = 100_000_000;

/// A sampling run.
#[derive(Debug, Clone)]
pub struct SampleSpec {
    /// The cohort table: slide, patches (the slide's `h2g patches` CSV), grade, and optionally split.
    pub cohort: PathBuf,
    /// Only slides of this split.
    pub split: Option<String>,
    /// A per-patch column to sample uniformly between class and patch.
    pub cluster_column: Option<String>,
    /// Number of batches.
    pub batches: usize,
    /// Patches per batch.
    pub batch_size: usize,
    /// The seed (the same seed gives the same draws).
    pub seed: u64,
    /// The draws CSV to write.
    pub output: PathBuf,
    /// Also write the pixels (N × H × W × 3, uint8) here, and the labels as `PATH.labels.npy`.
    pub npy: Option<PathBuf>,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
}

/// Why a sampling run failed.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    /// batches × batch size out of range.
    #[error("--batches × --batch-size must be between 1 and 100 million")]
    Count,
    /// The cohort or a patch table cannot be read.
    #[error(transparent)]
    Cohort(#[from] CohortError),
    /// Nothing to draw.
    #[error(
        "{}: no tumour or non-tumour patch to sample{}",
        cohort.display(),
        split.as_ref().map(|s| format!(" in split '{s}'")).unwrap_or_default()
    )]
    Empty {
        /// The cohort table.
        cohort: PathBuf,
        /// The split asked for.
        split: Option<String>,
    },
    /// An output cannot be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `npy` with patches of several sizes.
    #[error("--npy needs one patch size, but the drawn patches have several: {0:?}")]
    Sizes(BTreeSet<u32>),
    /// A slide cannot be read.
    #[error(transparent)]
    Slide(#[from] SlideError),
}

/// How the draws of one grade spread.
#[derive(Debug, Clone, Serialize)]
pub struct GradeShare {
    /// The grade.
    pub grade: String,
    /// Its share of all draws, in %.
    pub percent: f64,
    /// Slides drawn from.
    pub slides: usize,
    /// Fewest and most draws of one slide.
    pub per_slide: (usize, usize),
    /// Draws per slide if uniform.
    pub uniform: f64,
    /// Class → share of the grade's draws, in %.
    pub classes: Vec<(String, f64)>,
}

/// What a sampling run drew and wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Sampled {
    /// Draws made.
    pub draws: usize,
    /// Slides in the cohort (after the split).
    pub slides: usize,
    /// Patches available.
    pub patches: usize,
    /// Per grade, in the tree's order.
    pub grades: Vec<GradeShare>,
    /// The arrays written: pixels, labels, patch side.
    pub arrays: Option<(PathBuf, PathBuf, usize)>,
}

/// Draws `batches × batch_size` patches and writes them.
pub fn sample(spec: &SampleSpec) -> Result<Sampled, SampleError> {
    let n = spec
        .batches
        .checked_mul(spec.batch_size)
        .filter(|&n| n > 0 && n <= MAX_DRAWS)
        .ok_or(SampleError::Count)?;
    let (slides, patches) = load_cohort(
        &spec.cohort,
        spec.split.as_deref(),
        spec.cluster_column.as_deref(),
    )?;
    let tree = SamplingTree::build(patches.iter().map(|p| {
        (
            p.slide,
            slides[p.slide].grade.as_str(),
            p.class.as_str(),
            p.cluster.as_str(),
        )
    }));
    if tree.is_empty() {
        return Err(SampleError::Empty {
            cohort: spec.cohort.clone(),
            split: spec.split.clone(),
        });
    }
    // batch by batch, as the streaming sampler draws epoch 0
    let draws: Vec<Draw> = (0..spec.batches as u64)
        .flat_map(|b| tree.draw_batch(spec.seed, 0, b, spec.batch_size))
        .collect();
    let grades = tree.grades();
    write_draws(spec, &slides, &patches, &draws, &grades)?;
    let shares = grades
        .iter()
        .enumerate()
        .map(|(g, name)| share_of(g, name, &draws, &patches, n))
        .collect();
    let arrays = match &spec.npy {
        Some(path) => Some(write_arrays(spec, path, &slides, &patches, &draws)?),
        None => None,
    };
    Ok(Sampled {
        draws: n,
        slides: slides.len(),
        patches: patches.len(),
        grades: shares,
        arrays,
    })
}

fn share_of(g: usize, name: &str, draws: &[Draw], patches: &[SamplePatch], n: usize) -> GradeShare {
    let in_g: Vec<&Draw> = draws.iter().filter(|d| d.grade == g).collect();
    let mut per_slide: BTreeMap<usize, usize> = BTreeMap::new();
    let mut per_class: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &in_g {
        *per_slide.entry(d.slide).or_default() += 1;
        *per_class
            .entry(patches[d.patch].class.as_str())
            .or_default() += 1;
    }
    GradeShare {
        grade: name.to_string(),
        percent: 100.0 * in_g.len() as f64 / n as f64,
        slides: per_slide.len(),
        per_slide: (
            per_slide.values().min().copied().unwrap_or(0),
            per_slide.values().max().copied().unwrap_or(0),
        ),
        uniform: in_g.len() as f64 / per_slide.len().max(1) as f64,
        classes: per_class
            .iter()
            .map(|(c, k)| (c.to_string(), 100.0 * *k as f64 / in_g.len().max(1) as f64))
            .collect(),
    }
}

fn write_draws(
    spec: &SampleSpec,
    slides: &[CohortSlide],
    patches: &[SamplePatch],
    draws: &[Draw],
    grades: &[&str],
) -> Result<(), SampleError> {
    write_file(&spec.output, |w| {
        let mut csv = csv::Writer::from_writer(w);
        csv.write_record([
            "batch",
            "index",
            "grade",
            "slide",
            "class",
            "cluster",
            "x",
            "y",
            "level",
            "downsample",
            "width",
            "height",
        ])?;
        for (i, d) in draws.iter().enumerate() {
            let p = &patches[d.patch];
            csv.write_record([
                (i / spec.batch_size).to_string(),
                (i % spec.batch_size).to_string(),
                grades[d.grade].to_string(),
                slides[p.slide].slide.display().to_string(),
                p.class.clone(),
                p.cluster.clone(),
                p.x.to_string(),
                p.y.to_string(),
                p.level.to_string(),
                p.downsample.to_string(),
                p.width.to_string(),
                p.width.to_string(),
            ])?;
        }
        csv.flush()
    })
    .map_err(|source| SampleError::Write {
        path: spec.output.clone(),
        source,
    })
}

fn write_arrays(
    spec: &SampleSpec,
    path: &std::path::Path,
    slides: &[CohortSlide],
    patches: &[SamplePatch],
    draws: &[Draw],
) -> Result<(PathBuf, PathBuf, usize), SampleError> {
    let write_err = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| SampleError::Write { path, source }
    };
    let sizes: Vec<u32> = draws.iter().map(|d| patches[d.patch].side()).collect();
    let Some(&size) = sizes.first() else {
        return Err(SampleError::Empty {
            cohort: spec.cohort.clone(),
            split: spec.split.clone(),
        });
    };
    if sizes.iter().any(|&s| s != size) {
        return Err(SampleError::Sizes(sizes.into_iter().collect()));
    }
    let mut open: BTreeMap<usize, Box<dyn Slide>> = BTreeMap::new();
    for d in draws {
        if let std::collections::btree_map::Entry::Vacant(e) = open.entry(d.slide) {
            e.insert(open_slide(&slides[d.slide].slide, DEFAULT_MAX_PIXELS)?);
        }
    }
    let n = draws.len();
    let s = size as usize;
    let mut pixels = NpyWriter::create(path, &[n, s, s, 3]).map_err(write_err(path))?;
    let bar = progress(Some(n as u64), "reading patches", spec.progress);
    for chunk in draws.chunks(256) {
        let imgs = chunk
            .par_iter()
            .map(|d| patches[d.patch].read(open[&d.slide].as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        for img in imgs {
            pixels.write(&img).map_err(write_err(path))?;
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    pixels.finish().map_err(write_err(path))?;
    let lpath = path.with_extension("labels.npy");
    let mut labels = NpyWriter::create(&lpath, &[n]).map_err(write_err(&lpath))?;
    let l: Vec<u8> = draws
        .iter()
        .map(|d| u8::from(patches[d.patch].class == "tumour"))
        .collect();
    labels
        .write(&l)
        .and_then(|_| labels.finish())
        .map_err(write_err(&lpath))?;
    Ok((path.to_path_buf(), lpath, s))
}
