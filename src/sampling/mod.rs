//! Hierarchical sampling of training patches: histological grade → slide of
//! that grade → class present in that slide → optional cluster → patch, uniform at every
//! stage, deterministic for a seed; streamed into batches read from the slides on worker
//! threads ([`Sampler`]), with the paper's augmentations ([`AugmentParams`]).

mod augment;
mod cohort;
mod npy;
mod run;
mod stream;

use std::collections::BTreeMap;

pub use augment::{Augment, AugmentParams, BRIGHTNESS, HSV_SHIFT};
pub use cohort::{
    load_cohort, load_patches, load_rows, CohortError, CohortSlide, PatchColumns, SamplePatch,
};
pub use npy::{npy_header, NpyWriter};
pub use run::{sample, GradeShare, SampleError, SampleSpec, Sampled, MAX_DRAWS};
pub use stream::{
    Batch, BatchDraw, BatchStream, Sampler, SamplerError, SamplerSpec, MAX_BATCHES_PER_EPOCH,
    MAX_BATCH_SIZE, MAX_IN_FLIGHT_BYTES, MAX_QUEUE, MAX_WORKERS, TILE_CACHE_BYTES,
};

/// A small, fast, deterministic generator (SplitMix64) with unbiased bounded draws.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Stream tag of the patch draws (see [`Rng::stream`]).
    pub const DRAWS: u64 = 0x6472_6177;
    /// Stream tag of the augmentation parameters.
    pub const AUGMENT: u64 = 0x6175_676d;

    /// An independent generator for one (`seed`, `epoch`, `batch`, `stream`): the four are
    /// hashed together, so neighbouring batches and epochs get unrelated sequences.
    pub fn stream(seed: u64, epoch: u64, batch: u64, stream: u64) -> Self {
        let mut h = Rng::new(seed);
        let mut mix = |v: u64| {
            h.0 ^= v;
            h.next_u64()
        };
        mix(epoch);
        mix(batch);
        Rng(mix(stream))
    }

    /// A uniform index in `0..n` (`n > 0`), without modulo bias (Lemire's method).
    pub fn below(&mut self, n: usize) -> usize {
        let n = n as u64;
        loop {
            let m = (self.next_u64() as u128) * (n as u128);
            let low = m as u64;
            if low >= n || low >= n.wrapping_neg() % n {
                return (m >> 64) as usize;
            }
        }
    }
}

/// A stage of the sampling tree: each stage draws uniformly among the values present under the
/// stages before it. A stage left out is not balanced: its values come in as often as their
/// patches do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Stage {
    /// Histological grade.
    Grade,
    /// Slide.
    Slide,
    /// Class (the patch label).
    Class,
    /// Cluster (a per-patch column or a cluster model's assignment).
    Cluster,
}

impl Stage {
    /// The paper's tree: grade → slide → class → cluster.
    pub const PAPER: [Stage; 4] = [Stage::Grade, Stage::Slide, Stage::Class, Stage::Cluster];

    /// Its name (`grade`, `slide`, `class`, `cluster`).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Grade => "grade",
            Stage::Slide => "slide",
            Stage::Class => "class",
            Stage::Cluster => "cluster",
        }
    }

    /// The stage of a name, if it is one.
    pub fn from_name(name: &str) -> Option<Stage> {
        Self::PAPER.into_iter().find(|s| s.name() == name)
    }
}

/// Why a list of stages cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StageError {
    /// A name that is not a stage.
    #[error("'{0}' is not a sampling stage (use grade, slide, class, cluster)")]
    Unknown(String),
    /// A stage named twice.
    #[error("the sampling stage '{}' is given twice", .0.name())]
    Repeated(Stage),
}

/// Parses stage names, each at most once, in the order given.
pub fn parse_stages<S: AsRef<str>>(names: &[S]) -> Result<Vec<Stage>, StageError> {
    let mut out = Vec::new();
    for n in names {
        let s = Stage::from_name(n.as_ref().trim())
            .ok_or_else(|| StageError::Unknown(n.as_ref().to_string()))?;
        if out.contains(&s) {
            return Err(StageError::Repeated(s));
        }
        out.push(s);
    }
    Ok(out)
}

#[derive(Debug, Clone)]
enum Node {
    Inner(Vec<Node>),
    Leaf(Vec<usize>),
}

/// The sampling tree over a patch list: one level per [`Stage`], uniform at each, then a
/// uniform patch of the leaf reached.
#[derive(Debug, Clone)]
pub struct SamplingTree {
    root: Option<Node>,
    grades: Vec<String>,
    /// Per patch: (grade index, slide index).
    of: Vec<(usize, usize)>,
}

