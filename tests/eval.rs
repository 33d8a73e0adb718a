//! Comparisons of truth and prediction at a common resolution: masks at their downsamples,
//! QuPath GeoJSON filled with QuPath's pixel rule, and the specific errors.

mod common;

use h2g::eval::{compare, CompareError, Input};
use std::path::Path;

fn rect_mask(path: &Path, w: u32, h: u32, (x0, y0, x1, y1): (u32, u32, u32, u32), v: u8) {
    let mut m = vec![0u8; (w * h) as usize];
    for y in y0..y1 {
        for x in x0..x1 {
            m[(y * w + x) as usize] = v;
        }
    }
    common::write_gray8(path, w, h, &m);
}

fn mask(path: &Path, ds: f64) -> Input {
    Input::Mask {
        path: path.into(),
        downsample: Some(ds),
        threshold: 0.0,
    }
}

#[test]
fn geojson_truth_against_a_mask_prediction_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    // level 0 is 100 × 80; the grid at downsample 4 is 25 × 20
    let truth = dir.path().join("truth.geojson");
    std::fs::write(
        &truth,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"objectType":"annotation","classification":{"name":"Tumor"}},"geometry":{"type":"Polygon","coordinates":[[[8,8],[40,8],[40,40],[8,40],[8,8]]]}}]}"#,
    )
    .unwrap();
    // truth covers mask pixels x 2..10, y 2..10 (64); the prediction x 4..12, y 2..10 (64)
    let pred = dir.path().join("pred.png");
    rect_mask(&pred, 25, 20, (4, 2, 12, 10), 255);
    let c = compare(
        &Input::from_path(&truth, None, 0.0),
        &mask(&pred, 4.0),
        Some((100, 80)),
        None,
    )
    .unwrap();
    assert_eq!((c.downsample, c.size), (4.0, (25, 20)));
    let k = c.confusion;
    assert_eq!((k.tp, k.fp, k.fn_, k.tn), (48, 16, 16, 500 - 80));
    assert_eq!(k.dice(), Some(0.75));
    // swapping the roles swaps precision and recall, keeps Dice
    let s = compare(
        &mask(&pred, 4.0),
        &Input::from_path(&truth, None, 0.0),
        Some((100, 80)),
        None,
    )
    .unwrap()
    .confusion;
    assert_eq!(
        (s.precision(), s.recall(), s.dice()),
        (k.recall(), k.precision(), k.dice())
    );
}

#[test]
fn a_finer_mask_is_brought_to_the_coarser_grid_by_block_majority() {
    let dir = tempfile::tempdir().unwrap();
    // truth at downsample 1 (40 × 20): x 0..10 positive; prediction at downsample 2 (20 × 10):
    // x 0..6 positive. On the downsample-2 grid the truth is x 0..5: TP 5 × 10, FP 1 × 10
    let truth = dir.path().join("t.png");
    rect_mask(&truth, 40, 20, (0, 0, 10, 20), 1);
    let pred = dir.path().join("p.png");
    rect_mask(&pred, 20, 10, (0, 0, 6, 10), 1);
    let c = compare(&mask(&truth, 1.0), &mask(&pred, 2.0), None, None).unwrap();
    assert_eq!((c.downsample, c.size), (2.0, (20, 10)));
    assert_eq!(
        (c.confusion.tp, c.confusion.fp, c.confusion.fn_),
        (50, 10, 0)
    );
    // a mask against itself is Dice 1, at any whole multiple of its downsample
    for d in [1.0, 2.0, 5.0] {
        let c = compare(&mask(&truth, 1.0), &mask(&truth, 1.0), None, Some(d)).unwrap();
        assert_eq!(c.confusion.dice(), Some(1.0), "downsample {d}");
    }
    // 0–255 probability masks: --threshold 127
    let prob = dir.path().join("prob.png");
    rect_mask(&prob, 20, 10, (0, 0, 6, 10), 100);
    let low = Input::Mask {
        path: prob.clone(),
        downsample: Some(2.0),
        threshold: 127.0,
    };
    let c = compare(&mask(&truth, 1.0), &low, None, None).unwrap();
    assert_eq!(c.confusion.predicted(), 0);
}

#[test]
fn mismatches_are_specific_errors() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.png");
    rect_mask(&a, 25, 20, (0, 0, 5, 5), 1);
    let b = dir.path().join("b.png");
    rect_mask(&b, 30, 20, (0, 0, 5, 5), 1);
    let msg = |e: CompareError| e.to_string();
    // same downsample, different sizes
    let e = msg(compare(&mask(&a, 4.0), &mask(&b, 4.0), None, None).unwrap_err());
    assert!(e.contains("do not cover the same slide"), "{e}");
    // a prediction coarser than the grid asked for
    let e = msg(compare(&mask(&a, 4.0), &mask(&b, 8.0), None, Some(4.0)).unwrap_err());
    assert!(e.contains("coarser than the comparison grid"), "{e}");
    // not a whole multiple
    let e = msg(compare(&mask(&a, 4.0), &mask(&a, 4.0), None, Some(6.0)).unwrap_err());
    assert!(e.contains("not a whole multiple"), "{e}");
    // no downsample and no slide size
    let none = Input::Mask {
        path: a.clone(),
        downsample: None,
        threshold: 0.0,
    };
    let e = msg(compare(&none, &mask(&a, 4.0), None, None).unwrap_err());
    assert!(e.contains("downsample is unknown"), "{e}");
    // inferred from the slide size
    let c = compare(&none, &mask(&a, 4.0), Some((100, 80)), None).unwrap();
    assert_eq!(c.confusion.dice(), Some(1.0));
    // a missing file
    let e = msg(compare(
        &mask(&dir.path().join("nope.png"), 4.0),
        &mask(&a, 4.0),
        None,
        None,
    )
    .unwrap_err());
    assert!(e.contains("nope.png"), "{e}");
}

