//! `h2g stats tukey`: Tukey's HSD between designs on any per-slide metric of a long-form CSV.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use h2g::stats::tukey_hsd;

pub type Args = super::args::Nested<Sub>;

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// Tukey's honestly significant difference test between groups (e.g. designs) of a
    /// long-form CSV (one row per slide and design), as statsmodels' pairwise_tukeyhsd. Prints
    /// CSV: group1,group2,meandiff,p-adj,lower,upper,reject (meandiff = mean(group2) −
    /// mean(group1); groups sorted by name).
    Tukey {
        /// The CSV, with a header row.
        csv: PathBuf,
        /// The column naming the group of each row.
        #[arg(long, default_value = "design")]
        by: String,
        /// The column with the values compared.
        #[arg(long, default_value = "dice")]
        metric: String,
        /// Family-wise significance level.
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        /// Print JSON (the test's parameters and every pair) instead of CSV.
        #[arg(long)]
        json: bool,
    },
}

/// A float as it round-trips: plain notation, exponent notation when very small or large.
fn num(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-4 || v.abs() >= 1e16) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let Sub::Tukey {
        csv,
        by,
        metric,
        alpha,
        json,
    } = a.command;
    let mut r = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(&csv)
        .with_context(|| format!("{}: cannot open", csv.display()))?;
    let headers = r
        .headers()
        .with_context(|| format!("{}: no header row", csv.display()))?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .with_context(|| {
                format!(
                    "{}: no column '{name}' (columns: {})",
                    csv.display(),
                    headers.iter().collect::<Vec<_>>().join(", ")
                )
            })
    };
    let (gi, vi) = (col(&by)?, col(&metric)?);
    let mut groups: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut skipped = 0usize;
    for (i, row) in r.records().enumerate() {
        let line = i + 2;
        let row = row.with_context(|| format!("{}: line {line}", csv.display()))?;
        let g = row.get(gi).unwrap_or("").trim();
        let raw = row.get(vi).unwrap_or("").trim();
        if g.is_empty() {
            bail!("{}: line {line}: empty '{by}'", csv.display());
        }
        if raw.is_empty() {
            // a missing value (e.g. an undefined metric in evaluate's per_slide.csv)
            skipped += 1;
            continue;
        }
        let v: f64 = raw.parse().map_err(|_| {
            anyhow::anyhow!(
                "{}: line {line}: '{metric}' is '{raw}', not a number",
                csv.display()
            )
        })?;
        if !v.is_finite() {
            bail!(
                "{}: line {line}: '{metric}' is {raw}; every value must be finite",
                csv.display()
            );
        }
        groups.entry(g.to_string()).or_default().push(v);
    }
    if skipped > 0 {
        eprintln!("{skipped} row(s) without a '{metric}' value left out");
    }
    let groups: Vec<(String, Vec<f64>)> = groups.into_iter().collect();
    let t = tukey_hsd(&groups, alpha).with_context(|| csv.display().to_string())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&t)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("group1,group2,meandiff,p-adj,lower,upper,reject");
    for p in &t.pairs {
        let quote = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        println!(
            "{},{},{},{},{},{},{}",
            quote(&p.group1),
            quote(&p.group2),
            num(p.meandiff),
            num(p.p_adj),
            num(p.lower),
            num(p.upper),
            if p.reject { "True" } else { "False" }
        );
    }
    eprintln!(
        "Tukey HSD: {} groups, {} values, df {}, MSE {}, q({}; {}, {}) = {}",
        t.groups,
        groups.iter().map(|g| g.1.len()).sum::<usize>(),
        t.df,
        num(t.mse),
        1.0 - alpha,
        t.groups,
        t.df,
        t.q_crit
    );
    Ok(ExitCode::SUCCESS)
}
