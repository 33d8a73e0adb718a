//! `h2g sample COHORT.csv -o draws.csv`: hierarchical sampling of training patches.

use super::out::noteln;
use std::path::PathBuf;
use std::process::ExitCode;

use h2g::sampling::{sample, SampleSpec};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Cohort CSV: columns slide, patches (the slide's `h2g patches` CSV), grade, [split].
    cohort: PathBuf,
    /// The draws CSV to write.
    #[arg(short, long)]
    output: PathBuf,
    /// Number of batches.
    #[arg(long, default_value_t = 500)]
    batches: usize,
    /// Patches per batch.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Random seed (the same seed gives the same draws).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Only slides of this split (e.g. train).
    #[arg(long)]
    split: Option<String>,
    /// A per-patch column of the patch CSVs to sample uniformly between class and patch
    /// (e.g. tissue-type clusters).
    #[arg(long)]
    cluster_column: Option<String>,
    /// Also write the patch pixels as a NumPy array (N × H × W × 3, uint8) to this path, and
    /// the labels (1 tumour, 0 non-tumour) beside it as PATH.labels.npy.
    #[arg(long)]
    npy: Option<PathBuf>,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let spec = SampleSpec {
        cohort: a.cohort,
        split: a.split,
        cluster_column: a.cluster_column,
        batches: a.batches,
        batch_size: a.batch_size,
        seed: a.seed,
        output: a.output,
        npy: a.npy,
        progress: !a.quiet,
    };
    let r = sample(&spec)?;
    noteln!(
        "{} draws ({} batches of {}) from {} slides, {} patches, seed {}",
        r.draws,
        spec.batches,
        spec.batch_size,
        r.slides,
        r.patches,
        spec.seed
    );
    noteln!(
        "grade (uniform: {:.2} % each):",
        100.0 / r.grades.len() as f64
    );
    for g in &r.grades {
        let classes: Vec<String> = g
            .classes
            .iter()
            .map(|(c, p)| format!("{c} {p:.1} %"))
            .collect();
        noteln!(
            "  {}: {:.2} % of draws; {} slides drawn, {}–{} draws each (uniform: {:.1}); classes: {}",
            g.grade,
            g.percent,
            g.slides,
            g.per_slide.0,
            g.per_slide.1,
            g.uniform,
            classes.join(", ")
        );
    }
    noteln!("wrote {}", spec.output.display());
    if let Some((pixels, labels, s)) = &r.arrays {
        noteln!(
            "wrote {} ({} × {s} × {s} × 3) and {}",
            pixels.display(),
            r.draws,
            labels.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
