#!/usr/bin/env bash
# vectorize and rasterize against OpenCV on a realistic 50000×25000 QuPath-style mask
# (../shared/tools/gen_masks.py), in the same run, end to end from files on both sides:
#   vectorize: `h2g vectorize MASK.png -o OUT.geojson`  vs  cv2.imread + findContours
#              (RETR_CCOMP, CHAIN_APPROX_SIMPLE) + shapely polygons
#   rasterize: `h2g rasterize OUT.geojson --size WxH -o BACK.png`  vs  json.load + fillPoly +
#              cv2.imwrite; and the filling alone (examples/rasterize_timing vs fillPoly on
#              pre-parsed polygons, both into a mask in memory)
# Median wall time and peak RSS over RUNS interleaved runs; then exactness: our GeoJSON against
# the mask (check_geojson.py: GEOS validity, Dice), validity on QuPath's 0.01 grid, our
# rasterized mask against the original bit for bit, and OpenCV's area error.
# RASTERIO=1 also times rasterio.features.shapes (slow: ~10 s, ~4 GB).
# usage: benches/vectorize_vs_opencv.sh [WIDTH HEIGHT [RUNS]]   (default 50000 25000 3)
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
W=${1:-50000}; H=${2:-25000}; N=${3:-3}
bench_tools "gen_masks.py, check_geojson.py"
bench_debs time bc
bench_venv "numpy, cv2, shapely, rasterio" numpy opencv-python-headless shapely rasterio
PY=$VENV/bin/python
export OPENCV_IO_MAX_IMAGE_PIXELS=$((1 << 40))
IN=$D/mask_${W}x${H}.png
[ -s "$IN" ] || "$PY" "$TOOLS/gen_masks.py" "$W" "$H" "$IN" >&2
cargo build --release --locked -q
cargo build --release --locked -q --example rasterize_timing
measure() { # prints "seconds KB"
  /usr/bin/time -f "%e %M" -o "$D/time.txt" "$@" >/dev/null 2>"$D/err.txt" || { cat "$D/err.txt" >&2; exit 1; }
  cat "$D/time.txt"
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

cat >"$D/cv_vectorize.py" <<'PYEOF'
import sys, time, cv2, numpy as np
from shapely.geometry import Polygon
m = cv2.imread(sys.argv[1], cv2.IMREAD_UNCHANGED)
t = time.perf_counter()
cs, hier = cv2.findContours((m == 1).astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
polys = []
if hier is not None:
    hier = hier[0]
    for i, c in enumerate(cs):
        if hier[i][3] == -1 and len(c) >= 3:
            holes, j = [], hier[i][2]
            while j != -1:
                if len(cs[j]) >= 3:
                    holes.append(cs[j][:, 0, :])
                j = hier[j][0]
            polys.append(Polygon(c[:, 0, :], holes))
sys.stderr.write(f"{time.perf_counter() - t:.4f}\n")
print(len(polys), sum(p.area for p in polys), sum(not p.is_valid for p in polys), int((m == 1).sum()))
PYEOF
cat >"$D/cv_rasterize.py" <<'PYEOF'
import sys, json, time, cv2, numpy as np
w, h = int(sys.argv[2]), int(sys.argv[3])
fc = json.load(open(sys.argv[1]))
m = np.zeros((h, w), np.uint8)
polys = [[np.round(np.asarray(r)).astype(np.int32) for r in f["geometry"]["coordinates"]]
         for f in fc["features"]]
t = time.perf_counter()
for rings in polys:
    cv2.fillPoly(m, rings, 1)
sys.stderr.write(f"{time.perf_counter() - t:.4f}\n")
cv2.imwrite(sys.argv[4], m)
PYEOF

: >"$D/vec_h2g.txt"; : >"$D/vec_cv.txt"; : >"$D/ras_h2g.txt"; : >"$D/ras_cv.txt"; : >"$D/fill_cv.txt"; : >"$D/kern_cv.txt"
for i in $(seq "$N"); do   # interleaved, so both see the same machine state
  measure target/release/h2g vectorize "$IN" -o "$D/h2g.geojson" >>"$D/vec_h2g.txt"
  measure "$PY" "$D/cv_vectorize.py" "$IN" >>"$D/vec_cv.txt"
  cat "$D/err.txt" >>"$D/kern_cv.txt"
  measure target/release/h2g rasterize "$D/h2g.geojson" --size "${W}x${H}" -o "$D/h2g_back.png" >>"$D/ras_h2g.txt"
  measure "$PY" "$D/cv_rasterize.py" "$D/h2g.geojson" "$W" "$H" "$D/cv_back.png" >>"$D/ras_cv.txt"
  cat "$D/err.txt" >>"$D/fill_cv.txt"
done
col() { cut -d' ' -f"$2" "$D/$1.txt" | median; }
vh=$(col vec_h2g 1); vhm=$(col vec_h2g 2); vc=$(col vec_cv 1); vcm=$(col vec_cv 2)
rh=$(col ras_h2g 1); rhm=$(col ras_h2g 2); rc=$(col ras_cv 1); rcm=$(col ras_cv 2)
fc=$(median <"$D/fill_cv.txt"); kc=$(median <"$D/kern_cv.txt")
read -r fh _ < <(target/release/examples/rasterize_timing "$D/h2g.geojson" "$W" "$H" "$N")
echo "input: $IN (${W}x${H}), $N runs each, medians, $(nproc) cores; OpenCV $("$PY" -c 'import cv2; print(cv2.__version__)'), shapely $("$PY" -c 'import shapely; print(shapely.__version__)')"
printf 'vectorize  h2g                       : %6.2f s  %7.1f MB peak RSS\n' "$vh" "$(echo "$vhm/1024" | bc -l)"
printf 'vectorize  OpenCV findContours+shapely: %6.2f s  %7.1f MB peak RSS\n' "$vc" "$(echo "$vcm/1024" | bc -l)"
printf '  (OpenCV findContours+shapely alone, mask already in memory: %.2f s; h2g/that %.3f)\n' "$kc" "$(echo "$vh/$kc" | bc -l)"
printf 'ratio h2g/OpenCV (vectorize)         : time %.3f (target <= 1), RSS %.3f (target <= 0.25)\n' \
  "$(echo "$vh/$vc" | bc -l)" "$(echo "$vhm/$vcm" | bc -l)"
printf 'rasterize  h2g (to PNG)              : %6.2f s  %7.1f MB peak RSS\n' "$rh" "$(echo "$rhm/1024" | bc -l)"
printf 'rasterize  OpenCV json+fillPoly+PNG  : %6.2f s  %7.1f MB peak RSS\n' "$rc" "$(echo "$rcm/1024" | bc -l)"
printf '  (filling alone, polygons parsed, mask in memory: h2g ScanFill %.3f s, OpenCV fillPoly %.3f s)\n' "$fh" "$fc"
printf 'ratio h2g/OpenCV (rasterize)         : time %.3f end to end, %.3f filling alone (target <= 2)\n' "$(echo "$rh/$rc" | bc -l)" "$(echo "$fh/$fc" | bc -l)"
if [ "${RASTERIO:-0}" = 1 ]; then
  rio=$(measure "$PY" -c "
import sys, rasterio.features, cv2
m = cv2.imread(sys.argv[1], cv2.IMREAD_UNCHANGED)
print(sum(1 for _ in rasterio.features.shapes(m, mask=m > 0)))" "$IN")
  printf 'vectorize  rasterio features.shapes  : %6.2f s  %7.1f MB peak RSS (one run)\n' "${rio% *}" "$(echo "${rio#* }/1024" | bc -l)"
fi
echo "exactness:"
"$PY" "$TOOLS/check_geojson.py" "$D/h2g.geojson" "$IN" 1 | sed 's/^/  h2g: /'
"$PY" - "$D/h2g.geojson" "$IN" "$D/h2g_back.png" "$D/cv_vectorize.py" <<'PYEOF'
import json, subprocess, sys, cv2, numpy as np, shapely
from shapely.geometry import shape
fc = json.load(open(sys.argv[1]))
bad = sum(1 for f in fc["features"]
          for g in [shape(f["geometry"])]
          if not g.is_valid or shapely.set_precision(g, 0.01).is_empty
          or not shapely.set_precision(g, 0.01).is_valid)
print(f"  h2g: {len(fc['features'])} polygons, {bad} invalid or empty on the 0.01 grid")
a = cv2.imread(sys.argv[2], cv2.IMREAD_UNCHANGED); b = cv2.imread(sys.argv[3], cv2.IMREAD_UNCHANGED)
print(f"  h2g: rasterize(vectorize(mask)) == mask bit for bit: {bool(np.array_equal(a, b))}")
out = subprocess.run([sys.executable, sys.argv[4], sys.argv[2]], capture_output=True, text=True).stdout.split()
n, area, invalid, px = int(out[0]), float(out[1]), int(out[2]), int(out[3])
print(f"  OpenCV: {n} polygons, area {area:.0f} vs {px} mask px ({100 * (area - px) / px:+.3f} %), {invalid} invalid")
PYEOF
