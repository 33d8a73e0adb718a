//! h2g: the H2G-Net breast-tumour segmentation lifecycle for QuPath users, as a library.
//!
//! Modules follow the lifecycle: [`slide`] (whole-slide access over OpenSlide and a direct JPEG
//! tile reader, level and resolution selection), [`units`] (pixel sizes and magnifications as
//! types), [`mask`] (streaming label-mask inputs), [`output`] (atomic output files), [`pyramid`]
//! (label-preserving pyramids), [`tiff`] (tiled pyramidal TIFF writer), [`convert`]
//! (`convert-mask`), [`tissue`] (tissue detection), [`patches`] and [`sampling`] (patch grids,
//! labels and hierarchical sampling), [`infer`] (models, heatmaps and the cascade), [`vector`]
//! (QuPath GeoJSON out of masks and back), [`eval`] and [`stats`] (evaluation, Tukey's HSD) and
//! [`cohort`] (cohort runs: plan, records, fingerprints, event log, summary), over [`digest`].

pub mod cluster;
pub mod cohort;
pub mod convert;
pub mod digest;
pub mod eval;
pub mod guard;
pub mod infer;
pub mod limits;
pub mod mask;
pub mod naming;
pub mod output;
pub mod patches;
pub mod pyramid;
pub mod sampling;
pub mod slide;
pub mod stats;
pub mod table;
pub mod tiff;
pub mod tissue;
pub mod units;
pub mod vector;