#[test]
fn camelyon16_annotation_against_a_shifted_copy_of_itself() {
    use h2g::vector::read_annotations;
    let Some(path) = common::shared("annotations/derived/camelyon16_tumor_085.qupath.geojson")
    else {
        return;
    };
    let ann = read_annotations(&path).unwrap();
    // a copy moved by 5 and 3 grid pixels at downsample 32 (160 and 96 level-0 pixels)
    let (d, sx, sy) = (32.0, 5usize, 3usize);
    let features: Vec<serde_json::Value> = ann
        .items
        .iter()
        .flat_map(|it| it.polygons.iter())
        .map(|p| {
            let rings: Vec<Vec<[f64; 2]>> = p
                .iter()
                .map(|r| {
                    let mut v: Vec<[f64; 2]> = r
                        .iter()
                        .map(|&(x, y)| [x + sx as f64 * d, y + sy as f64 * d])
                        .collect();
                    v.push(v[0]);
                    v
                })
                .collect();
            serde_json::json!({"type": "Feature", "properties": {"objectType": "annotation"},
                               "geometry": {"type": "Polygon", "coordinates": rings}})
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let moved = dir.path().join("moved.geojson");
    std::fs::write(
        &moved,
        serde_json::to_string(
            &serde_json::json!({"type": "FeatureCollection", "features": features}),
        )
        .unwrap(),
    )
    .unwrap();
    // the expected overlap, counted on Java2D's rasterization of the original (the JDK oracle,
    // drawing each polygon as QuPath's label export does: even-odd over its rings, self-crossing
    // rings cut at their crossings on QuPath's 0.01 grid)
    let Some(java) = common::java2d::java() else {
        return common::skip("java on PATH or JAVA_HOME (the Java2D oracle needs a JDK 17+)");
    };
    let (w, h) = (3000usize, 3000usize);
    let mut input = format!("size {w} {h} {d}\n");
    for p in ann.items.iter().flat_map(|it| it.polygons.iter()) {
        let rings: Vec<Vec<(f64, f64)>> = p
            .iter()
            .map(|r| common::java2d::cut_at_crossings(r))
            .collect();
        input.push_str(&common::java2d::path_line(1, "evenodd", &rings));
        input.push('\n');
    }
    input.push_str("end\n");
    let m = common::java2d::oracle(&java, &input).remove(0);
    let area = m.iter().filter(|&&v| v != 0).count() as u64;
    let mut overlap = 0u64;
    for y in sy..h {
        for x in sx..w {
            overlap += (m[y * w + x] != 0 && m[(y - sy) * w + (x - sx)] != 0) as u64;
        }
    }
    assert!(area > 1000 && overlap > 0 && overlap < area);
    let c = compare(
        &Input::from_path(&path, None, 0.0),
        &Input::from_path(&moved, None, 0.0),
        Some((96_000, 96_000)),
        Some(d),
    )
    .unwrap()
    .confusion;
    assert_eq!((c.truth(), c.predicted(), c.tp), (area, area, overlap));
    assert_eq!(c.dice(), Some(overlap as f64 / area as f64));
}

/// The small cohort of the evaluation tests, in `dir`: three slides with 20 × 10 truth masks at
/// downsample 4 and a fourth with an empty truth; designs a and b; one missing prediction.
fn small_cohort(dir: &Path) -> std::path::PathBuf {
    let p = |n: &str| dir.join(n);
    // three slides, 20 × 10 masks at downsample 4 (level 0: 80 × 40); truth x 0..10
    for s in ["s1", "s2", "s3"] {
        rect_mask(&p(&format!("{s}_truth.png")), 20, 10, (0, 0, 10, 10), 1);
    }
    rect_mask(&p("empty_truth.png"), 20, 10, (0, 0, 0, 0), 1);
    // design a: x 0..10 (Dice 1), x 0..5 (2/3), x 5..15 (1/2); design b: x 0..8 (8/9) twice
    rect_mask(&p("a1.png"), 20, 10, (0, 0, 10, 10), 1);
    rect_mask(&p("a2.png"), 20, 10, (0, 0, 5, 10), 1);
    rect_mask(&p("a3.png"), 20, 10, (5, 0, 15, 10), 1);
    rect_mask(&p("b.png"), 20, 10, (0, 0, 8, 10), 1);
    std::fs::write(
        p("cohort.csv"),
        "slide,design,truth,prediction,truth_downsample,prediction_downsample,grade,mpp\n\
         s1,a,s1_truth.png,a1.png,4,4,1,0.25\n\
         s2,a,s2_truth.png,a2.png,4,4,1,0.25\n\
         s3,a,s3_truth.png,a3.png,4,4,3,0.25\n\
         s1,b,s1_truth.png,b.png,4,4,1,0.25\n\
         s2,b,s2_truth.png,b.png,4,4,1,0.25\n\
         s4,a,empty_truth.png,a1.png,4,4,2,0.25\n\
         s4,b,empty_truth.png,gone.png,4,4,2,0.25\n",
    )
    .unwrap();
    p("cohort.csv")
}

#[test]
fn cli_evaluate_a_small_cohort_with_its_problems_reported() {
    use assert_cmd::Command;
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    small_cohort(dir.path());
    let out = p("out");
    Command::cargo_bin("h2g")
        .unwrap()
        .args(["evaluate", "--cohort"])
        .arg(p("cohort.csv"))
        .arg("-o")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("gone.png: No such file"));
    let table = std::fs::read_to_string(out.join("per_slide.csv")).unwrap();
    assert!(
        table.contains("s2,a,1,,4,50,0,50,100,0.6666666666666666,1,0.5,"),
        "{table}"
    );
    // areas in µm²: 100 truth pixels of (0.25 · 4)² µm²
    assert!(
        table.contains("s1,a,1,,4,100,0,0,100,1,1,1,100,100,100,true,ok"),
        "{table}"
    );
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let a = &s["designs"]["a"];
    assert_eq!(
        (a["rows"].as_u64(), a["included"].as_u64()),
        (Some(4), Some(3))
    );
    let mean = (1.0 + 2.0 / 3.0 + 0.5) / 3.0;
    assert!((a["overall"]["dice"]["mean"].as_f64().unwrap() - mean).abs() < 1e-12);
    let pop_std = (((1.0f64 - mean).powi(2) + (2.0 / 3.0 - mean).powi(2) + (0.5 - mean).powi(2))
        / 3.0)
        .sqrt();
    assert!((a["overall"]["dice"]["std"].as_f64().unwrap() - pop_std).abs() < 1e-12);
    assert_eq!(a["by_grade"]["1"]["dice"]["n"].as_u64(), Some(2));
    assert_eq!(s["excluded_empty_truth"][0].as_str(), Some("s4 / a"));
    assert!(s["errors"][0].as_str().unwrap().contains("s4 / b"));
    assert!(s["warnings"][0]
        .as_str()
        .unwrap()
        .contains("design b has no row for 1 slide(s): s3"));
    assert_eq!(s["tukey"]["pairs"][0]["group1"].as_str(), Some("a"));
    assert_eq!(s["tukey_metric"].as_str(), Some("dice"));
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("| a | 3 | 0.722 ± 0.208 |"), "{md}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    // one outline thumbnail per compared row (6: every row but the missing file), worst first
    assert_eq!(html.matches("class=\"thumb\"").count(), 6);
    let worst = html.find("s3 / a: Dice 0.5000").unwrap();
    assert!(worst < html.find("s2 / a: Dice 0.6667").unwrap());
}

#[test]
fn cli_evaluate_counts_empty_truths_and_compares_another_metric_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let cohort = small_cohort(dir.path());
    let out = dir.path().join("out");
    assert_cmd::Command::cargo_bin("h2g")
        .unwrap()
        .args(["evaluate", "--cohort"])
        .arg(&cohort)
        .arg("-o")
        .arg(&out)
        .args(["--include-empty-truth", "--tukey-metric", "precision"])
        .assert()
        .code(1);
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    // s4 / a (empty truth, 100 predicted pixels) now counts: Dice 0, precision 0
    let a = &s["designs"]["a"];
    assert_eq!(
        (a["rows"].as_u64(), a["included"].as_u64()),
        (Some(4), Some(4))
    );
    let dice = (1.0 + 2.0 / 3.0 + 0.5 + 0.0) / 4.0;
    assert!((a["overall"]["dice"]["mean"].as_f64().unwrap() - dice).abs() < 1e-12);
    assert_eq!(s["excluded_empty_truth"].as_array().map(Vec::len), Some(0));
    // Tukey on precision: a = 1, 1, 0.5, 0 (mean 0.625), b = 1, 1 (b predicts x 0..8 of 0..10)
    assert_eq!(s["tukey_metric"].as_str(), Some("precision"));
    let d = s["tukey"]["pairs"][0]["meandiff"].as_f64().unwrap();
    assert!((d.abs() - 0.375).abs() < 1e-12, "{}", s["tukey"]);
    let table = std::fs::read_to_string(out.join("per_slide.csv")).unwrap();
    let s4a = table.lines().find(|l| l.starts_with("s4,a,")).unwrap();
    assert!(s4a.contains(",true,"), "{s4a}");
}

