//! The paper's tables of an [`Evaluation`]: Table 1 (recall, precision and Dice per design),
//! Table 2 (Dice per design and grade) and Supplementary Table 1 (the family-wise adjusted
//! p-values of Tukey's HSD between the designs of the chosen family), each rendered as
//! Markdown, LaTeX (booktabs) and HTML from one [`Table`], and as CSV with the numbers in full.

use std::collections::{BTreeMap, BTreeSet};

use super::cohort::Evaluation;
use super::report::esc;
use super::Summary;

/// One cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text as it is (escaped for each format).
    Text(String),
    /// Mean ± std, with its n when `show_n`.
    Stat {
        /// The summary.
        summary: Summary,
        /// Whether n is printed (it differs from the slides of the row or column).
        show_n: bool,
    },
    /// A p-value.
    P(f64),
    /// A value that does not exist (no slide has the metric).
    Missing,
    /// Nothing (the lower triangle of a matrix).
    Blank,
}

/// A table: a caption, a header row and rows of cells; the first column is a label.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Its number in words: `Table 1`, `Table 2`, `Supplementary Table 1`.
    pub label: &'static str,
    /// What it shows.
    pub caption: String,
    /// The column titles.
    pub header: Vec<String>,
    /// The rows, each as long as the header.
    pub rows: Vec<Vec<Cell>>,
    /// Shown instead of the rows when there are none (why not).
    pub empty_note: Option<String>,
}

/// The split in a caption or a CSV cell: its name, `all` when none was chosen.
pub fn split_name(ev: &Evaluation) -> &str {
    ev.split.as_deref().unwrap_or("all")
}

/// The scope in a caption: the split, after the class in a comparison of classes.
fn split_words(ev: &Evaluation) -> String {
    let split = match &ev.split {
        Some(s) => format!("split {s}"),
        None => "all rows".into(),
    };
    match &ev.class {
        Some(c) => format!("class {}, {split}", c.name),
        None => split,
    }
}

fn stat(s: Option<Summary>, slides: usize) -> Cell {
    match s {
        Some(summary) => Cell::Stat {
            summary,
            show_n: summary.n != slides,
        },
        None => Cell::Missing,
    }
}

/// Table 1: per design, its slides and recall, precision and Dice as mean ± population std,
/// with n where it differs from the slides (an empty prediction has no precision).
pub fn table1(ev: &Evaluation) -> Table {
    let rows = ev
        .in_order()
        .map(|(d, s)| {
            let m = &s.overall;
            vec![
                Cell::Text(d.clone()),
                Cell::Text(m.slides.to_string()),
                stat(m.recall, m.slides),
                stat(m.precision, m.slides),
                stat(m.dice, m.slides),
            ]
        })
        .collect();
    Table {
        label: "Table 1",
        caption: format!(
            "Recall, precision and Dice per design (mean ± population standard deviation over \
             slides; {}; n where it differs from the slides)",
            split_words(ev)
        ),
        header: ["design", "slides", "recall", "precision", "Dice"]
            .map(String::from)
            .to_vec(),
        rows,
        empty_note: Some("No design has an evaluated slide.".into()),
    }
}

/// The grades of the included rows with their slides (any design), `(none)` for no grade.
fn grade_slides(ev: &Evaluation) -> BTreeMap<String, usize> {
    let mut g: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for r in ev.results.iter().filter(|r| r.included) {
        let name = if r.grade.is_empty() {
            "(none)"
        } else {
            &r.grade
        };
        g.entry(name.to_string()).or_default().insert(&r.slide);
    }
    g.into_iter().map(|(k, v)| (k, v.len())).collect()
}

/// Table 2: Dice (mean ± population std) per design and grade, with n where it differs from the
/// grade's slides (those of any design).
pub fn table2(ev: &Evaluation) -> Table {
    let grades = grade_slides(ev);
    let mut header = vec!["design".to_string()];
    header.extend(grades.iter().map(|(g, n)| format!("grade {g} (n = {n})")));
    let rows = ev
        .in_order()
        .map(|(d, s)| {
            let mut row = vec![Cell::Text(d.clone())];
            row.extend(
                grades
                    .iter()
                    .map(|(g, n)| stat(s.by_grade.get(g).and_then(|m| m.dice), *n)),
            );
            row
        })
        .collect();
    Table {
        label: "Table 2",
        caption: format!(
            "Dice per design and histological grade (mean ± population standard deviation over \
             slides; {}; n where it differs from the grade's slides)",
            split_words(ev)
        ),
        header,
        rows,
        empty_note: Some("No design has an evaluated slide.".into()),
    }
}

