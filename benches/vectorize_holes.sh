#!/usr/bin/env bash
# How vectorize grows with the number of holes in ONE polygon: masks with N = 1500 … 24000 holes
# in one foreground component, in five layouts that stress different parts of the tracer and
# the simplifier (a grid of small holes; a column of holes, so that every hole stays open
# across the height; holes touching the shell at a corner; a lattice of large square holes;
# random single-pixel holes). For each: `h2g vectorize` plain and with `--simplify 2px`, and
# OpenCV findContours (RETR_CCOMP) + shapely polygons in the same run, as the peer. Prints the
# time per doubling of N (1.0 = linear, 2.0 = quadratic) and h2g/OpenCV. Needs no ../shared.
# usage: benches/vectorize_holes.sh [MAX_N]   (default 24000)
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
MAX=${1:-24000}
bench_debs time bc
bench_venv "numpy, cv2, shapely" numpy opencv-python-headless shapely
PY=$VENV/bin/python
D=.bench/holes; mkdir -p "$D"
cargo build --release --locked -q
H=target/release/h2g

cat >"$D/make.py" <<'PYEOF'
import math, sys, numpy as np, cv2
layout, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if layout == "grid":        # k × k single-pixel-pair holes, 6 px apart
    k = math.ceil(math.sqrt(n)); m = np.full((6 * k + 10, 6 * k + 10), 255, np.uint8)
    for i in range(n):
        y, x = 7 + 6 * (i // k), 7 + 6 * (i % k); m[y, x:x + 2] = 0
elif layout == "column":    # one column: every row crosses the same band of open holes
    m = np.full((4 * n + 20, 20), 255, np.uint8); m[11:11 + 4 * n:4, 9:11] = 0
elif layout == "pinch":     # each hole touches a notch of the shell at a corner
    m = np.zeros((30, 4 * n + 20), np.uint8); m[10:25, 10:10 + 4 * n] = 255
    xs = 12 + 4 * np.arange(n); m[10, xs + 1] = 0; m[11, xs] = 0
elif layout == "lattice":   # large square holes in a 1-px lattice
    k = math.ceil(math.sqrt(n)); s = 21; m = np.zeros((k * s + 1, k * s + 1), np.uint8)
    m[::s, :] = 255; m[:, ::s] = 255
elif layout == "random":    # 3 % single pixels at random in a square
    side = int(math.sqrt(n / 0.03)); rng = np.random.default_rng(1)
    m = np.where(rng.random((side, side)) < 0.03, 0, 255).astype(np.uint8)
    m[0, :] = m[-1, :] = m[:, 0] = m[:, -1] = 255
cv2.imwrite(out, m)
PYEOF
cat >"$D/cv.py" <<'PYEOF'
import sys, cv2, numpy as np
from shapely.geometry import Polygon
m = cv2.imread(sys.argv[1], cv2.IMREAD_UNCHANGED)
cs, hier = cv2.findContours((m > 0).astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
holes = 0
for i, c in enumerate(cs):
    if hier[0][i][3] == -1 and len(c) >= 3:
        hs, j = [], hier[0][i][2]
        while j != -1:
            if len(cs[j]) >= 3:
                hs.append(cs[j][:, 0, :])
            j = hier[0][j][0]
        holes += len(hs); Polygon(c[:, 0, :], hs)
print(holes)
PYEOF
secs() { # median of 3 wall times of a command
  for _ in 1 2 3; do /usr/bin/time -f "%e" -o "$D/t" "$@" >/dev/null 2>&1; cat "$D/t"; done |
    sort -g | sed -n 2p
}
echo "holes in one polygon: wall seconds (median of 3), $(nproc) cores; growth = log2(t(2N)/t(N))"
printf '%-8s %6s %6s %9s %9s %9s %8s %8s\n' layout N holes h2g simplify opencv growth h2g/cv
for layout in grid column pinch lattice random; do
  prev=""
  n=1500
  while [ "$n" -le "$MAX" ]; do
    m=$D/$layout-$n.png
    [ -s "$m" ] || "$PY" "$D/make.py" "$layout" "$n" "$m"
    th=$(secs "$H" vectorize "$m" -o "$D/out.geojson")
    ts=$(secs "$H" vectorize "$m" -o "$D/out_s.geojson" --simplify 2px)
    tc=$(secs "$PY" "$D/cv.py" "$m")
    holes=$("$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print(max(len(f['geometry']['coordinates']) - 1 for f in d['features']))" "$D/out.geojson")
    g="-"
    [ -n "$prev" ] && g=$(echo "l(($th + 0.005) / ($prev + 0.005)) / l(2)" | bc -l | xargs printf '%.2f')
    printf '%-8s %6d %6d %9.3f %9.3f %9.3f %8s %8.3f\n' "$layout" "$n" "$holes" "$th" "$ts" "$tc" "$g" \
      "$(echo "($th + 0.005) / ($tc + 0.005)" | bc -l)"
    prev=$th
    n=$((n * 2))
  done
done
