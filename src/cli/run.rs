//! `h2g run --cohort cohort.csv --steps tissue,patches,segment,vectorize,evaluate -o OUT`: a
//! whole cohort, resumable, slides in parallel within a memory budget (`h2g::cohort`); this file
//! is its flags (the terminal display and the printed summary are `run_display`).

use super::out::outln;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use h2g::cohort::{read_cohort, HashMode, RunSpec, Step};
use h2g::tissue::MethodKind;

#[derive(Debug, clap::Args)]
#[command(mut_arg("design", |a| a.help("The design of the segment step")))]
#[command(mut_arg("mask_downsample", |a| a.help(
    "Level-0 pixels per pixel of the segmentation mask"
)))]
pub struct Args {
    /// The cohort table (CSV): `slide` (file), optional `id`, `truth` (tumour mask or QuPath
    /// GeoJSON), `truth_downsample`, `grade`, `mpp`. Relative paths are from the table's folder.
    #[arg(long)]
    cohort: PathBuf,
    /// Output folder (see the layout in the README); reruns into it resume.
    #[arg(short, long, required_unless_present = "list")]
    output: Option<PathBuf>,
    /// Print the cohort's slides (id, files, grade) as JSON Lines on stdout, and stop: a check
    /// of the table, and the slide list for workflow engines.
    #[arg(long)]
    list: bool,
    /// The steps to run, in any order; each runs after those it reads from.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "tissue,patches,segment,vectorize,evaluate"
    )]
    steps: Vec<Step>,
    /// Only these slide ids (comma-separated); the cohort's evaluation is left out.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Tissue detection method of the tissue step.
    #[arg(long, value_enum, default_value_t = MethodKind::Saturation)]
    tissue_method: MethodKind,
    /// Patch side in pixels (patches step).
    #[arg(long, default_value_t = 256)]
    patch_size: u32,
    /// Patch resolution (patches step): 10x, 1.0um, ds:4 or level:2.
    #[arg(long, default_value = "10x")]
    patch_at: String,
    /// Keep patches whose tissue fraction is above this (patches step).
    #[arg(long, default_value_t = 0.25)]
    min_tissue: f64,
    /// Tumour when the tumour fraction is above this (patches step).
    #[arg(long, default_value_t = 0.25)]
    min_tumour: f64,
    #[command(flatten)]
    d: super::model_args::DesignArgs,
    /// A designs file (CSV: label, design, model, refine_model, refine_level) to run several
    /// labelled designs per slide, instead of --design and its networks: each design's steps
    /// are segment.LABEL and vectorize.LABEL, and evaluate compares them all.
    #[arg(long, conflicts_with_all = ["design", "label", "model", "refine_model", "refine_level"])]
    designs: Option<PathBuf>,
    #[command(flatten)]
    gate: super::args::GateArg,
    /// Simplification of the vectorize step's outlines: 2um, 1.5px, or 0 for exact pixel edges.
    #[arg(long, default_value = "2um")]
    simplify: String,
    /// For GeoJSON truths: the tumour class (default: every polygon).
    #[arg(long)]
    truth_class: Option<String>,
    /// The cohort's evaluation (and its tables) covers only this split of the cohort table's
    /// split column, e.g. test; every slide is still run and evaluated on its own.
    #[arg(long)]
    split: Option<String>,
    /// Label masks evaluated class by class, as `evaluate --classes`: NAME=VALUE pairs
    /// (Tumor=1,Benign=2; NAME=PRED:TRUTH where the values differ), for multiclass designs.
    #[arg(long, conflicts_with = "truth_class")]
    classes: Option<String>,
    /// The cohort's Tukey HSD between these designs only (labels, comma-separated).
    #[arg(long, value_delimiter = ',', conflicts_with = "tukey_exclude")]
    tukey_designs: Option<Vec<String>>,
    /// The cohort's Tukey HSD between every design but these (labels, e.g. otsu).
    #[arg(long, value_delimiter = ',')]
    tukey_exclude: Option<Vec<String>>,
    /// Slides processed at once (0: one per 4 cores, within the memory budget).
    #[arg(short, long, default_value_t = 0, value_parser = super::args::jobs)]
    jobs: usize,
    /// Cores for the whole run (0: all); each slide's steps get their share.
    #[arg(long, default_value_t = 0, value_parser = super::args::threads)]
    threads: usize,
    /// Memory budget for the steps running at once, e.g. 8G or 6000M (default: 80 % of the
    /// memory available at the start).
    #[arg(long, value_parser = super::args::memory_mib)]
    memory: Option<u64>,
    /// Input fingerprints: sampled (size and 8.5 MiB of content; fast) or full (every byte).
    #[arg(long, value_enum, default_value_t = HashMode::Sampled)]
    hash: HashMode,
    /// Rehash recorded outputs before skipping a step (default: sizes only).
    #[arg(long)]
    verify: bool,
    /// Show what would run and why, without running.
    #[arg(long)]
    dry_run: bool,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// No progress display.
    #[arg(short, long)]
    quiet: bool,
    /// Where inference runs (segment step).
    #[arg(long, value_enum, default_value_t = h2g::infer::Device::Cpu)]
    device: h2g::infer::Device,
    #[command(flatten)]
    lib: super::model_args::OrtLibArg,
}

