//! The command of each step, and what its key is made of.

use std::path::{Path, PathBuf};

use super::engine::Ctx;
use super::{CohortSlide, Record, Step, Task};

/// The command of a step, and what its key is made of.
pub(super) struct Plan {
    /// The `h2g` arguments.
    pub args: Vec<String>,
    /// Input files to fingerprint, by role.
    pub inputs: Vec<(String, PathBuf)>,
    /// The output digests of the records this step reads outputs of, by name.
    pub upstream: Vec<(String, String)>,
    /// A file to write into the staging folder before the step runs.
    pub prelude: Option<(String, String)>,
}

/// Replaces run-specific paths in an argument by placeholders, for the key.
pub(super) fn template(arg: &str, subs: &[(&Path, &str)]) -> String {
    let mut t = arg.to_string();
    for (p, name) in subs {
        let ps = p.to_string_lossy();
        if !ps.is_empty() {
            t = t.replace(ps.as_ref(), name);
        }
    }
    t
}

/// The arguments that make a step's key: run paths as placeholders, and without `--threads`,
/// which changes how fast a step runs, not what it writes.
pub(super) fn key_args(args: &[String], subs: &[(&Path, &str)]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut it = args.iter();
    while let Some(x) = it.next() {
        if x == "--threads" {
            it.next();
            continue;
        }
        out.push(template(x, subs));
    }
    out
}

/// The staging folder of a step.
pub(super) fn staging(unit: &Path, step: &str) -> PathBuf {
    unit.join(format!(".{step}.partial"))
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn strings<const N: usize>(a: [&str; N]) -> impl Iterator<Item = String> + '_ {
    a.into_iter().map(String::from)
}

/// The segmentation mask the segment step leaves in a slide's folder.
/// The mask the segment task `task` (of the design labelled `label`) leaves for slide `id`.
pub(super) fn segment_mask(unit: &Path, task: &Task, id: &str, label: &str) -> PathBuf {
    crate::infer::design::segment_path(&unit.join(task.name()), id, label, "mask.tif")
}

/// Why a step cannot be planned: the user's to fix (the run goes on with the other steps).
#[derive(Debug, thiserror::Error)]
pub(super) enum PlanError {
    /// A step it reads from neither ran in this run nor left valid outputs before.
    #[error(
        "needs the {0} step's outputs, which are missing or incomplete: add {step} to --steps",
        step = .0.split('.').next().unwrap_or_default()
    )]
    MissingInput(String),
    /// The evaluate step of a slide without truth.
    #[error("no truth in the cohort table")]
    NoTruth,
    /// The evaluation table could not be made.
    #[error("cannot write the evaluation table")]
    Table(#[from] csv::Error),
}

/// The command and key inputs of a slide's step; `Err` when an input step has no valid record.
pub(super) fn plan(
    ctx: &Ctx,
    sl: &CohortSlide,
    task: &Task,
    unit: &Path,
) -> Result<Plan, PlanError> {
    let a = ctx.spec;
    let step = task.step;
    let stage = staging(unit, &task.name());
    let (di, des) = ctx.design(task);
    let id = &sl.id;
    let mut args: Vec<String> = Vec::new();
    let mut inputs = vec![("slide".to_string(), sl.slide.clone())];
    let mut upstream = Vec::new();
    let mut prelude = None;
    let mpp = |args: &mut Vec<String>| {
        if let Some(m) = sl.mpp {
            args.extend(["--mpp".into(), m.to_string()]);
        }
    };
    let method = a.tissue_method.name();
    for d in ctx.deps(task) {
        let name = d.name();
        let rec = unit.join(format!("{name}.record.json"));
        match Record::load(&rec) {
            Some(r) if r.outputs_intact(&unit.join(&name), false).is_ok() => {
                upstream.push((name, r.digest))
            }
            _ => return Err(PlanError::MissingInput(name)),
        }
    }
    match step {
        Step::Tissue => {
            args.extend(strings([
                "tissue",
                &s(&sl.slide),
                "-o",
                &s(&stage),
                "--name",
                id,
                "--method",
                method,
                "--geojson",
            ]));
            mpp(&mut args);
        }
        Step::Patches => {
            let tissue = crate::tissue::output_path(&unit.join("tissue"), id, method, "tif");
            args.extend(strings([
                "patches",
                &s(&sl.slide),
                "-o",
                &s(&stage.join(format!("{id}.patches.csv"))),
                "--tissue",
                &s(&tissue),
                "--size",
                &a.patch_size.to_string(),
                "--at",
                &a.patch_at,
                "--min-tissue",
                &a.min_tissue.to_string(),
                "--min-tumour",
                &a.min_tumour.to_string(),
            ]));
            if let Some(t) = &sl.truth {
                args.extend(["--mask".into(), s(t)]);
                inputs.push(("truth".into(), t.clone()));
                if let Some(d) = sl.truth_downsample {
                    args.extend(["--mask-downsample".into(), d.to_string()]);
                }
                if let (Some(c), true) = (&a.truth_class, crate::vector::is_geojson_path(t)) {
                    args.extend(["--tumour-class".into(), c.clone()]);
                }
            }
            mpp(&mut args);
        }
        Step::Segment => {
            args.extend(strings([
                "segment",
                &s(&sl.slide),
                "-o",
                &s(&stage),
                "--name",
                id,
                "--design",
                des.kind.name(),
                "--label",
                &des.label,
                "--mask-downsample",
                &a.mask_downsample.to_string(),
                "--refine-level",
                &des.refine_level.to_string(),
                "--threads",
                &ctx.threads_per_job.to_string(),
            ]));
            for (role, path) in &ctx.models[di] {
                let flag = if role == "model" {
                    "--model"
                } else {
                    "--refine-model"
                };
                args.extend([flag.into(), s(path)]);
                inputs.push((role.clone(), path.clone()));
            }
            if a.gate != crate::infer::heatmap::Gate::default() {
                args.extend(["--gate".into(), a.gate.name().into()]);
            }
            if matches!(a.device, crate::infer::Device::Cuda) {
                args.extend(["--device".into(), "cuda".into()]);
            }
            if let Some(l) = &a.ort_lib {
                args.extend(["--ort-lib".into(), s(l)]);
            }
            mpp(&mut args);
        }
        Step::Vectorize => {
            let (name, [r, g, b]) = des.kind.annotation_class();
            let seg = ctx.segment_task(di);
            args.extend(strings([
                "vectorize",
                &s(&segment_mask(unit, &seg, id, &des.label)),
                "-o",
                &s(&stage.join(format!("{id}.annotations.geojson"))),
                "--slide",
                &s(&sl.slide),
                "--downsample",
                &a.mask_downsample.to_string(),
                "--class",
                &format!("1={name}:#{r:02x}{g:02x}{b:02x}"),
            ]));
            if a.simplify != "0" {
                args.extend(["--simplify".into(), a.simplify.clone()]);
            }
            mpp(&mut args);
        }
        Step::Evaluate => {
            let truth = sl.truth.clone().ok_or(PlanError::NoTruth)?;
            inputs.push(("truth".into(), truth.clone()));
            let masks: Vec<(usize, PathBuf)> = (0..a.designs.len())
                .map(|i| {
                    let label = &a.designs[i].label;
                    (i, segment_mask(unit, &ctx.segment_task(i), id, label))
                })
                .collect();
            let rows: Vec<(&CohortSlide, &str, &Path)> = masks
                .iter()
                .map(|(i, m)| (sl, a.designs[*i].label.as_str(), m.as_path()))
                .collect();
            let text = cohort_table(&rows, a.mask_downsample)?;
            prelude = Some(("cohort.csv".to_string(), text));
            args.extend(strings([
                "evaluate",
                "--cohort",
                &s(&stage.join("cohort.csv")),
                "-o",
                &s(&stage),
            ]));
            if let Some(c) = &a.truth_class {
                args.extend(["--truth-class".into(), c.clone()]);
            }
            args.extend(classes_args(&a.eval_classes));
        }
    }
    Ok(Plan {
        args,
        inputs,
        upstream,
        prelude,
    })
}

