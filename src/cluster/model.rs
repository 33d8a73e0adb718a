//! The clustering stage's mathematics: z-scores, PCA keeping a share of the variance, k-means,
//! and the cluster model file that holds them.

use serde::{Deserialize, Serialize};

use super::linalg::{symmetric_eigen, EigenError};
use crate::sampling::Rng;

/// The version of the cluster model file this library writes and reads.
pub const MODEL_VERSION: u32 = 1;
/// The most feature values per patch.
pub const MAX_FEATURES: usize = 8192;
/// The most clusters.
pub const MAX_CLUSTERS: usize = 1024;

/// A fitted clustering: what `h2g cluster fit` writes as JSON and `h2g cluster assign` reads.
///
/// A patch's features `f` (one vector from the feature model) go to the cluster whose centroid
/// is nearest (Euclidean) to `((f − mean) / scale − pca_mean) · componentsᵀ`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterModel {
    /// [`MODEL_VERSION`].
    pub version: u32,
    /// Features per patch.
    pub features: usize,
    /// Per feature: the mean over the patches fitted on.
    pub mean: Vec<f64>,
    /// Per feature: the standard deviation (1 where it is 0), as scikit-learn's StandardScaler.
    pub scale: Vec<f64>,
    /// The mean of the z-scores PCA centred on (about 0).
    pub pca_mean: Vec<f64>,
    /// The principal axes kept, one row of `features` values each, by decreasing variance;
    /// each row's entry of largest magnitude is positive (scikit-learn's sign rule).
    pub components: Vec<Vec<f64>>,
    /// The variance along each axis kept.
    pub explained_variance: Vec<f64>,
    /// Its share of the total variance.
    pub explained_variance_ratio: Vec<f64>,
    /// The share of variance asked for (the paper: 0.95).
    pub variance: f64,
    /// The cluster centres in the PCA space, one row per cluster.
    pub centroids: Vec<Vec<f64>>,
    /// The sum of squared distances of the patches fitted on to their centres.
    pub inertia: f64,
    /// Lloyd iterations run.
    pub iterations: usize,
    /// Patches fitted on.
    pub patches: usize,
    /// Where the features came from (the feature model: name, file, SHA-256), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_model: Option<FeatureModelRef>,
    /// How the patches were drawn, in words, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drawn: Option<String>,
}

/// The feature model a cluster model was fitted with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureModelRef {
    /// Its manifest's name.
    pub name: String,
    /// Its file's SHA-256.
    pub sha256: String,
}

/// How to fit.
#[derive(Debug, Clone, PartialEq)]
pub struct FitParams {
    /// Clusters (the paper: 10).
    pub k: usize,
    /// Share of the variance PCA keeps, in (0, 1] (the paper: 0.95).
    pub variance: f64,
    /// Seed of the k-means++ initialisation.
    pub seed: u64,
    /// k-means++ runs, the one of least inertia kept (scikit-learn's `n_init`; 10 by default,
    /// as scikit-learn before 1.4, for clusters that do not hang on one draw).
    pub n_init: usize,
    /// Initial centroids in the PCA space (`k` rows) instead of k-means++.
    pub init: Option<Vec<Vec<f64>>>,
    /// The most Lloyd iterations (scikit-learn: 300).
    pub max_iter: usize,
    /// Convergence: a total squared centre shift at most `tol` × the mean variance of the PCA
    /// coordinates (scikit-learn: 1e-4).
    pub tol: f64,
}

impl Default for FitParams {
    fn default() -> Self {
        FitParams {
            k: 10,
            variance: 0.95,
            seed: 0,
            n_init: 10,
            init: None,
            max_iter: 300,
            tol: 1e-4,
        }
    }
}

