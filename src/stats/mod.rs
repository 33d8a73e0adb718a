//! Statistics for comparing designs: Tukey's honestly significant difference test over groups of
//! per-slide values (e.g. Dice per design), as statsmodels' `pairwise_tukeyhsd` computes it, on
//! the studentized range distribution implemented in [`range`].

pub mod groups;
pub mod range;

use rayon::prelude::*;
use serde::Serialize;

/// Errors of the statistics.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// Fewer than two groups.
    #[error("Tukey's HSD needs at least two groups, got {0}")]
    TooFewGroups(usize),
    /// No degrees of freedom for the error variance.
    #[error(
        "Tukey's HSD needs more values than groups ({values} values in {groups} groups): no \
         degrees of freedom are left to estimate the variance"
    )]
    NoDegreesOfFreedom { values: usize, groups: usize },
    /// A value that is not a finite number.
    #[error("group '{group}': value {value} is not a finite number")]
    NotFinite { group: String, value: f64 },
    /// A group without values.
    #[error("group '{0}' has no values")]
    EmptyGroup(String),
    /// A significance level outside (0, 1).
    #[error("alpha must be within (0, 1), got {0}")]
    BadAlpha(f64),
}

/// The family of groups Tukey's HSD compares (the paper compares its deep-learning designs, not
/// the Otsu baseline).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Every group present.
    #[default]
    All,
    /// Only these groups (`--tukey-designs a,b,c`).
    Only(Vec<String>),
    /// Every group present but these (`--tukey-exclude otsu`).
    Exclude(Vec<String>),
}

/// Why a family cannot be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FamilyError {
    /// Both a list of groups and a list to leave out.
    #[error("--tukey-designs and --tukey-exclude cannot be used together: give one of them")]
    Both,
    /// A group named that no row has.
    #[error(
        "Tukey family: no design '{name}' in the table (designs present: {})",
        present.join(", ")
    )]
    Unknown {
        /// The name given.
        name: String,
        /// The groups present, sorted.
        present: Vec<String>,
    },
}

impl Family {
    /// The family of the two options (each a list, absent when not given).
    pub fn from_options(
        only: Option<Vec<String>>,
        exclude: Option<Vec<String>>,
    ) -> Result<Family, FamilyError> {
        match (only, exclude) {
            (Some(_), Some(_)) => Err(FamilyError::Both),
            (Some(o), None) => Ok(Family::Only(o)),
            (None, Some(e)) => Ok(Family::Exclude(e)),
            (None, None) => Ok(Family::All),
        }
    }

    /// The names it lists (none for [`Family::All`]).
    fn names(&self) -> &[String] {
        match self {
            Family::All => &[],
            Family::Only(v) | Family::Exclude(v) => v,
        }
    }

    /// Checks every name it lists is among `present`.
    pub fn check(&self, present: &[String]) -> Result<(), FamilyError> {
        for n in self.names() {
            if !present.contains(n) {
                let mut present = present.to_vec();
                present.sort();
                present.dedup();
                return Err(FamilyError::Unknown {
                    name: n.clone(),
                    present,
                });
            }
        }
        Ok(())
    }

    /// Whether `group` belongs to the family.
    pub fn contains(&self, group: &str) -> bool {
        match self {
            Family::All => true,
            Family::Only(v) => v.iter().any(|g| g == group),
            Family::Exclude(v) => !v.iter().any(|g| g == group),
        }
    }

    /// In words, for reports: `every design`, `a, b, c`, `every design but otsu`.
    pub fn describe(&self) -> String {
        match self {
            Family::All => "every design".into(),
            Family::Only(v) => v.join(", "),
            Family::Exclude(v) => format!("every design but {}", v.join(", ")),
        }
    }
}

/// One pair of groups compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TukeyPair {
    /// The first group (earlier in sorted order).
    pub group1: String,
    /// The second group.
    pub group2: String,
    /// mean(group2) − mean(group1).
    pub meandiff: f64,
    /// The family-wise adjusted p-value.
    pub p_adj: f64,
    /// Lower bound of the simultaneous confidence interval of `meandiff`.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
    /// Whether the difference is significant at alpha.
    pub reject: bool,
}

