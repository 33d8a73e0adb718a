//! Tukey's HSD on a long-form CSV (one row per slide and group, e.g. design), as `h2g stats
//! tukey` reads it, and the test written back as CSV the way statsmodels' table reads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{tukey_hsd, Family, FamilyError, StatsError, Tukey};

/// Why the table could not be read, or the test not run on it.
#[derive(Debug, thiserror::Error)]
pub enum GroupsError {
    /// The table, a column or a line (see [`crate::table::TableError`]).
    #[error(transparent)]
    Table(#[from] crate::table::TableError),
    /// A row without a group.
    #[error("{}: line {line}: empty '{by}'", path.display())]
    EmptyGroup {
        /// The CSV.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The group column.
        by: String,
    },
    /// A value that is not a number.
    #[error("{}: line {line}: '{metric}' is '{raw}', not a number", path.display())]
    NotNumber {
        /// The CSV.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The value column.
        metric: String,
        /// The text found.
        raw: String,
    },
    /// A value that is infinite or NaN.
    #[error("{}: line {line}: '{metric}' is {raw}; every value must be finite", path.display())]
    NotFinite {
        /// The CSV.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The value column.
        metric: String,
        /// The text found.
        raw: String,
    },
    /// An `included` cell that is neither true/1 nor false/0.
    #[error("{}: line {line}: 'included' is '{raw}'; it must be true, false, 1 or 0", path.display())]
    NotIncluded {
        /// The CSV.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The text found.
        raw: String,
    },
    /// The Tukey family names a group the table does not have.
    #[error("{}: {source}", path.display())]
    Family {
        /// The CSV.
        path: PathBuf,
        /// Which name.
        #[source]
        source: FamilyError,
    },
    /// The test cannot run on the groups found.
    #[error("{}", path.display())]
    Test {
        /// The CSV.
        path: PathBuf,
        /// Why.
        #[source]
        source: StatsError,
    },
}

/// The values of a table by group.
#[derive(Debug, Clone, PartialEq)]
pub struct Groups {
    /// Each group's values, groups sorted by name, values in row order.
    pub groups: Vec<(String, Vec<f64>)>,
    /// Rows left out because their value is empty (an undefined metric).
    pub skipped: usize,
    /// Rows left out because the table's `included` column says false/0.
    pub not_included: usize,
    /// Rows left out because their group is not in the Tukey family.
    pub outside_family: usize,
    /// Whether the table has an `included` column.
    pub has_included: bool,
}

impl Groups {
    /// All values, of every group.
    pub fn values(&self) -> usize {
        self.groups.iter().map(|g| g.1.len()).sum()
    }
}

/// Reads the `metric` column of `path` grouped by its `by` column, every group in the family;
/// rows with an empty value are counted and left out, any other value must be a finite number.
/// When the table has an `included` column (as `evaluate`'s `per_slide.csv`), only rows with
/// `true` or `1` there count; the others are counted in [`Groups::not_included`].
pub fn read_groups(
    path: &Path,
    by: &str,
    metric: &str,
    family: &Family,
) -> Result<Groups, GroupsError> {
    let p = || path.to_path_buf();
    let mut t = crate::table::Table::open(path, "table")?;
    let (gi, vi) = (t.require(by, None)?, t.require(metric, None)?);
    let ii = t.column("included");
    let mut groups: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut present: Vec<String> = Vec::new();
    let (mut skipped, mut not_included, mut outside_family) = (0usize, 0usize, 0usize);
    while let Some(row) = t.next_row() {
        let row = row?;
        let line = row.line();
        let g = row.get(Some(gi));
        let raw = row.get(Some(vi));
        if g.is_empty() {
            let by = by.to_string();
            return Err(GroupsError::EmptyGroup {
                path: p(),
                line,
                by,
            });
        }
        if !present.iter().any(|x| x == g) {
            present.push(g.to_string());
        }
        if ii.is_some() {
            let inc = row.get(ii);
            match inc.to_ascii_lowercase().as_str() {
                "true" | "1" => {}
                "false" | "0" => {
                    not_included += 1;
                    continue;
                }
                _ => {
                    return Err(GroupsError::NotIncluded {
                        path: p(),
                        line,
                        raw: inc.to_string(),
                    })
                }
            }
        }
        if !family.contains(g) {
            outside_family += 1;
            continue;
        }
        if raw.is_empty() {
            // a missing value (e.g. an undefined metric in evaluate's per_slide.csv)
            skipped += 1;
            continue;
        }
        let (metric, raw) = (metric.to_string(), raw.to_string());
        let v: f64 = raw.parse().map_err(|_| GroupsError::NotNumber {
            path: p(),
            line,
            metric: metric.clone(),
            raw: raw.clone(),
        })?;
        if !v.is_finite() {
            return Err(GroupsError::NotFinite {
                path: p(),
                line,
                metric,
                raw,
            });
        }
        groups.entry(g.to_string()).or_default().push(v);
    }
    family
        .check(&present)
        .map_err(|source| GroupsError::Family { path: p(), source })?;
    Ok(Groups {
        groups: groups.into_iter().collect(),
        skipped,
        not_included,
        outside_family,
        has_included: ii.is_some(),
    })
}

/// Tukey's HSD at `alpha` between the groups of [`read_groups`].
pub fn tukey_table(path: &Path, groups: &Groups, alpha: f64) -> Result<Tukey, GroupsError> {
    tukey_hsd(&groups.groups, alpha).map_err(|source| GroupsError::Test {
        path: path.to_path_buf(),
        source,
    })
}

/// A float as it round-trips: plain notation, exponent notation when very small or large.
///
/// ```
/// assert_eq!(h2g::stats::groups::num(0.25), "0.25");
/// assert_eq!(h2g::stats::groups::num(1.5e-7), "1.5e-7");
/// ```
pub fn num(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-4 || v.abs() >= 1e16) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// The test as CSV: a header `group1,group2,meandiff,p-adj,lower,upper,reject` and a line per
/// pair (`True`/`False` as statsmodels prints them), each line ending in a newline.
pub fn tukey_csv(t: &Tukey) -> String {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = String::from("group1,group2,meandiff,p-adj,lower,upper,reject\n");
    for p in &t.pairs {
        out.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            quote(&p.group1),
            quote(&p.group2),
            num(p.meandiff),
            num(p.p_adj),
            num(p.lower),
            num(p.upper),
            if p.reject { "True" } else { "False" }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_sorted_and_empty_values_counted() {
        let dir = std::env::temp_dir().join(format!("h2g-stats-groups-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.csv");
        std::fs::write(
            &path,
            "slide,design,dice\na,pw,0.5\na,h2g,0.75\nb,pw,\nb,h2g,1\n",
        )
        .unwrap();
        let g = read_groups(&path, "design", "dice", &Family::All).unwrap();
        assert_eq!(
            g.groups,
            vec![
                ("h2g".to_string(), vec![0.75, 1.0]),
                ("pw".to_string(), vec![0.5])
            ]
        );
        assert_eq!((g.skipped, g.values()), (1, 3));
        let e = read_groups(&path, "model", "dice", &Family::All).unwrap_err();
        assert!(
            matches!(&e, GroupsError::Table(crate::table::TableError::MissingColumn { column, .. }) if column == "model"),
            "{e}"
        );
        std::fs::write(&path, "design,dice\npw,inf\n").unwrap();
        let e = read_groups(&path, "design", "dice", &Family::All).unwrap_err();
        assert!(matches!(e, GroupsError::NotFinite { line: 2, .. }), "{e}");
        // an included column: false/0 rows are left out and counted, other text is an error
        std::fs::write(
            &path,
            "design,dice,included\npw,0.5,true\npw,0.1,false\nh2g,0.75,1\nh2g,0.2,0\notsu,0.3,TRUE\n",
        )
        .unwrap();
        let g = read_groups(&path, "design", "dice", &Family::All).unwrap();
        assert_eq!((g.not_included, g.values(), g.has_included), (2, 3, true));
        let only = Family::Exclude(vec!["otsu".into()]);
        let g = read_groups(&path, "design", "dice", &only).unwrap();
        assert_eq!((g.groups.len(), g.outside_family, g.values()), (2, 1, 2));
        std::fs::write(&path, "design,dice,included\npw,0.5,yes\n").unwrap();
        let e = read_groups(&path, "design", "dice", &Family::All).unwrap_err();
        assert!(matches!(e, GroupsError::NotIncluded { line: 2, .. }), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn group_names_with_commas_are_quoted_in_the_csv() {
        let t = Tukey {
            alpha: 0.05,
            groups: 2,
            df: 2.0,
            mse: 0.0,
            q_crit: 1.0,
            pairs: vec![super::super::TukeyPair {
                group1: "a,b".into(),
                group2: "c\"d".into(),
                meandiff: 0.5,
                p_adj: 1e-9,
                lower: 0.25,
                upper: 0.75,
                reject: true,
            }],
        };
        assert_eq!(
            tukey_csv(&t),
            "group1,group2,meandiff,p-adj,lower,upper,reject\n\"a,b\",\"c\"\"d\",0.5,1e-9,0.25,0.75,True\n"
        );
    }
}
