#!/usr/bin/env bash
# The Snakemake workflow's Slurm profile (workflow/profiles/slurm) for real, on a single-node
# Slurm cluster on this machine without accounting (scripts/slurm-local.sh; one already running is
# used as it is): the test cohort of check-snakemake.sh plus a bad slide (a text file named .svs).
# Checks: the run succeeds, every record of the good slides is there, the bad slide's steps have
# failure notes (or blocked ones) whose reason is in its Slurm job log, the cohort evaluation
# covers the good slides, a second run has nothing to do, and `h2g run` over the folder finds
# every good slide up to date (it retries the bad slide's failed steps, which fail the same way).
# Without a cluster and one that can be started it says "skipped: ..." and exits 0 (fails under
# CI=true). The daemons it starts are stopped at the end. H2G_SLURM_STATUS=sacct checks the
# profile with the other status command, on a cluster with accounting.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib-workflow.sh
skip() {
  if [ "${CI:-}" = true ]; then echo "FAIL slurm: $1 (CI=true)"; exit 1; fi
  echo "skipped: slurm: $1"; exit 0
}
started=0
T=$(mktemp -d)
cleanup() {
  if [ "$started" = 1 ]; then scripts/slurm-local.sh stop || true; fi
  rm -rf "$T"
}
trap cleanup EXIT
if ! scripts/slurm-local.sh status 2>/dev/null; then
  [ "$(id -u)" -eq 0 ] || skip "no Slurm cluster answers, and starting one needs root"
  started=1
  timeout 900 scripts/slurm-local.sh start || skip "a single-node cluster could not be started"
fi
workflow_setup
cohort_write "$T" bad
# the node's CPUs and memory bound what the jobs ask: a job asking for more pends forever
cpus=$(timeout 10 sinfo -h -o %c | head -n 1)
mem=$(timeout 10 sinfo -h -o %m | head -n 1)
seg_threads=$((cpus < 2 ? cpus : 2))
seg_mem=$((mem < 4000 ? mem : 4000))
echo "slurm: node with $cpus CPUs and $mem MB: segment jobs get $seg_threads CPUs and $seg_mem MB"
smk() {
  # bounded: a job that hangs or pends fails the check instead of hanging it
  timeout 900 "$VENV/bin/snakemake" -s workflow/Snakefile --profile workflow/profiles/slurm \
    --directory "$T" --config cohort="$T/cohort.csv" out="$T/out" h2g="$H" options="$COHORT_OPTS" \
    segment_threads="$seg_threads" --set-resources segment:mem_mb="$seg_mem" \
    --slurm-init-seconds-before-status-checks 5 --slurm-keep-successful-logs \
    --slurm-logdir "$T/slurm-logs" ${H2G_SLURM_STATUS:+--slurm-status-command "$H2G_SLURM_STATUS"} "$@"
}
desc="the Slurm profile runs the cohort with a bad slide to the end (status by ${H2G_SLURM_STATUS:-squeue})"
slurm_run() { smk >"$T/slurm.log" 2>&1; }
check slurm_run
[ "$fail" = 0 ] || { cat "$T/slurm.log"; exit 1; }
n=$(grep -c '^' <("$H" run --cohort "$T/cohort.csv" --list))
desc="every record of the good slides, failure and blocked notes for the bad one, its reason in its Slurm job logs"
check python3 - "$T" "$n" <<'PY'
import glob, json, os, sys
t, n = sys.argv[1], int(sys.argv[2])
rows = [l.split(",") for l in open(os.path.join(t, "cohort.csv")).read().splitlines()[1:]]
for sid, _, truth, *_ in rows:
    steps = ["tissue", "patches", "segment", "vectorize"] + (["evaluate"] if truth else [])
    for step in steps:
        r = json.load(open(os.path.join(t, "out", "slides", sid, f"{step}.record.json")))
        if sid != "bad":
            assert r["record_version"] == 1 and r["slide"] == sid and r["outputs"], (sid, step, r)
            continue
        want = "failed" if step in ("tissue", "segment") else "blocked"
        assert r["workflow_outcome"] == want, (step, r)
        assert "cannot be opened as a slide" in r["error"], (step, r)
# the reason, in the job logs of the bad slide's failed steps
for rule in ("tissue", "segment"):
    logs = glob.glob(os.path.join(t, "slurm-logs", f"rule_{rule}", "*bad*", "*.log"))
    assert logs and all("cannot be opened as a slide" in open(p).read() for p in logs), (rule, logs)
    line = next(l for l in open(logs[0]) if "cannot be opened as a slide" in l)
    print(f"{os.path.relpath(logs[0], t)}: {line.strip()}")
print(f"{len(rows)} slides, {len(rows) - 1} good")
PY
desc="the cohort evaluation covers the good slides with a truth, not the bad one"
check python3 - "$T" <<'PY'
import csv, os, sys
t = sys.argv[1]
assert os.path.getsize(os.path.join(t, "out", "cohort", "evaluate", "report.html")) > 0
got = {r["slide"] for r in csv.DictReader(open(os.path.join(t, "out", "cohort", "evaluate", "per_slide.csv")))}
want = {l.split(",")[0] for l in open(os.path.join(t, "cohort.csv")).read().splitlines()[1:]
        if l.split(",")[2] and not l.startswith("bad,")}
assert got == want, (got, want)
print(sorted(got))
PY
smk >"$T/again.log" 2>&1 || true
desc="a second run of the Slurm profile has nothing to do"
check grep -q "Nothing to be done" "$T/again.log"
"$H" run --cohort "$T/cohort.csv" -o "$T/out" $COHORT_OPTS --json -q >"$T/summary.json" || true
desc="h2g run finds every good slide up to date; it retries only the bad slide's failed steps"
check python3 - "$T/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["steps_ran"] == 0 and s["cohort_evaluation"] == "up to date", s
assert sorted((f["slide"], f["step"]) for f in s["failures"]) == [("bad", "segment"), ("bad", "tissue")], s["failures"]
print(s["steps"])
PY
[ "$fail" = 0 ] || { cat "$T/slurm.log"; tail -n 30 /var/log/slurm/slurmctld.log 2>/dev/null || true; }
exit $fail
