//! The streaming sampler: batches of hierarchically drawn patches read from the slides on
//! worker threads, into a bounded queue, in order.
//!
//! Every batch is a pure function of (seed, epoch, batch index): its draws come from a
//! generator of their own ([`SamplingTree::draw_batch`]) and so do its augmentations, so the
//! batches are the same whatever the number of workers, and come out in batch order. At most
//! `queue + workers` batches exist at once (those waiting and those being read), and the
//! slides' decoded-tile caches share [`TILE_CACHE_BYTES`], which bounds memory whatever the
//! cohort; `h2g sample` draws the same patches as epoch 0.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use super::{
    load_patches, load_rows, AugmentParams, CohortError, CohortSlide, Rng, SamplePatch,
    SamplingTree, Stage, StageError,
};
use super::{Augment, Draw};
use crate::mask::DEFAULT_MAX_PIXELS;
use crate::slide::{open_slide, Slide, SlideError};

/// The most worker threads of one sampler.
pub const MAX_WORKERS: usize = 256;
/// The most batches one sampler's queue holds.
pub const MAX_QUEUE: usize = 1024;
/// The most patches in one batch.
pub const MAX_BATCH_SIZE: usize = 65_536;
/// The most batches in one epoch.
pub const MAX_BATCHES_PER_EPOCH: usize = 1 << 32;
/// The most bytes of pixels the batches in flight (queue + workers) may hold together.
pub const MAX_IN_FLIGHT_BYTES: u64 = 16 << 30;
/// The decoded-tile caches of all the sampler's slides together hold about this many bytes
/// (each slide its share), however many slides the cohort has.
pub const TILE_CACHE_BYTES: usize = 256 << 20;

/// A sampler: the cohort, how to draw, how to read.
#[derive(Debug, Clone)]
pub struct SamplerSpec {
    /// The cohort table (slide, patches, grade, optional split), as for `h2g sample`.
    pub cohort: PathBuf,
    /// Only rows of this split.
    pub split: Option<String>,
    /// A per-patch column of the patch tables holding a cluster.
    pub cluster_column: Option<String>,
    /// The stages balanced, in order (the paper: grade, slide, class, cluster).
    pub stages: Vec<Stage>,
    /// Patches per batch.
    pub batch_size: usize,
    /// Batches in one epoch.
    pub batches_per_epoch: usize,
    /// The seed.
    pub seed: u64,
    /// The augmentations (each applied with probability ½).
    pub augment: Augment,
    /// Reading threads.
    pub workers: usize,
    /// Batches read ahead and waiting.
    pub queue: usize,
    /// Leave out a cohort row whose slide cannot be opened (it is listed in
    /// [`Sampler::skipped`]) instead of failing.
    pub skip_bad_slides: bool,
}

impl SamplerSpec {
    /// The paper's settings for `cohort`: batches of 64, 500 per epoch, every stage, every
    /// augmentation, 8 workers, a queue of 20, seed 0.
    pub fn paper(cohort: impl Into<PathBuf>) -> Self {
        SamplerSpec {
            cohort: cohort.into(),
            split: None,
            cluster_column: None,
            stages: Stage::PAPER.to_vec(),
            batch_size: 64,
            batches_per_epoch: 500,
            seed: 0,
            augment: Augment::PAPER,
            workers: 8,
            queue: 20,
            skip_bad_slides: false,
        }
    }
}