#[test]
fn a_slide_image_that_cannot_be_read_is_a_warning_not_a_silent_grey() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let mut m = vec![0u8; 40 * 30];
    m[300..500].iter_mut().for_each(|v| *v = 1);
    common::write_gray8(&p("t.png"), 40, 30, &m);
    std::fs::write(p("not-a-slide.svs"), "text").unwrap();
    std::fs::write(
        p("cohort.csv"),
        "slide,design,truth,prediction,truth_downsample,prediction_downsample,image\n\
         s1,a,t.png,t.png,4,4,not-a-slide.svs\n\
         s1,b,t.png,t.png,4,4,not-a-slide.svs\n",
    )
    .unwrap();
    let out = p("out");
    let o = assert_cmd::Command::cargo_bin("h2g")
        .unwrap()
        .args(["evaluate", "--cohort"])
        .arg(p("cohort.csv"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let w: Vec<&str> = s["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    // once for the slide (though two designs were drawn on it), naming why
    let w: Vec<&str> = w.into_iter().filter(|x| !x.starts_with("Tukey")).collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("s1: its image cannot be read for the thumbnail (")
            && w[0].contains("not-a-slide.svs")
            && w[0].ends_with("): outlines on grey"),
        "{w:?}"
    );
}

/// The small cohort with a `split` column (s1–s3 `test`, s4 `train`) and a design `c_1` whose
/// prediction on s1 is empty (precision undefined) and equal to the truth on s2.
fn split_cohort(dir: &Path) -> std::path::PathBuf {
    let cohort = small_cohort(dir);
    let text = std::fs::read_to_string(&cohort).unwrap();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let split = match i {
            0 => "split",
            _ if line.starts_with("s4,") => "train",
            _ => "test",
        };
        out += &format!("{line},{split}\n");
    }
    out += "s1,c_1,s1_truth.png,empty_truth.png,4,4,1,0.25,test\n";
    out += "s2,c_1,s2_truth.png,a1.png,4,4,1,0.25,test\n";
    let path = dir.join("split.csv");
    std::fs::write(&path, out).unwrap();
    path
}

