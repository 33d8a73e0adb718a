//! `h2g evaluate`: per-slide Dice, precision and recall of designs against the ground truth of a
//! cohort, summaries overall and per grade, and Tukey's HSD between designs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use h2g::eval::report::{boxplot_svg, esc};
use h2g::eval::{compare, summarize, Input, Summary};
use h2g::output::{write_file, write_json};
use h2g::stats::{tukey_hsd, Tukey};
use rayon::prelude::*;
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The cohort: a CSV with one row per slide and design and the columns slide, design, truth,
    /// prediction (paths relative to the CSV), optionally truth_downsample,
    /// prediction_downsample, width, height (level-0 size), mpp, grade, split, image (the slide
    /// file, for the report's thumbnails).
    #[arg(long)]
    cohort: PathBuf,
    /// Output directory: per_slide.csv, summary.json, summary.md.
    #[arg(short, long)]
    output: PathBuf,
    /// The common downsample masks are compared at (default: the coarser of each pair's mask
    /// downsamples; 4 when both are GeoJSON).
    #[arg(long)]
    downsample: Option<f64>,
    /// GeoJSON truth: the classes counted as positive (repeatable; default every annotation).
    #[arg(long = "truth-class")]
    truth_class: Vec<String>,
    /// GeoJSON predictions: the classes counted as positive (repeatable; default every one).
    #[arg(long = "prediction-class")]
    prediction_class: Vec<String>,
    /// Prediction masks: values above this are positive (0: non-zero; 127 for 0–255 maps).
    #[arg(long, default_value_t = 0)]
    threshold: u64,
    /// Truth masks: values above this are positive.
    #[arg(long, default_value_t = 0)]
    truth_threshold: u64,
    /// Keep slides whose truth is empty in the means (the paper leaves them out).
    #[arg(long)]
    include_empty_truth: bool,
    /// Significance level of Tukey's HSD between designs.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// The per-slide metric Tukey's HSD compares.
    #[arg(long, value_enum, default_value_t = TukeyMetric::Dice)]
    tukey_metric: TukeyMetric,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TukeyMetric {
    Dice,
    Precision,
    Recall,
}

#[derive(Debug, Clone)]
struct Row {
    line: usize,
    slide: String,
    design: String,
    truth: PathBuf,
    prediction: PathBuf,
    truth_ds: Option<f64>,
    pred_ds: Option<f64>,
    level0: Option<(u64, u64)>,
    mpp: Option<f64>,
    grade: String,
    split: String,
    image: Option<PathBuf>,
}

/// One evaluated row of the per-slide table.
#[derive(Debug, Clone, Serialize)]
struct Result1 {
    slide: String,
    design: String,
    grade: String,
    split: String,
    downsample: Option<f64>,
    tp: Option<u64>,
    fp: Option<u64>,
    fn_: Option<u64>,
    tn: Option<u64>,
    dice: Option<f64>,
    precision: Option<f64>,
    recall: Option<f64>,
    /// µm² per grid pixel, when the level-0 pixel size is known.
    px_um2: Option<f64>,
    status: String,
    included: bool,
    /// The report's thumbnail (inline SVG), when the comparison ran.
    #[serde(skip)]
    thumb: Option<String>,
    /// Why the thumbnail has no slide under it, when `image` was given but could not be read.
    #[serde(skip)]
    thumb_warning: Option<String>,
}

#[derive(Debug, Serialize)]
struct Metrics {
    dice: Option<Summary>,
    precision: Option<Summary>,
    recall: Option<Summary>,
}

#[derive(Debug, Serialize)]
struct DesignSummary {
    rows: usize,
    included: usize,
    overall: Metrics,
    by_grade: BTreeMap<String, Metrics>,
}

