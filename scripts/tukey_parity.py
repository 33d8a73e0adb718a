#!/usr/bin/env python3
"""`h2g stats tukey` against statsmodels' pairwise_tukeyhsd, within 1e-9 on meandiff, p-adj,
lower and upper, and the same reject decisions.

With TOOLS_DIR (../shared/tools): through its tukey_oracle.py, on the gen_dice_csv.py data (three
seeds) and edge cases: two groups, unequal group sizes, ties, p-values near 0 and near 1, a small
sample, many groups, another alpha.

With --direct (needs only statsmodels, so it runs on every clone): on per_slide.csv tables, one
written by `h2g evaluate` on a generated cohort and one generated in its format, with
`--tukey-exclude otsu` / `--tukey-designs`, rows with included = false and empty (undefined)
metrics; statsmodels is called here directly on the rows Python selects itself, and evaluate's
supp_table1.csv must hold the same p-values.
usage: tukey_parity.py H2G_BINARY TOOLS_DIR WORKDIR
       tukey_parity.py --direct H2G_BINARY WORKDIR"""
import csv
import io
import os
import subprocess
import sys

import numpy as np



def compare(name, ours, ref):
    """ours: h2g's CSV text; ref: statsmodels' result. Prints PASS/FAIL, returns whether equal."""
    from itertools import combinations
    a = list(csv.DictReader(io.StringIO(ours)))
    g = list(ref.groupsunique)
    b = [dict(group1=str(x), group2=str(y)) for x, y in combinations(g, 2)]
    for r, m, p, ci, rej in zip(b, ref.meandiffs, ref.pvalues, ref.confint, ref.reject):
        r.update({"meandiff": m, "p-adj": p, "lower": ci[0], "upper": ci[1], "reject": str(bool(rej))})
    same = len(a) == len(b) and all((x["group1"], x["group2"]) == (y["group1"], y["group2"]) for x, y in zip(a, b))
    worst = 0.0
    if same:
        for x, y in zip(a, b):
            for col in ("meandiff", "p-adj", "lower", "upper"):
                worst = max(worst, abs(float(x[col]) - float(y[col])))
            same &= x["reject"] == y["reject"]
    good = same and worst <= 1e-9 and len(b) > 0
    ps = [float(y["p-adj"]) for y in b] or [float("nan")]
    print(("PASS" if good else "FAIL"),
          f"Tukey HSD == statsmodels (direct): {name}: {len(a)} pairs of {', '.join(g)}, "
          f"max |diff| {worst:.1e} (limit 1e-9), p-adj {min(ps):.3g}..{max(ps):.3g}")
    return good


def statsmodels_on(path, metric, keep):
    """pairwise_tukeyhsd on the rows of a per_slide.csv that count: included true, a value,
    a design `keep` accepts."""
    from statsmodels.stats.multicomp import pairwise_tukeyhsd
    vals, groups = [], []
    with open(path) as f:
        for r in csv.DictReader(f):
            if r["included"] in ("true", "1") and r[metric] != "" and keep(r["design"]):
                vals.append(float(r[metric]))
                groups.append(r["design"])
    return pairwise_tukeyhsd(np.array(vals), np.array(groups), alpha=0.05)