/// Why a sampler cannot be made or a batch cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SamplerError {
    /// A count out of its range.
    #[error("{name} must be between {min} and {max}, not {value}")]
    Count {
        /// The setting.
        name: &'static str,
        /// What was given.
        value: u64,
        /// Smallest allowed.
        min: u64,
        /// Largest allowed.
        max: u64,
    },
    /// The stages given.
    #[error(transparent)]
    Stages(#[from] StageError),
    /// The cohort table or a patch table.
    #[error(transparent)]
    Cohort(#[from] CohortError),
    /// A cohort row whose slide cannot be opened.
    #[error(
        "{}: line {line}: the slide {} cannot be used: {source}; fix the row, or leave such \
         rows out (skip bad slides)",
        cohort.display(),
        slide.display()
    )]
    Slide {
        /// The cohort table.
        cohort: PathBuf,
        /// The row's line.
        line: u64,
        /// The slide.
        slide: PathBuf,
        /// Why.
        source: Box<SlideError>,
    },
    /// No row at all (after the split).
    #[error("{}: no slide to sample{}", cohort.display(), in_split(split))]
    NoSlides {
        /// The cohort table.
        cohort: PathBuf,
        /// The split asked for.
        split: Option<String>,
    },
    /// A grade whose slides have no patch to sample: the grade stage would leave it out.
    #[error(
        "{}: grade '{grade}' has no patch to sample{} (its slides: {}); give its slides patch \
         tables with tumour or non-tumour patches, or leave its rows out",
        cohort.display(),
        in_split(split),
        slides.join(", ")
    )]
    EmptyGrade {
        /// The cohort table.
        cohort: PathBuf,
        /// The split.
        split: Option<String>,
        /// The grade.
        grade: String,
        /// Its slides.
        slides: Vec<String>,
    },
    /// A class with no patch in the whole cohort.
    #[error(
        "{}: no patch of class '{class}' in the cohort{}; the class stage needs both tumour and \
         non-tumour patches (were the patch tables made with a tumour mask, `h2g patches --mask`?)",
        cohort.display(),
        in_split(split)
    )]
    EmptyClass {
        /// The cohort table.
        cohort: PathBuf,
        /// The split.
        split: Option<String>,
        /// The class missing.
        class: &'static str,
    },
    /// Patches of several sides.
    #[error("the patch tables give patches of several sides ({0:?} pixels); a batch needs one")]
    Sizes(BTreeSet<u32>),
    /// The batches in flight would hold too many bytes.
    #[error(
        "(queue {queue} + workers {workers}) × batch size {batch} × {side} × {side} × 3 bytes is \
         over {} GiB; lower the queue, the workers or the batch size",
        MAX_IN_FLIGHT_BYTES >> 30
    )]
    InFlight {
        /// The queue.
        queue: usize,
        /// The workers.
        workers: usize,
        /// The batch size.
        batch: usize,
        /// The patch side.
        side: u32,
    },
    /// A patch could not be read.
    #[error("{}: patch at ({x}, {y}) cannot be read: {source}", slide.display())]
    Read {
        /// The slide.
        slide: PathBuf,
        /// Level-0 x.
        x: u64,
        /// Level-0 y.
        y: u64,
        /// Why.
        source: Box<SlideError>,
    },
    /// A reading thread stopped on a bug (a panic), reported instead of hanging.
    #[error("a reading thread failed on batch {batch} (a bug; please report it): {message}")]
    Worker {
        /// The batch.
        batch: u64,
        /// The panic's message.
        message: String,
    },
}

fn in_split(split: &Option<String>) -> String {
    split
        .as_ref()
        .map(|s| format!(" in split '{s}'"))
        .unwrap_or_default()
}

/// One patch of a batch: which, from where, and what was done to it.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchDraw {
    /// Index into [`Sampler::patches`].
    pub patch: usize,
    /// Index into [`Sampler::grades`].
    pub grade: usize,
    /// Index into [`Sampler::slides`].
    pub slide: usize,
    /// The augmentation applied.
    pub augment: AugmentParams,
}

/// One batch: `draws.len()` patches of `side × side` RGB pixels, row-major, one after the other.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The epoch.
    pub epoch: u64,
    /// Its index in the epoch.
    pub index: u64,
    /// Patch side in pixels.
    pub side: usize,
    /// `draws.len() × side × side × 3` bytes.
    pub images: Vec<u8>,
    /// The patches.
    pub draws: Vec<BatchDraw>,
}

struct Inner {
    spec: SamplerSpec,
    rows: Vec<CohortSlide>,
    slides: Vec<Box<dyn Slide>>,
    patches: Vec<SamplePatch>,
    tree: SamplingTree,
    side: u32,
}

