#!/usr/bin/env bash
# Renders an `h2g evaluate` report in headless Chromium: a generated cohort (3 slides, 2 designs,
# 2 grades, one failing row, GeoJSON truth and predictions), a screenshot that must not be blank,
# and the rendered DOM, which must hold the tables, the box plots, the slides worst first and their
# outline thumbnails.
# Installs Debian's chromium when missing (apt, as root); elsewhere it is skipped (CI: an error).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  elif [ -n "${CI:-}" ]; then
    echo "check-report: chromium is needed (apt-get install chromium)" >&2; exit 1
  else
    echo "check-report: chromium is not installed (apt-get install chromium); skipped" >&2; exit 0
  fi
fi
cargo build --release --locked -q
H=$PWD/target/release/h2g
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
rect() { # x0 y0 x1 y1 -> a GeoJSON FeatureCollection with one rectangle (level-0 pixels)
  printf '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"objectType":"annotation","classification":{"name":"Tumor"}},"geometry":{"type":"Polygon","coordinates":[[[%s,%s],[%s,%s],[%s,%s],[%s,%s],[%s,%s]]]}}]}' \
    "$1" "$2" "$3" "$2" "$3" "$4" "$1" "$4" "$1" "$2"
}
rect 100 100 900 700 >"$T/truth.geojson"
rect 120 100 900 700 >"$T/good.geojson"
rect 300 200 700 600 >"$T/half.geojson"
rect 500 400 1000 800 >"$T/poor.geojson"
cat >"$T/cohort.csv" <<CSV
slide,design,truth,prediction,width,height,grade
slide-1,h2g,truth.geojson,good.geojson,1000,800,2
slide-2,h2g,truth.geojson,half.geojson,1000,800,2
slide-3,h2g,truth.geojson,good.geojson,1000,800,3
slide-1,otsu,truth.geojson,poor.geojson,1000,800,2
slide-2,otsu,truth.geojson,half.geojson,1000,800,2
slide-3,otsu,truth.geojson,missing.geojson,1000,800,3
CSV
"$H" evaluate --cohort "$T/cohort.csv" -o "$T/out" 2>"$T/err.txt" && { echo "FAIL evaluate should report the missing file" >&2; exit 1; }
grep -q "missing.geojson" "$T/err.txt"
C="chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,1800"
$C --screenshot="$T/shot.png" "file://$T/out/report.html" >/dev/null 2>&1
$C --dump-dom "file://$T/out/report.html" >"$T/dom.html" 2>/dev/null
python3 - "$T/shot.png" "$T/dom.html" <<'PYEOF'
import struct, sys, zlib
png = open(sys.argv[1], "rb").read()
assert png[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG"
w, h = struct.unpack(">II", png[16:24])
idat, i = b"", 8
while i < len(png):
    n, kind = struct.unpack(">I4s", png[i:i + 8])
    if kind == b"IDAT":
        idat += png[i + 8:i + 8 + n]
    i += 12 + n
raw = zlib.decompress(idat)
colours = len(set(raw))
dom = open(sys.argv[2]).read()
checks = {
    "screenshot 1200 wide and not blank": w == 1200 and colours > 20,
    "summary table with both designs": 'id="summary"' in dom and ">h2g<" in dom and ">otsu<" in dom,
    "per-grade table": 'id="grades"' in dom,
    "box plots (Dice, precision, recall, per grade)": dom.count("<svg") >= 5 and 'class="box"' in dom,
    "Tukey table": 'id="tukey"' in dom,
    "the failing row listed": "missing.geojson" in dom,
    "a thumbnail with both outlines per evaluated row": dom.count('class="thumb"') == 5
        and dom.count('stroke="#1a9850"') == 5 and dom.count('stroke="#d01c8b"') == 5,
}
# worst first: the slide with the lowest Dice (slide-1, otsu) is the first row of the slide table
table = dom[dom.index('id="slides"'):]
first = table.split("<tr>")[2]
checks["lowest Dice first"] = "slide-1" in first and "otsu" in first
ok = True
for name, good in checks.items():
    print(("PASS" if good else "FAIL"), f"report in headless Chromium: {name}")
    ok &= good
sys.exit(0 if ok else 1)
PYEOF
