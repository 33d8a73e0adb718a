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

#[test]
fn an_included_column_and_the_tukey_family_choose_the_rows() {
    // the values of two_designs_give_the_pooled_t_test_p_value, plus rows with included false
    // (which would change every number) and a third design that only the family leaves out
    let f = csv(
        "design,slide,dice,included\nA,s1,1,true\nA,s2,2,true\nA,s3,3,1\nA,s4,4,true\n\
         A,s5,100,false\nB,s1,3,true\nB,s2,4,true\nB,s3,5,true\nB,s4,6.5,true\nB,s5,,0\n\
         otsu,s1,0.1,true\notsu,s2,0.2,true\n",
    );
    for family in [["--tukey-exclude", "otsu"], ["--tukey-designs", "B,A"]] {
        let o = Command::cargo_bin("h2g")
            .unwrap()
            .args(["stats", "tukey"])
            .arg(f.path())
            .args(family)
            .output()
            .unwrap();
        assert!(o.status.success());
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr.contains("2 row(s) with included = false left out"),
            "{stderr}"
        );
        assert!(
            stderr.contains("2 row(s) outside the Tukey family"),
            "{stderr}"
        );
        let text = String::from_utf8(o.stdout).unwrap();
        let rows: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(rows.len(), 1, "{text}");
        let row: Vec<&str> = rows[0].split(',').collect();
        assert_eq!(&row[..2], &["A", "B"]);
        assert_eq!(row[2].parse::<f64>().unwrap(), 2.125);
        // scipy.stats.ttest_ind on the included values of A and B
        assert!((row[3].parse::<f64>().unwrap() - 0.07477303785978431).abs() < 1e-12);
    }
    // unknown names and both options are refused
    Command::cargo_bin("h2g")
        .unwrap()
        .args(["stats", "tukey", "--tukey-exclude", "pw"])
        .arg(f.path())
        .assert()
        .failure()
        .stderr(contains(
            "Tukey family: no design 'pw' in the table (designs present: A, B, otsu)",
        ));
    Command::cargo_bin("h2g")
        .unwrap()
        .args([
            "stats",
            "tukey",
            "--tukey-exclude",
            "otsu",
            "--tukey-designs",
            "A,B",
        ])
        .arg(f.path())
        .assert()
        .failure()
        .stderr(contains("cannot be used with"));
    let bad = csv("design,dice,included\nA,0.5,maybe\n");
    Command::cargo_bin("h2g")
        .unwrap()
        .args(["stats", "tukey"])
        .arg(bad.path())
        .assert()
        .failure()
        .stderr(contains(
            "line 2: 'included' is 'maybe'; it must be true, false, 1 or 0",
        ));
}