/// A cohort ready to stream batches from ([`Sampler::epoch`]).
#[derive(Clone)]
pub struct Sampler {
    inner: Arc<Inner>,
    skipped: Arc<Vec<(CohortSlide, SlideError)>>,
}

impl std::fmt::Debug for Sampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sampler")
            .field("spec", &self.inner.spec)
            .field("slides", &self.inner.rows.len())
            .field("patches", &self.inner.patches.len())
            .finish()
    }
}

fn count(name: &'static str, value: usize, min: usize, max: usize) -> Result<(), SamplerError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(SamplerError::Count {
            name,
            value: value as u64,
            min: min as u64,
            max: max as u64,
        })
    }
}

impl Sampler {
    /// Checks the settings, reads the cohort and its patch tables and opens every slide.
    pub fn new(spec: SamplerSpec) -> Result<Self, SamplerError> {
        count("batch_size", spec.batch_size, 1, MAX_BATCH_SIZE)?;
        count(
            "batches_per_epoch",
            spec.batches_per_epoch,
            1,
            MAX_BATCHES_PER_EPOCH,
        )?;
        count("workers", spec.workers, 1, MAX_WORKERS)?;
        count("queue", spec.queue, 1, MAX_QUEUE)?;
        let mut seen = Vec::new();
        for s in &spec.stages {
            if seen.contains(s) {
                return Err(StageError::Repeated(*s).into());
            }
            seen.push(*s);
        }
        let all_rows = load_rows(&spec.cohort, spec.split.as_deref())?;
        if all_rows.is_empty() {
            return Err(SamplerError::NoSlides {
                cohort: spec.cohort.clone(),
                split: spec.split.clone(),
            });
        }
        // every slide stays open: a few descriptors each
        crate::guard::raise_open_files(256 + 4 * all_rows.len() as u64);
        let mut rows = Vec::new();
        let mut slides = Vec::new();
        let mut skipped = Vec::new();
        for row in all_rows {
            match open_slide(&row.slide, DEFAULT_MAX_PIXELS) {
                Ok(s) => {
                    slides.push(s);
                    rows.push(row);
                }
                Err(source) if spec.skip_bad_slides => skipped.push((row, source)),
                Err(source) => {
                    return Err(SamplerError::Slide {
                        cohort: spec.cohort.clone(),
                        line: row.line,
                        slide: row.slide,
                        source: Box::new(source),
                    })
                }
            }
        }
        if rows.is_empty() {
            return Err(SamplerError::NoSlides {
                cohort: spec.cohort.clone(),
                split: spec.split.clone(),
            });
        }
        for s in &slides {
            s.limit_cache(TILE_CACHE_BYTES / slides.len());
        }
        let patches = load_patches(&rows, spec.cluster_column.as_deref())?;
        Self::check_cover(&spec, &rows, &patches)?;
        let sides: BTreeSet<u32> = patches.iter().map(SamplePatch::side).collect();
        if sides.len() > 1 {
            return Err(SamplerError::Sizes(sides));
        }
        let side = sides.into_iter().next().unwrap_or(0);
        count(
            "patch side",
            side as usize,
            1,
            crate::limits::MAX_PATCH_SIDE as usize,
        )?;
        let bytes = (spec.queue + spec.workers) as u64
            * spec.batch_size as u64
            * 3
            * side as u64
            * side as u64;
        if bytes > MAX_IN_FLIGHT_BYTES {
            return Err(SamplerError::InFlight {
                queue: spec.queue,
                workers: spec.workers,
                batch: spec.batch_size,
                side,
            });
        }
        let tree = SamplingTree::with_stages(
            &spec.stages,
            patches.iter().map(|p| {
                (
                    p.slide,
                    rows[p.slide].grade.as_str(),
                    p.class.as_str(),
                    p.cluster.as_str(),
                )
            }),
        );
        Ok(Sampler {
            inner: Arc::new(Inner {
                spec,
                rows,
                slides,
                patches,
                tree,
                side,
            }),
            skipped: Arc::new(skipped),
        })
    }

