#!/usr/bin/env python3
"""`h2g stats tukey` against statsmodels' pairwise_tukeyhsd (../shared/tools/tukey_oracle.py),
within 1e-9 on meandiff, p-adj, lower and upper, and the same reject decisions, on the
gen_dice_csv.py data (three seeds) and edge cases: two groups, unequal group sizes, ties,
p-values near 0 and near 1, a small sample, many groups, another alpha.
usage: tukey_parity.py H2G_BINARY TOOLS_DIR WORKDIR"""
import csv
import io
import os
import subprocess
import sys

import numpy as np

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