fn parse_rows(path: &Path) -> anyhow::Result<Vec<Row>> {
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut r =
        csv::Reader::from_path(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let headers = r.headers()?.clone();
    let col = |n: &str| headers.iter().position(|h| h.trim() == n);
    let need = |n: &str| {
        col(n).with_context(|| {
            format!(
                "{}: no column '{n}' (columns: {})",
                path.display(),
                headers.iter().collect::<Vec<_>>().join(", ")
            )
        })
    };
    let (cs, cd, ct, cp) = (
        need("slide")?,
        need("design")?,
        need("truth")?,
        need("prediction")?,
    );
    let opt = |name: &str| col(name);
    let (ctd, cpd, cw, ch, cm, cg, csp) = (
        opt("truth_downsample"),
        opt("prediction_downsample"),
        opt("width"),
        opt("height"),
        opt("mpp"),
        opt("grade"),
        opt("split"),
    );
    let cimg = opt("image");
    let mut rows = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = rec.with_context(|| format!("{}: line {line}", path.display()))?;
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).map(str::trim).unwrap_or("");
        let num = |c: Option<usize>, name: &str| -> anyhow::Result<Option<f64>> {
            let s = get(c);
            if s.is_empty() {
                return Ok(None);
            }
            match s.parse::<f64>() {
                Ok(v) if v.is_finite() && v > 0.0 => Ok(Some(v)),
                _ => bail!(
                    "{}: line {line}: {name} '{s}' is not a positive number",
                    path.display()
                ),
            }
        };
        let file = |c: usize, name: &str| -> anyhow::Result<PathBuf> {
            let s = get(Some(c));
            if s.is_empty() {
                bail!("{}: line {line}: empty {name}", path.display());
            }
            let p = PathBuf::from(s);
            Ok(if p.is_absolute() { p } else { base.join(p) })
        };
        let level0 = match (num(cw, "width")?, num(ch, "height")?) {
            (Some(w), Some(h)) => Some((w as u64, h as u64)),
            _ => None,
        };
        let slide = get(Some(cs)).to_string();
        let design = get(Some(cd)).to_string();
        if slide.is_empty() || design.is_empty() {
            bail!("{}: line {line}: empty slide or design", path.display());
        }
        rows.push(Row {
            line,
            slide,
            design,
            truth: file(ct, "truth")?,
            prediction: file(cp, "prediction")?,
            truth_ds: num(ctd, "truth_downsample")?,
            pred_ds: num(cpd, "prediction_downsample")?,
            level0,
            mpp: num(cm, "mpp")?,
            grade: get(cg).to_string(),
            split: get(csp).to_string(),
            image: Some(get(cimg)).filter(|s| !s.is_empty()).map(|s| {
                let p = PathBuf::from(s);
                if p.is_absolute() {
                    p
                } else {
                    base.join(p)
                }
            }),
        });
    }
    if rows.is_empty() {
        bail!("{}: no rows", path.display());
    }
    Ok(rows)
}