    /// Every grade of the rows needs a patch, and the cohort needs patches of both classes.
    fn check_cover(
        spec: &SamplerSpec,
        rows: &[CohortSlide],
        patches: &[SamplePatch],
    ) -> Result<(), SamplerError> {
        let mut grades: BTreeMap<&str, (bool, Vec<String>)> = BTreeMap::new();
        for r in rows {
            grades
                .entry(r.grade.as_str())
                .or_default()
                .1
                .push(r.slide.display().to_string());
        }
        for p in patches {
            if let Some(g) = grades.get_mut(rows[p.slide].grade.as_str()) {
                g.0 = true;
            }
        }
        if let Some((grade, (_, slides))) = grades.into_iter().find(|(_, (any, _))| !any) {
            return Err(SamplerError::EmptyGrade {
                cohort: spec.cohort.clone(),
                split: spec.split.clone(),
                grade: grade.to_string(),
                slides,
            });
        }
        if spec.stages.contains(&Stage::Class) {
            for class in ["tumour", "non-tumour"] {
                if !patches.iter().any(|p| p.class == class) {
                    return Err(SamplerError::EmptyClass {
                        cohort: spec.cohort.clone(),
                        split: spec.split.clone(),
                        class,
                    });
                }
            }
        }
        Ok(())
    }

    /// The settings.
    pub fn spec(&self) -> &SamplerSpec {
        &self.inner.spec
    }

    /// The cohort rows sampled from (those whose slide opened), in [`BatchDraw::slide`] order.
    pub fn slides(&self) -> &[CohortSlide] {
        &self.inner.rows
    }

    /// The rows left out because their slide could not be opened, and why.
    pub fn skipped(&self) -> &[(CohortSlide, SlideError)] {
        &self.skipped
    }

    /// The patches drawn from, in [`BatchDraw::patch`] order.
    pub fn patches(&self) -> &[SamplePatch] {
        &self.inner.patches
    }

    /// The grades, in [`BatchDraw::grade`] order.
    pub fn grades(&self) -> Vec<&str> {
        self.inner.tree.grades()
    }

    /// The patch side in pixels.
    pub fn side(&self) -> usize {
        self.inner.side as usize
    }

    /// The draws of one batch, without reading it.
    pub fn draws(&self, epoch: u64, index: u64) -> Vec<Draw> {
        let s = &self.inner.spec;
        self.inner
            .tree
            .draw_batch(s.seed, epoch, index, s.batch_size)
    }

    /// Reads one batch on the calling thread.
    pub fn batch(&self, epoch: u64, index: u64) -> Result<Batch, SamplerError> {
        self.inner.batch(epoch, index)
    }

    /// The batches of `epoch`, read ahead on the workers, in order.
    pub fn epoch(&self, epoch: u64) -> BatchStream {
        BatchStream::start(self.inner.clone(), epoch)
    }
}

impl Inner {
    fn batch(&self, epoch: u64, index: u64) -> Result<Batch, SamplerError> {
        let s = &self.spec;
        let draws = self.tree.draw_batch(s.seed, epoch, index, s.batch_size);
        let side = self.side as usize;
        let mut images = Vec::with_capacity(draws.len() * side * side * 3);
        let mut aug_rng = Rng::stream(s.seed, epoch, index, Rng::AUGMENT);
        let mut scratch = Vec::new();
        let mut out = Vec::with_capacity(draws.len());
        for d in draws {
            let p = &self.patches[d.patch];
            let slide = self.slides[d.slide].as_ref();
            let img = p.read(slide).map_err(|source| SamplerError::Read {
                slide: self.rows[d.slide].slide.clone(),
                x: p.x,
                y: p.y,
                source: Box::new(source),
            })?;
            let start = images.len();
            images.extend_from_slice(&img);
            let augment = AugmentParams::draw(&mut aug_rng, s.augment);
            augment.apply(side, &mut images[start..], &mut scratch);
            out.push(BatchDraw {
                patch: d.patch,
                grade: d.grade,
                slide: d.slide,
                augment,
            });
        }
        Ok(Batch {
            epoch,
            index,
            side,
            images,
            draws: out,
        })
    }
}

