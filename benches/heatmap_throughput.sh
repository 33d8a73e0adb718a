#!/usr/bin/env bash
# The patch stage of `h2g heatmap` against (a) the model alone on the same cores and (b) a
# straightforward Python loop (openslide-python read_region -> onnxruntime, batches of 16), on
# the same large synthetic slide (../shared/tools/build_wsi.py, 100000x50000, taken as x400 with
# --mpp 0.25, so 10x is its level 2) and the same model: an UNTRAINED MobileNetV2-shaped classifier
# with the published contract (benches/make_mobilenetv2.py; same layers and cost, random weights).
# The Python loop runs over exactly the patches h2g ran. Prints patches/s and the ratios.
# usage: benches/heatmap_throughput.sh [THREADS]   (default: all cores)
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
THREADS=${1:-$(nproc)}
bench_venv "numpy, onnx, onnxruntime, openslide, pyvips, tifffile" numpy onnx==1.19.1 \
  onnxruntime==1.31.1 openslide-python openslide-bin pyvips pyvips-binary opencv-python-headless tifffile
SLIDE=${H2G_BENCH_SLIDE:-$D/wsi_100000x50000.tif}
bench_wsi "$SLIDE"
MODEL=$D/mobilenetv2_bench.onnx
bench_mobilenetv2 "$MODEL"
cargo build --release --locked -q
cargo build --release --locked -q --example model_throughput
OUT=$D/heatmap-bench; rm -rf "$OUT"
alone=$(target/release/examples/model_throughput "$MODEL" 16 20 "$THREADS")
/usr/bin/time -f "%e %M" -o "$D/time.txt" target/release/h2g heatmap "$SLIDE" --model "$MODEL" --mpp 0.25 \
  --threads "$THREADS" -o "$OUT" 2>"$D/err.txt" || { cat "$D/err.txt" >&2; exit 1; }
stem=$(basename "${SLIDE%.*}")
read -r ours ran < <("$VENV/bin/python" -c "import json,sys; r=json.load(open(sys.argv[1])); print(r['patches_per_second'], r['cells_run'])" "$OUT/$stem.heatmap.json")
py=$(OMP_NUM_THREADS=$THREADS "$VENV/bin/python" benches/python_loop.py "$SLIDE" "$MODEL" "$OUT/$stem.heatmap.json" "$THREADS")
read -r wall rss <"$D/time.txt"
reader=$("$VENV/bin/python" -c "import json,sys; print(json.load(open(sys.argv[1]))['slide_reader'])" "$OUT/$stem.heatmap.json")
echo "slide: $SLIDE (taken as x400: 10x = level 2), model: $MODEL (untrained MobileNetV2 shape), $THREADS threads, $(nproc) cores"
echo "slide reader: $reader"
printf 'model alone (batch 16)          : %8.1f patches/s\n' "$alone"
printf 'h2g heatmap patch stage         : %8.1f patches/s  (%s patches; whole command %.1f s, %.0f MB peak)\n' "$ours" "$ran" "$wall" "$(echo "$rss/1024" | bc -l)"
printf 'Python openslide+onnxruntime    : %8.1f patches/s\n' "$py"
printf 'ratio h2g / model alone         : %.3f (target >= 0.90)\n' "$(echo "$ours/$alone" | bc -l)"
printf 'ratio h2g / Python loop         : %.3f (target >= 1.5)\n' "$(echo "$ours/$py" | bc -l)"
