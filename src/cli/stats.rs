//! `h2g stats tukey`: Tukey's HSD between designs on any per-slide metric of a long-form CSV
//! (`h2g::stats::groups`); this file is its flags and the printed table.

use super::out::{noteln, out, outln};
use std::path::PathBuf;
use std::process::ExitCode;

use h2g::stats::groups::{num, read_groups, tukey_csv, tukey_table};
use h2g::stats::Family;

pub type Args = super::args::Nested<Sub>;

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// Tukey's honestly significant difference test between groups (e.g. designs) of a
    /// long-form CSV (one row per slide and design), as statsmodels' pairwise_tukeyhsd. Prints
    /// CSV: group1,group2,meandiff,p-adj,lower,upper,reject (meandiff = mean(group2) −
    /// mean(group1); groups sorted by name). When the CSV has an `included` column (as
    /// evaluate's per_slide.csv), only rows with true/1 there count.
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
        /// Compare only these groups (comma-separated, e.g. h2g,pw,unet-lr).
        #[arg(long, value_delimiter = ',', conflicts_with = "tukey_exclude")]
        tukey_designs: Option<Vec<String>>,
        /// Compare every group but these (comma-separated, e.g. otsu).
        #[arg(long, value_delimiter = ',')]
        tukey_exclude: Option<Vec<String>>,
    },
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let Sub::Tukey {
        csv,
        by,
        metric,
        alpha,
        json,
        tukey_designs,
        tukey_exclude,
    } = a.command;
    let family = Family::from_options(tukey_designs, tukey_exclude)?;
    let groups = read_groups(&csv, &by, &metric, &family)?;
    if groups.not_included > 0 {
        noteln!(
            "{} row(s) with included = false left out",
            groups.not_included
        );
    }
    if groups.outside_family > 0 {
        noteln!(
            "{} row(s) outside the Tukey family ({}) left out",
            groups.outside_family,
            family.describe()
        );
    }
    if groups.skipped > 0 {
        noteln!(
            "{} row(s) without a '{metric}' value left out",
            groups.skipped
        );
    }
    let t = tukey_table(&csv, &groups, alpha)?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&t)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    out!("{}", tukey_csv(&t))?;
    noteln!(
        "Tukey HSD: {} groups, {} values, df {}, MSE {}, q({}; {}, {}) = {}",
        t.groups,
        groups.values(),
        t.df,
        num(t.mse),
        1.0 - alpha,
        t.groups,
        t.df,
        t.q_crit
    );
    Ok(ExitCode::SUCCESS)
}