/// The whole test: its parameters and every pair.
#[derive(Debug, Clone, Serialize)]
pub struct Tukey {
    /// Significance level.
    pub alpha: f64,
    /// Number of groups.
    pub groups: usize,
    /// Error degrees of freedom (values − groups).
    pub df: f64,
    /// Pooled within-group variance (mean square error).
    pub mse: f64,
    /// The studentized range's upper alpha point for (groups, df).
    pub q_crit: f64,
    /// Pairs in statsmodels' order: groups sorted, (i, j) with i < j, row by row.
    pub pairs: Vec<TukeyPair>,
}

/// Tukey's HSD over `groups` (name, values), as statsmodels' `pairwise_tukeyhsd` (equal
/// variances; the Tukey–Kramer correction for unequal group sizes). Groups are sorted by name.
///
/// When every group is constant (MSE 0), a non-zero mean difference has p 0 and a zero-width
/// interval, a zero difference p 1 (statsmodels gives inf/nan there).
pub fn tukey_hsd(groups: &[(String, Vec<f64>)], alpha: f64) -> Result<Tukey, StatsError> {
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(StatsError::BadAlpha(alpha));
    }
    let mut g: Vec<&(String, Vec<f64>)> = groups.iter().collect();
    g.sort_by(|a, b| a.0.cmp(&b.0));
    if g.len() < 2 {
        return Err(StatsError::TooFewGroups(g.len()));
    }
    for (name, vals) in &g {
        if vals.is_empty() {
            return Err(StatsError::EmptyGroup(name.clone()));
        }
        if let Some(&v) = vals.iter().find(|v| !v.is_finite()) {
            return Err(StatsError::NotFinite {
                group: name.clone(),
                value: v,
            });
        }
    }
    let n: usize = g.iter().map(|x| x.1.len()).sum();
    let k = g.len();
    if n <= k {
        return Err(StatsError::NoDegreesOfFreedom {
            values: n,
            groups: k,
        });
    }
    let means: Vec<f64> = g
        .iter()
        .map(|x| x.1.iter().sum::<f64>() / x.1.len() as f64)
        .collect();
    // pooled variance of the values less their group means
    let demeaned: Vec<f64> = g
        .iter()
        .zip(&means)
        .flat_map(|(x, m)| x.1.iter().map(move |v| v - m))
        .collect();
    let dm = demeaned.iter().sum::<f64>() / n as f64;
    let df = (n - k) as f64;
    let mse = demeaned.iter().map(|d| (d - dm) * (d - dm)).sum::<f64>() / df;
    let q_crit = range::quantile(1.0 - alpha, k as f64, df);
    let idx: Vec<(usize, usize)> = (0..k)
        .flat_map(|i| (i + 1..k).map(move |j| (i, j)))
        .collect();
    let pairs: Vec<TukeyPair> = idx
        .par_iter()
        .map(|&(i, j)| {
            let (ni, nj) = (g[i].1.len() as f64, g[j].1.len() as f64);
            let se = (mse * 0.5 * (1.0 / ni + 1.0 / nj)).sqrt();
            let meandiff = means[j] - means[i];
            let (p_adj, half) = if se > 0.0 {
                (
                    range::sf(meandiff.abs() / se, k as f64, df).clamp(0.0, 1.0),
                    se * q_crit,
                )
            } else {
                (if meandiff == 0.0 { 1.0 } else { 0.0 }, 0.0)
            };
            let reject = if se > 0.0 {
                meandiff.abs() / se > q_crit
            } else {
                meandiff != 0.0
            };
            TukeyPair {
                group1: g[i].0.clone(),
                group2: g[j].0.clone(),
                meandiff,
                p_adj,
                lower: meandiff - half,
                upper: meandiff + half,
                reject,
            }
        })
        .collect();
    Ok(Tukey {
        alpha,
        groups: k,
        df,
        mse,
        q_crit,
        pairs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(v: &[(&str, &[f64])]) -> Vec<(String, Vec<f64>)> {
        v.iter().map(|(n, x)| (n.to_string(), x.to_vec())).collect()
    }

    #[test]
    fn two_groups_equal_a_pooled_t_test() {
        // with two groups q = √2 · |t|, so p equals the two-sided pooled t-test's p
        let g = groups(&[("a", &[1.0, 2.0, 3.0, 4.0]), ("b", &[3.0, 4.0, 5.0, 6.5])]);
        let t = tukey_hsd(&g, 0.05).unwrap();
        assert_eq!((t.groups, t.df), (2, 6.0));
        let p = &t.pairs[0];
        assert_eq!((p.group1.as_str(), p.group2.as_str()), ("a", "b"));
        assert!((p.meandiff - 2.125).abs() < 1e-15);
        // the two-sided pooled t-test's p for these values (scipy.stats.ttest_ind)
        assert!((p.p_adj - 0.07477303785978431).abs() < 1e-12, "{}", p.p_adj);
        assert!(p.lower < p.meandiff && p.meandiff < p.upper);
        assert_eq!(p.reject, p.p_adj < 0.05);
    }

    #[test]
    fn pairs_come_sorted_and_signed_as_statsmodels() {
        let g = groups(&[
            ("z", &[0.9, 0.91, 0.92]),
            ("a", &[0.5, 0.52, 0.49]),
            ("m", &[0.7, 0.69, 0.72, 0.71]),
        ]);
        let t = tukey_hsd(&g, 0.05).unwrap();
        let names: Vec<(&str, &str)> = t
            .pairs
            .iter()
            .map(|p| (p.group1.as_str(), p.group2.as_str()))
            .collect();
        assert_eq!(names, vec![("a", "m"), ("a", "z"), ("m", "z")]);
        assert!(t.pairs.iter().all(|p| p.meandiff > 0.0 && p.reject));
    }

    #[test]
    fn bad_inputs_are_specific_errors() {
        assert!(matches!(
            tukey_hsd(&groups(&[("a", &[1.0, 2.0])]), 0.05),
            Err(StatsError::TooFewGroups(1))
        ));
        assert!(matches!(
            tukey_hsd(&groups(&[("a", &[1.0]), ("b", &[2.0])]), 0.05),
            Err(StatsError::NoDegreesOfFreedom { .. })
        ));
        assert!(matches!(
            tukey_hsd(
                &groups(&[("a", &[1.0, f64::NAN]), ("b", &[2.0, 3.0])]),
                0.05
            ),
            Err(StatsError::NotFinite { .. })
        ));
        assert!(matches!(
            tukey_hsd(&groups(&[("a", &[1.0, 2.0]), ("b", &[2.0, 3.0])]), 1.5),
            Err(StatsError::BadAlpha(_))
        ));
        // the family: options, unknown names, membership
        assert_eq!(
            Family::from_options(Some(vec!["a".into()]), Some(vec!["b".into()])),
            Err(FamilyError::Both)
        );
        let f = Family::from_options(None, Some(vec!["otsu".into()])).unwrap();
        assert!(f.contains("h2g") && !f.contains("otsu"));
        let present = vec!["pw".to_string(), "h2g".to_string()];
        assert_eq!(
            f.check(&present).unwrap_err().to_string(),
            "Tukey family: no design 'otsu' in the table (designs present: h2g, pw)"
        );
        assert!(Family::Only(vec!["pw".into()]).check(&present).is_ok());
        // constant groups: no error, a definite answer
        let t = tukey_hsd(&groups(&[("a", &[1.0, 1.0]), ("b", &[2.0, 2.0])]), 0.05).unwrap();
        assert_eq!((t.pairs[0].p_adj, t.pairs[0].reject), (0.0, true));
    }
}