fn metrics(rs: &[&Result1]) -> Metrics {
    let pick = |f: fn(&Result1) -> Option<f64>| {
        let v: Vec<f64> = rs.iter().filter_map(|r| f(r)).collect();
        summarize(&v)
    };
    Metrics {
        dice: pick(|r| r.dice),
        precision: pick(|r| r.precision),
        recall: pick(|r| r.recall),
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_default()
}

fn ms(s: &Option<Summary>) -> String {
    s.map(|s| format!("{:.3} ± {:.3}", s.mean, s.std))
        .unwrap_or_else(|| "n/a".into())
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    if let Some(d) = a.downsample {
        if !(d.is_finite() && d > 0.0) {
            bail!("--downsample must be a positive number");
        }
    }
    let rows = parse_rows(&a.cohort)?;
    std::fs::create_dir_all(&a.output)
        .with_context(|| format!("{}: cannot create", a.output.display()))?;
    let input = |p: &Path, ds: Option<f64>, thr: u64, classes: &[String]| {
        let mut i = Input::from_path(p, ds, thr);
        if let Input::GeoJson { classes: c, .. } = &mut i {
            *c = classes.to_vec();
        }
        i
    };
    let bar = h2g::output::progress(Some(rows.len() as u64), "comparisons", true);
    // a slide's thumbnail is read once for all the designs compared on it
    let backgrounds: Backgrounds = Default::default();
    let results: Vec<Result1> = rows
        .par_iter()
        .map(|r| {
            let t = input(&r.truth, r.truth_ds, a.truth_threshold, &a.truth_class);
            let p = input(&r.prediction, r.pred_ds, a.threshold, &a.prediction_class);
            let mut out = Result1 {
                slide: r.slide.clone(),
                design: r.design.clone(),
                grade: r.grade.clone(),
                split: r.split.clone(),
                downsample: None,
                tp: None,
                fp: None,
                fn_: None,
                tn: None,
                dice: None,
                precision: None,
                recall: None,
                px_um2: None,
                status: String::new(),
                included: false,
                thumb: None,
                thumb_warning: None,
            };
            match compare(&t, &p, r.level0, a.downsample) {
                Ok(c) => {
                    let k = c.confusion;
                    out.downsample = Some(c.downsample);
                    (out.tp, out.fp, out.fn_, out.tn) =
                        (Some(k.tp), Some(k.fp), Some(k.fn_), Some(k.tn));
                    (out.dice, out.precision, out.recall) = (k.dice(), k.precision(), k.recall());
                    out.px_um2 = r.mpp.map(|m| (m * c.downsample).powi(2));
                    let (svg, warning) = thumbnail(r.image.as_deref(), &c, &backgrounds);
                    out.thumb = Some(svg);
                    out.thumb_warning = warning;
                    if k.truth() == 0 {
                        out.status = "empty truth".into();
                        out.included = a.include_empty_truth;
                        if a.include_empty_truth && out.dice.is_none() {
                            // both empty: a perfect agreement when asked to count it
                            out.dice = Some(1.0);
                        }
                    } else {
                        out.status = "ok".into();
                        out.included = true;
                    }
                }
                Err(e) => {
                    // the whole cause chain: "cannot read X: No such file or directory"
                    let mut msg = e.to_string();
                    let mut src = std::error::Error::source(&e);
                    while let Some(s) = src {
                        msg += &format!(": {s}");
                        src = s.source();
                    }
                    out.status = format!("error (line {}): {msg}", r.line);
                }
            }
            bar.inc(1);
            out
        })
        .collect();
    bar.finish_and_clear();
    // the per-slide table
    let csv_path = a.output.join("per_slide.csv");
    write_file(&csv_path, |w| {
        let mut c = csv::Writer::from_writer(w);
        c.write_record([
            "slide",
            "design",
            "grade",
            "split",
            "downsample",
            "tp",
            "fp",
            "fn",
            "tn",
            "dice",
            "precision",
            "recall",
            "truth_um2",
            "predicted_um2",
            "tp_um2",
            "included",
            "status",
        ])
        .map_err(std::io::Error::other)?;
        for r in &results {
            let area = |n: Option<u64>| match (n, r.px_um2) {
                (Some(n), Some(u)) => format!("{}", n as f64 * u),
                _ => String::new(),
            };
            let int = |n: Option<u64>| n.map(|v| v.to_string()).unwrap_or_default();
            c.write_record([
                r.slide.clone(),
                r.design.clone(),
                r.grade.clone(),
                r.split.clone(),
                opt(r.downsample),
                int(r.tp),
                int(r.fp),
                int(r.fn_),
                int(r.tn),
                opt(r.dice),
                opt(r.precision),
                opt(r.recall),
                area(r.tp.zip(r.fn_).map(|(a, b)| a + b)),
                area(r.tp.zip(r.fp).map(|(a, b)| a + b)),
                area(r.tp),
                r.included.to_string(),
                r.status.clone(),
            ])
            .map_err(std::io::Error::other)?;
        }
        c.flush()
    })
    .with_context(|| format!("{}: cannot write", csv_path.display()))?;
    // summaries per design, overall and per grade
    let designs: BTreeSet<&str> = results.iter().map(|r| r.design.as_str()).collect();
    let slides: BTreeSet<&str> = results.iter().map(|r| r.slide.as_str()).collect();
    let mut summary = BTreeMap::new();
    let mut warnings = Vec::new();
    // an image that could not be read, once per slide
    let mut seen_image = BTreeSet::new();
    for r in &results {
        if let Some(w) = &r.thumb_warning {
            if seen_image.insert(r.slide.clone()) {
                warnings.push(format!("{}: {w}", r.slide));
            }
        }
    }
    for d in &designs {
        let mine: Vec<&Result1> = results.iter().filter(|r| r.design == *d).collect();
        let inc: Vec<&Result1> = mine.iter().copied().filter(|r| r.included).collect();
        let have: BTreeSet<&str> = mine.iter().map(|r| r.slide.as_str()).collect();
        let missing: Vec<&str> = slides.difference(&have).copied().collect();
        if !missing.is_empty() {
            warnings.push(format!(
                "design {d} has no row for {} slide(s): {}",
                missing.len(),
                missing.join(", ")
            ));
        }
        let grades: BTreeSet<&str> = inc.iter().map(|r| r.grade.as_str()).collect();
        let by_grade = grades
            .iter()
            .map(|g| {
                let rs: Vec<&Result1> = inc.iter().copied().filter(|r| r.grade == *g).collect();
                (
                    if g.is_empty() {
                        "(none)".to_string()
                    } else {
                        g.to_string()
                    },
                    metrics(&rs),
                )
            })
            .collect();
        summary.insert(
            d.to_string(),
            DesignSummary {
                rows: mine.len(),
                included: inc.len(),
                overall: metrics(&inc),
                by_grade,
            },
        );
    }
    let errors: Vec<String> = results
        .iter()
        .filter(|r| r.status.starts_with("error"))
        .map(|r| format!("{} / {}: {}", r.slide, r.design, r.status))
        .collect();
    let excluded: Vec<String> = results
        .iter()
        .filter(|r| r.status == "empty truth" && !r.included)
        .map(|r| format!("{} / {}", r.slide, r.design))
        .collect();
    let groups: Vec<(String, Vec<f64>)> = designs
        .iter()
        .map(|d| {
            (
                d.to_string(),
                results
                    .iter()
                    .filter(|r| r.design == *d && r.included)
                    .filter_map(|r| match a.tukey_metric {
                        TukeyMetric::Dice => r.dice,
                        TukeyMetric::Precision => r.precision,
                        TukeyMetric::Recall => r.recall,
                    })
                    .collect(),
            )
        })
        .filter(|g: &(String, Vec<f64>)| !g.1.is_empty())
        .collect();
    let tukey = if groups.len() >= 2 {
        match tukey_hsd(&groups, a.alpha) {
            Ok(t) => Some(t),
            Err(e) => {
                warnings.push(format!("Tukey HSD not computed: {e}"));
                None
            }
        }
    } else {
        None
    };
    let report = serde_json::json!({
        "cohort": a.cohort,
        "designs": summary,
        "excluded_empty_truth": excluded,
        "errors": errors,
        "warnings": warnings,
        "tukey": tukey,
        "tukey_metric": format!("{:?}", a.tukey_metric).to_lowercase(),
        "std": "population (ddof 0)",
    });
    write_json(&a.output.join("summary.json"), &report)?;
    // Markdown
    let mut md = String::from(
        "# Evaluation\n\n| design | slides | Dice | precision | recall |\n|---|---|---|---|---|\n",
    );
    for (d, s) in &summary {
        md += &format!(
            "| {d} | {} | {} | {} | {} |\n",
            s.included,
            ms(&s.overall.dice),
            ms(&s.overall.precision),
            ms(&s.overall.recall)
        );
    }
    md += "\nMean ± population standard deviation over slides; precision = TP / predicted, recall = TP / truth.\n\n## Per grade\n\n| design | grade | slides | Dice | precision | recall |\n|---|---|---|---|---|---|\n";
    for (d, s) in &summary {
        for (g, m) in &s.by_grade {
            md += &format!(
                "| {d} | {g} | {} | {} | {} | {} |\n",
                m.dice.map(|x| x.n).unwrap_or(0),
                ms(&m.dice),
                ms(&m.precision),
                ms(&m.recall)
            );
        }
    }
    if let Some(t) = &tukey {
        md += &format!("\n## Tukey HSD on {:?} (alpha {})\n\n| group1 | group2 | meandiff | p-adj | lower | upper | reject |\n|---|---|---|---|---|---|---|\n", a.tukey_metric, t.alpha);
        for p in &t.pairs {
            md += &format!(
                "| {} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {} |\n",
                p.group1, p.group2, p.meandiff, p.p_adj, p.lower, p.upper, p.reject
            );
        }
    }
    for (title, list) in [
        ("Left out (empty truth)", &excluded),
        ("Errors", &errors),
        ("Warnings", &warnings),
    ] {
        if !list.is_empty() {
            md += &format!("\n## {title}\n\n");
            for l in list {
                md += &format!("- {l}\n");
            }
        }
    }
    let md_path = a.output.join("summary.md");
    write_file(&md_path, |w| w.write_all(md.as_bytes()))?;
    let metric = format!("{:?}", a.tukey_metric);
    let html = report_html(
        &a.cohort,
        &summary,
        &results,
        tukey.as_ref().map(|t| (t, metric.as_str())),
        [&excluded, &errors, &warnings],
    );
    let html_path = a.output.join("report.html");
    write_file(&html_path, |w| w.write_all(html.as_bytes()))?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    for e in &errors {
        eprintln!("error: {e}");
        super::note_failure(&e.to_string());
    }
    eprintln!(
        "{} rows ({} designs, {} slides): {} evaluated, {} left out for empty truth, {} failed → {}",
        results.len(),
        designs.len(),
        slides.len(),
        results.iter().filter(|r| r.included).count(),
        excluded.len(),
        errors.len(),
        a.output.display()
    );
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The self-contained HTML report: tables, box plots (inline SVG), the slides worst first.
fn report_html(
    cohort: &Path,
    summary: &BTreeMap<String, DesignSummary>,
    results: &[Result1],
    tukey: Option<(&Tukey, &str)>,
    [excluded, errors, warnings]: [&Vec<String>; 3],
) -> String {
    let f = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "n/a".into());
    let mut h = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>h2g evaluation</title>\
         <style>body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin:1em 0}}\
         td,th{{border:1px solid #bbb;padding:3px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}\
         .bad{{color:#b00}}</style></head><body><h1>Evaluation</h1><p>Cohort: {}. Mean ± population standard \
         deviation over slides; precision = TP / predicted, recall = TP / truth.</p>",
        esc(&cohort.display().to_string())
    );
    h += "<h2>Designs</h2><table id=\"summary\"><tr><th>design</th><th>slides</th><th>Dice</th><th>precision</th><th>recall</th></tr>";
    for (d, s) in summary {
        h += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(d),
            s.included,
            esc(&ms(&s.overall.dice)),
            esc(&ms(&s.overall.precision)),
            esc(&ms(&s.overall.recall))
        );
    }
    h += "</table><h2>Per grade</h2><table id=\"grades\"><tr><th>design</th><th>grade</th><th>slides</th><th>Dice</th><th>precision</th><th>recall</th></tr>";
    for (d, s) in summary {
        for (g, m) in &s.by_grade {
            h += &format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(d),
                esc(g),
                m.dice.map(|x| x.n).unwrap_or(0),
                esc(&ms(&m.dice)),
                esc(&ms(&m.precision)),
                esc(&ms(&m.recall))
            );
        }
    }
    h += "</table><h2>Distributions</h2><div id=\"boxplots\">";
    let included: Vec<&Result1> = results.iter().filter(|r| r.included).collect();
    for (name, pick) in [
        (
            "Dice",
            (|r: &Result1| r.dice) as fn(&Result1) -> Option<f64>,
        ),
        ("precision", |r: &Result1| r.precision),
        ("recall", |r: &Result1| r.recall),
    ] {
        let groups: Vec<(String, Vec<f64>)> = summary
            .keys()
            .map(|d| {
                let v = included
                    .iter()
                    .filter(|r| &r.design == d)
                    .filter_map(|r| pick(r))
                    .collect();
                (d.clone(), v)
            })
            .collect();
        h += &boxplot_svg(&format!("{name} per design"), &groups);
    }
    let grades: BTreeSet<&str> = included.iter().map(|r| r.grade.as_str()).collect();
    if grades.len() > 1 {
        for g in grades {
            let groups: Vec<(String, Vec<f64>)> = summary
                .keys()
                .map(|d| {
                    let v = included
                        .iter()
                        .filter(|r| &r.design == d && r.grade == g)
                        .filter_map(|r| r.dice)
                        .collect();
                    (d.clone(), v)
                })
                .collect();
            h += &boxplot_svg(&format!("Dice per design, grade {g}"), &groups);
        }
    }
    h += "</div>";
    if let Some((t, metric)) = tukey {
        h += &format!(
            "<h2>Tukey HSD on {metric} (alpha {})</h2><table id=\"tukey\"><tr><th>group1</th><th>group2</th>\
             <th>meandiff</th><th>p-adj</th><th>lower</th><th>upper</th><th>reject</th></tr>",
            t.alpha
        );
        for p in &t.pairs {
            h += &format!(
                "<tr><td>{}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{}</td></tr>",
                esc(&p.group1),
                esc(&p.group2),
                p.meandiff,
                p.p_adj,
                p.lower,
                p.upper,
                p.reject
            );
        }
        h += "</table>";
    }
    // slides, worst Dice first (undefined last)
    let mut rows: Vec<&Result1> = results.iter().filter(|r| r.tp.is_some()).collect();
    rows.sort_by(|a, b| {
        a.dice
            .unwrap_or(f64::INFINITY)
            .total_cmp(&b.dice.unwrap_or(f64::INFINITY))
    });
    h += "<h2>Slides, worst first</h2><table id=\"slides\"><tr><th>slide</th><th>design</th><th>grade</th>\
          <th>Dice</th><th>precision</th><th>recall</th><th>status</th></tr>";
    for r in &rows {
        h += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.slide),
            esc(&r.design),
            esc(&r.grade),
            f(r.dice),
            f(r.precision),
            f(r.recall),
            esc(&r.status)
        );
    }
    h += "</table><h2>Truth (green) and prediction (magenta), worst first</h2><div id=\"thumbnails\">";
    for r in rows.iter().take(300) {
        if let Some(t) = &r.thumb {
            h += &format!(
                "<figure style=\"display:inline-block;margin:6px\">{t}<figcaption>{} / {}: Dice {}</figcaption></figure>",
                esc(&r.slide),
                esc(&r.design),
                f(r.dice)
            );
        }
    }
    h += "</div>";
    h += "<h2>Problems</h2><ul id=\"problems\">";
    for (kind, list) in [
        ("left out (empty truth)", excluded),
        ("error", errors),
        ("warning", warnings),
    ] {
        for l in list {
            h += &format!("<li class=\"bad\">{kind}: {}</li>", esc(l));
        }
    }
    h + "</ul></body></html>\n"
}

