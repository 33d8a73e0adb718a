//! The reports of an [`Evaluation`]: one [`Exporter`] per format, each rendering the same model
//! (`per_slide.csv`, `summary.csv`, `summary.json`, `summary.md`, `report.html`, and the
//! paper's tables `table1`, `table2`, `supp_table1` as `.csv`, `.md` and `.tex`); and, for a
//! comparison of classes ([`write_class_reports`]), all of them per class
//! (`per_slide.Tumor.csv`, `table1.Tumor.md`, ...) with the combined `per_slide.csv` and
//! `summary.csv` (a `class` column), `summary.json`, `summary.md` and an index `report.html`.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::cohort::{ClassEvaluation, Evaluation, Metrics, SlideResult};
use super::report::{boxplot_svg, esc};
use super::tables::{self, Table};
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

/// Every design's summaries overall and per grade as CSV, n per metric and empty predictions.
#[derive(Debug, Default, Clone, Copy)]
pub struct SummaryCsv;

/// Which of the paper's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Table 1: recall, precision, Dice per design.
    Table1,
    /// Table 2: Dice per design and grade.
    Table2,
    /// Supplementary Table 1: Tukey's adjusted p-values between the family's designs.
    Supp1,
}

/// The format of a table file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV, numbers in full.
    Csv,
    /// Markdown.
    Markdown,
    /// LaTeX (booktabs).
    Latex,
}

/// One of the paper's tables in one format.
#[derive(Debug, Clone, Copy)]
pub struct TableFile {
    /// The table.
    pub which: Which,
    /// The format.
    pub format: Format,
}

const fn tf(which: Which, format: Format) -> TableFile {
    TableFile { which, format }
}

const TABLE_FILES: [TableFile; 9] = [
    tf(Which::Table1, Format::Csv),
    tf(Which::Table1, Format::Markdown),
    tf(Which::Table1, Format::Latex),
    tf(Which::Table2, Format::Csv),
    tf(Which::Table2, Format::Markdown),
    tf(Which::Table2, Format::Latex),
    tf(Which::Supp1, Format::Csv),
    tf(Which::Supp1, Format::Markdown),
    tf(Which::Supp1, Format::Latex),
];

impl TableFile {
    fn table(&self, ev: &Evaluation) -> Table {
        match self.which {
            Which::Table1 => tables::table1(ev),
            Which::Table2 => tables::table2(ev),
            Which::Supp1 => tables::supp_table1(ev),
        }
    }
}

impl Exporter for TableFile {
    fn file_name(&self) -> &'static str {
        match (self.which, self.format) {
            (Which::Table1, Format::Csv) => "table1.csv",
            (Which::Table1, Format::Markdown) => "table1.md",
            (Which::Table1, Format::Latex) => "table1.tex",
            (Which::Table2, Format::Csv) => "table2.csv",
            (Which::Table2, Format::Markdown) => "table2.md",
            (Which::Table2, Format::Latex) => "table2.tex",
            (Which::Supp1, Format::Csv) => "supp_table1.csv",
            (Which::Supp1, Format::Markdown) => "supp_table1.md",
            (Which::Supp1, Format::Latex) => "supp_table1.tex",
        }
    }

    fn export(&self, ev: &Evaluation, w: &mut dyn Write) -> std::io::Result<()> {
        match self.format {
            Format::Csv => write_csv(
                w,
                &match self.which {
                    Which::Table1 => tables::table1_csv(ev),
                    Which::Table2 => tables::table2_csv(ev),
                    Which::Supp1 => tables::supp_table1_csv(ev),
                },
            ),
            Format::Markdown => w.write_all(self.table(ev).markdown().as_bytes()),
            Format::Latex => w.write_all(self.table(ev).latex().as_bytes()),
        }
    }
}

fn write_csv(w: &mut dyn Write, rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut c = csv::Writer::from_writer(w);
    for r in rows {
        c.write_record(r)?;
    }
    c.flush()
}

impl Exporter for SummaryCsv {
    fn file_name(&self) -> &'static str {
        "summary.csv"
    }

    fn export(&self, ev: &Evaluation, w: &mut dyn Write) -> std::io::Result<()> {
        write_csv(w, &tables::summary_csv(ev))
    }
}

