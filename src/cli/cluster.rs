//! `h2g cluster fit|assign`: the clustering stage of the sampler (features of sampled patches,
//! z-scores, PCA, k-means) and clusters added to patch tables.

use super::out::noteln;
use std::path::PathBuf;
use std::process::ExitCode;

use h2g::cluster::{cluster_assign, cluster_fit, ClusterAssignSpec, ClusterFitSpec, FitParams};
use h2g::output::progress;

use super::model_args::RuntimeArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Fit the clustering: draw patches from the cohort (grade → slide → class), compute their
    /// features with a feature-extractor model, then z-scores, PCA keeping --variance of the
    /// variance and k-means with --k clusters; writes the cluster model (JSON).
    Fit {
        /// Cohort CSV: slide, patches, grade, [split] (as for `h2g sample`).
        cohort: PathBuf,
        /// The feature-extractor model: a built-in name or an .onnx file with its manifest.
        #[arg(long)]
        model: String,
        /// The cluster model to write (JSON).
        #[arg(short, long)]
        output: PathBuf,
        /// Batches of patches drawn (the paper: 100).
        #[arg(long, default_value_t = 100)]
        batches: usize,
        /// Patches per batch (the paper: 32).
        #[arg(long, default_value_t = 32)]
        batch_size: usize,
        /// Clusters (the paper: 10).
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// Share of the variance the PCA keeps (the paper: 0.95).
        #[arg(long, default_value_t = 0.95)]
        variance: f64,
        /// Seed of the draws and of the k-means++ initialisation.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// k-means++ runs, the best kept.
        #[arg(long, default_value_t = 10)]
        n_init: usize,
        /// Only slides of this split.
        #[arg(long)]
        split: Option<String>,
        /// Patch reading threads.
        #[arg(long, default_value_t = 4)]
        workers: usize,
        #[command(flatten)]
        runtime: RuntimeArgs,
        /// No progress bar.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Add a cluster column to the cohort's patch tables: writes them, and a cohort CSV that
    /// points at them, into a folder (`h2g sample OUT/cohort.csv --cluster-column cluster`).
    Assign {
        /// Cohort CSV whose patch tables get clusters.
        cohort: PathBuf,
        /// The cluster model (from `h2g cluster fit`).
        #[arg(long)]
        clusters: PathBuf,
        /// The feature-extractor model the clusters were fitted with.
        #[arg(long)]
        model: String,
        /// The folder to write into.
        #[arg(short, long)]
        output: PathBuf,
        /// The column written.
        #[arg(long, default_value = "cluster")]
        column: String,
        #[command(flatten)]
        runtime: RuntimeArgs,
        /// No progress bar.
        #[arg(short, long)]
        quiet: bool,
    },
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    match a.command {
        Sub::Fit {
            cohort,
            model,
            output,
            batches,
            batch_size,
            k,
            variance,
            seed,
            n_init,
            split,
            workers,
            runtime,
            quiet,
        } => {
            let spec = ClusterFitSpec {
                cohort,
                split,
                model,
                runtime: runtime.runtime(),
                batches,
                batch_size,
                seed,
                workers,
                params: FitParams {
                    k,
                    variance,
                    n_init,
                    ..FitParams::default()
                },
                output: Some(output.clone()),
            };
            let bar = progress(Some(batches as u64), "features", !quiet);
            let m = cluster_fit(&spec, &super::bar_progress(&bar))?;
            bar.finish_and_clear();
            let kept: f64 = m.explained_variance_ratio.iter().sum();
            noteln!(
                "{} patches, {} features → {} PCA axes ({:.2} % of the variance) → {} clusters \
                 (inertia {:.6e}, {} iterations); wrote {}",
                m.patches,
                m.features,
                m.components.len(),
                100.0 * kept,
                m.centroids.len(),
                m.inertia,
                m.iterations,
                output.display()
            );
        }
        Sub::Assign {
            cohort,
            clusters,
            model,
            output,
            column,
            runtime,
            quiet,
        } => {
            let spec = ClusterAssignSpec {
                cohort,
                clusters,
                model,
                runtime: runtime.runtime(),
                output,
                column,
                batch_size: 32,
            };
            let bar = progress(None, "patches", !quiet);
            let done = cluster_assign(&spec, &|n| bar.inc(n))?;
            bar.finish_and_clear();
            let per: Vec<String> = done
                .counts
                .iter()
                .enumerate()
                .map(|(c, n)| format!("{c}: {n}"))
                .collect();
            noteln!(
                "{} patch tables, {} patches given a cluster ({}); wrote {}",
                done.tables.len(),
                done.tables.iter().map(|t| t.1).sum::<usize>(),
                per.join(", "),
                done.cohort.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
