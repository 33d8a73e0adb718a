#!/bin/bash
# AN1 (h2g tissue --method qupath) against ImageJ's own code, as QuPath's SimpleTissueDetection2
# calls it, in QuPath's core of the test kit (../shared/tools/qupath, GPL, test-only: called,
# never copied). The kit has no qupath-core-processing (where SimpleTissueDetection2 lives) and no
# image servers, so the detection's steps run in a Groovy script written here, each through the
# ImageJ call QuPath makes: ColorProcessor.convertToByteProcessor, ByteProcessor.smooth, the
# threshold below AN1's 200, RankFilters.rank(radius 1, MEDIAN), Wand.autoOutline(FOUR_CONNECTED)
# outlines filled with ImageProcessor.fill(Roi) in scan order, areas by getStatistics().area,
# the holes by Blitter.DIFFERENCE. Both sides get the same RGB picture (QuPath's own resampling
# of a pyramid is not compared: docs/tissue.md), h2g with --mpp 20 --at level:0 so that its
# pixel is QuPath's 20 µm. h2g's side is its GeoJSON rasterized back (its one annotation).
# Pictures: the demo slide read at QuPath's downsample for it, and a synthetic one (rings at the
# area limit, holes at the hole limit, an island in a hole, a diagonal pinch, a grey ramp across
# the threshold). Prints PASS/FAIL per picture and QuPath version (pixels differing / total);
# without the kit or Java it prints "skipped: ..." and exits 0 (1 under CI=true).
set -u
cd "$(dirname "$0")/.."
. scripts/qupath-kit.sh
if [ -z "$QPKIT" ]; then
  echo "skipped: the QuPath test kit (../shared/tools/qupath) is not beside the checkout"
  [ "${CI:-}" = true ] && exit 1
  exit 0
fi
VERSIONS=${*:-"0.4.4 0.7.0"}
H2G=${H2G:-target/release/h2g}
[ -x "$H2G" ] || cargo build --release -q || exit 1
work=$(mktemp -d)
if [ -n "${QPCHECK_KEEP:-}" ]; then echo "pictures in $work"; else trap 'rm -rf "$work"' EXIT; fi

# --- the synthetic picture (PNG written with the standard library) -----------------------------
python3 - "$work/synthetic.png" <<'PY'
import struct, sys, zlib
W, H = 300, 220
px = [[(245, 245, 245)] * W for _ in range(H)]
def rect(x0, y0, w, h, c):
    for y in range(y0, y0 + h):
        for x in range(x0, x0 + w):
            px[y][x] = c
T, G = (110, 60, 120), (245, 245, 245)
rect(10, 10, 20, 20, T); rect(14, 14, 12, 12, G)            # ring, enclosing 400 px
rect(40, 10, 16, 16, T); rect(44, 44 - 30, 8, 8, G)         # a smaller ring
rect(100, 20, 80, 80, T); rect(112, 32, 56, 56, G); rect(139, 59, 3, 3, T)   # open hole + island
rect(200, 100, 80, 80, T); rect(214, 114, 52, 52, G)        # a hole at the limit
rect(10, 60, 30, 30, T); rect(40, 90, 30, 30, T)            # a diagonal pinch
for x in range(10, 290):                                    # a ramp across the threshold
    v = 185 + (x * 7) % 31
    for y in range(190, 210):
        px[y][x] = (v, v - 1, v + 1)
raw = b"".join(b"\0" + bytes(c for p in row for c in p) for row in px)
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0))
                              + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
# --- the demo slide at QuPath's downsample for it (20 µm over the mean pixel size) --------------
SLIDE=.deps/data/cmu_small_region.svs
pics="synthetic"
if [ -f "$SLIDE" ]; then
  "$H2G" tissue "$SLIDE" --method qupath --preset an1 -o "$work/ds" --json > "$work/ds.json" 2>/dev/null
  ds=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['qupath']['downsample'])" "$work/ds.json")
  "$H2G" region "$SLIDE" --at "ds:$ds" -o "$work/cmu.png" 2>/dev/null && pics="$pics cmu"
else
  echo "SKIP cmu: $SLIDE is missing (scripts/setup.sh fetches it)"
fi

cat > "$work/an1.groovy" <<'GROOVY'
import ij.process.*
import ij.gui.*
import ij.plugin.filter.RankFilters
import javax.imageio.ImageIO
def dir = new File(buildFilePath(PROJECT_BASE_DIR))
def name = new File(dir, "name.txt").text.trim()
def img = ImageIO.read(new File(dir, name + ".png"))
def bp = new ColorProcessor(img).convertToByteProcessor()
bp.smooth()
int w = bp.getWidth(), h = bp.getHeight()
def bin = new ByteProcessor(w, h)
for (int i = 0; i < w * h; i++)
    if (bp.getf(i) < 200f) bin.set(i, 255)