fn evaluate(args: &[&str], cohort: &Path, out: &Path) -> std::process::Output {
    assert_cmd::Command::cargo_bin("h2g")
        .unwrap()
        .args(["evaluate", "--cohort"])
        .arg(cohort)
        .arg("-o")
        .arg(out)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_papers_tables_by_hand_for_a_split_and_a_tukey_family() {
    let dir = tempfile::tempdir().unwrap();
    let cohort = split_cohort(dir.path());
    let out = dir.path().join("out");
    let o = evaluate(
        &["--split", "test", "--tukey-exclude", "c_1"],
        &cohort,
        &out,
    );
    // the train rows (s4: an empty truth and a missing file) are not evaluated: no error
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let read = |n: &str| std::fs::read_to_string(out.join(n)).unwrap();
    // by hand: a = Dice 1, 2/3, 1/2 (precision 1, 1, 1/2; recall 1, 1/2, 1/2); b = 8/9 twice
    // (precision 1, recall 0.8); c_1 = Dice 0, 1 (precision undefined on s1, 1 on s2; recall
    // 0, 1). Population std of (1, 2/3, 1/2) = 0.2079, of (1, 1, 1/2) and (1, 1/2, 1/2) = 0.2357.
    assert_eq!(
        read("table1.md"),
        "**Table 1.** Recall, precision and Dice per design (mean ± population standard deviation \
         over slides; split test; n where it differs from the slides)\n\n\
         | design | slides | recall | precision | Dice |\n\
         |---|---:|---:|---:|---:|\n\
         | a | 3 | 0.667 ± 0.236 | 0.833 ± 0.236 | 0.722 ± 0.208 |\n\
         | b | 2 | 0.800 ± 0.000 | 1.000 ± 0.000 | 0.889 ± 0.000 |\n\
         | c_1 | 2 | 0.500 ± 0.500 | 1.000 ± 0.000 (n = 1) | 0.500 ± 0.500 |\n"
    );
    assert_eq!(
        read("table1.tex"),
        "% Table 1: needs \\usepackage{booktabs}\n\\begin{table}[ht]\n\\centering\n\
         \\caption{Recall, precision and Dice per design (mean $\\pm$ population standard deviation \
         over slides; split test; n where it differs from the slides)}\n\
         \\begin{tabular}{lrrrr}\n\\toprule\n\
         design & slides & recall & precision & Dice \\\\\n\\midrule\n\
         a & 3 & 0.667 $\\pm$ 0.236 & 0.833 $\\pm$ 0.236 & 0.722 $\\pm$ 0.208 \\\\\n\
         b & 2 & 0.800 $\\pm$ 0.000 & 1.000 $\\pm$ 0.000 & 0.889 $\\pm$ 0.000 \\\\\n\
         c\\_1 & 2 & 0.500 $\\pm$ 0.500 & 1.000 $\\pm$ 0.000 ($n = 1$) & 0.500 $\\pm$ 0.500 \\\\\n\
         \\bottomrule\n\\end{tabular}\n\\end{table}\n"
    );
    // grade 1: s1, s2; grade 3: s3 (a only); s4 (grade 2) is in the train split
    assert_eq!(
        read("table2.md"),
        "**Table 2.** Dice per design and histological grade (mean ± population standard \
         deviation over slides; split test; n where it differs from the grade's slides)\n\n\
         | design | grade 1 (n = 2) | grade 3 (n = 1) |\n\
         |---|---:|---:|\n\
         | a | 0.833 ± 0.167 | 0.500 ± 0.000 |\n\
         | b | 0.889 ± 0.000 | n/a |\n\
         | c_1 | 0.500 ± 0.500 | n/a |\n"
    );
    // Tukey between a and b only: statsmodels' pairwise_tukeyhsd([1, 2/3, 1/2, 8/9, 8/9],
    // [a, a, a, b, b]) gives p-adj 0.44443809 (with c_1 in the family it would be 0.89279196)
    assert_eq!(
        read("supp_table1.md"),
        "**Supplementary Table 1.** Tukey's HSD on per-slide Dice between a, b (split test): \
         family-wise adjusted p-values, alpha 0.05\n\n\
         | design | b |\n|---|---:|\n| a | 0.444 |\n"
    );
    assert!(read("supp_table1.tex").contains("design & b \\\\\n\\midrule\na & 0.444 \\\\\n"));
    let supp = read("supp_table1.csv");
    let pair: Vec<&str> = supp.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(&pair[..4], &["test", "dice", "a", "b"]);
    assert!(
        (pair[5].parse::<f64>().unwrap() - 0.44443809).abs() < 1e-8,
        "{supp}"
    );
    assert_eq!(supp.lines().count(), 2, "{supp}");
    // the CSVs: the split, n per metric and the empty predictions
    let t1 = read("table1.csv");
    assert!(
        t1.starts_with("split,design,slides,empty_predictions,recall_n,"),
        "{t1}"
    );
    assert!(
        t1.contains("\ntest,c_1,2,1,2,0.5,0.5,1,1,0,2,0.5,0.5\n"),
        "{t1}"
    );
    let t2 = read("table2.csv");
    assert!(t2.contains("\ntest,a,3,1,1,0.5,0\n"), "{t2}");
    let summary = read("summary.csv");
    assert!(
        summary.contains("\ntest,c_1,all,2,1,2,0.5,0.5,1,1,0,2,0.5,0.5\n"),
        "{summary}"
    );
    assert!(summary.contains("\ntest,c_1,1,2,1,"), "{summary}");
    let md = read("summary.md");
    assert!(
        md.contains("Split: test. Tukey family: every design but c_1 (a, b)."),
        "{md}"
    );
    assert!(
        md.contains("| c_1 | 2 | 0.500 ± 0.500 | 1.000 ± 0.000 | 0.500 ± 0.500 | 2 | 1 | 2 | 1 |"),
        "{md}"
    );
    let html = read("report.html");
    for id in ["table1", "table2", "supp_table1", "scope"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(html.contains("<td>1.000 ± 0.000 (n = 1)</td>"));
    let s: serde_json::Value = serde_json::from_str(&read("summary.json")).unwrap();
    assert_eq!(s["split"].as_str(), Some("test"));
    assert_eq!(s["tukey_family"], serde_json::json!(["a", "b"]));
    assert_eq!(
        s["designs"]["c_1"]["overall"]["empty_predictions"].as_u64(),
        Some(1)
    );
    assert_eq!(
        s["designs"]["c_1"]["overall"]["precision"]["n"].as_u64(),
        Some(1)
    );
    let per_slide = read("per_slide.csv");
    assert_eq!(
        per_slide.lines().count(),
        8,
        "only the 7 test rows: {per_slide}"
    );
    assert!(per_slide
        .lines()
        .skip(1)
        .all(|l| l.split(',').nth(3) == Some("test")));
    // every design in the family: statsmodels' pairwise_tukeyhsd on a = (1, 2/3, 1/2),
    // b = (8/9, 8/9), c_1 = (0, 1) gives p-adj 0.89279196 (a, b), 0.82096166 (a, c_1),
    // 0.62567561 (b, c_1); the lower triangle stays blank
    let all = dir.path().join("all");
    assert!(evaluate(&["--split", "test"], &cohort, &all)
        .status
        .success());
    assert_eq!(
        std::fs::read_to_string(all.join("supp_table1.md")).unwrap(),
        "**Supplementary Table 1.** Tukey's HSD on per-slide Dice between a, b, c_1 (split \
         test): family-wise adjusted p-values, alpha 0.05\n\n\
         | design | b | c_1 |\n|---|---:|---:|\n| a | 0.893 | 0.821 |\n| b |  | 0.626 |\n"
    );
    let tex = std::fs::read_to_string(all.join("supp_table1.tex")).unwrap();
    assert!(
        tex.contains(
            "design & b & c\\_1 \\\\\n\\midrule\na & 0.893 & 0.821 \\\\\nb &  & 0.626 \\\\\n"
        ),
        "{tex}"
    );
}

#[test]
fn split_and_family_options_refuse_what_the_cohort_does_not_have() {
    let dir = tempfile::tempdir().unwrap();
    let cohort = split_cohort(dir.path());
    let out = dir.path().join("out");
    let err = |o: std::process::Output| {
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let e = err(evaluate(&["--split", "val"], &cohort, &out));
    assert!(
        e.contains(
            "--split val: no row of the cohort has that split (splits present: test, train)"
        ),
        "{e}"
    );
    assert!(!out.exists(), "nothing written for a refused split");
    let e = err(evaluate(&["--tukey-exclude", "otsu"], &cohort, &out));
    assert!(
        e.contains("Tukey family: no design 'otsu' in the table (designs present: a, b, c_1)"),
        "{e}"
    );
    // the family is checked against the designs of the split: c_1 has no train row
    let e = err(evaluate(
        &["--split", "train", "--tukey-designs", "a,c_1"],
        &cohort,
        &out,
    ));
    assert!(
        e.contains("no design 'c_1' in the table (designs present: a, b)"),
        "{e}"
    );
    let e = err(evaluate(
        &["--tukey-designs", "a,b", "--tukey-exclude", "c_1"],
        &cohort,
        &out,
    ));
    assert!(e.contains("cannot be used with"), "{e}");
    let e = err(evaluate(&["--threshold=-1"], &cohort, &out));
    assert!(e.contains("--threshold must be a finite number ≥ 0"), "{e}");
    // a family of one design: the tables are written, the test is reported as not computed
    let o = evaluate(&["--split", "test", "--tukey-designs", "a"], &cohort, &out);
    assert!(o.status.success());
    let md = std::fs::read_to_string(out.join("supp_table1.md")).unwrap();
    assert!(md.contains("Tukey's HSD was not computed"), "{md}");
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("the family (a) has 1 design(s) with values, it needs 2"));
}

/// A `w × h` float32 TIFF (the `tiff` crate's encoder, strips, no predictor).
fn write_f32(path: &Path, w: u32, h: u32, v: &[f32]) {
    let f = std::fs::File::create(path).unwrap();
    let mut enc = tiff::encoder::TiffEncoder::new(std::io::BufWriter::new(f)).unwrap();
    enc.write_image::<tiff::encoder::colortype::Gray32Float>(w, h, v)
        .unwrap();
}

#[test]
fn float_probability_maps_are_positive_above_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    // truth x 0..10 of 20 × 10; the map is (19 − x) / 16 (exact in f32): 0.5 at x = 11, 0.625
    // at x = 9; NaN at (0, 0)
    rect_mask(&p("t.png"), 20, 10, (0, 0, 10, 10), 1);
    let mut v: Vec<f32> = (0..200).map(|i| (19 - (i % 20)) as f32 / 16.0).collect();
    v[0] = f32::NAN;
    write_f32(&p("map.tif"), 20, 10, &v);
    let at = |t: f64| {
        let pred = Input::Mask {
            path: p("map.tif"),
            downsample: Some(4.0),
            threshold: t,
        };
        let k = compare(&mask(&p("t.png"), 4.0), &pred, None, None)
            .unwrap()
            .confusion;
        (k.tp, k.fp, k.fn_)
    };
    // > 0.5: x 0..=10 (x = 11 is 0.5, not above it), less the NaN pixel
    assert_eq!(at(0.5), (99, 10, 1));
    // > 0.625: x 0..=8
    assert_eq!(at(0.625), (89, 0, 11));
    // > 0: every value but NaN (x = 19 is 0)
    assert_eq!(at(0.0), (99, 90, 1));
    // through the CLI, with --threshold 0.5: Dice 2·99 / (100 + 109)
    std::fs::write(
        p("c.csv"),
        "slide,design,truth,prediction,truth_downsample,prediction_downsample\n\
         s1,map,t.png,map.tif,4,4\ns1,labels,t.png,t.png,4,4\n",
    )
    .unwrap();
    let o = evaluate(&["--threshold", "0.5"], &p("c.csv"), &p("out"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = std::fs::read_to_string(p("out/per_slide.csv")).unwrap();
    let dice = 2.0 * 99.0 / 209.0;
    assert!(
        table.contains(&format!("s1,map,,,4,99,10,1,90,{dice},")),
        "{table}"
    );
    // the integer mask at 0.5 is positive at 1 (v > 0.5 is v > 0): Dice 1 as at threshold 0
    assert!(
        table.contains("s1,labels,,,4,100,0,0,100,1,1,1,"),
        "{table}"
    );
    // a negative threshold on a map is refused by name
    let pred = Input::Mask {
        path: p("map.tif"),
        downsample: Some(4.0),
        threshold: -0.5,
    };
    let e = compare(&mask(&p("t.png"), 4.0), &pred, None, None).unwrap_err();
    assert!(matches!(e, CompareError::Threshold { .. }), "{e}");
    // a float TIFF is still not a label mask for the label readers
    let e = h2g::mask::open_mask(&p("map.tif"), &Default::default()).unwrap_err();
    assert!(
        e.to_string().contains("32-bit floats (a probability map)"),
        "{e}"
    );
}

/// A tiled (16 × 16) float32 TIFF written here byte by byte: little- or big-endian, no
/// predictor or the floating point predictor (3: each tile row's samples split into byte planes,
/// most significant first, then byte differences along the row), uncompressed.
fn write_f32_tiled(path: &Path, w: u32, h: u32, v: &[f32], big_endian: bool, predictor3: bool) {
    let t = 16u32;
    let (across, down) = (w.div_ceil(t), h.div_ceil(t));
    let u16b = |x: u16| {
        if big_endian {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        }
    };
    let u32b = |x: u32| {
        if big_endian {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        }
    };
    let mut tiles: Vec<Vec<u8>> = Vec::new();
    for ty in 0..down {
        for tx in 0..across {
            let mut tile = Vec::new();
            for y in ty * t..(ty + 1) * t {
                let row: Vec<f32> = (tx * t..(tx + 1) * t)
                    .map(|x| {
                        if x < w && y < h {
                            v[(y * w + x) as usize]
                        } else {
                            0.0
                        }
                    })
                    .collect();
                if predictor3 {
                    let mut planes = Vec::new();
                    for k in 0..4 {
                        planes.extend(row.iter().map(|s| s.to_be_bytes()[k]));
                    }
                    for i in (1..planes.len()).rev() {
                        planes[i] = planes[i].wrapping_sub(planes[i - 1]);
                    }
                    tile.extend(planes);
                } else {
                    for s in &row {
                        tile.extend(if big_endian {
                            s.to_be_bytes()
                        } else {
                            s.to_le_bytes()
                        });
                    }
                }
            }
            tiles.push(tile);
        }
    }
    let n = tiles.len() as u32;
    let tags: Vec<(u16, u16, u32, u32)> = vec![
        // (tag, type 3 = SHORT / 4 = LONG, count, value or offset)
        (256, 4, 1, w),
        (257, 4, 1, h),
        (258, 3, 1, 32),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (277, 3, 1, 1),
        (284, 3, 1, 1),
        (317, 3, 1, if predictor3 { 3 } else { 1 }),
        (322, 3, 1, t),
        (323, 3, 1, t),
        (324, 4, n, 0), // offsets: filled below
        (325, 4, n, 0),
        (339, 3, 1, 3),
    ];
    let ifd_len = 2 + 12 * tags.len() as u32 + 4;
    let arrays = 8 + ifd_len; // the offset and byte count arrays follow the IFD
    let data = arrays + 8 * n;
    let mut out = Vec::new();
    out.extend(if big_endian { *b"MM" } else { *b"II" });
    out.extend(u16b(42));
    out.extend(u32b(8));
    out.extend(u16b(tags.len() as u16));
    for &(tag, ty, count, value) in &tags {
        out.extend(u16b(tag));
        out.extend(u16b(ty));
        out.extend(u32b(count));
        let value = match tag {
            324 if n > 1 => arrays,
            325 if n > 1 => arrays + 4 * n,
            324 => data,
            325 => tiles[0].len() as u32,
            _ => value,
        };
        if ty == 3 {
            out.extend(u16b(value as u16));
            out.extend([0, 0]);
        } else {
            out.extend(u32b(value));
        }
    }
    out.extend(u32b(0));
    let mut at = data;
    for tile in &tiles {
        out.extend(u32b(at));
        at += tile.len() as u32;
    }
    for tile in &tiles {
        out.extend(u32b(tile.len() as u32));
    }
    for tile in &tiles {
        out.extend(tile);
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn float_maps_in_tiles_either_byte_order_and_the_floating_point_predictor() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    // the map of float_probability_maps_are_positive_above_the_threshold, 20 × 10 in two
    // 16 × 16 tiles (the right one and the bottom padded)
    rect_mask(&p("t.png"), 20, 10, (0, 0, 10, 10), 1);
    let mut v: Vec<f32> = (0..200).map(|i| (19 - (i % 20)) as f32 / 16.0).collect();
    v[0] = f32::NAN;
    for (big, pred3) in [(false, false), (true, false), (false, true), (true, true)] {
        let path = p(&format!("map-{big}-{pred3}.tif"));
        write_f32_tiled(&path, 20, 10, &v, big, pred3);
        for (t, want) in [(0.5, (99, 10, 1)), (0.625, (89, 0, 11)), (0.0, (99, 90, 1))] {
            let pred = Input::Mask {
                path: path.clone(),
                downsample: Some(4.0),
                threshold: t,
            };
            let k = compare(&mask(&p("t.png"), 4.0), &pred, None, None)
                .unwrap()
                .confusion;
            assert_eq!(
                (k.tp, k.fp, k.fn_),
                want,
                "big-endian {big}, predictor 3 {pred3}, threshold {t}"
            );
        }
    }
}

// ---- classes: label masks compared class by class (--classes) ----

/// A `w × h` 8-bit label TIFF (the `tiff` crate's encoder).
fn write_labels_tif(path: &Path, w: u32, h: u32, v: &[u8]) {
    let f = std::fs::File::create(path).unwrap();
    let mut enc = tiff::encoder::TiffEncoder::new(std::io::BufWriter::new(f)).unwrap();
    enc.write_image::<tiff::encoder::colortype::Gray8>(w, h, v)
        .unwrap();
}

/// A `w × h` 16-bit label TIFF.
fn write_labels16_tif(path: &Path, w: u32, h: u32, v: &[u16]) {
    let f = std::fs::File::create(path).unwrap();
    let mut enc = tiff::encoder::TiffEncoder::new(std::io::BufWriter::new(f)).unwrap();
    enc.write_image::<tiff::encoder::colortype::Gray16>(w, h, v)
        .unwrap();
}

fn classes(s: &str) -> Vec<h2g::eval::LabelClass> {
    h2g::eval::LabelClass::parse_list(s).unwrap()
}

/// The hand-worked 3-class case: 6 × 3 label masks; the prediction marks Stroma with 5, the
/// truth with 3.
///
/// ```text
/// truth        prediction
/// 1 1 1 2 2 0  1 1 2 2 2 0
/// 1 1 3 3 2 0  1 5 5 5 2 0
/// 0 0 3 3 0 0  0 0 5 0 1 0
/// ```
///
/// Tumor (1/1): truth (0,0) (1,0) (2,0) (0,1) (1,1) = 5, predicted (0,0) (1,0) (0,1) (4,2) = 4,
/// TP 3 → FP 1, FN 2, TN 18 − 6 = 12; Dice 6/9, precision 3/4, recall 3/5.
/// Benign (2/2): truth (3,0) (4,0) (4,1) = 3, predicted those and (2,0) = 4: TP 3, FP 1, FN 0,
/// TN 14; Dice 6/7, precision 3/4, recall 1.
/// Stroma (5 predicted, 3 truth): truth (2,1) (3,1) (2,2) (3,2), predicted (1,1) (2,1) (3,1)
/// (2,2): TP 3, FP 1, FN 1, TN 13; Dice 6/8.
const TRUTH_3: [u8; 18] = [1, 1, 1, 2, 2, 0, 1, 1, 3, 3, 2, 0, 0, 0, 3, 3, 0, 0];
const PRED_3: [u8; 18] = [1, 1, 2, 2, 2, 0, 1, 5, 5, 5, 2, 0, 0, 0, 5, 0, 1, 0];

#[test]
fn three_classes_by_hand_from_label_tiffs() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    write_labels_tif(&p("t.tif"), 6, 3, &TRUTH_3);
    write_labels_tif(&p("p.tif"), 6, 3, &PRED_3);
    let spec = classes("Tumor=1,Benign=2,Stroma=5:3");
    let c = h2g::eval::compare_classes(
        &mask(&p("t.tif"), 4.0),
        &mask(&p("p.tif"), 4.0),
        None,
        None,
        &spec,
    )
    .unwrap();
    assert_eq!((c.downsample, c.size), (4.0, (6, 3)));
    let k: Vec<(u64, u64, u64, u64)> = c
        .confusion
        .iter()
        .map(|k| (k.tp, k.fp, k.fn_, k.tn))
        .collect();
    assert_eq!(k, vec![(3, 1, 2, 12), (3, 1, 0, 14), (3, 1, 1, 13)]);
    assert_eq!(c.confusion[0].dice(), Some(6.0 / 9.0));
    assert_eq!(
        (c.confusion[0].precision(), c.confusion[0].recall()),
        (Some(0.75), Some(0.6))
    );
    assert_eq!(c.confusion[1].dice(), Some(6.0 / 7.0));
    assert_eq!(c.confusion[2].dice(), Some(0.75));
    // through the CLI: one per_slide row per class, each class's own reports
    std::fs::write(
        p("c.csv"),
        "slide,design,truth,prediction,truth_downsample,prediction_downsample,mpp\n\
         s1,a,t.tif,p.tif,4,4,0.25\n",
    )
    .unwrap();
    let o = evaluate(
        &["--classes", "Tumor=1,Benign=2,Stroma=5:3"],
        &p("c.csv"),
        &p("out"),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let read = |n: &str| std::fs::read_to_string(p("out").join(n)).unwrap();
    let per_slide = read("per_slide.csv");
    let lines: Vec<&str> = per_slide.lines().collect();
    assert_eq!(lines[0], "slide,design,class,grade,split,downsample,tp,fp,fn,tn,dice,precision,recall,truth_um2,predicted_um2,tp_um2,included,status");
    assert_eq!(
        &lines[1..],
        &[
            format!(
                "s1,a,Tumor,,,4,3,1,2,12,{},0.75,0.6,5,4,3,true,ok",
                6.0 / 9.0
            ),
            format!(
                "s1,a,Benign,,,4,3,1,0,14,{},0.75,1,3,4,3,true,ok",
                6.0 / 7.0
            ),
            "s1,a,Stroma,,,4,3,1,1,13,0.75,0.75,0.75,4,4,3,true,ok".to_string(),
        ]
    );
    // each class's per_slide file has the binary layout (for h2g stats tukey)
    assert_eq!(
        read("per_slide.Benign.csv").lines().nth(1),
        Some(format!("s1,a,,,4,3,1,0,14,{},0.75,1,3,4,3,true,ok", 6.0 / 7.0).as_str())
    );
    assert!(read("table1.Stroma.md")
        .contains("| a | 1 | 0.750 ± 0.000 | 0.750 ± 0.000 | 0.750 ± 0.000 |"));
    assert!(read("table1.Tumor.md").contains("class Tumor, all rows"));
    let summary = read("summary.csv");
    assert!(
        summary.starts_with("split,design,class,grade,slides,"),
        "{summary}"
    );
    assert!(summary.contains("\nall,a,Benign,all,1,0,1,"), "{summary}");
    let s: serde_json::Value = serde_json::from_str(&read("summary.json")).unwrap();
    assert_eq!(
        s["classes"][2],
        serde_json::json!({"name": "Stroma", "prediction": 5, "truth": 3})
    );
    let dice = s["per_class"]["Tumor"]["designs"]["a"]["overall"]["dice"]["mean"].as_f64();
    assert_eq!(dice, Some(6.0 / 9.0));
    let keys: Vec<&String> = s["per_class"].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 3);
    assert!(read("report.html").contains("href=\"report.Stroma.html\""));
    assert!(read("report.Tumor.html").contains("class Tumor"));
}

/// Per class, by brute force: positive = value equal to the class's, counted pixel by pixel.
fn naive(truth: &[u16], pred: &[u16], kt: u16, kp: u16) -> (u64, u64, u64, u64) {
    let (mut tp, mut fp, mut fn_, mut tn) = (0, 0, 0, 0);
    for (&a, &b) in truth.iter().zip(pred) {
        match (a == kt, b == kp) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fn_ += 1,
            (false, false) => tn += 1,
        }
    }
    (tp, fp, fn_, tn)
}

#[test]
fn per_class_counts_match_a_pixel_loop_and_the_binary_comparison_of_each_class() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let spec = classes("A=1,B=2:3,C=3:2");
    for seed in 0..12u64 {
        let (w, h) = (17 + seed as u32 % 5, 9 + seed as u32 % 4);
        // 16-bit truth with values above 255 (257 = 1 + 256 must be no class), 8-bit prediction
        let truth: Vec<u16> = common::labels(w, h, 5, seed)
            .iter()
            .map(|&v| if v == 4 { 257 } else { v as u16 })
            .collect();
        let pred8 = common::labels(w, h, 4, seed + 100);
        let pred: Vec<u16> = pred8.iter().map(|&v| v as u16).collect();
        write_labels16_tif(&p("t.tif"), w, h, &truth);
        write_labels_tif(&p("p.tif"), w, h, &pred8);
        let c = h2g::eval::compare_classes(
            &mask(&p("t.tif"), 1.0),
            &mask(&p("p.tif"), 1.0),
            None,
            None,
            &spec,
        )
        .unwrap();
        for (k, cl) in spec.iter().enumerate() {
            let x = c.confusion[k];
            assert_eq!(
                (x.tp, x.fp, x.fn_, x.tn),
                naive(&truth, &pred, cl.truth as u16, cl.prediction as u16),
                "seed {seed} class {}",
                cl.name
            );
        }
        // a prediction at half the resolution: each class's counts are those of the binary
        // comparison of that class's masks (block majority, as for binary masks)
        let (w2, h2) = (w.div_ceil(2), h.div_ceil(2));
        let coarse = common::labels(w2, h2, 4, seed + 200);
        write_labels_tif(&p("p2.tif"), w2, h2, &coarse);
        let c = h2g::eval::compare_classes(
            &mask(&p("t.tif"), 1.0),
            &mask(&p("p2.tif"), 2.0),
            None,
            None,
            &spec,
        )
        .unwrap();
        assert_eq!(c.downsample, 2.0);
        for (k, cl) in spec.iter().enumerate() {
            let only = |v: &[u16], value: u8| -> Vec<u8> {
                v.iter().map(|&x| (x == value as u16) as u8).collect()
            };
            common::write_gray8(&p("bt.png"), w, h, &only(&truth, cl.truth));
            let coarse16: Vec<u16> = coarse.iter().map(|&v| v as u16).collect();
            common::write_gray8(&p("bp.png"), w2, h2, &only(&coarse16, cl.prediction));
            let b = compare(
                &mask(&p("bt.png"), 1.0),
                &mask(&p("bp.png"), 2.0),
                None,
                None,
            )
            .unwrap()
            .confusion;
            assert_eq!(c.confusion[k], b, "seed {seed} class {}", cl.name);
        }
    }
}

#[test]
fn geojson_truth_counts_each_annotation_for_the_class_of_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    // level 0 100 × 80, grid at downsample 4 25 × 20: Tumor x 2..10, y 2..10 (64 pixels),
    // Benign x 12..16, y 2..6 (16), an Other annotation that is no class
    let feature = |class: &str, (x0, y0, x1, y1): (u32, u32, u32, u32)| {
        format!(
            r#"{{"type":"Feature","properties":{{"objectType":"annotation","classification":{{"name":"{class}"}}}},"geometry":{{"type":"Polygon","coordinates":[[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]]}}}}"#
        )
    };
    std::fs::write(
        p("t.geojson"),
        format!(
            r#"{{"type":"FeatureCollection","features":[{},{},{}]}}"#,
            feature("Tumor", (8, 8, 40, 40)),
            feature("Benign", (48, 8, 64, 24)),
            feature("Other", (0, 60, 100, 80)),
        ),
    )
    .unwrap();
    // prediction: Tumor (1) x 4..12, y 2..10; Benign (2) x 12..16, y 2..6
    let mut m = vec![0u8; 25 * 20];
    for y in 2..10 {
        for x in 4..12 {
            m[y * 25 + x] = 1;
        }
    }
    for y in 2..6 {
        for x in 12..16 {
            m[y * 25 + x] = 2;
        }
    }
    write_labels_tif(&p("p.tif"), 25, 20, &m);
    let c = h2g::eval::compare_classes(
        &Input::from_path(&p("t.geojson"), None, 0.0),
        &mask(&p("p.tif"), 4.0),
        Some((100, 80)),
        None,
        &classes("Tumor=1,Benign=2"),
    )
    .unwrap();
    // Tumor: overlap x 4..10 × 8 rows = 48 of 64 and 64; Benign: the same 16 pixels
    let k: Vec<(u64, u64, u64)> = c.confusion.iter().map(|k| (k.tp, k.fp, k.fn_)).collect();
    assert_eq!(k, vec![(48, 16, 16), (16, 0, 0)]);
}

