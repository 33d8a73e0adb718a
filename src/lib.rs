//! h2g: the H2G-Net breast-tumour segmentation lifecycle for QuPath users, as a library.
//!
//! Modules follow the lifecycle. Present: [`slide`] (whole-slide access over OpenSlide, level
//! and resolution selection), [`units`] (pixel sizes and magnifications as types), [`mask`]
//! (streaming label-mask inputs), [`output`] (atomic output files), [`pyramid`] (label-preserving pyramids), [`tiff`] (tiled
//! pyramidal TIFF writer) and [`convert`] (`convert-mask`). Planned, each in its own module:
//! tissue detection, patch extraction and sampling, models and the cascade, vectorisation and
//! rasterisation of QuPath GeoJSON, and evaluation.

pub mod convert;
pub mod eval;
pub mod infer;
pub mod mask;
pub mod output;
pub mod patches;
pub mod pyramid;
pub mod sampling;
pub mod slide;
pub mod stats;
pub mod tiff;
pub mod tissue;
pub mod units;
pub mod vector;