new RankFilters().rank(bin, 1, RankFilters.MEDIAN)
def outlines = { ByteProcessor ip ->
    ip.setThreshold(127, Double.POSITIVE_INFINITY, ImageProcessor.NO_LUT_UPDATE)
    def done = new ByteProcessor(w, h)
    done.setValue(255)
    def rois = []
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            if (done.get(x, y) != 0 || ip.getf(x, y) < 127f) continue
            def wand = new Wand(ip)
            wand.autoOutline(x, y, 127d, Double.POSITIVE_INFINITY, Wand.FOUR_CONNECTED)
            def roi = new PolygonRoi(Arrays.copyOf(wand.xpoints, wand.npoints), Arrays.copyOf(wand.ypoints, wand.npoints), wand.npoints, Roi.TRACED_ROI)
            rois << roi
            done.fill(roi)
        }
    rois
}
def area = { ByteProcessor ip, roi -> ip.setRoi(roi); def a = ip.getStatistics().area; ip.resetRoi(); a }
double minArea = 100000d / 400d, maxHole = 1000000d / 400d
def orig = bin.duplicate()
def fin = new ByteProcessor(w, h)
fin.setValue(255)
bin.setValue(255)
int kept = 0, dropped = 0, open = 0
for (roi in outlines(bin)) {
    if (area(bin, roi) < minArea) { dropped++; continue }
    kept++
    bin.fill(roi)
    fin.fill(roi)
}
bin.copyBits(orig, 0, 0, Blitter.DIFFERENCE)
fin.setValue(0)
for (roi in outlines(bin)) {
    if (area(bin, roi) >= maxHole) { open++; fin.fill(roi) }
}
def back = ImageIO.read(new File(dir, name + ".h2g.png"))
int diff = 0, n = 0
for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
        boolean q = fin.get(x, y) != 0
        boolean g = (back.getRaster().getSample(x, y, 0)) != 0
        if (q) n++
        if (q != g) diff++
    }
println "AN1 ${name}: ${diff} of ${w * h} pixels differ (ImageJ steps: ${n} tissue, ${kept} kept, ${dropped} dropped, ${open} holes open)"
GROOVY

fail=0
for pic in $pics; do
  d="$work/$pic.out"
  "$H2G" tissue "$work/$pic.png" --method qupath --preset an1 --mpp 20 --at level:0 --geojson -o "$d" 2>/dev/null || { echo "FAIL $pic: h2g tissue failed"; fail=1; continue; }
  "$H2G" rasterize "$d/$pic.tissue-qupath.geojson" --like "$work/$pic.png" --downsample 1 -o "$work/$pic.h2g.png" >/dev/null 2>&1 \
    || { echo "FAIL $pic: h2g rasterize failed"; fail=1; continue; }
  h2gpx=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['tissue_pixels'])" "$d/$pic.tissue-qupath.json")
  for v in $VERSIONS; do
    # the GeoJSON imported with QuPath's own PathIO: one valid, unclassified annotation
    sum=$(qpkit_run "$v" read-geojson.sh "$d/$pic.tissue-qupath.geojson" 2>/dev/null | grep "^SUMMARY")
    if echo "$sum" | grep -q "objects=1 inHierarchy=1 invalid=0" && echo "$sum" | grep -q "areaByClass: -="; then
      echo "PASS $v import $pic: one valid unclassified annotation (${sum##*areaByClass: })"
    else
      echo "FAIL $v import $pic: ${sum:-no summary}"
      fail=1
    fi
    proj="$work/proj-$v-$pic"
    mkdir -p "$proj"
    cp "$work/$pic.png" "$work/$pic.h2g.png" "$proj/"
    echo "$pic" > "$proj/name.txt"
    out=$(qpkit_run "$v" run-script.sh "$proj" "$pic" 8 8 "$work/an1.groovy" 2>&1)
    line=$(echo "$out" | grep "^AN1 $pic:")
    if [ -n "$line" ] && echo "$line" | grep -q ": 0 of "; then
      echo "PASS $v $line; h2g $h2gpx tissue"
    else
      echo "FAIL $v ${line:-$(echo "$out" | grep -m3 '!!!')}; h2g $h2gpx tissue"
      fail=1
    fi
  done
done
exit $fail