/// Supplementary Table 1: the family-wise adjusted p-values of Tukey's HSD between the designs
/// of the chosen family, as the upper triangle of a design × design matrix (row: group1,
/// column: group2, designs sorted).
pub fn supp_table1(ev: &Evaluation) -> Table {
    let fam = &ev.tukey_family;
    let mut header = vec!["design".to_string()];
    let mut rows = Vec::new();
    if let Some(t) = ev.tukey.as_ref().filter(|_| fam.len() >= 2) {
        header.extend(fam[1..].iter().cloned());
        for a in &fam[..fam.len() - 1] {
            let mut row = vec![Cell::Text(a.clone())];
            for b in &fam[1..] {
                let p = t
                    .pairs
                    .iter()
                    .find(|p| &p.group1 == a && &p.group2 == b)
                    .map(|p| p.p_adj);
                // pairs are (earlier, later) in sorted order: the lower triangle stays blank
                row.push(p.map_or(Cell::Blank, Cell::P));
            }
            rows.push(row);
        }
    }
    Table {
        label: "Supplementary Table 1",
        caption: format!(
            "Tukey's HSD on per-slide {} between {} ({}): family-wise adjusted p-values{}",
            ev.tukey_metric.title(),
            if fam.is_empty() {
                ev.tukey_family_rule.clone()
            } else {
                fam.join(", ")
            },
            split_words(ev),
            ev.tukey
                .as_ref()
                .map(|t| format!(", alpha {}", t.alpha))
                .unwrap_or_default()
        ),
        header,
        rows,
        empty_note: Some(
            "Tukey's HSD was not computed (fewer than two designs with values; see the warnings)."
                .into(),
        ),
    }
}

fn p_text(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".into()
    } else {
        format!("{p:.3}")
    }
}

fn plain(c: &Cell) -> String {
    match c {
        Cell::Text(t) => t.clone(),
        Cell::Stat { summary, show_n } => {
            let mut s = format!("{:.3} ± {:.3}", summary.mean, summary.std);
            if *show_n {
                s += &format!(" (n = {})", summary.n);
            }
            s
        }
        Cell::P(p) => p_text(*p),
        Cell::Missing => "n/a".into(),
        Cell::Blank => String::new(),
    }
}

/// Escapes text for a Markdown table cell (`|`, `\` and line breaks).
pub fn md_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// Escapes text for LaTeX (the ten special characters; ± as math).
pub fn tex_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                o.push('\\');
                o.push(c);
            }
            '~' => o.push_str("\\textasciitilde{}"),
            '^' => o.push_str("\\textasciicircum{}"),
            '±' => o.push_str("$\\pm$"),
            '\n' | '\r' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

fn tex_cell(c: &Cell) -> String {
    match c {
        Cell::Stat { summary, show_n } => {
            let mut s = format!("{:.3} $\\pm$ {:.3}", summary.mean, summary.std);
            if *show_n {
                s += &format!(" ($n = {}$)", summary.n);
            }
            s
        }
        Cell::P(p) if *p < 0.001 => "$<$ 0.001".into(),
        Cell::Text(t) => tex_escape(t),
        other => tex_escape(&plain(other)),
    }
}

impl Table {
    /// As Markdown: the label and caption, then a pipe table (or the note when it has no rows).
    pub fn markdown(&self) -> String {
        let mut s = format!("**{}.** {}\n\n", self.label, md_escape(&self.caption));
        if self.rows.is_empty() {
            return s + &md_escape(self.empty_note.as_deref().unwrap_or("")) + "\n";
        }
        let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
        s += &line(self.header.iter().map(|h| md_escape(h)).collect());
        s += &format!(
            "|{}\n",
            (0..self.header.len())
                .map(|i| if i == 0 { "---|" } else { "---:|" })
                .collect::<String>()
        );
        for r in &self.rows {
            s += &line(r.iter().map(|c| md_escape(&plain(c))).collect());
        }
        s
    }