/// Every exporter, in the order they are written.
pub fn all() -> Vec<&'static dyn Exporter> {
    let mut v: Vec<&'static dyn Exporter> = vec![&Csv, &SummaryCsv, &Json, &Markdown, &Html];
    v.extend(TABLE_FILES.iter().map(|t| t as &'static dyn Exporter));
    v
}

/// Writes `f`'s bytes as `dir/name` into `set`, returning the path; an error names it.
fn stage(
    set: &mut crate::output::OutputSet,
    dir: &Path,
    name: &str,
    f: &dyn Fn(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<PathBuf> {
    let path = dir.join(name);
    set.write_file(&path, f)
        .map_err(|err| cannot_write(&path, err))?;
    Ok(path)
}

fn cannot_write(path: &Path, err: std::io::Error) -> std::io::Error {
    std::io::Error::new(
        err.kind(),
        format!("{}: cannot write: {err}", path.display()),
    )
}

/// Puts a set of reports in place, all of them or (on an error) none.
fn commit(set: crate::output::OutputSet) -> std::io::Result<()> {
    set.commit().map_err(|e| cannot_write(&e.path, e.source))
}

/// Writes every report into `dir` as one set (each complete before any appears), returning
/// their paths.
pub fn write_reports(ev: &Evaluation, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut set = crate::output::OutputSet::new();
    let out = all()
        .iter()
        .map(|e| stage(&mut set, dir, e.file_name(), &|w| e.export(ev, w)))
        .collect::<std::io::Result<Vec<_>>>()?;
    commit(set)?;
    Ok(out)
}

/// `NAME.EXT` with the class inserted: `table1.csv` → `table1.Tumor.csv`.
pub fn class_file_name(name: &str, class: &str) -> String {
    match name.split_once('.') {
        Some((stem, ext)) => format!("{stem}.{class}.{ext}"),
        None => format!("{name}.{class}"),
    }
}

/// Writes the reports of a comparison of classes into `dir` as one set, returning their
/// paths: every report of [`write_reports`] for each class under [`class_file_name`], then the
/// combined `per_slide.csv` and `summary.csv` (the binary columns with `class` after `design`,
/// classes in the order given), `summary.json` (the classes and each class's summary),
/// `summary.md` (each class's in turn) and `report.html` (each class's Table 1 and a link to
/// its report).
pub fn write_class_reports(cev: &ClassEvaluation, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut set = crate::output::OutputSet::new();
    let mut write = |name: String, f: &dyn Fn(&mut dyn Write) -> std::io::Result<()>| {
        stage(&mut set, dir, &name, f)
    };
    let name = |ev: &Evaluation| {
        ev.class
            .as_ref()
            .map_or("", |c| c.name.as_str())
            .to_string()
    };
    let mut out = Vec::new();
    for ev in &cev.per_class {
        for e in all() {
            out.push(write(class_file_name(e.file_name(), &name(ev)), &|w| {
                e.export(ev, w)
            })?);
        }
    }
    // the long tables: the class after the design
    let long = |table: fn(&Evaluation) -> Vec<Vec<String>>| {
        let mut rows: Vec<Vec<String>> = Vec::new();
        for ev in &cev.per_class {
            for (i, mut r) in table(ev).into_iter().enumerate() {
                if i == 0 && !rows.is_empty() {
                    continue;
                }
                r.insert(2, if i == 0 { "class".into() } else { name(ev) });
                rows.push(r);
            }
        }
        rows
    };
    out.push(write("per_slide.csv".into(), &|w| {
        write_csv(w, &long(per_slide_rows))
    })?);
    out.push(write("summary.csv".into(), &|w| {
        write_csv(w, &long(tables::summary_csv))
    })?);
    out.push(write("summary.json".into(), &|w| {
        serde_json::to_writer_pretty(&mut *w, cev)?;
        w.write_all(b"\n")
    })?);
    out.push(write("summary.md".into(), &|w| {
        for (i, ev) in cev.per_class.iter().enumerate() {
            if i > 0 {
                w.write_all(b"\n")?;
            }
            Markdown.export(ev, w)?;
        }
        Ok(())
    })?);
    out.push(write("report.html".into(), &|w| {
        w.write_all(class_index_html(cev).as_bytes())
    })?);
    commit(set)?;
    Ok(out)
}

/// The index page of a comparison of classes: per class its values, Table 1 and its report.
fn class_index_html(cev: &ClassEvaluation) -> String {
    let cohort = cev
        .per_class
        .first()
        .map(|e| e.cohort.display().to_string())
        .unwrap_or_default();
    let mut h = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>h2g evaluation \
         by class</title><style>body{{font-family:sans-serif;margin:2em;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #bbb;padding:3px \
         8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}</style></head>\
         <body><h1>Evaluation by class</h1><p>Cohort: {}. Each class is one binary comparison: \
         a pixel is positive where its value is the class's.</p>",
        esc(&cohort)
    );
    for ev in &cev.per_class {
        let Some(c) = &ev.class else { continue };
        let report = class_file_name("report.html", &c.name);
        h += &format!(
            "<h2>{} (prediction value {}, truth value {})</h2><p><a href=\"{}\">the full \
             report</a>; {} error(s), {} warning(s)</p>",
            esc(&c.name),
            c.prediction,
            c.truth,
            esc(&href(&report)),
            ev.errors.len(),
            ev.warnings.len()
        );
        h += &tables::table1(ev).html(&format!("table1-{}", href(&c.name)));
    }
    h + "</body></html>\n"
}

/// A relative link to a file name: bytes outside `A–Z a–z 0–9 - _ .` percent-encoded.
fn href(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
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

/// The n of each metric's mean and the empty predictions: `n Dice, n precision, n recall,
/// empty predictions`.
fn counts(m: &Metrics) -> [String; 4] {
    let n = |s: &Option<Summary>| s.map(|s| s.n).unwrap_or(0).to_string();
    [
        n(&m.dice),
        n(&m.precision),
        n(&m.recall),
        m.empty_predictions.to_string(),
    ]
}

/// The split and the Tukey family in words.
fn scope(ev: &Evaluation) -> String {
    format!(
        "Split: {}. Tukey family: {}{}.",
        match &ev.split {
            Some(s) => s.clone(),
            None => "all rows (no --split)".into(),
        },
        ev.tukey_family_rule,
        if ev.tukey_family.is_empty() {
            String::new()
        } else {
            format!(" ({})", ev.tukey_family.join(", "))
        }
    )
}

impl Exporter for Csv {
    fn file_name(&self) -> &'static str {
        "per_slide.csv"
    }

    fn export(&self, ev: &Evaluation, w: &mut dyn Write) -> std::io::Result<()> {
        write_csv(w, &per_slide_rows(ev))
    }
}

/// The per-slide table: its header, then one row per result in table order.
fn per_slide_rows(ev: &Evaluation) -> Vec<Vec<String>> {
    let mut out = vec![[
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
    ]
    .map(String::from)
    .to_vec()];
    for r in &ev.results {
        let int = |n: Option<u64>| n.map(|v| v.to_string()).unwrap_or_default();
        out.push(vec![
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
        ]);
    }
    out
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
        let e = tables::md_escape;
        let title = match &ev.class {
            Some(c) => format!(
                "Evaluation: class {} (prediction value {}, truth value {})",
                c.name, c.prediction, c.truth
            ),
            None => "Evaluation".into(),
        };
        let mut md = format!(
            "# {}\n\n{}\n\n| design | slides | Dice | precision | recall | n Dice | n precision | n recall | empty predictions |\n|---|---|---|---|---|---|---|---|---|\n",
            e(&title),
            e(&scope(ev))
        );
        for (d, s) in ev.in_order() {
            md += &format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                e(d),
                s.included,
                ms(&s.overall.dice),
                ms(&s.overall.precision),
                ms(&s.overall.recall),
                counts(&s.overall).join(" | ")
            );
        }
        md += "\nMean ± population standard deviation over slides; precision = TP / predicted, recall = TP / truth; n: the slides each mean is over (an empty prediction has no precision).\n\n## Per grade\n\n| design | grade | slides | Dice | precision | recall | n Dice | n precision | n recall | empty predictions |\n|---|---|---|---|---|---|---|---|---|---|\n";
        for (d, s) in ev.in_order() {
            for (g, m) in &s.by_grade {
                md += &format!(
                    "| {} | {} | {} | {} | {} | {} | {} |\n",
                    e(d),
                    e(g),
                    m.slides,
                    ms(&m.dice),
                    ms(&m.precision),
                    ms(&m.recall),
                    counts(m).join(" | ")
                );
            }
        }
        for t in [
            tables::table1(ev),
            tables::table2(ev),
            tables::supp_table1(ev),
        ] {
            md += &format!("\n## {}\n\n{}", t.label, t.markdown());
        }
        if let Some(t) = &ev.tukey {
            md += &format!("\n## Tukey HSD on {} (alpha {})\n\n| group1 | group2 | meandiff | p-adj | lower | upper | reject |\n|---|---|---|---|---|---|---|\n", ev.tukey_metric.title(), t.alpha);
            for p in &t.pairs {
                md += &format!(
                    "| {} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {} |\n",
                    e(&p.group1),
                    e(&p.group2),
                    p.meandiff,
                    p.p_adj,
                    p.lower,
                    p.upper,
                    p.reject
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
         .bad{{color:#b00}}</style></head><body><h1>{}</h1><p>Cohort: {}. Mean ± population standard \
         deviation over slides; precision = TP / predicted, recall = TP / truth; n: the slides each \
         mean is over (an empty prediction has no precision).</p><p id=\"scope\">{}</p>",
        match &ev.class {
            Some(c) => esc(&format!(
                "Evaluation: class {} (prediction value {}, truth value {})",
                c.name, c.prediction, c.truth
            )),
            None => "Evaluation".into(),
        },
        esc(&ev.cohort.display().to_string()),
        esc(&scope(ev))
    );
    let count_cells = |m: &Metrics| {
        counts(m)
            .iter()
            .map(|c| format!("<td>{c}</td>"))
            .collect::<String>()
    };
    h += "<h2>Designs</h2><table id=\"summary\"><tr><th>design</th><th>slides</th><th>Dice</th><th>precision</th><th>recall</th>\
          <th>n Dice</th><th>n precision</th><th>n recall</th><th>empty predictions</th></tr>";
    for (d, s) in ev.in_order() {
        h += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{}</tr>",
            esc(d),
            s.included,
            esc(&ms(&s.overall.dice)),
            esc(&ms(&s.overall.precision)),
            esc(&ms(&s.overall.recall)),
            count_cells(&s.overall)
        );
    }
    h += "</table><h2>Per grade</h2><table id=\"grades\"><tr><th>design</th><th>grade</th><th>slides</th><th>Dice</th><th>precision</th><th>recall</th>\
          <th>n Dice</th><th>n precision</th><th>n recall</th><th>empty predictions</th></tr>";
    for (d, s) in ev.in_order() {
        for (g, m) in &s.by_grade {
            h += &format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{}</tr>",
                esc(d),
                esc(g),
                m.slides,
                esc(&ms(&m.dice)),
                esc(&ms(&m.precision)),
                esc(&ms(&m.recall)),
                count_cells(m)
            );
        }
    }
    h += "</table><h2>The paper's tables</h2>";
    h += &tables::table1(ev).html("table1");
    h += &tables::table2(ev).html("table2");
    h += &tables::supp_table1(ev).html("supp_table1");
    h += "<h2>Distributions</h2><div id=\"boxplots\">";
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
            "<h2>Tukey HSD on {} (alpha {}; {})</h2><table id=\"tukey\"><tr><th>group1</th><th>group2</th>\
             <th>meandiff</th><th>p-adj</th><th>lower</th><th>upper</th><th>reject</th></tr>",
            ev.tukey_metric.title(),
            t.alpha,
            esc(&ev.tukey_family.join(", "))
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
