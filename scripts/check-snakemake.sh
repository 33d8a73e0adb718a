#!/usr/bin/env bash
# The Snakemake workflow (workflow/Snakefile, local profile) on real slides with `--cores 2`:
# the demo slide under two ids (one with a truth), and the real slides of ../shared when present.
# Then `h2g run` over the same folder must find every step up to date (same layout, same
# records), and a second Snakemake run must have nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib-workflow.sh
workflow_setup
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cohort_write "$T"
OPTS=$COHORT_OPTS
"$VENV/bin/snakemake" -s workflow/Snakefile --profile workflow/profiles/local --cores 2 \
  --directory "$T" --config cohort="$T/cohort.csv" out="$T/out" h2g="$H" options="$OPTS" \
  >"$T/snakemake.log" 2>&1 || { cat "$T/snakemake.log"; echo "FAIL snakemake run"; exit 1; }
n=$(grep -c '^' <("$H" run --cohort "$T/cohort.csv" --list))
desc="snakemake made every record ($n slides)"
check test "$(find "$T/out/slides" -name '*.record.json' | wc -l)" -eq $((n * 4 + $(grep -c geojson "$T/cohort.csv")))
desc="the cohort evaluation is there"
check test -s "$T/out/cohort/evaluate/report.html"
# h2g run over Snakemake's folder: nothing to run, every step up to date
"$H" run --cohort "$T/cohort.csv" -o "$T/out" $OPTS --json -q >"$T/summary.json"
desc="h2g run finds Snakemake's outputs up to date"
check python3 - "$T/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["steps_ran"] == 0 and not s["failures"], s
assert s["cohort_evaluation"] == "up to date", s
print({k: v for k, v in s["steps"].items()})
PY
"$VENV/bin/snakemake" -s workflow/Snakefile --profile workflow/profiles/local --cores 2 \
  --directory "$T" --config cohort="$T/cohort.csv" out="$T/out" h2g="$H" options="$OPTS" \
  >"$T/again.log" 2>&1
desc="a second Snakemake run has nothing to do"
check grep -q "Nothing to be done" "$T/again.log"
# the other way round: h2g run does tissue and patches first, Snakemake then runs only the rest
"$H" run --cohort "$T/cohort.csv" -o "$T/out2" $OPTS --steps tissue,patches -q >/dev/null 2>&1
"$VENV/bin/snakemake" -s workflow/Snakefile --profile workflow/profiles/local --cores 2 \
  --directory "$T" --config cohort="$T/cohort.csv" out="$T/out2" h2g="$H" options="$OPTS" \
  >"$T/resume.log" 2>&1 || { cat "$T/resume.log"; echo "FAIL snakemake over h2g run's work"; exit 1; }
desc="Snakemake takes up h2g run's work: no tissue or patches job, every other step run"
check python3 - "$T/resume.log" "$n" <<'PY'
import re, sys
log, n = open(sys.argv[1]).read(), int(sys.argv[2])
stats = log[log.index("Job stats:"):]
jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", stats, re.M))
assert "tissue" not in jobs and "patches" not in jobs, jobs
assert all(int(jobs.get(r, 0)) == n for r in ("segment", "vectorize")), jobs
print(jobs)
PY
# several labelled designs in one folder (config designs=): a record per slide and design step,
# and h2g run with the same designs file finds them all up to date
cat >"$T/designs.csv" <<'CSV'
label,design,model,refine_model,refine_level
I-otsu,otsu,,,
mob-pw,pw,test-patch-classifier,,
h2g-net,h2g,test-patch-classifier,test-refinement-2in,
CSV
DOPTS="--truth-class Tumor --ort-lib $(pwd)/.deps/onnxruntime/lib/libonnxruntime.so.1.31.1"
"$VENV/bin/snakemake" -s workflow/Snakefile --profile workflow/profiles/local --cores 2 \
  --directory "$T" --config cohort="$T/cohort.csv" out="$T/out3" h2g="$H" options="$DOPTS" \
  designs="$T/designs.csv" steps=segment,vectorize,evaluate \
  >"$T/designs.log" 2>&1 || { cat "$T/designs.log"; echo "FAIL snakemake with designs"; exit 1; }
desc="snakemake with a designs file: segment.LABEL and vectorize.LABEL per slide and design"
check python3 - "$T/out3" "$n" <<'PY'
import glob, os, sys
out, n = sys.argv[1], int(sys.argv[2])
for step in ("segment", "vectorize"):
    for label in ("I-otsu", "mob-pw", "h2g-net"):
        got = glob.glob(os.path.join(out, "slides", "*", f"{step}.{label}.record.json"))
        assert len(got) == n, (step, label, len(got))
assert os.path.getsize(os.path.join(out, "cohort", "evaluate", "per_slide.csv")) > 0
print(sorted({os.path.basename(p) for p in glob.glob(os.path.join(out, "slides", "*", "*.record.json"))}))
PY
"$H" run --cohort "$T/cohort.csv" -o "$T/out3" --designs "$T/designs.csv" $DOPTS \
  --steps segment,vectorize,evaluate --json -q >"$T/dsummary.json"
desc="h2g run with the designs file finds Snakemake's design steps up to date"
check python3 - "$T/dsummary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["steps_ran"] == 0 and not s["failures"], s
assert {"segment.I-otsu", "segment.mob-pw", "segment.h2g-net", "vectorize.h2g-net"} <= set(s["steps"]), s["steps"]
print({k: v for k, v in s["steps"].items()})
PY
# the Slurm profile (no cluster here): parsed, and the jobs it would submit carry its resources
"$VENV/bin/snakemake" -s workflow/Snakefile --profile workflow/profiles/slurm -n --forceall \
  --directory "$T" --config cohort="$T/cohort.csv" out="$T/out" h2g="$H" options="$OPTS" \
  >"$T/slurm.log" 2>&1 || { cat "$T/slurm.log"; echo "FAIL slurm profile dry run"; exit 1; }
desc="the Slurm profile plans one job per slide and step, segment with its own resources"
check python3 - "$T/slurm.log" "$n" <<'PY'
import re, sys
log, n = open(sys.argv[1]).read(), int(sys.argv[2])
jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", log, re.M))
assert all(int(jobs[r]) == n for r in ("tissue", "patches", "segment", "vectorize")), jobs
seg = log[log.index("rule segment:"):]
seg = seg[:seg.index("Shell command")]
assert "mem_mb=4000" in seg and "slurm_partition=cpu" in seg and "runtime=240" in seg, seg
print(jobs)
PY
exit $fail