    /// As a LaTeX `table` with a booktabs `tabular` (needs `\usepackage{booktabs}`), every text
    /// escaped.
    pub fn latex(&self) -> String {
        let mut s = format!(
            "% {}: needs \\usepackage{{booktabs}}\n\\begin{{table}}[ht]\n\\centering\n\\caption{{{}}}\n",
            self.label,
            tex_escape(&self.caption)
        );
        if self.rows.is_empty() {
            return s + &tex_escape(self.empty_note.as_deref().unwrap_or("")) + "\n\\end{table}\n";
        }
        s += &format!(
            "\\begin{{tabular}}{{l{}}}\n\\toprule\n",
            "r".repeat(self.header.len().saturating_sub(1))
        );
        let line = |cells: Vec<String>| format!("{} \\\\\n", cells.join(" & "));
        s += &line(self.header.iter().map(|h| tex_escape(h)).collect());
        s += "\\midrule\n";
        for r in &self.rows {
            s += &line(r.iter().map(tex_cell).collect());
        }
        s + "\\bottomrule\n\\end{tabular}\n\\end{table}\n"
    }

    /// As HTML: the caption in a paragraph, then `<table id="ID">` (the note when it has no rows).
    pub fn html(&self, id: &str) -> String {
        // the caption above the table as a paragraph: a <caption> is no wider than the table
        let mut s = format!(
            "<p class=\"caption\"><b>{}.</b> {}</p><table id=\"{}\">",
            esc(self.label),
            esc(&self.caption),
            esc(id)
        );
        if self.rows.is_empty() {
            return s + &format!(
                "<tr><td>{}</td></tr></table>",
                esc(self.empty_note.as_deref().unwrap_or(""))
            );
        }
        s += "<tr>";
        for h in &self.header {
            s += &format!("<th>{}</th>", esc(h));
        }
        s += "</tr>";
        for r in &self.rows {
            s += "<tr>";
            for c in r {
                s += &format!("<td>{}</td>", esc(&plain(c)));
            }
            s += "</tr>";
        }
        s + "</table>"
    }
}

fn num(v: Option<f64>) -> String {
    v.map(crate::stats::groups::num).unwrap_or_default()
}

fn summary_cols(s: Option<Summary>) -> [String; 3] {
    match s {
        Some(s) => [
            s.n.to_string(),
            crate::stats::groups::num(s.mean),
            crate::stats::groups::num(s.std),
        ],
        None => ["0".into(), String::new(), String::new()],
    }
}

/// A CSV table of summaries, the one builder of [`table1_csv`], [`table2_csv`] and
/// [`summary_csv`]: the header is `lead` then `NAME_n, NAME_mean, NAME_std` for each of
/// `metrics`; each row its lead cells then n, mean, std of each summary (n 0 and empty cells
/// where undefined).
fn summaries_csv(
    lead: &[&str],
    metrics: &[&str],
    rows: impl IntoIterator<Item = (Vec<String>, Vec<Option<Summary>>)>,
) -> Vec<Vec<String>> {
    let mut header: Vec<String> = lead.iter().map(|h| h.to_string()).collect();
    for m in metrics {
        header.extend(["n", "mean", "std"].map(|x| format!("{m}_{x}")));
    }
    let mut out = vec![header];
    for (mut row, stats) in rows {
        debug_assert_eq!((row.len(), stats.len()), (lead.len(), metrics.len()));
        for x in stats {
            row.extend(summary_cols(x));
        }
        out.push(row);
    }
    out
}

/// Table 1 as CSV: `split,design,slides,empty_predictions` and n, mean, std of recall,
/// precision and Dice (numbers in full; empty where undefined).
pub fn table1_csv(ev: &Evaluation) -> Vec<Vec<String>> {
    let rows = ev.in_order().map(|(d, s)| {
        let m = &s.overall;
        (
            vec![
                split_name(ev).to_string(),
                d.clone(),
                m.slides.to_string(),
                m.empty_predictions.to_string(),
            ],
            vec![m.recall, m.precision, m.dice],
        )
    });
    summaries_csv(
        &["split", "design", "slides", "empty_predictions"],
        &["recall", "precision", "dice"],
        rows,
    )
}