impl Args {
    fn spec(self, output: PathBuf) -> anyhow::Result<RunSpec> {
        Ok(RunSpec {
            cohort: self.cohort,
            output,
            steps: self.steps,
            only: self.only,
            tissue_method: self.tissue_method,
            patch_size: self.patch_size,
            patch_at: self.patch_at,
            min_tissue: self.min_tissue,
            min_tumour: self.min_tumour,
            designs: match &self.designs {
                Some(file) => h2g::infer::design::read_designs(file)?,
                None => vec![h2g::infer::design::DesignSpec {
                    label: self
                        .d
                        .label
                        .clone()
                        .unwrap_or_else(|| self.d.design.name().to_string()),
                    kind: self.d.design,
                    model: self.d.models.model.clone(),
                    refine_model: self.d.models.refine_model.clone(),
                    refine_level: self.d.refine_level,
                }],
            },
            mask_downsample: self.d.mask_downsample,
            gate: self.gate.gate,
            simplify: self.simplify,
            truth_class: self.truth_class,
            eval_split: self.split,
            tukey_family: match (self.tukey_designs, self.tukey_exclude) {
                (Some(v), _) => h2g::stats::Family::Only(v),
                (None, Some(v)) => h2g::stats::Family::Exclude(v),
                (None, None) => h2g::stats::Family::All,
            },
            eval_classes: match &self.classes {
                Some(c) => h2g::eval::LabelClass::parse_list(c)?,
                None => Vec::new(),
            },
            jobs: self.jobs,
            threads: self.threads,
            memory_mib: self.memory,
            hash: self.hash,
            verify: self.verify,
            dry_run: self.dry_run,
            device: self.device,
            ort_lib: self.lib.ort_lib,
            exe: std::env::current_exe().context("cannot find the h2g executable")?,
            step_progress: !self.quiet && std::io::stderr().is_terminal(),
        })
    }
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    if a.list {
        for s in read_cohort(&a.cohort)? {
            outln!("{}", serde_json::to_string(&s)?)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let output = a.output.clone().context("--output is needed")?;
    let (quiet, json) = (a.quiet, a.json);
    let spec = a.spec(output)?;
    let mut display = super::run_display::Display::new(quiet, spec.step_progress);
    let summary = match h2g::cohort::run(&spec, &mut display) {
        Ok(s) => s,
        Err(h2g::cohort::CohortError::Summary {
            path,
            cause,
            summary,
        }) => {
            // the run ended but its summary file could not be written: say what failed first
            display.finish();
            if !quiet {
                super::run_display::print_summary(&summary);
            }
            anyhow::bail!("cannot write {}: {cause}", path.display());
        }
        Err(e) => return Err(e.into()),
    };
    display.finish();
    if json {
        outln!("{}", serde_json::to_string_pretty(&summary)?)?;
    }
    if !quiet {
        super::run_display::print_summary(&summary);
    }
    Ok(if summary.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