/// Why features could not be clustered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    /// Not enough patches for the clusters.
    #[error("{patches} patches cannot make {k} clusters: draw at least {k} patches")]
    TooFew {
        /// Patches given.
        patches: usize,
        /// Clusters asked for.
        k: usize,
    },
    /// A count out of range.
    #[error("{name} must be between {min} and {max}, not {value}")]
    Range {
        /// The setting.
        name: &'static str,
        /// Its value.
        value: f64,
        /// Smallest allowed.
        min: f64,
        /// Largest allowed.
        max: f64,
    },
    /// A feature that is NaN or infinite.
    #[error(
        "feature {feature} of patch {patch} is {value}: the feature model gave a non-finite value"
    )]
    NotFinite {
        /// The patch.
        patch: usize,
        /// The feature.
        feature: usize,
        /// Its value.
        value: f64,
    },
    /// Initial centroids of the wrong shape.
    #[error("the initial centroids are {rows} × {cols}, but k is {k} and PCA keeps {dims} axes")]
    InitShape {
        /// Rows given.
        rows: usize,
        /// Columns of the first row.
        cols: usize,
        /// k.
        k: usize,
        /// Axes kept.
        dims: usize,
    },
    /// The decomposition failed.
    #[error(transparent)]
    Eigen(#[from] EigenError),
    /// Features whose count differs from the model's.
    #[error("the cluster model takes {want} features per patch, not {got}")]
    Features {
        /// The model's.
        want: usize,
        /// Given.
        got: usize,
    },
}

fn range(name: &'static str, value: f64, min: f64, max: f64) -> Result<(), FitError> {
    if value >= min && value <= max {
        Ok(())
    } else {
        Err(FitError::Range {
            name,
            value,
            min,
            max,
        })
    }
}