#[test]
fn classes_refuse_thresholds_float_maps_and_bad_lists_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    write_labels_tif(&p("t.tif"), 6, 3, &TRUTH_3);
    write_f32(&p("map.tif"), 6, 3, &[0.5f32; 18]);
    std::fs::write(
        p("c.csv"),
        "slide,design,truth,prediction,truth_downsample,prediction_downsample\n\
         s1,a,t.tif,t.tif,4,4\ns1,map,t.tif,map.tif,4,4\n",
    )
    .unwrap();
    let out = p("out");
    let err = |args: &[&str]| {
        let o = evaluate(args, &p("c.csv"), &out);
        assert!(!o.status.success(), "{args:?}");
        assert!(!out.exists(), "nothing written for {args:?}");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let e = err(&["--classes", "Tumor=1", "--threshold", "0.5"]);
    assert!(
        e.contains("--threshold 0.5 cannot be used with --classes"),
        "{e}"
    );
    let e = err(&["--classes", "Tumor=1", "--truth-threshold", "127"]);
    assert!(
        e.contains("--truth-threshold 127 cannot be used with --classes"),
        "{e}"
    );
    let e = err(&["--classes", "Tumor=1", "--truth-class", "Tumor"]);
    assert!(
        e.contains("--truth-class cannot be used with --classes"),
        "{e}"
    );
    let e = err(&["--classes", "Tumor=0"]);
    assert!(
        e.contains("class Tumor: value '0' is not a whole number from 1 to 255"),
        "{e}"
    );
    let e = err(&["--classes", "Tumor=1,Benign=1"]);
    assert!(
        e.contains("classes Tumor and Benign both have prediction value 1"),
        "{e}"
    );
    let e = err(&["--classes", "Tumor=1,tumor=2"]);
    assert!(e.contains("class name 'tumor' is given twice"), "{e}");
    let e = err(&["--classes", "Tu/mor=1"]);
    assert!(e.contains("class name 'Tu/mor' contains '/'"), "{e}");
    let e = err(&["--classes", "Tumor"]);
    assert!(e.contains("'Tumor' is not NAME=VALUE"), "{e}");
    // a float map is that row's error, naming the file and the fix; the label row is evaluated
    let o = evaluate(&["--classes", "Tumor=1,Benign=2"], &p("c.csv"), &out);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("map.tif: a 32-bit float map has no class values"),
        "{e}"
    );
    let per_slide = std::fs::read_to_string(out.join("per_slide.csv")).unwrap();
    assert!(
        per_slide.contains("\ns1,a,Tumor,,,4,5,0,0,13,1,1,1,"),
        "{per_slide}"
    );
    assert_eq!(per_slide.lines().filter(|l| l.contains(",map,")).count(), 2);
    let e = h2g::eval::compare_classes(
        &mask(&p("t.tif"), 4.0),
        &mask(&p("map.tif"), 4.0),
        None,
        None,
        &classes("A=1"),
    )
    .unwrap_err();
    assert!(matches!(e, CompareError::FloatLabels { .. }), "{e}");
}

