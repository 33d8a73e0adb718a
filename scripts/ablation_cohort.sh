#!/usr/bin/env bash
# The paper's ablation study end to end on a synthetic cohort: 12 slides made by
# ../shared/tools/build_wsi.py with truth masks from gen_masks.py, three grades, a train/test
# split, and the nine designs I–IX under their labels, run with the project's UNTRAINED
# contract-shaped test models (the figures mean nothing; the pipeline is what is checked). One
# `h2g run` segments, vectorizes and evaluates every slide under every design; its cohort
# evaluation writes table1, table2 and supp_table1 for the test split; `h2g stats tukey` on its
# per_slide.csv is compared with statsmodels' pairwise_tukeyhsd (≤ 1e-9) for the deep-learning
# family (all designs but Otsu), as the paper compares them.
# usage: scripts/ablation_cohort.sh [OUT]   (needs ../shared/tools and .deps/check-venv)
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=../shared/tools
VENV=${H2G_CHECK_VENV:-.deps/check-venv}
OUT=${1:-target/tmp/ablation}
H=${H2G:-target/release/h2g}
if [ ! -d "$TOOLS" ]; then
  echo "ablation cohort: skipped: needs ../shared/tools (build_wsi.py, gen_masks.py)"
  [ "${CI:-}" = true ] && exit 1
  exit 0
fi
D=$OUT/data
mkdir -p "$D"
[ -s "$D/tex.png" ] || "$VENV/bin/python" "$TOOLS/gen_texture.py" 1024 "$D/tex.png" >&2
# slides of 4352 x 3200 to 7168 x 4608 level-0 pixels at 0.25 µm (x40): a few 10x patches each,
# pyramids whose coarsest level of at least 1024 x 1024 the refinement reads
{
  echo "id,slide,truth,truth_downsample,grade,split,mpp"
  for i in $(seq 1 12); do
    w=$((4096 + 256 * i)); h=$((3072 + 128 * i))
    [ -s "$D/s$i.tif" ] || "$VENV/bin/python" "$TOOLS/build_wsi.py" "$D/tex.png" $w $h 256 "$D/s$i.tif" >&2
    [ -s "$D/s$i-truth.png" ] ||
      "$VENV/bin/python" "$TOOLS/gen_masks.py" $((w / 4)) $((h / 4)) "$D/s$i-truth.png" --seed $i --cell 96 --frac 0.3 >&2
    grade=$(( (i - 1) % 3 + 1 ))
    split=$([ $i -le 3 ] && echo train || echo test)
    echo "s$i,s$i.tif,s$i-truth.png,4,$grade,$split,0.25"
  done
} >"$D/cohort.csv"
# the nine designs of the paper, labelled as its tables name them
cat >"$D/designs.csv" <<'EOF'
label,design,model,refine_model,refine_level
I-otsu,otsu,,,
II-unet-lr,unet-lr,,test-unet-lr,
III-inc-pw,pw,test-contract-inceptionv3,,
IV-mob-pw,pw,test-contract-mobilenetv2,,
V-mob-km-pw,pw,test-patch-classifier,,
VI-h2g-net,h2g,test-contract-mobilenetv2,test-contract-unet-2in,
VII-mob-pw-agunet,h2g,test-contract-mobilenetv2,test-contract-agunet,
VIII-mob-pw-dagunet,h2g,test-contract-mobilenetv2,test-contract-agunet,
IX-mob-pw-doubleunet,h2g,test-contract-mobilenetv2,test-contract-doubleunet,
EOF
"$H" run --cohort "$D/cohort.csv" --designs "$D/designs.csv" -o "$OUT/run" \
  --steps segment,vectorize,evaluate --split test --tukey-exclude I-otsu --jobs 1 -q
E=$OUT/run/cohort/evaluate
for t in table1 table2 supp_table1; do
  for ext in csv md tex; do
    [ -s "$E/$t.$ext" ] || { echo "FAIL: $E/$t.$ext missing" >&2; exit 1; }
  done
done
echo "== table1 (test split)"; cat "$E/table1.md"
echo "== table2"; cat "$E/table2.md"
# Tukey's HSD of the deep-learning family on the run's per-slide Dice, h2g against statsmodels
"$H" stats tukey "$E/per_slide.csv" --tukey-exclude I-otsu >"$OUT/tukey.csv"
"$VENV/bin/python" - "$E/per_slide.csv" "$OUT/tukey.csv" <<'EOF'
import csv, itertools, sys
from statsmodels.stats.multicomp import pairwise_tukeyhsd

rows = [r for r in csv.DictReader(open(sys.argv[1]))
        if r.get("included", "true").lower() in ("true", "1") and r["design"] != "I-otsu"
        and r.get("split", "test") == "test" and r["dice"] != ""]
res = pairwise_tukeyhsd([float(r["dice"]) for r in rows], [r["design"] for r in rows], alpha=0.05)
# statsmodels lists the pairs of its sorted groups in combination order
pairs = itertools.combinations([str(g) for g in res.groupsunique], 2)
want = {pair: float(p) for pair, p in zip(pairs, res.pvalues)}
got = {}
for r in csv.DictReader(open(sys.argv[2])):
    got[(r["group1"], r["group2"])] = float(r["p-adj"])
assert set(got) == set(want), (sorted(got), sorted(want))
worst = max(abs(got[k] - want[k]) for k in want)
n = len({r["design"] for r in rows})
print(("PASS" if worst <= 1e-9 else "FAIL") +
      f" ablation cohort: {len(rows)} test-split Dice values, {n} designs, {len(want)} pairs, "
      f"max |p(h2g) - p(statsmodels)| {worst:.1e} (limit 1e-9)")
sys.exit(0 if worst <= 1e-9 else 1)
EOF
