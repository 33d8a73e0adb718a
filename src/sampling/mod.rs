//! Hierarchical sampling of training patches: histological grade → slide of
//! that grade → class present in that slide → optional cluster → patch, uniform at every
//! stage, deterministic for a seed.

mod cohort;
mod npy;
mod run;

use std::collections::BTreeMap;

pub use cohort::{load_cohort, CohortError, CohortSlide, SamplePatch};
pub use npy::{npy_header, NpyWriter};
pub use run::{sample, GradeShare, SampleError, SampleSpec, Sampled, MAX_DRAWS};

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

/// The sampling tree: grade → slide → class → cluster → patch indices into a patch list.
#[derive(Debug, Clone, Default)]
pub struct SamplingTree {
    grades: Vec<(String, Vec<SlideNode>)>,
}

/// Patches of one cluster (named) of one class.
type Cluster = (String, Vec<usize>);
/// A class (named) and its clusters.
type Class = (String, Vec<Cluster>);

#[derive(Debug, Clone)]
struct SlideNode {
    slide: usize,
    classes: Vec<Class>,
}

/// One draw: which patch, and the path through the tree that led to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draw {
    /// Index into the patch list.
    pub patch: usize,
    /// Grade drawn.
    pub grade: usize,
    /// Slide index (into the cohort).
    pub slide: usize,
}

impl SamplingTree {
    /// Builds the tree from patches given as (slide index, grade, class, cluster) — cluster
    /// `""` when there is none. Slides, classes and clusters without patches do not appear.
    pub fn build<'a>(
        patches: impl IntoIterator<Item = (usize, &'a str, &'a str, &'a str)>,
    ) -> Self {
        type Tree =
            BTreeMap<String, BTreeMap<usize, BTreeMap<String, BTreeMap<String, Vec<usize>>>>>;
        let mut t: Tree = BTreeMap::new();
        for (i, (slide, grade, class, cluster)) in patches.into_iter().enumerate() {
            t.entry(grade.to_string())
                .or_default()
                .entry(slide)
                .or_default()
                .entry(class.to_string())
                .or_default()
                .entry(cluster.to_string())
                .or_default()
                .push(i);
        }
        SamplingTree {
            grades: t
                .into_iter()
                .map(|(g, slides)| {
                    let nodes = slides
                        .into_iter()
                        .map(|(slide, classes)| SlideNode {
                            slide,
                            classes: classes
                                .into_iter()
                                .map(|(c, cl)| (c, cl.into_iter().collect()))
                                .collect(),
                        })
                        .collect();
                    (g, nodes)
                })
                .collect(),
        }
    }

    /// Grade names, in the order of [`Draw::grade`].
    pub fn grades(&self) -> Vec<&str> {
        self.grades.iter().map(|(g, _)| g.as_str()).collect()
    }

    /// Whether there is nothing to draw.
    pub fn is_empty(&self) -> bool {
        self.grades.is_empty()
    }

    /// One draw, uniform at each stage.
    pub fn draw(&self, rng: &mut Rng) -> Option<Draw> {
        if self.grades.is_empty() {
            return None;
        }
        let g = rng.below(self.grades.len());
        let slides = &self.grades[g].1;
        let s = &slides[rng.below(slides.len())];
        let (_, clusters) = &s.classes[rng.below(s.classes.len())];
        let (_, patches) = &clusters[rng.below(clusters.len())];
        Some(Draw {
            patch: patches[rng.below(patches.len())],
            grade: g,
            slide: s.slide,
        })
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