/// Table 2 as CSV: `split,design,grade,slides,dice_n,dice_mean,dice_std`, one row per design
/// and grade it has.
pub fn table2_csv(ev: &Evaluation) -> Vec<Vec<String>> {
    let rows = ev.in_order().flat_map(|(d, s)| {
        s.by_grade.iter().map(move |(g, m)| {
            (
                vec![
                    split_name(ev).to_string(),
                    d.clone(),
                    g.clone(),
                    m.slides.to_string(),
                ],
                vec![m.dice],
            )
        })
    });
    summaries_csv(&["split", "design", "grade", "slides"], &["dice"], rows)
}

/// Supplementary Table 1 as CSV, one line per pair of the family in statsmodels' order:
/// `split,metric,group1,group2,meandiff,p_adj,lower,upper,reject` (no lines when Tukey's HSD
/// was not computed).
pub fn supp_table1_csv(ev: &Evaluation) -> Vec<Vec<String>> {
    let mut out = vec![[
        "split", "metric", "group1", "group2", "meandiff", "p_adj", "lower", "upper", "reject",
    ]
    .map(String::from)
    .to_vec()];
    if let Some(t) = &ev.tukey {
        for p in &t.pairs {
            out.push(vec![
                split_name(ev).to_string(),
                ev.tukey_metric.title().to_lowercase(),
                p.group1.clone(),
                p.group2.clone(),
                num(Some(p.meandiff)),
                num(Some(p.p_adj)),
                num(Some(p.lower)),
                num(Some(p.upper)),
                p.reject.to_string(),
            ]);
        }
    }
    out
}

/// Every design's summaries as CSV, overall (grade `all`) and per grade: `split,design,grade,
/// slides,empty_predictions` and n, mean, std of Dice, precision and recall.
pub fn summary_csv(ev: &Evaluation) -> Vec<Vec<String>> {
    let rows = ev.in_order().flat_map(|(d, s)| {
        let all = std::iter::once(("all", &s.overall));
        all.chain(s.by_grade.iter().map(|(g, m)| (g.as_str(), m)))
            .map(move |(g, m)| {
                (
                    vec![
                        split_name(ev).to_string(),
                        d.clone(),
                        g.to_string(),
                        m.slides.to_string(),
                        m.empty_predictions.to_string(),
                    ],
                    vec![m.dice, m.precision, m.recall],
                )
            })
    });
    summaries_csv(
        &["split", "design", "grade", "slides", "empty_predictions"],
        &["dice", "precision", "recall"],
        rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_every_special_character() {
        assert_eq!(
            tex_escape("a_b & 50% $x$ #1 {y} ~ ^ \\"),
            "a\\_b \\& 50\\% \\$x\\$ \\#1 \\{y\\} \\textasciitilde{} \\textasciicircum{} \\textbackslash{}"
        );
        assert_eq!(md_escape("a|b\\c\nd"), "a\\|b\\\\c d");
    }

    #[test]
    fn cells_show_n_only_when_asked_and_small_p_values_as_bounds() {
        let s = Summary {
            n: 2,
            mean: 0.5,
            std: 0.25,
        };
        let with_n = Cell::Stat {
            summary: s,
            show_n: true,
        };
        assert_eq!(plain(&with_n), "0.500 ± 0.250 (n = 2)");
        assert_eq!(tex_cell(&with_n), "0.500 $\\pm$ 0.250 ($n = 2$)");
        assert_eq!(plain(&Cell::P(0.0004)), "< 0.001");
        assert_eq!(tex_cell(&Cell::P(0.0004)), "$<$ 0.001");
        assert_eq!(plain(&Cell::P(0.9)), "0.900");
        assert_eq!(
            stat(Some(s), 2),
            Cell::Stat {
                summary: s,
                show_n: false
            }
        );
    }
}
