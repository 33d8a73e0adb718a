//! A cohort run and its evaluation through the library alone (no command-line parsing):
//! `cohort_library SLIDE OUT` files SLIDE under two ids, runs tissue detection (saturation) and
//! the Otsu design on both with `h2g::cohort::run`, watching with an observer of its own, then
//! evaluates each Otsu mask against the slide's tissue mask with `h2g::eval::cohort` and prints
//! the Markdown summary.
//!
//! Build the binary first (`cargo build --release`): the cohort runner starts each step as an
//! `h2g` process, found beside this example's folder.

use std::path::{Path, PathBuf};

use h2g::cohort::{CohortSlide, HashMode, Observer, Outcome, RunSpec, RunStart, Step, Task};
use h2g::eval::cohort::{evaluate_rows, EvalRow, EvaluateSpec, Metric};
use h2g::eval::export::{Exporter, Markdown};
use h2g::infer::design::DesignSpec;
use h2g::infer::segment::Design;
use h2g::tissue::MethodKind;

/// Counts what it hears and prints one line per finished slide.
#[derive(Default)]
struct Tally {
    started: usize,
    ran: usize,
    up_to_date: usize,
    failed: usize,
}

impl Observer for Tally {
    fn started(&mut self, s: &RunStart) {
        println!("cohort of {} slides, {} at a time", s.slides, s.jobs);
    }
    fn step_started(&mut self, _: usize, _: &str, _: &Task, _: usize, _: usize, _: &Path) {
        self.started += 1;
    }
    fn slide_done(
        &mut self,
        _: usize,
        done: usize,
        total: usize,
        slide: &CohortSlide,
        outcomes: &[(Task, Outcome)],
    ) {
        for (_, o) in outcomes {
            match o {
                Outcome::Ran { .. } => self.ran += 1,
                Outcome::UpToDate => self.up_to_date += 1,
                Outcome::Failed { .. } => self.failed += 1,
                _ => {}
            }
        }
        let words: Vec<String> = outcomes
            .iter()
            .map(|(st, o)| format!("{} {}", st.name(), o.word()))
            .collect();
        println!("[{done}/{total}] {}: {}", slide.id, words.join(", "));
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, slide, out] = args.as_slice() else {
        return Err("usage: cohort_library SLIDE OUT".into());
    };
    let (slide, out) = (std::path::absolute(slide)?, PathBuf::from(out));
    std::fs::create_dir_all(&out)?;
    // target/release/examples/cohort_library → target/release/h2g
    let exe = std::env::current_exe()?
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("h2g"))
        .filter(|p| p.is_file())
        .ok_or("build the h2g binary first (cargo build --release)")?;
    let table = out.join("cohort.csv");
    let s = slide.display();
    std::fs::write(
        &table,
        format!("slide,id,grade\n{s},first,1\n{s},second,2\n"),
    )?;
    let spec = RunSpec {
        cohort: table,
        output: out.join("run"),
        steps: vec![Step::Tissue, Step::Segment],
        only: Vec::new(),
        tissue_method: MethodKind::Saturation,
        patch_size: 256,
        patch_at: "10x".into(),
        min_tissue: 0.25,
        min_tumour: 0.25,
        designs: vec![DesignSpec {
            label: "otsu".into(),
            kind: Design::Otsu,
            model: None,
            refine_model: None,
            refine_level: Default::default(),
        }],
        mask_downsample: 4.0,
        gate: Default::default(),
        simplify: "0".into(),
        truth_class: None,
        eval_split: None,
        tukey_family: Default::default(),
        eval_classes: Vec::new(),
        jobs: 2,
        threads: 0,
        memory_mib: None,
        hash: HashMode::Sampled,
        verify: false,
        dry_run: false,
        device: h2g::infer::Device::Cpu,
        ort_lib: None,
        exe,
        step_progress: false,
    };
    let mut tally = Tally::default();
    let summary = h2g::cohort::run(&spec, &mut tally)?;
    println!(
        "steps started {}, ran {}, up to date {}, failed {}; summary: {} failures",
        tally.started,
        tally.ran,
        tally.up_to_date,
        tally.failed,
        summary.failures.len()
    );
    // each slide's Otsu mask against its tissue mask, on the slide's level-0 size
    let level0 = h2g::slide::open_slide(&slide, 1 << 28)?.level_size(0)?;
    let unit = |id: &str| spec.output.join("slides").join(id);
    let rows: Vec<EvalRow> = ["first", "second"]
        .iter()
        .enumerate()
        .map(|(i, id)| EvalRow {
            line: i + 2,
            slide: id.to_string(),
            design: Design::Otsu.name().into(),
            truth: h2g::tissue::output_path(&unit(id).join("tissue"), id, "saturation", "tif"),
            prediction: h2g::infer::design::segment_path(
                &unit(id).join("segment"),
                id,
                "otsu",
                "mask.tif",
            ),
            // the saturation method reads the slide at 1.25× (downsample 16 of this 20× scan)
            truth_downsample: Some(16.0),
            prediction_downsample: Some(4.0),
            level0: Some(level0),
            mpp: None,
            grade: (i + 1).to_string(),
            split: String::new(),
            image: None,
        })
        .collect();
    let eval = EvaluateSpec {
        cohort: out.join("evaluation.csv"),
        downsample: None,
        truth_class: Vec::new(),
        prediction_class: Vec::new(),
        include_empty_truth: false,
        alpha: 0.05,
        tukey_metric: Metric::Dice,
        ..Default::default()
    };
    let ev = evaluate_rows(&eval, rows, &|_| {})?;
    Markdown.export(&ev, &mut std::io::stdout())?;
    if !ev.errors.is_empty() || !summary.success() {
        return Err(format!("{} evaluation errors", ev.errors.len()).into());
    }
    Ok(())
}
