//! The reports of an [`Evaluation`]: one [`Exporter`] per format, each rendering the same model
//! (`per_slide.csv`, `summary.json`, `summary.md`, `report.html`).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::cohort::{Evaluation, SlideResult};
use super::report::{boxplot_svg, esc};
use super::Summary;

/// Renders an evaluation in one format.
pub trait Exporter {
    /// The file name it is written under in the output folder.
    fn file_name(&self) -> &'static str;
    /// Writes the evaluation to `w`.
    fn export(&self, ev: &Evaluation, w: &mut dyn Write) -> std::io::Result<()>;
}

/// The per-slide table (CSV, one row per slide and design).
#[derive(Debug, Default, Clone, Copy)]
pub struct Csv;
/// The summary as JSON (designs, per grade, Tukey, problems).
#[derive(Debug, Default, Clone, Copy)]
pub struct Json;
/// The summary as Markdown tables.
#[derive(Debug, Default, Clone, Copy)]
pub struct Markdown;
/// A self-contained HTML report: tables, box plots (inline SVG), the slides worst first with
/// thumbnails.
#[derive(Debug, Default, Clone, Copy)]
pub struct Html;

/// Every exporter, in the order they are written.
pub fn all() -> [&'static dyn Exporter; 4] {
    [&Csv, &Json, &Markdown, &Html]
}

/// Writes every report into `dir` (atomically, each), returning their paths.
pub fn write_reports(ev: &Evaluation, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    all()
        .iter()
        .map(|e| {
            let path = dir.join(e.file_name());
            crate::output::write_file(&path, |w| e.export(ev, w)).map_err(|err| {
                std::io::Error::new(
                    err.kind(),
                    format!("{}: cannot write: {err}", path.display()),
                )
            })?;
            Ok(path)
        })
        .collect()
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_default()
}

fn ms(s: &Option<Summary>) -> String {
    s.map(|s| format!("{:.3} ± {:.3}", s.mean, s.std))
        .unwrap_or_else(|| "n/a".into())
}

impl Exporter for Csv {
    fn file_name(&self) -> &'static str {
        "per_slide.csv"
    }

    fn export(&self, ev: &Evaluation, w: &mut dyn Write) -> std::io::Result<()> {
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
        ])?;
        for r in &ev.results {
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
                opt(r.area_um2(r.tp.zip(r.fn_).map(|(a, b)| a + b))),
                opt(r.area_um2(r.tp.zip(r.fp).map(|(a, b)| a + b))),
                opt(r.area_um2(r.tp)),
                r.included.to_string(),
                r.status.clone(),
            ])?;
        }
        c.flush()
    }
}

impl Exporter for Json {
    fn file_name(&self) -> &'static str {
        "summary.json"
    }

    fn export(&self, ev: &Evaluation, w: &mut dyn Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut *w, ev)?;
        w.write_all(b"\n")
    }
}

impl Exporter for Markdown {
    fn file_name(&self) -> &'static str {
        "summary.md"
    }

    fn export(&self, ev: &Evaluation, w: &mut dyn Write) -> std::io::Result<()> {
        let mut md = String::from(
            "# Evaluation\n\n| design | slides | Dice | precision | recall |\n|---|---|---|---|---|\n",
        );
        for (d, s) in &ev.designs {
            md += &format!(
                "| {d} | {} | {} | {} | {} |\n",
                s.included,
                ms(&s.overall.dice),
                ms(&s.overall.precision),
                ms(&s.overall.recall)
            );
        }
        md += "\nMean ± population standard deviation over slides; precision = TP / predicted, recall = TP / truth.\n\n## Per grade\n\n| design | grade | slides | Dice | precision | recall |\n|---|---|---|---|---|---|\n";
        for (d, s) in &ev.designs {
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
        if let Some(t) = &ev.tukey {
            md += &format!("\n## Tukey HSD on {} (alpha {})\n\n| group1 | group2 | meandiff | p-adj | lower | upper | reject |\n|---|---|---|---|---|---|---|\n", ev.tukey_metric.title(), t.alpha);
            for p in &t.pairs {
                md += &format!(
                    "| {} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {} |\n",
                    p.group1, p.group2, p.meandiff, p.p_adj, p.lower, p.upper, p.reject
                );
            }
        }
        for (title, list) in [
            ("Left out (empty truth)", &ev.excluded_empty_truth),
            ("Errors", &ev.errors),
            ("Warnings", &ev.warnings),
        ] {
            if !list.is_empty() {
                md += &format!("\n## {title}\n\n");
                for l in list {
                    md += &format!("- {l}\n");
                }
            }
        }
        w.write_all(md.as_bytes())
    }
}