def direct(h2g, work):
    from PIL import Image
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(5)
    ok = True
    # 1. a cohort h2g evaluate runs: 24 slides, truth a random rectangle; designs pw, unet-lr and
    # h2g move or shrink it by random amounts, otsu covers much more; one truth empty (left out,
    # included false), one prediction empty (precision undefined)
    w, h = 64, 48
    lines = ["slide,design,truth,prediction,truth_downsample,prediction_downsample,grade,split"]
    def rect(name, x0, y0, x1, y1):
        a = np.zeros((h, w), np.uint8)
        a[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = 1
        Image.fromarray(a).save(f"{work}/{name}.png")
        return f"{name}.png"
    spread = {"h2g": 3, "pw": 6, "unet-lr": 8}
    for i in range(24):
        s = f"S{i:02d}"
        x0, y0 = rng.integers(4, 20, 2)
        x1, y1 = x0 + rng.integers(15, 40), y0 + rng.integers(10, 25)
        t = rect(f"{s}-truth", x0, y0, x1, y1) if i != 0 else rect(f"{s}-truth", 0, 0, 0, 0)
        for d, k in spread.items():
            dx, dy, dw = rng.integers(-k, k + 1, 3)
            p = rect(f"{s}-{d}", x0 + dx, y0 + dy, x1 + dx + dw, y1 + dy)
            if i == 1 and d == "pw":
                p = rect(f"{s}-{d}", 0, 0, 0, 0)
            lines.append(f"{s},{d},{t},{p},4,4,{1 + i % 3},test")
        lines.append(f"{s},otsu,{t},{rect(f'{s}-otsu', 0, 0, w, h)},4,4,{1 + i % 3},test")
    with open(f"{work}/cohort.csv", "w") as f:
        f.write("\n".join(lines) + "\n")
    out = f"{work}/eval"
    subprocess.run([h2g, "evaluate", "--cohort", f"{work}/cohort.csv", "-o", out, "--split", "test",
                    "--tukey-exclude", "otsu"], check=True, capture_output=True)
    per = f"{out}/per_slide.csv"
    for metric in ("dice", "precision"):
        ours = subprocess.run([h2g, "stats", "tukey", per, "--metric", metric, "--tukey-exclude", "otsu"],
                              check=True, capture_output=True, text=True).stdout
        ok &= compare(f"evaluate's per_slide.csv, {metric}, --tukey-exclude otsu", ours,
                      statsmodels_on(per, metric, lambda d: d != "otsu"))
    # evaluate's own Supplementary Table 1 (CSV) holds the same pairs and p-values
    ref = statsmodels_on(per, "dice", lambda d: d != "otsu")
    with open(f"{out}/supp_table1.csv") as f:
        supp = [(r["group1"], r["group2"], float(r["p_adj"])) for r in csv.DictReader(f)]
    from itertools import combinations
    want = [(a, b, p) for (a, b), p in zip(combinations(list(ref.groupsunique), 2), ref.pvalues)]
    good = len(supp) == len(want) and all(x[:2] == y[:2] and abs(x[2] - y[2]) <= 1e-9 for x, y in zip(supp, want))
    ok &= good
    print(("PASS" if good else "FAIL"), f"evaluate's supp_table1.csv == statsmodels: {len(supp)} pairs")
    # 2. a generated per_slide.csv: 9 designs x 90 slides, 5 % of rows included = false (with
    # values far off, which would change every number), 3 % empty cells
    designs = ["h2g", "pw", "unet-lr", "mob-pw", "dense-pw", "inc-pw", "eff-pw", "unet-hr", "otsu"]
    means = [0.93, 0.87, 0.87, 0.86, 0.85, 0.86, 0.84, 0.88, 0.67]
    path = f"{work}/generated_per_slide.csv"
    with open(path, "w") as f:
        f.write("slide,design,grade,split,dice,precision,recall,included,status\n")
        for d, m in zip(designs, means):
            for i in range(90):
                v = float(np.clip(rng.normal(m, 0.08), 0, 1))
                inc = rng.random() > 0.05
                if not inc:
                    v = 0.01
                cell = "" if rng.random() < 0.03 else repr(v)
                f.write(f"S{i:03d},{d},{1 + i % 3},test,{cell},{cell},{cell},{str(inc).lower()},ok\n")
    for args, keep, name in [
        (["--tukey-exclude", "otsu"], lambda d: d != "otsu", "--tukey-exclude otsu"),
        (["--tukey-designs", "h2g,pw,unet-lr"], lambda d: d in ("h2g", "pw", "unet-lr"), "--tukey-designs h2g,pw,unet-lr"),
        ([], lambda d: True, "every design"),
    ]:
        ours = subprocess.run([h2g, "stats", "tukey", path, *args], check=True, capture_output=True, text=True).stdout
        ok &= compare(f"generated per_slide.csv (9 designs x 90 slides), {name}", ours, statsmodels_on(path, "dice", keep))
    return 0 if ok else 1


if sys.argv[1] == "--direct":
    sys.exit(direct(*sys.argv[2:4]))
h2g, tools, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(11)


def write(name, rows):
    path = f"{work}/{name}.csv"
    with open(path, "w") as f:
        f.write("design,slide,dice\n")
        for d, s, v in rows:
            f.write(f"{d},{s},{v!r}\n")
    return path


def groups(spec):
    """spec: list of (name, values) -> long-form rows."""
    return [(g, f"S{i:03d}", float(v)) for g, vals in spec for i, v in enumerate(vals)]


cases = []
for seed in (7, 8, 9):
    path = f"{work}/gen{seed}.csv"
    subprocess.run([sys.executable, f"{tools}/gen_dice_csv.py", path, "--seed", str(seed)], check=True)
    cases.append((f"gen_dice_csv seed {seed} (9 designs x 90 slides)", path, 0.05))
cases += [
    ("two groups", write("two", groups([("A", rng.normal(0.85, 0.05, 30)), ("B", rng.normal(0.87, 0.05, 30))])), 0.05),
    ("unequal sizes", write("unequal", groups([("A", rng.normal(0.8, 0.1, 7)), ("B", rng.normal(0.85, 0.1, 40)),
                                               ("C", rng.normal(0.9, 0.1, 13)), ("D", rng.normal(0.82, 0.1, 3))])), 0.05),
    ("ties", write("ties", groups([("A", [0.9, 0.9, 0.8, 0.8, 0.9]), ("B", [0.9, 0.9, 0.9, 0.8, 0.8]),
                                   ("C", [0.7, 0.7, 0.7, 0.8, 0.7])])), 0.05),
    ("p near 0", write("near0", groups([("A", rng.normal(0.6, 0.02, 50)), ("B", rng.normal(0.9, 0.02, 50)),
                                        ("C", rng.normal(0.75, 0.02, 50))])), 0.05),
    ("p near 1", write("near1", groups([("A", 0.8 + rng.normal(0, 0.1, 25)), ("B", 0.8 + rng.normal(0, 0.1, 25)),
                                        ("C", 0.8 + rng.normal(0, 0.1, 25))])), 0.05),
    ("small sample (df 4)", write("small", groups([("A", [0.7, 0.8]), ("B", [0.9, 0.85]), ("C", [0.6, 0.75, 0.72])])), 0.05),
    ("12 groups", write("many", groups([(f"G{i:02d}", rng.normal(0.8 + 0.01 * i, 0.07, 20)) for i in range(12)])), 0.05),
    ("alpha 0.01", f"{work}/gen7.csv", 0.01),
]

ok = True
for name, path, alpha in cases:
    ours = subprocess.run([h2g, "stats", "tukey", path, "--alpha", str(alpha)], check=True,
                          capture_output=True, text=True).stdout
    ref = subprocess.run([sys.executable, f"{tools}/tukey_oracle.py", path, "--alpha", str(alpha)],
                         check=True, capture_output=True, text=True).stdout
    a, b = list(csv.DictReader(io.StringIO(ours))), list(csv.DictReader(io.StringIO(ref)))
    same = len(a) == len(b) and all((x["group1"], x["group2"]) == (y["group1"], y["group2"]) for x, y in zip(a, b))
    worst = 0.0
    if same:
        for x, y in zip(a, b):
            for col in ("meandiff", "p-adj", "lower", "upper"):
                worst = max(worst, abs(float(x[col]) - float(y[col])))
            same &= x["reject"] == y["reject"]
    good = same and worst <= 1e-9
    ok &= good
    ps = [float(y["p-adj"]) for y in b] or [float("nan")]
    print(("PASS" if good else "FAIL"),
          f"Tukey HSD == statsmodels: {name}: {len(b)} pairs, max |diff| {worst:.1e} (limit 1e-9), "
          f"p-adj {min(ps):.3g}..{max(ps):.3g}")
sys.exit(0 if ok else 1)