#[test]
fn without_classes_the_binary_outputs_are_those_of_a_binary_mask() {
    // the label masks of the 3-class case, compared without --classes: positive = non-zero,
    // as the same masks binarised by hand (truth 12 non-zero pixels, prediction 13, both 12)
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    write_labels_tif(&p("t.tif"), 6, 3, &TRUTH_3);
    write_labels_tif(&p("p.tif"), 6, 3, &PRED_3);
    std::fs::write(
        p("c.csv"),
        "slide,design,truth,prediction,truth_downsample,prediction_downsample\n\
         s1,a,t.tif,p.tif,4,4\n",
    )
    .unwrap();
    let o = evaluate(&[], &p("c.csv"), &p("out"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let per_slide = std::fs::read_to_string(p("out/per_slide.csv")).unwrap();
    assert_eq!(per_slide.lines().next().unwrap(), "slide,design,grade,split,downsample,tp,fp,fn,tn,dice,precision,recall,truth_um2,predicted_um2,tp_um2,included,status");
    // truth non-zero 12, prediction non-zero 12, both 11: TP 11, FP 1, FN 1, TN 5
    assert!(
        per_slide.contains(&format!("\ns1,a,,,4,11,1,1,5,{},", 22.0 / 24.0)),
        "{per_slide}"
    );
    let names: std::collections::BTreeSet<String> = std::fs::read_dir(p("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 14, "{names:?}");
    assert!(
        names.iter().all(|n| n.matches('.').count() == 1),
        "{names:?}"
    );
    let s = std::fs::read_to_string(p("out/summary.json")).unwrap();
    assert!(!s.contains("\"class\""), "{s}");
}

#[test]
fn each_class_has_its_own_empty_truths_summaries_and_tukey() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    // s1: the 3-class case (design a) and a perfect prediction (b); s2: Tumor only, x 0..3 of
    // 6 × 3, predicted exactly by both designs — an empty truth for Benign
    write_labels_tif(&p("t1.tif"), 6, 3, &TRUTH_3);
    write_labels_tif(&p("a1.tif"), 6, 3, &PRED_3);
    let t2: Vec<u8> = (0..18).map(|i| (i % 6 < 3) as u8).collect();
    write_labels_tif(&p("t2.tif"), 6, 3, &t2);
    std::fs::write(
        p("c.csv"),
        "slide,design,truth,prediction,truth_downsample,prediction_downsample\n\
         s1,a,t1.tif,a1.tif,4,4\ns1,b,t1.tif,t1.tif,4,4\n\
         s2,a,t2.tif,t2.tif,4,4\ns2,b,t2.tif,t2.tif,4,4\n",
    )
    .unwrap();
    let o = evaluate(&["--classes", "Tumor=1,Benign=2"], &p("c.csv"), &p("out"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("out/summary.json")).unwrap()).unwrap();
    let (tumor, benign) = (&s["per_class"]["Tumor"], &s["per_class"]["Benign"]);
    assert_eq!(tumor["excluded_empty_truth"], serde_json::json!([]));
    assert_eq!(
        benign["excluded_empty_truth"],
        serde_json::json!(["s2 / a", "s2 / b"])
    );
    // Tumor Dice: a = 2/3 (s1), 1 (s2); b = 1, 1: Tukey's meandiff b − a = 1 − 5/6
    let d = tumor["tukey"]["pairs"][0]["meandiff"].as_f64().unwrap();
    assert!((d - 1.0 / 6.0).abs() < 1e-12, "{}", tumor["tukey"]);
    let mean = tumor["designs"]["a"]["overall"]["dice"]["mean"]
        .as_f64()
        .unwrap();
    assert!((mean - 5.0 / 6.0).abs() < 1e-12);
    // Benign: one slide per design (a 6/7, b 1) leaves no degrees of freedom: not computed,
    // said for that class only
    assert!(benign["tukey"].is_null());
    assert_eq!(
        benign["designs"]["a"]["overall"]["dice"]["mean"].as_f64(),
        Some(6.0 / 7.0)
    );
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("warning: class Benign: Tukey HSD not computed"),
        "{e}"
    );
    assert!(!e.contains("class Tumor: Tukey"), "{e}");
    let per_slide = std::fs::read_to_string(p("out/per_slide.Benign.csv")).unwrap();
    assert!(
        per_slide.contains("\ns2,a,,,4,0,0,0,18,,,,,,,false,empty truth\n"),
        "{per_slide}"
    );
}