/// Fits the clustering on `features` (`n × d`, row-major): z-scores, PCA keeping
/// `params.variance` of the variance, then k-means with `params.k` clusters, as scikit-learn's
/// StandardScaler, PCA(n_components=variance) and KMeans(k) do (Lloyd's algorithm and its
/// convergence rule; the best of `n_init` k-means++ runs with 2 + ⌊ln k⌋ local trials, unless
/// initial centroids are given).
pub fn fit(features: &[f64], d: usize, params: &FitParams) -> Result<ClusterModel, FitError> {
    range("features per patch", d as f64, 1.0, MAX_FEATURES as f64)?;
    range("k", params.k as f64, 1.0, MAX_CLUSTERS as f64)?;
    if !(params.variance > 0.0 && params.variance <= 1.0) {
        return Err(FitError::Range {
            name: "variance",
            value: params.variance,
            min: 0.0,
            max: 1.0,
        });
    }
    range("max_iter", params.max_iter as f64, 1.0, 100_000.0)?;
    range("n_init", params.n_init as f64, 1.0, 1000.0)?;
    range("tol", params.tol, 0.0, 1.0)?;
    let n = features.len() / d;
    if n < params.k.max(2) {
        return Err(FitError::TooFew {
            patches: n,
            k: params.k.max(2),
        });
    }
    if let Some(i) = features.iter().position(|v| !v.is_finite()) {
        return Err(FitError::NotFinite {
            patch: i / d,
            feature: i % d,
            value: features[i],
        });
    }
    // z-scores (population standard deviation; a constant feature keeps scale 1)
    let mean: Vec<f64> = (0..d)
        .map(|j| (0..n).map(|i| features[i * d + j]).sum::<f64>() / n as f64)
        .collect();
    let scale: Vec<f64> = (0..d)
        .map(|j| {
            let var = (0..n)
                .map(|i| (features[i * d + j] - mean[j]).powi(2))
                .sum::<f64>()
                / n as f64;
            let s = var.sqrt();
            if s < 10.0 * f64::EPSILON * mean[j].abs().max(1.0) {
                1.0
            } else {
                s
            }
        })
        .collect();
    let z: Vec<f64> = (0..n * d)
        .map(|i| (features[i] - mean[i % d]) / scale[i % d])
        .collect();
    let pca_mean: Vec<f64> = (0..d)
        .map(|j| (0..n).map(|i| z[i * d + j]).sum::<f64>() / n as f64)
        .collect();
    // the covariance of the z-scores, (n − 1) in the denominator
    let mut cov = vec![0.0; d * d];
    for i in 0..n {
        let row = &z[i * d..(i + 1) * d];
        for a in 0..d {
            let va = row[a] - pca_mean[a];
            if va == 0.0 {
                continue;
            }
            let out = &mut cov[a * d..(a + 1) * d];
            for b in a..d {
                out[b] += va * (row[b] - pca_mean[b]);
            }
        }
    }
    for a in 0..d {
        for b in a..d {
            let v = cov[a * d + b] / (n - 1) as f64;
            cov[a * d + b] = v;
            cov[b * d + a] = v;
        }
    }
    let (values, vectors) = symmetric_eigen(&cov, d)?;
    let values: Vec<f64> = values.into_iter().map(|v| v.max(0.0)).collect();
    let total: f64 = values.iter().sum();
    let ratio: Vec<f64> = values
        .iter()
        .map(|v| if total > 0.0 { v / total } else { 0.0 })
        .collect();
    // the fewest axes whose cumulative share exceeds `variance` (all of them at 1)
    let mut keep = d;
    let mut cum = 0.0;
    for (i, r) in ratio.iter().enumerate() {
        cum += r;
        if cum > params.variance {
            keep = i + 1;
            break;
        }
    }
    let components: Vec<Vec<f64>> = vectors
        .into_iter()
        .take(keep)
        .map(|mut v| {
            let big = v
                .iter()
                .copied()
                .fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
            if big < 0.0 {
                v.iter_mut().for_each(|x| *x = -*x);
            }
            v
        })
        .collect();
    let mut model = ClusterModel {
        version: MODEL_VERSION,
        features: d,
        mean,
        scale,
        pca_mean,
        components,
        explained_variance: values[..keep].to_vec(),
        explained_variance_ratio: ratio[..keep].to_vec(),
        variance: params.variance,
        centroids: Vec::new(),
        inertia: 0.0,
        iterations: 0,
        patches: n,
        feature_model: None,
        drawn: None,
    };
    let x = model.project_z(&z)?;
    let runs = if params.init.is_some() {
        1
    } else {
        params.n_init
    };
    let mut best: Option<(Vec<Vec<f64>>, f64, usize)> = None;
    for run in 0..runs as u64 {
        let seed = Rng::stream(params.seed, 0, run, 0x6b6d_6561_6e73).next_u64();
        let r = kmeans(&x, keep, params, seed)?;
        if best.as_ref().is_none_or(|b| r.1 < b.1) {
            best = Some(r);
        }
    }
    let Some((centroids, inertia, iterations)) = best else {
        return Err(FitError::TooFew {
            patches: n,
            k: params.k,
        });
    };
    model.centroids = centroids;
    model.inertia = inertia;
    model.iterations = iterations;
    Ok(model)
}

impl ClusterModel {
    /// The PCA coordinates (`n × axes`) of features (`n × features`).
    pub fn transform(&self, features: &[f64]) -> Result<Vec<f64>, FitError> {
        let d = self.features;
        if d == 0 || !features.len().is_multiple_of(d) {
            return Err(FitError::Features {
                want: d,
                got: features.len(),
            });
        }
        let z: Vec<f64> = features
            .iter()
            .enumerate()
            .map(|(i, v)| (v - self.mean[i % d]) / self.scale[i % d])
            .collect();
        self.project_z(&z)
    }

    fn project_z(&self, z: &[f64]) -> Result<Vec<f64>, FitError> {
        let d = self.features;
        let m = self.components.len();
        let n = z.len() / d;
        let mut out = Vec::with_capacity(n * m);
        for i in 0..n {
            let row = &z[i * d..(i + 1) * d];
            for c in &self.components {
                out.push(
                    row.iter()
                        .zip(c)
                        .zip(&self.pca_mean)
                        .map(|((v, w), mu)| (v - mu) * w)
                        .sum(),
                );
            }
        }
        Ok(out)
    }

