//! `h2g sample COHORT.csv -o draws.csv`: hierarchical sampling of training patches.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use h2g::mask::DEFAULT_MAX_PIXELS;
use h2g::output::{progress, write_file};
use h2g::sampling::{load_cohort, NpyWriter, Rng, SamplingTree};
use h2g::slide::{open_slide, read_at, ReadPlan, Slide};
use rayon::prelude::*;

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
    let n = a
        .batches
        .checked_mul(a.batch_size)
        .filter(|&n| n > 0 && n <= 100_000_000)
        .context("--batches × --batch-size must be between 1 and 100 million")?;
    let (slides, patches) =
        load_cohort(&a.cohort, a.split.as_deref(), a.cluster_column.as_deref())?;
    let tree = SamplingTree::build(patches.iter().map(|p| {
        (
            p.slide,
            slides[p.slide].grade.as_str(),
            p.class.as_str(),
            p.cluster.as_str(),
        )
    }));
    if tree.is_empty() {
        anyhow::bail!(
            "{}: no tumour or non-tumour patch to sample{}",
            a.cohort.display(),
            a.split
                .as_ref()
                .map(|s| format!(" in split '{s}'"))
                .unwrap_or_default()
        );
    }
    let mut rng = Rng::new(a.seed);
    let draws: Vec<_> = (0..n).filter_map(|_| tree.draw(&mut rng)).collect();
    let grades = tree.grades();

    // the draws CSV
    write_file(&a.output, |w| {
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
                (i / a.batch_size).to_string(),
                (i % a.batch_size).to_string(),
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
    .with_context(|| format!("cannot write {}", a.output.display()))?;

    // realised proportions per stage
    let share = |k: usize| 100.0 * k as f64 / n as f64;
    eprintln!(
        "{} draws ({} batches of {}) from {} slides, {} patches, seed {}",
        n,
        a.batches,
        a.batch_size,
        slides.len(),
        patches.len(),
        a.seed
    );
    eprintln!(
        "grade (uniform: {:.2} % each):",
        100.0 / grades.len() as f64
    );
    for (g, name) in grades.iter().enumerate() {
        let in_g: Vec<_> = draws.iter().filter(|d| d.grade == g).collect();
        let mut per_slide: BTreeMap<usize, usize> = BTreeMap::new();
        let mut per_class: BTreeMap<&str, usize> = BTreeMap::new();
        for d in &in_g {
            *per_slide.entry(d.slide).or_default() += 1;
            *per_class
                .entry(patches[d.patch].class.as_str())
                .or_default() += 1;
        }
        let (lo, hi) = (
            per_slide.values().min().copied().unwrap_or(0),
            per_slide.values().max().copied().unwrap_or(0),
        );
        let classes: Vec<String> = per_class
            .iter()
            .map(|(c, k)| format!("{c} {:.1} %", 100.0 * *k as f64 / in_g.len().max(1) as f64))
            .collect();
        eprintln!(
            "  {name}: {:.2} % of draws; {} slides drawn, {lo}–{hi} draws each (uniform: {:.1}); classes: {}",
            share(in_g.len()),
            per_slide.len(),
            in_g.len() as f64 / per_slide.len().max(1) as f64,
            classes.join(", ")
        );
    }
    eprintln!("wrote {}", a.output.display());

    if let Some(path) = &a.npy {
        write_arrays(&a, path, &slides, &patches, &draws)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn write_arrays(
    a: &Args,
    path: &std::path::Path,
    slides: &[h2g::sampling::CohortSlide],
    patches: &[h2g::sampling::SamplePatch],
    draws: &[h2g::sampling::Draw],
) -> anyhow::Result<()> {
    let sizes: Vec<u32> = draws
        .iter()
        .map(|d| {
            let p = &patches[d.patch];
            (p.width as f64 / p.downsample).round() as u32
        })
        .collect();
    let size = sizes[0];
    if sizes.iter().any(|&s| s != size) {
        anyhow::bail!(
            "--npy needs one patch size, but the drawn patches have several: {:?}",
            sizes.iter().collect::<std::collections::BTreeSet<_>>()
        );
    }
    let mut open: BTreeMap<usize, Box<dyn Slide>> = BTreeMap::new();
    for d in draws {
        if let std::collections::btree_map::Entry::Vacant(e) = open.entry(d.slide) {
            e.insert(open_slide(&slides[d.slide].slide, DEFAULT_MAX_PIXELS)?);
        }
    }
    let n = draws.len();
    let s = size as usize;
    let mut pixels = NpyWriter::create(path, &[n, s, s, 3])
        .with_context(|| format!("cannot write {}", path.display()))?;
    let bar = progress(Some(n as u64), "reading patches", !a.quiet);
    for chunk in draws.chunks(256) {
        let imgs = chunk
            .par_iter()
            .map(|d| {
                let p = &patches[d.patch];
                let slide = open[&d.slide].as_ref();
                let plan = ReadPlan {
                    level: p.level,
                    level_downsample: slide.level_downsample(p.level)?,
                    target_downsample: p.downsample,
                };
                read_at(slide, &plan, p.x, p.y, size, size)
            })
            .collect::<Result<Vec<_>, _>>()?;
        for img in imgs {
            pixels
                .write(&img.data)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    pixels
        .finish()
        .with_context(|| format!("cannot write {}", path.display()))?;
    let lpath = path.with_extension("labels.npy");
    let mut labels = NpyWriter::create(&lpath, &[n])
        .with_context(|| format!("cannot write {}", lpath.display()))?;
    let l: Vec<u8> = draws
        .iter()
        .map(|d| u8::from(patches[d.patch].class == "tumour"))
        .collect();
    labels
        .write(&l)
        .and_then(|_| labels.finish())
        .with_context(|| format!("cannot write {}", lpath.display()))?;
    eprintln!(
        "wrote {} ({n} × {s} × {s} × 3) and {}",
        path.display(),
        lpath.display()
    );
    Ok(())
}