struct State {
    next_issue: u64,
    next_deliver: u64,
    done: BTreeMap<u64, Result<Batch, SamplerError>>,
    stop: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when a batch is done.
    ready: Condvar,
    /// Signalled when a batch is taken or the stream stops.
    space: Condvar,
}

/// The batches of one epoch, in order; dropping it stops the workers.
pub struct BatchStream {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    total: u64,
    next: u64,
    failed: bool,
}

impl std::fmt::Debug for BatchStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchStream")
            .field("total", &self.total)
            .field("next", &self.next)
            .finish()
    }
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    // a worker never panics while holding the lock (its work runs outside it, under
    // catch_unwind), so a poisoned lock still holds consistent state
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl BatchStream {
    fn start(inner: Arc<Inner>, epoch: u64) -> Self {
        let total = inner.spec.batches_per_epoch as u64;
        let ahead = (inner.spec.queue + inner.spec.workers) as u64;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                next_issue: 0,
                next_deliver: 0,
                done: BTreeMap::new(),
                stop: false,
            }),
            ready: Condvar::new(),
            space: Condvar::new(),
        });
        let workers = (0..inner.spec.workers.min(total as usize))
            .map(|_| {
                let (inner, shared) = (inner.clone(), shared.clone());
                std::thread::spawn(move || loop {
                    let index = {
                        let mut st = lock(&shared.state);
                        while !st.stop
                            && st.next_issue < total
                            && st.next_issue >= st.next_deliver + ahead
                        {
                            st = shared.space.wait(st).unwrap_or_else(|e| e.into_inner());
                        }
                        if st.stop || st.next_issue >= total {
                            return;
                        }
                        st.next_issue += 1;
                        st.next_issue - 1
                    };
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        inner.batch(epoch, index)
                    }))
                    .unwrap_or_else(|p| {
                        Err(SamplerError::Worker {
                            batch: index,
                            message: panic_message(&p),
                        })
                    });
                    lock(&shared.state).done.insert(index, result);
                    shared.ready.notify_all();
                })
            })
            .collect();
        BatchStream {
            shared,
            workers,
            total,
            next: 0,
            failed: false,
        }
    }

    /// Batches not yet taken.
    pub fn remaining(&self) -> u64 {
        if self.failed {
            0
        } else {
            self.total - self.next
        }
    }
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

impl Iterator for BatchStream {
    type Item = Result<Batch, SamplerError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.next >= self.total {
            return None;
        }
        let mut st = lock(&self.shared.state);
        let result = loop {
            if let Some(r) = st.done.remove(&self.next) {
                break r;
            }
            st = self
                .shared
                .ready
                .wait(st)
                .unwrap_or_else(|e| e.into_inner());
        };
        st.next_deliver += 1;
        if result.is_err() {
            // the epoch ends at its first failure
            st.stop = true;
            self.failed = true;
        }
        drop(st);
        self.shared.space.notify_all();
        self.next += 1;
        Some(result)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.remaining() as usize;
        (n, Some(n))
    }
}

impl Drop for BatchStream {
    fn drop(&mut self) {
        lock(&self.shared.state).stop = true;
        self.shared.space.notify_all();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_generators_differ_between_batches_and_epochs() {
        let a = Rng::stream(1, 0, 0, Rng::DRAWS).next_u64();
        let b = Rng::stream(1, 0, 1, Rng::DRAWS).next_u64();
        let c = Rng::stream(1, 1, 0, Rng::DRAWS).next_u64();
        let d = Rng::stream(1, 0, 0, Rng::AUGMENT).next_u64();
        let again = Rng::stream(1, 0, 0, Rng::DRAWS).next_u64();
        assert_eq!(a, again);
        assert_eq!(BTreeSet::from([a, b, c, d]).len(), 4);
    }
}