    /// The cluster (0-based) of each patch of `features` (`n × features`).
    pub fn assign(&self, features: &[f64]) -> Result<Vec<u32>, FitError> {
        let x = self.transform(features)?;
        let m = self.components.len();
        Ok(x.chunks_exact(m.max(1))
            .map(|p| nearest(p, &self.centroids).0 as u32)
            .collect())
    }
}

/// The nearest centre and the squared distance to it (the first of equals).
fn nearest(p: &[f64], centres: &[Vec<f64>]) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (c, centre) in centres.iter().enumerate() {
        let d: f64 = p.iter().zip(centre).map(|(a, b)| (a - b) * (a - b)).sum();
        if d < best.1 {
            best = (c, d);
        }
    }
    best
}

fn uniform(rng: &mut Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Greedy k-means++ (scikit-learn's: 2 + ⌊ln k⌋ candidates per new centre, the one that
/// lowers the potential most kept).
fn kmeans_plus_plus(x: &[f64], m: usize, k: usize, seed: u64) -> Vec<Vec<f64>> {
    let n = x.len() / m;
    let row = |i: usize| &x[i * m..(i + 1) * m];
    let dist =
        |a: &[f64], b: &[f64]| -> f64 { a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum() };
    let mut rng = Rng::new(seed);
    let trials = 2 + (k as f64).ln().floor() as usize;
    let first = rng.below(n);
    let mut centres = vec![row(first).to_vec()];
    let mut closest: Vec<f64> = (0..n).map(|i| dist(row(i), row(first))).collect();
    let mut pot: f64 = closest.iter().sum();
    while centres.len() < k {
        let mut cum = Vec::with_capacity(n);
        let mut acc = 0.0;
        for &c in &closest {
            acc += c;
            cum.push(acc);
        }
        let mut best: Option<(f64, usize, Vec<f64>)> = None;
        for _ in 0..trials {
            let r = uniform(&mut rng) * pot;
            let cand = cum.partition_point(|&c| c < r).min(n - 1);
            let new: Vec<f64> = (0..n)
                .map(|i| closest[i].min(dist(row(i), row(cand))))
                .collect();
            let p: f64 = new.iter().sum();
            if best.as_ref().is_none_or(|b| p < b.0) {
                best = Some((p, cand, new));
            }
        }
        let Some((p, cand, new)) = best else { break };
        pot = p;
        closest = new;
        centres.push(row(cand).to_vec());
    }
    centres
}

/// Lloyd's algorithm as scikit-learn runs it: assign, move the centres, stop when the labels
/// repeat or the centres moved less than the tolerance; a last assignment if they did not
/// repeat. Empty clusters take the points farthest from their centres.
fn kmeans(
    x: &[f64],
    m: usize,
    params: &FitParams,
    seed: u64,
) -> Result<(Vec<Vec<f64>>, f64, usize), FitError> {
    let n = x.len() / m;
    let k = params.k;
    let row = |i: usize| &x[i * m..(i + 1) * m];
    let mut centres = match &params.init {
        Some(c) => {
            if c.len() != k || c.iter().any(|r| r.len() != m) {
                return Err(FitError::InitShape {
                    rows: c.len(),
                    cols: c.first().map_or(0, Vec::len),
                    k,
                    dims: m,
                });
            }
            c.clone()
        }
        None => kmeans_plus_plus(x, m, k, seed),
    };
    // tolerance relative to the mean variance of the coordinates
    let var_mean = (0..m)
        .map(|j| {
            let mu = (0..n).map(|i| row(i)[j]).sum::<f64>() / n as f64;
            (0..n).map(|i| (row(i)[j] - mu).powi(2)).sum::<f64>() / n as f64
        })
        .sum::<f64>()
        / m as f64;
    let tol = params.tol * var_mean;
    let mut labels = vec![usize::MAX; n];
    let mut strict = false;
    let mut iterations = 0;
    for _ in 0..params.max_iter {
        iterations += 1;
        let mut new_labels = vec![0usize; n];
        let mut dists = vec![0.0; n];
        for i in 0..n {
            let (c, d) = nearest(row(i), &centres);
            new_labels[i] = c;
            dists[i] = d;
        }
        let mut sums = vec![vec![0.0; m]; k];
        let mut counts = vec![0usize; k];
        for i in 0..n {
            counts[new_labels[i]] += 1;
            for (s, v) in sums[new_labels[i]].iter_mut().zip(row(i)) {
                *s += v;
            }
        }
        // empty clusters: the points farthest from their centres, one each
        let empty: Vec<usize> = (0..k).filter(|&c| counts[c] == 0).collect();
        if !empty.is_empty() {
            let mut far: Vec<usize> = (0..n).collect();
            far.sort_by(|&a, &b| dists[b].total_cmp(&dists[a]));
            for (&c, &i) in empty.iter().zip(&far) {
                let old = new_labels[i];
                if counts[old] > 1 {
                    counts[old] -= 1;
                    for (s, v) in sums[old].iter_mut().zip(row(i)) {
                        *s -= v;
                    }
                    counts[c] = 1;
                    sums[c] = row(i).to_vec();
                }
            }
        }
        let new_centres: Vec<Vec<f64>> = (0..k)
            .map(|c| {
                if counts[c] == 0 {
                    centres[c].clone()
                } else {
                    sums[c].iter().map(|s| s / counts[c] as f64).collect()
                }
            })
            .collect();
        let shift: f64 = centres
            .iter()
            .zip(&new_centres)
            .map(|(a, b)| a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum::<f64>())
            .sum();
        centres = new_centres;
        if new_labels == labels {
            strict = true;
            break;
        }
        labels = new_labels;
        if shift <= tol {
            break;
        }
    }
    if !strict {
        for (i, l) in labels.iter_mut().enumerate() {
            *l = nearest(row(i), &centres).0;
        }
    }
    let inertia = (0..n)
        .map(|i| {
            row(i)
                .iter()
                .zip(&centres[labels[i]])
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
        })
        .sum();
    Ok((centres, inertia, iterations))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three well-separated blobs in 5 dimensions.
    fn blobs(n: usize) -> Vec<f64> {
        let mut rng = Rng::new(9);
        let mut out = Vec::new();
        for i in 0..n {
            let c = (i % 3) as f64 * 10.0;
            for j in 0..5 {
                out.push(c * (j as f64 + 1.0) + uniform(&mut rng) - 0.5);
            }
        }
        out
    }

    #[test]
    fn separated_blobs_are_found() {
        let x = blobs(90);
        let m = fit(
            &x,
            5,
            &FitParams {
                k: 3,
                ..FitParams::default()
            },
        )
        .unwrap();
        // the blobs lie on a line: one axis carries almost all the variance
        assert_eq!(m.components.len(), 1);
        assert!(m.explained_variance_ratio[0] > 0.95);
        let labels = m.assign(&x).unwrap();
        for i in 0..90 {
            assert_eq!(labels[i], labels[i % 3], "patch {i}");
        }
        assert_ne!(labels[0], labels[1]);
        assert_ne!(labels[1], labels[2]);
        // a model read back assigns the same
        let text = serde_json::to_string(&m).unwrap();
        let back: ClusterModel = serde_json::from_str(&text).unwrap();
        assert_eq!(back.assign(&x).unwrap(), labels);
    }

    #[test]
    fn bad_input_is_refused() {
        let x = blobs(9);
        assert!(matches!(
            fit(
                &x,
                5,
                &FitParams {
                    k: 20,
                    ..FitParams::default()
                }
            ),
            Err(FitError::TooFew { .. })
        ));
        let mut y = x.clone();
        y[7] = f64::NAN;
        assert!(matches!(
            fit(
                &y,
                5,
                &FitParams {
                    k: 2,
                    ..FitParams::default()
                }
            ),
            Err(FitError::NotFinite {
                patch: 1,
                feature: 2,
                ..
            })
        ));
        assert!(matches!(
            fit(
                &x,
                5,
                &FitParams {
                    k: 2,
                    variance: 1.5,
                    ..FitParams::default()
                }
            ),
            Err(FitError::Range {
                name: "variance",
                ..
            })
        ));
    }
}
