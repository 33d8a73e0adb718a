#!/usr/bin/env bash
# `h2g run` over a synthetic cohort: 20 pyramidal JPEG slides of varied size (build_wsi.py on
# gen_texture.py's H&E-like texture, 0.25 µm/px, 16000-64000 px wide) with tumour masks at
# downsample 4 (gen_masks.py), every step (tissue, patches, segment h2g with a MobileNetV2-shaped
# untrained classifier and the untrained test U-Net, vectorize, evaluate). Prints slides per hour, the largest step's peak RSS and the
# whole run's peak memory (all its processes together, sampled every 0.2 s), for each --jobs
# given; then the time of a rerun that finds everything up to date.
# usage: benches/cohort_scale.sh [JOBS...]   (default: 1 2; BUILD_ONLY=1: make the cohort only;
#        KILL_AT=0.4: fraction of the first run's time at which a third run is killed, 0: none)
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
bench_tools
bench_venv "numpy, cv2, pyvips" numpy opencv-python-headless pyvips pyvips-binary
JOBS=("$@"); [ ${#JOBS[@]} -gt 0 ] || JOBS=(1 2)
D=.bench/cohort; mkdir -p "$D"
bench_texture
# 20 sizes from 16000 x 12000 to 64000 x 40000 (0.19 to 2.56 Gpx)
SIZES=(16000x12000 20000x15000 24000x16000 24000x20000 28000x20000 30000x24000 32000x22000
       32000x28000 36000x24000 36000x30000 40000x26000 40000x32000 44000x30000 46000x34000
       48000x32000 52000x36000 56000x34000 58000x40000 60000x38000 64000x40000)
echo "id,slide,truth,truth_downsample,grade,mpp" >"$D/cohort.csv"
for i in "${!SIZES[@]}"; do
  w=${SIZES[$i]%x*}; h=${SIZES[$i]#*x}; id=$(printf 'syn%02d' "$i")
  [ -s "$D/$id.tif" ] || "$VENV/bin/python" "$TOOLS/build_wsi.py" .bench/tex2048.png "$w" "$h" 512 "$D/$id.tif" >&2
  [ -s "$D/$id.mask.png" ] || "$VENV/bin/python" "$TOOLS/gen_masks.py" $((w / 4)) $((h / 4)) "$D/$id.mask.png" --seed "$i" >&2
  echo "$id,$id.tif,$id.mask.png,4,$((i % 3 + 1)),0.25" >>"$D/cohort.csv"
done
# the real slides of ../shared beside them: CMU-1-Small-Region (its tissue outline as truth), the
# JPEG 2000 TCGA slide (no pixel size in the file), and the non-conformant DICOM (a bad slide)
R=../shared/data
if [ -d "$R/slides" ]; then
  echo "cmu1-small,$(realpath $R/slides/CMU-1-Small-Region.svs),$(realpath $R/annotations/derived/CMU-1-Small-Region.tissue-from-pathopatcher-CMU-1.geojson),,2," >>"$D/cohort.csv"
  echo "tcga-jp2k,$(realpath $R/slides/tcga-cr-7395-01a-01-ts1.svs),,,3,0.5" >>"$D/cohort.csv"
  echo "dicom-bad,$(realpath $R/slides/pathml_small_dicom.dcm),,,1," >>"$D/cohort.csv"
fi
echo "cohort: $(($(wc -l <"$D/cohort.csv") - 1)) slides, $(du -cb "$D"/syn*.tif | tail -1 | awk '{printf "%.1f", $1 / 1e9}') GB of synthetic slides" >&2
[ -z "${BUILD_ONLY:-}" ] || exit 0
cargo build --release --locked -q
H=target/release/h2g
# stage 1 at the published classifier's cost: MobileNetV2's layers with random weights (made by
# benches/make_mobilenetv2.py, with the test classifier's manifest); the small test U-Net refines
MODEL=.bench/mobilenetv2_bench.onnx
bench_mobilenetv2 "$MODEL"
MODELS=(--model "$MODEL" --refine-model test-refinement-2in)
# run_sampled OUT_PREFIX CMD...: runs CMD in its own process group, sampling the group's RSS
run_sampled() {
  local prefix=$1; shift
  setsid "$@" >"$prefix.json" 2>"$prefix.err" &
  local pid=$! peak=0 kb
  while kill -0 "$pid" 2>/dev/null; do
    kb=$(ps -o rss= -g "$pid" 2>/dev/null | awk '{s+=$1} END {print s+0}')
    [ "$kb" -gt "$peak" ] && peak=$kb
    sleep 0.2
  done
  wait "$pid" || true
  echo "$peak" >"$prefix.peak"
}
for j in "${JOBS[@]}"; do
  out=$D/out-jobs$j; rm -rf "$out"
  t0=$(date +%s.%N)
  run_sampled "$D/run-jobs$j" "$H" run --cohort "$D/cohort.csv" -o "$out" "${MODELS[@]}" --jobs "$j" --json -q
  t1=$(date +%s.%N)
  python3 - "$D/run-jobs$j.json" "$(cat "$D/run-jobs$j.peak")" "$t0" "$t1" "$j" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); peak_kb = int(sys.argv[2]); wall = float(sys.argv[4]) - float(sys.argv[3])
print(f"jobs {sys.argv[5]}: {s['slides']} slides, {s['steps_ran']} steps, {len(s['failures'])} failures, "
      f"{wall:.1f} s wall = {s['slides'] * 3600 / wall:.0f} slides/hour; largest step peak RSS "
      f"{s['peak_step_rss_mib']:.0f} MiB; whole run peak {peak_kb / 1024:.0f} MiB "
      f"({s['threads_per_job']} threads per slide, budget {s['memory_budget_mib']} MiB)")
PY
  # per-step time and memory, over the slides
  python3 - "$out" <<'PY'
import glob, json, sys, statistics
by = {}
for f in glob.glob(sys.argv[1] + "/slides/*/*.record.json"):
    r = json.load(open(f)); by.setdefault(r["step"], []).append((r["wall_s"], r["peak_rss_mib"] or 0))
for st in ["tissue", "patches", "segment", "vectorize", "evaluate"]:
    v = by.get(st, [])
    if v:
        print(f"  {st:9s} {len(v):2d} runs: median {statistics.median(t for t, _ in v):6.2f} s, "
              f"max {max(t for t, _ in v):6.2f} s, peak RSS max {max(m for _, m in v):5.0f} MiB")
PY
done
# kill a run with SIGKILL part-way (at KILL_AT of the first run's wall time), resume it, and
# compare its masks, tables and annotations with the first run's
if [ "${KILL_AT:-0.4}" != 0 ]; then
  first=$D/out-jobs${JOBS[0]}
  wall=$(python3 -c "import json; print(json.load(open('$D/run-jobs${JOBS[0]}.json'))['wall_s'])")
  out=$D/out-killed; rm -rf "$out"
  setsid "$H" run --cohort "$D/cohort.csv" -o "$out" "${MODELS[@]}" --jobs "${JOBS[-1]}" -q >/dev/null 2>&1 &
  pid=$!
  sleep "$(python3 -c "print($wall * ${KILL_AT:-0.4})")"
  kill -KILL -- -"$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  done_before=$(grep -c '"event":"step_done"' "$out/events.jsonl" || true)
  t0=$(date +%s.%N)
  "$H" run --cohort "$D/cohort.csv" -o "$out" "${MODELS[@]}" --jobs "${JOBS[-1]}" --json -q >"$D/resumed.json" || true
  t1=$(date +%s.%N)
  python3 - "$first" "$out" "$done_before" "$t0" "$t1" <<'PY'
import glob, json, os, sys
first, out, before = sys.argv[1], sys.argv[2], int(sys.argv[3])
ev = [json.loads(l) for l in open(out + "/events.jsonl")]
starts = [i for i, e in enumerate(ev) if e["event"] == "run_start"]
resumed = ev[starts[-1]:]
skipped = sum(e["event"] == "step_skipped" and e.get("outcome") == "up to date" for e in resumed)
ran = sum(e["event"] == "step_done" for e in resumed)
done = {}
for e in ev:
    if e["event"] == "step_done":
        k = (e["slide"], e["step"]); done[k] = done.get(k, 0) + 1
def files(root):
    m = {}
    for f in glob.glob(root + "/slides/*/*.record.json"):
        r = json.load(open(f))
        for o in r["outputs"]:
            if o["path"].endswith((".tif", ".csv", ".geojson", ".png")) and o["path"] != "cohort.csv":
                m[(r["slide"], r["step"], o["path"])] = o["sha256"]
    return m
a, b = files(first), files(out)
same = a == b
partial = glob.glob(out + "/slides/*/.*.partial")
print(f"killed after {before} steps had finished; the resumed run skipped {skipped} up to date and ran {ran} "
      f"in {float(sys.argv[5]) - float(sys.argv[4]):.1f} s; no step finished twice: {max(done.values()) == 1}; "
      f"outputs identical to the uninterrupted run: {same} ({len(b)} files); staging folders left: {len(partial)}")
PY
fi
# a rerun over the last output: every step up to date
t0=$(date +%s.%N)
"$H" run --cohort "$D/cohort.csv" -o "$out" "${MODELS[@]}" --json -q >"$D/rerun.json" || true
t1=$(date +%s.%N)
python3 - "$D/rerun.json" "$t0" "$t1" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"rerun: {s['steps_ran']} steps ran, {float(sys.argv[3]) - float(sys.argv[2]):.2f} s to check {s['slides']} slides")
PY
