//! The clustering stage of the paper's sampler: features of sampled patches from a feature
//! extractor (the paper: ImageNet VGG16), z-scores, PCA keeping 95 % of the variance and
//! k-means with k = 10; the fitted model as a JSON file; clusters added to patch tables.

mod linalg;
mod model;
mod run;

pub use linalg::{symmetric_eigen, EigenError};
pub use model::{
    fit, ClusterModel, FeatureModelRef, FitError, FitParams, MAX_CLUSTERS, MAX_FEATURES,
    MODEL_VERSION,
};
pub use run::{
    cluster_assign, cluster_fit, read_model, write_model, Assigned, ClusterAssignSpec,
    ClusterError, ClusterFitSpec, FeatureExtractor, MAX_FIT_PATCHES,
};