/// Thumbnail backgrounds already read: (slide, downsample bits, width, height) → `<image>`,
/// or why the slide could not be read.
type Backgrounds = std::sync::Mutex<
    std::collections::HashMap<(PathBuf, u64, usize, usize), Result<String, String>>,
>;

/// The thumbnail of one comparison: the slide (when `image` opens) under the truth and
/// prediction outlines, as inline SVG; and why the slide is not under it, when it cannot be read.
fn thumbnail(
    image: Option<&Path>,
    c: &h2g::eval::Compared,
    seen: &Backgrounds,
) -> (String, Option<String>) {
    let o = &c.outline;
    let ds = c.downsample * o.scale as f64;
    let read = |p: &Path| -> Result<String, String> {
        let key = (p.to_path_buf(), ds.to_bits(), o.w, o.h);
        if let Some(done) = seen.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return done.clone();
        }
        let made = (|| {
            let e = |e: &dyn std::fmt::Display| e.to_string();
            let slide = h2g::slide::open_slide(p, 1 << 28).map_err(|x| e(&x))?;
            let meta = h2g::slide::SlideMeta::from_properties(slide.properties(), None);
            let at = h2g::units::Resolution::Downsample(ds);
            let plan = h2g::slide::plan_read(&*slide, &meta, at).map_err(|x| e(&x))?;
            let img = h2g::slide::read_at(&*slide, &plan, 0, 0, o.w as u32, o.h as u32)
                .map_err(|x| e(&x))?;
            let png = h2g::eval::report::png_bytes(img.width, img.height, &img.data)
                .map_err(|x| e(&x))?;
            Ok(format!(
                "<image href=\"data:image/png;base64,{}\" x=\"0\" y=\"0\" width=\"{}\" height=\"{}\"/>",
                h2g::eval::report::base64(&png),
                o.w,
                o.h
            ))
        })();
        seen.lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, made.clone());
        made
    };
    let grey = format!(
        "<rect width=\"{}\" height=\"{}\" fill=\"#f4f4f4\"/>",
        o.w, o.h
    );
    let (background, warning) = match image.map(read) {
        Some(Ok(b)) => (b, None),
        Some(Err(e)) => (
            grey,
            Some(format!(
                "its image cannot be read for the thumbnail ({e}): outlines on grey"
            )),
        ),
        None => (grey, None),
    };
    let path = |cells: &[bool], colour: &str| {
        format!(
            "<path d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" vector-effect=\"non-scaling-stroke\"/>",
            h2g::eval::report::outline_path(cells, o.w, o.h)
        )
    };
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"thumb\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\">{background}{}{}</svg>",
        o.w,
        o.h,
        o.w,
        o.h,
        path(&o.truth, "#1a9850"),
        path(&o.pred, "#d01c8b")
    );
    (svg, warning)
}
