# What the workflow checks share (sourced by scripts/check-snakemake.sh and
# scripts/check-slurm.sh, from the checkout's root).
#
#   VENV, workflow_setup     Snakemake and its Slurm plugin (pinned) in .deps/snakemake-venv,
#                            h2g built; H is the binary
#   check CMD...             PASS or FAIL $desc by CMD's status; a FAIL sets fail=1
#   cohort_write DIR [bad]   writes DIR/truth.geojson and DIR/cohort.csv: the demo slide under
#                            two ids (demo-a with a truth drawn by hand, demo-b without), the
#                            real slides of ../shared when present, and with `bad` one more
#                            slide, `bad`, a text file named .svs, with the same truth
#   COHORT_OPTS              the h2g run options of these slides (test models, truth class)
VENV=${H2G_SNAKEMAKE_VENV:-.deps/snakemake-venv}
H=$(pwd)/target/release/h2g
fail=0

workflow_setup() {
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  # a no-op when they are there
  "$VENV/bin/pip" install -q snakemake==9.27.1 snakemake-executor-plugin-slurm==2.8.0
  cargo build --release --locked -q
}

check() { if "$@"; then echo "PASS $desc"; else echo "FAIL $desc"; fail=1; fi; }

COHORT_OPTS="--model test-patch-classifier --refine-model test-refinement-2in --truth-class Tumor --ort-lib $(pwd)/.deps/onnxruntime/lib/libonnxruntime.so.1.31.1"

cohort_write() {
  local d=$1 slide
  slide=$(pwd)/.deps/data/cmu_small_region.svs
  # a truth drawn by hand for the demo slide: two rectangles, in QuPath GeoJSON
  cat >"$d/truth.geojson" <<'JSON'
{"type": "FeatureCollection", "features": [
 {"type": "Feature", "properties": {"objectType": "annotation", "classification": {"name": "Tumor", "colorRGB": -3670016}},
  "geometry": {"type": "Polygon", "coordinates": [[[300, 400], [1500, 400], [1500, 1800], [300, 1800], [300, 400]]]}},
 {"type": "Feature", "properties": {"objectType": "annotation", "classification": {"name": "Stroma", "colorRGB": -16744448}},
  "geometry": {"type": "Polygon", "coordinates": [[[1600, 2000], [2100, 2000], [2100, 2900], [1600, 2900], [1600, 2000]]]}}]}
JSON
  {
    echo "id,slide,truth,grade,mpp"
    echo "demo-a,$slide,$d/truth.geojson,2,"
    echo "demo-b,$slide,,3,"
    if [ -d ../shared/data/slides ]; then
      echo "cmu1-small,$(realpath ../shared/data/slides/CMU-1-Small-Region.svs),$(realpath ../shared/data/annotations/derived/CMU-1-Small-Region.tissue-from-pathopatcher-CMU-1.geojson),1,"
      # JPEG 2000 tiles, no pixel size in the file
      echo "tcga,$(realpath ../shared/data/slides/tcga-cr-7395-01a-01-ts1.svs),,3,0.5"
    fi
    if [ "${2:-}" = bad ]; then
      echo "not a slide: text in a file named .svs" >"$d/bad.svs"
      echo "bad,$d/bad.svs,$d/truth.geojson,1,"
    fi
  } >"$d/cohort.csv"
}
