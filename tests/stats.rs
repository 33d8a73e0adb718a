//! `h2g stats tukey` through the binary: a hand-checkable case and the specific errors.

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

fn csv(body: &str) -> tempfile::NamedTempFile {
    let f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    std::fs::write(f.path(), body).unwrap();
    f
}

#[test]
fn two_designs_give_the_pooled_t_test_p_value() {
    // with two groups Tukey's HSD is the pooled two-sample t-test: scipy.stats.ttest_ind on
    // these values gives p = 0.07477303785978431
    let f = csv(
        "design,slide,dice\nA,s1,1\nA,s2,2\nA,s3,3\nA,s4,4\nB,s1,3\nB,s2,4\nB,s3,5\nB,s4,6.5\n",
    );
    let out = Command::cargo_bin("h2g")
        .unwrap()
        .args(["stats", "tukey"])
        .arg(f.path())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("group1,group2,meandiff,p-adj,lower,upper,reject")
    );
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&row[..2], &["A", "B"]);
    assert_eq!(row[2].parse::<f64>().unwrap(), 2.125);
    assert!((row[3].parse::<f64>().unwrap() - 0.07477303785978431).abs() < 1e-12);
    assert_eq!(row[6], "False");
    assert!(lines.next().is_none());
}

#[test]
fn other_columns_and_json() {
    let f = csv("model,case,score\nx,1,0.5\nx,2,0.6\ny,1,0.9\ny,2,0.95\nz,1,0.7\nz,2,0.72\n");
    Command::cargo_bin("h2g")
        .unwrap()
        .args([
            "stats", "tukey", "--by", "model", "--metric", "score", "--json",
        ])
        .arg(f.path())
        .assert()
        .success()
        .stdout(contains("\"q_crit\"").and(contains("\"group1\": \"x\"")));
}

#[test]
fn bad_tables_are_specific_errors() {
    let cases = [
        (
            "design,slide,dice\nA,1,0.5\nB,1,0.6\n",
            "no degrees of freedom",
        ),
        (
            "design,slide,dice\nA,1,0.5\nA,2,0.6\n",
            "at least two groups",
        ),
        (
            "design,slide,dice\nA,1,0.5\nB,1,high\n",
            "line 3: 'dice' is 'high', not a number",
        ),
        (
            "design,slide,dice\nA,1,0.5\nB,1,NaN\n",
            "every value must be finite",
        ),
        // empty cells are missing values: left out, which leaves one value per group here
        (
            "design,slide,dice\nA,1,0.5\nA,2,\nB,1,0.6\n",
            "no degrees of freedom",
        ),
        (
            "design,slide,precision\nA,1,0.5\n",
            "no column 'dice' (columns: design, slide, precision)",
        ),
    ];
    for (body, message) in cases {
        let f = csv(body);
        Command::cargo_bin("h2g")
            .unwrap()
            .args(["stats", "tukey"])
            .arg(f.path())
            .assert()
            .failure()
            .stderr(contains(message));
    }
    Command::cargo_bin("h2g")
        .unwrap()
        .args(["stats", "tukey", "no-such.csv"])
        .assert()
        .failure()
        .stderr(contains("no-such.csv: cannot open"));
}