/// `--classes NAME=VALUE,…` for an evaluate step, or nothing for binary masks.
pub(super) fn classes_args(classes: &[crate::eval::LabelClass]) -> Vec<String> {
    if classes.is_empty() {
        return Vec::new();
    }
    let list: Vec<String> = classes.iter().map(|c| c.spec()).collect();
    vec!["--classes".into(), list.join(",")]
}

const COHORT_HEADER: [&str; 12] = [
    "slide",
    "design",
    "truth",
    "prediction",
    "truth_downsample",
    "prediction_downsample",
    "mpp",
    "grade",
    "split",
    "image",
    "width",
    "height",
];

/// The slide's level-0 size and pixel size, from the segment step's report.
fn segment_level0(pred: &Path) -> Option<(u64, u64, Option<f64>)> {
    let report = pred.with_file_name(
        pred.file_name()?
            .to_string_lossy()
            .replace(".mask.tif", ".json"),
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(report).ok()?).ok()?;
    let l = &v["level0"];
    Some((
        l["width"].as_u64()?,
        l["height"].as_u64()?,
        l["mpp"].as_f64(),
    ))
}

/// An evaluation cohort table (`h2g evaluate --cohort`) of `rows`: each slide with its
/// segmentation mask.
pub(super) fn cohort_table(
    rows: &[(&CohortSlide, &str, &Path)],
    ds: f64,
) -> Result<String, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record(COHORT_HEADER)?;
    for (sl, design, pred) in rows {
        let Some(truth) = &sl.truth else {
            continue;
        };
        let level0 = segment_level0(pred);
        let opt = |v: Option<String>| v.unwrap_or_default();
        w.write_record([
            sl.id.clone(),
            design.to_string(),
            s(truth),
            s(pred),
            opt(sl.truth_downsample.map(|d| d.to_string())),
            ds.to_string(),
            opt(sl.mpp.or(level0.and_then(|l| l.2)).map(|m| m.to_string())),
            sl.grade.clone(),
            sl.split.clone(),
            s(&sl.slide),
            opt(level0.map(|l| l.0.to_string())),
            opt(level0.map(|l| l.1.to_string())),
        ])?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_hide_run_paths() {
        let subs: Vec<(&Path, &str)> = vec![
            (Path::new("/o/slides/a/.tissue.partial"), "{stage}"),
            (Path::new("/o/slides/a"), "{unit}"),
            (Path::new("/data/a.svs"), "slide"),
        ];
        assert_eq!(
            template("/o/slides/a/.tissue.partial/a.csv", &subs),
            "{stage}/a.csv"
        );
        assert_eq!(template("/data/a.svs", &subs), "slide");
        assert_eq!(
            template("/o/slides/a/tissue/x.tif", &subs),
            "{unit}/tissue/x.tif"
        );
    }
}
