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
THREADS=${1:-$(nproc)}
TOOLS=../shared/tools
D=.bench; mkdir -p "$D"
VENV=${H2G_BENCH_VENV:-.deps/bench-venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c "import numpy, onnx, onnxruntime, openslide, pyvips, tifffile" 2>/dev/null ||
  "$VENV/bin/pip" install -q numpy onnx==1.19.1 onnxruntime==1.31.1 openslide-python openslide-bin pyvips pyvips-binary opencv-python-headless tifffile
SLIDE=${H2G_BENCH_SLIDE:-$D/wsi_100000x50000.tif}
if [ ! -s "$SLIDE" ]; then
  [ -d "$TOOLS" ] || { echo "needs ../shared/tools (gen_texture.py, build_wsi.py)" >&2; exit 1; }
  [ -s "$D/tex2048.png" ] || "$VENV/bin/python" "$TOOLS/gen_texture.py" 2048 "$D/tex2048.png" >&2
  "$VENV/bin/python" "$TOOLS/build_wsi.py" "$D/tex2048.png" 100000 50000 512 "$SLIDE" >&2
fi
MODEL=$D/mobilenetv2_bench.onnx
if [ ! -s "$MODEL" ]; then
  "$VENV/bin/python" benches/make_mobilenetv2.py "$MODEL"
fi
# its manifest: the published patch classifier's contract, marked untrained
sed -e 's/"name": "test-patch-classifier"/"name": "mobilenetv2-bench"/' \
    -e 's#"file": "test/patch_classifier.onnx"#"file": "mobilenetv2_bench.onnx"#' \
    -e 's/"sha256": "[0-9a-f]*"/"sha256": null/' models/test-patch-classifier.json >"${MODEL%.onnx}.json"
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