impl Exporter for Html {
    fn file_name(&self) -> &'static str {
        "report.html"
    }

    fn export(&self, ev: &Evaluation, w: &mut dyn Write) -> std::io::Result<()> {
        w.write_all(html(ev).as_bytes())
    }
}

fn html(ev: &Evaluation) -> String {
    let f = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "n/a".into());
    let mut h = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>h2g evaluation</title>\
         <style>body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin:1em 0}}\
         td,th{{border:1px solid #bbb;padding:3px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}\
         .bad{{color:#b00}}</style></head><body><h1>Evaluation</h1><p>Cohort: {}. Mean ± population standard \
         deviation over slides; precision = TP / predicted, recall = TP / truth.</p>",
        esc(&ev.cohort.display().to_string())
    );
    h += "<h2>Designs</h2><table id=\"summary\"><tr><th>design</th><th>slides</th><th>Dice</th><th>precision</th><th>recall</th></tr>";
    for (d, s) in &ev.designs {
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
    for (d, s) in &ev.designs {
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
    let included: Vec<&SlideResult> = ev.results.iter().filter(|r| r.included).collect();
    // one box per design: the values `pick` gives of the included slides `keep` passes
    let per_design = |keep: &dyn Fn(&SlideResult) -> bool,
                      pick: fn(&SlideResult) -> Option<f64>| {
        ev.designs
            .keys()
            .map(|d| {
                let v = included
                    .iter()
                    .filter(|r| &r.design == d && keep(r))
                    .filter_map(|r| pick(r))
                    .collect();
                (d.clone(), v)
            })
            .collect::<Vec<(String, Vec<f64>)>>()
    };
    let dice: fn(&SlideResult) -> Option<f64> = |r| r.dice;
    for (name, pick) in [
        ("Dice", dice),
        ("precision", |r: &SlideResult| r.precision),
        ("recall", |r: &SlideResult| r.recall),
    ] {
        h += &boxplot_svg(&format!("{name} per design"), &per_design(&|_| true, pick));
    }
    let grades: BTreeSet<&str> = included.iter().map(|r| r.grade.as_str()).collect();
    if grades.len() > 1 {
        for g in grades {
            let groups = per_design(&|r| r.grade == g, dice);
            h += &boxplot_svg(&format!("Dice per design, grade {g}"), &groups);
        }
    }
    h += "</div>";
    if let Some(t) = &ev.tukey {
        h += &format!(
            "<h2>Tukey HSD on {} (alpha {})</h2><table id=\"tukey\"><tr><th>group1</th><th>group2</th>\
             <th>meandiff</th><th>p-adj</th><th>lower</th><th>upper</th><th>reject</th></tr>",
            ev.tukey_metric.title(),
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
    let mut rows: Vec<&SlideResult> = ev.results.iter().filter(|r| r.tp.is_some()).collect();
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
        ("left out (empty truth)", &ev.excluded_empty_truth),
        ("error", &ev.errors),
        ("warning", &ev.warnings),
    ] {
        for l in list {
            h += &format!("<li class=\"bad\">{kind}: {}</li>", esc(l));
        }
    }
    h + "</ul></body></html>\n"
}
