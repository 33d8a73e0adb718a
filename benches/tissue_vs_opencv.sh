#!/usr/bin/env bash
# Tissue detection (the paper's rule: HSV S >= 20, closing 5x5 then 3x3) on a 6000x3000
# H&E-like thumbnail (../shared/tools/gen_texture.py), h2g's library against OpenCV, both timed
# in memory (no decoding or writing), medians of RUNS runs each, in the same invocation.
# usage: benches/tissue_vs_opencv.sh [RUNS]   (default 15)
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
RUNS=${1:-15}
bench_tools gen_texture.py
bench_venv "numpy, cv2, pyvips" numpy opencv-python-headless pyvips pyvips-binary
IN=$D/thumb_6000x3000.png
if [ ! -s "$IN" ]; then
  "$VENV/bin/python" "$TOOLS/gen_texture.py" 6000 "$D/texture_6000.png" >&2
  "$VENV/bin/python" -c "import cv2,sys; a=cv2.imread(sys.argv[1]); cv2.imwrite(sys.argv[2], a[:3000])" "$D/texture_6000.png" "$IN"
fi
cargo build --release --locked -q --example tissue_timing
read -r ours ours_px < <(target/release/examples/tissue_timing "$IN" saturation "$RUNS")
read -r cv cv_px < <("$VENV/bin/python" - "$IN" "$RUNS" <<'PYEOF'
import sys, time, numpy as np, cv2
bgr = cv2.imread(sys.argv[1]); runs = int(sys.argv[2])
k5, k3 = np.ones((5, 5), np.uint8), np.ones((3, 3), np.uint8)
ts = []
for _ in range(runs):
    t = time.perf_counter()
    s = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)[..., 1]
    m = (s >= 20).astype(np.uint8)
    m = cv2.morphologyEx(cv2.morphologyEx(m, cv2.MORPH_CLOSE, k5), cv2.MORPH_CLOSE, k3)
    ts.append(time.perf_counter() - t)
print(f"{sorted(ts)[len(ts) // 2]:.6f} {int(m.sum())}")
PYEOF
)
echo "input: $IN, $RUNS runs each, medians, $(nproc) cores; OpenCV $("$VENV/bin/python" -c 'import cv2; print(cv2.__version__)') with $("$VENV/bin/python" -c 'import cv2; print(cv2.getNumThreads())') threads"
printf 'h2g tissue (saturation) : %8.1f ms  %d tissue px\n' "$(echo "$ours*1000" | bc -l)" "$ours_px"
printf 'OpenCV                  : %8.1f ms  %d tissue px (differences: 8-bit saturation rounding)\n' "$(echo "$cv*1000" | bc -l)" "$cv_px"
printf 'ratio h2g/OpenCV        : %.3f (target <= 1)\n' "$(echo "$ours/$cv" | bc -l)"