/// One draw: which patch, and its grade and slide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draw {
    /// Index into the patch list.
    pub patch: usize,
    /// Grade, as an index into [`SamplingTree::grades`].
    pub grade: usize,
    /// Slide index (into the cohort).
    pub slide: usize,
}

impl SamplingTree {
    /// The paper's tree (grade → slide → class → cluster) over patches given as (slide index,
    /// grade, class, cluster), cluster `""` when there is none. Slides, classes and clusters
    /// without patches do not appear.
    pub fn build<'a>(
        patches: impl IntoIterator<Item = (usize, &'a str, &'a str, &'a str)>,
    ) -> Self {
        Self::with_stages(&Stage::PAPER, patches)
    }

    /// The tree of `stages`, in that order, over patches given as for [`SamplingTree::build`].
    pub fn with_stages<'a>(
        stages: &[Stage],
        patches: impl IntoIterator<Item = (usize, &'a str, &'a str, &'a str)>,
    ) -> Self {
        let patches: Vec<(usize, &str, &str, &str)> = patches.into_iter().collect();
        let grade_set: BTreeMap<&str, usize> = patches.iter().map(|p| (p.1, 0)).collect();
        let grades: Vec<String> = grade_set.keys().map(|g| g.to_string()).collect();
        let grade_index = |g: &str| grades.iter().position(|x| x == g).unwrap_or(0);
        let of = patches
            .iter()
            .map(|&(slide, grade, _, _)| (grade_index(grade), slide))
            .collect();
        let all: Vec<usize> = (0..patches.len()).collect();
        let root = (!all.is_empty()).then(|| Self::node(stages, &patches, all));
        SamplingTree { root, grades, of }
    }

    fn node(stages: &[Stage], patches: &[(usize, &str, &str, &str)], members: Vec<usize>) -> Node {
        let Some((&stage, rest)) = stages.split_first() else {
            return Node::Leaf(members);
        };
        let mut groups: BTreeMap<(usize, &str), Vec<usize>> = BTreeMap::new();
        for i in members {
            let (slide, grade, class, cluster) = patches[i];
            let key = match stage {
                Stage::Grade => (0, grade),
                Stage::Slide => (slide, ""),
                Stage::Class => (0, class),
                Stage::Cluster => (0, cluster),
            };
            groups.entry(key).or_default().push(i);
        }
        Node::Inner(
            groups
                .into_values()
                .map(|m| Self::node(rest, patches, m))
                .collect(),
        )
    }

    /// Grade names, sorted, in the order of [`Draw::grade`].
    pub fn grades(&self) -> Vec<&str> {
        self.grades.iter().map(String::as_str).collect()
    }

    /// Whether there is nothing to draw.
    pub fn is_empty(&self) -> bool {
        self.root.is_none()
    }

    /// One draw, uniform at each stage.
    pub fn draw(&self, rng: &mut Rng) -> Option<Draw> {
        let mut node = self.root.as_ref()?;
        loop {
            match node {
                Node::Inner(children) => node = &children[rng.below(children.len())],
                Node::Leaf(patches) => {
                    let patch = patches[rng.below(patches.len())];
                    let (grade, slide) = self.of[patch];
                    return Some(Draw {
                        patch,
                        grade,
                        slide,
                    });
                }
            }
        }
    }

    /// The draws of one batch: `n` draws from the generator of (`seed`, `epoch`, `batch`), so a
    /// batch does not depend on the batches before it or on who draws it.
    pub fn draw_batch(&self, seed: u64, epoch: u64, batch: u64, n: usize) -> Vec<Draw> {
        let mut rng = Rng::stream(seed, epoch, batch, Rng::DRAWS);
        (0..n).filter_map(|_| self.draw(&mut rng)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_draws_cover_the_range_uniformly() {
        let mut r = Rng::new(7);
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            counts[r.below(7)] += 1;
        }
        // each bin: mean 10 000, sd ≈ 93; 5 sd bounds
        assert!(
            counts.iter().all(|&c| (9_535..=10_465).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_draws() {
        let t = SamplingTree::build([
            (0, "I", "tumour", ""),
            (0, "I", "non-tumour", ""),
            (1, "II", "tumour", ""),
        ]);
        let a: Vec<_> = (0..50).scan(Rng::new(3), |r, _| t.draw(r)).collect();
        let b: Vec<_> = (0..50).scan(Rng::new(3), |r, _| t.draw(r)).collect();
        let c: Vec<_> = (0..50).scan(Rng::new(4), |r, _| t.draw(r)).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
