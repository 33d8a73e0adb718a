#!/usr/bin/env bash
# Runs the QuPath Groovy scripts (scripts/qupath/*.groovy) inside QuPath's own core, v0.2.3 to
# v0.7.0, with the team's test kit (../shared/tools/qupath, GPL, test only: called, never
# copied), and checks what they write against things they did not compute:
#   - masks: for each shape kind (one class each, made with QuPath's ROI API by
#     tests/qupath/h2g_test_objects.groovy on a 4003 x 3001 image, masks rendered in strips of 37
#     rows), the PNG is parsed with Python's zlib (8-bit grey, no palette, 1000 x 750) and
#     compared pixel for pixel with `h2g rasterize` of the annotations h2g_export_geojson wrote;
#     on 0.4.4+ also with QuPath's own whole-image LabeledImageServer export (the kit's reader);
#   - import: GeoJSON from `h2g vectorize` of a generated mask, imported with and without
#     REPLACE_EXISTING, twice, and as a bare array; count, classes and areas of what QuPath then
#     holds against the mask's own components and pixel counts;
#   - naming: a multi-series image name, and two images with the same stem in one project.
# Prints PASS/FAIL lines; exit status 1 when any FAIL. Without the kit, Java or the h2g binary it
# prints "skipped: <reason>" (exit 0), or fails when CI=true.
#   H2G_BIN=path/to/h2g (default target/release/h2g), H2G_QP_VERSIONS="0.4.4 0.7.0" (a subset)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

skip() {
  if [ "${CI:-}" = true ]; then
    echo "FAIL qupath scripts: $1 (CI=true)"
    exit 1
  fi
  echo "skipped: $1"
  exit 0
}

H2G_BIN=${H2G_BIN:-target/release/h2g}
case "$H2G_BIN" in /*) ;; *) H2G_BIN="$root/$H2G_BIN" ;; esac
[ -x "$H2G_BIN" ] || skip "no h2g binary at $H2G_BIN (cargo build --release, or set H2G_BIN)"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
[ -x ../shared/tools/qupath/run-script.sh ] || skip "no QuPath test kit at ../shared/tools/qupath"
. scripts/qupath-kit.sh
[ -n "$JAVA17_HOME" ] || skip "no Java 17 runtime (apt-get install openjdk-17-jre-headless)"
VERSIONS=${H2G_QP_VERSIONS:-$QPKIT_VERSIONS}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
passed=0
failed=0
pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
png() { python3 tests/qupath/h2g_png.py "$@"; }
S=scripts/qupath
T=tests/qupath

# ---- the naming rule is one block, the same in the three scripts ----------------------------
block() { sed -n '/^\/\/ ---- h2g file naming/,/^\/\/ ---- end of h2g file naming/p' "$1"; }
block $S/h2g_export_masks.groovy >"$tmp/naming.masks"
if [ "$(wc -l <"$tmp/naming.masks")" -gt 20 ] \
  && block $S/h2g_export_geojson.groovy | cmp -s - "$tmp/naming.masks" \
  && block $S/h2g_import_geojson.groovy | cmp -s - "$tmp/naming.masks"; then
  pass "naming: the file-naming block ($(wc -l <"$tmp/naming.masks") lines) is identical in the three scripts"
else
  fail "naming: the file-naming block differs between the three scripts (or is missing)"
fi

# ---- script variants: only settings lines change; each edit is checked to have happened ------
mkdir -p "$tmp/s"
# variant SRC OUT 'old line' 'new line' ...
variant() {
  local src=$1 out=$2
  shift 2
  cp "$src" "$out"
  while [ $# -gt 0 ]; do
    grep -qxF -- "$1" "$out" || { echo "FAIL settings line not found in $src: $1"; exit 1; }
    python3 -c 'import sys; p, a, b = sys.argv[1:]; t = open(p, encoding="utf-8").read().split("\n")
open(p, "w", encoding="utf-8").write("\n".join(b if l == a else l for l in t))' "$out" "$1" "$2"
    grep -qxF -- "$2" "$out" || { echo "FAIL settings line not changed in $out: $2"; exit 1; }
    shift 2
  done
}
STRIP_OLD="def STRIP_ROWS = 512"
STRIP_NEW="def STRIP_ROWS = 37"
LABELS_OLD="def LABELS = ['Tumor': 255]"
DIR_OLD="def MASK_DIR = buildFilePath(PROJECT_BASE_DIR, 'h2g-masks')"
# NAME|LABELS (Groovy)|h2g rasterize --class arguments|kit reader --label arguments (the reader draws
# labels in ascending order, so each later class has the higher label). "kinds": one label per
# shape kind (the kinds lie apart), reported kind by kind.
KINDS="Tumor|['Tumor': 255]|--class Tumor=255|--label 255=Tumor
kinds@10=Tumor,20=Holed,30=Rect,40=Ellipse,50=Line,60=Polyline,70=Point|['Tumor': 10, 'Holed': 20, 'Rect': 30, 'Ellipse': 40, 'Line': 50, 'Polyline': 60, 'Point': 70]|--class Tumor=10 --class Holed=20 --class Rect=30 --class Ellipse=40 --class Line=50 --class Polyline=60 --class Point=70|--label 10=Tumor --label 20=Holed --label 30=Rect --label 40=Ellipse --label 50=Line --label 60=Polyline --label 70=Point
overlap|['Stroma': 100, 'Tumor': 255]|--class Stroma=100 --class Tumor=255|--label 100=Stroma --label 255=Tumor
overlap-reversed|['Tumor': 100, 'Stroma': 200]|--class Tumor=100 --class Stroma=200|--label 100=Tumor --label 200=Stroma"
mask_scripts=()
while IFS='|' read -r name labels _ _; do
  name=${name%%@*}
  if [ "$name" = Tumor ]; then
    # the paper's default settings, only the strip height lowered so strips cut through shapes
    variant $S/h2g_export_masks.groovy "$tmp/s/masks_$name.groovy" "$STRIP_OLD" "$STRIP_NEW"
  else
    variant $S/h2g_export_masks.groovy "$tmp/s/masks_$name.groovy" "$STRIP_OLD" "$STRIP_NEW" \
      "$LABELS_OLD" "def LABELS = $labels" \
      "$DIR_OLD" "def MASK_DIR = buildFilePath(PROJECT_BASE_DIR, 'h2g-masks-$name')"
  fi
  mask_scripts+=("$tmp/s/masks_$name.groovy")
done <<<"$KINDS"
REPLACE_OLD="def REPLACE_EXISTING = false"
REPLACE_NEW="def REPLACE_EXISTING = true"
variant $S/h2g_import_geojson.groovy "$tmp/s/import_replace.groovy" "$REPLACE_OLD" "$REPLACE_NEW"
variant $S/h2g_import_geojson.groovy "$tmp/s/import_array_replace.groovy" "$REPLACE_OLD" "$REPLACE_NEW" \
  "def SUFFIX = '.geojson'" "def SUFFIX = '.array.geojson'" "def LOCK = false" "def LOCK = true"
variant $S/h2g_export_masks.groovy "$tmp/s/masks_twin.groovy" "$STRIP_OLD" "$STRIP_NEW"

# ---- import data: a generated 250 x 200 mask (labels 1 Tumor, 2 Stroma) vectorized by h2g ------
# Tumor: a block with a hole, two squares touching at a corner (two polygons); Stroma: an L
png mask "$tmp/imp.png" 250x200 20,20,60,50,1 40,35,10,10,0 100,100,10,10,1 110,110,10,10,1 \
  150,20,40,10,2 150,30,10,40,2 >"$tmp/imp.counts"
"$H2G_BIN" vectorize "$tmp/imp.png" -o "$tmp/imp.geojson" --class 1=Tumor --class 2=Stroma \
  --downsample 4 >/dev/null 2>&1 || { fail "import data: h2g vectorize failed"; exit 1; }
python3 -c 'import json, sys; json.dump(json.load(open(sys.argv[1]))["features"], open(sys.argv[2], "w"))' \
  "$tmp/imp.geojson" "$tmp/imp.array.geojson"
# expected census from the mask itself: components and pixels x 16 (downsample 4)
read -r n_imp tumor_exp stroma_exp < <(python3 - "$tmp/imp.counts" <<'EOF'
import sys
c = {}
for line in open(sys.argv[1]):
    kv = dict(p.split("=") for p in line.split())
    c[int(kv["label"])] = (int(kv["components"]), int(kv["pixels"]) * 16)
print(c[1][0] + c[2][0], f"Tumor_count={c[1][0]}_area={c[1][1]:.2f} Stroma_count={c[2][0]}_area={c[2][1]:.2f}")
EOF
)
tumor_exp=${tumor_exp//_/ }
stroma_exp=${stroma_exp//_/ }
manual="Manual count=1 area=1200.00"
census_with="H2GCENSUS total=$((n_imp + 1)) distinct=$((n_imp + 1)) locked=0 | $manual | $stroma_exp | $tumor_exp"
census_only="H2GCENSUS total=$n_imp distinct=$n_imp locked=0 | $stroma_exp | $tumor_exp"
census_locked="H2GCENSUS total=$n_imp distinct=$n_imp locked=$n_imp | $stroma_exp | $tumor_exp"
n_feat=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["features"]))' "$tmp/imp.geojson")
if [ "$n_feat" = "$n_imp" ]; then
  pass "import data: h2g vectorize wrote $n_feat features for the mask's $n_imp components ($tumor_exp; $stroma_exp)"
else
  fail "import data: h2g vectorize wrote $n_feat features, the mask has $n_imp components"
fi

# run VERSION PROJECT IMAGE W H SCRIPT...: the kit's runner; output in $tmp/out.txt
run() {
  local v=$1
  shift
  set +e
  qpkit_run "$v" run-script.sh "$@" >"$tmp/out.txt" 2>&1
  rc=$?
  set -e
  grep -v '^LOG DEBUG' "$tmp/out.txt" >"$tmp/out.log" || true
}
# scripts_ok TAG: every script ran without an exception
scripts_ok() {
  if [ "$rc" = 0 ]; then
    return 0
  fi
  fail "$1: the kit's runner exited $rc"
  grep -E '^(!!!|>>>|h2g)' "$tmp/out.log" | sed 's/^/    /' | head -20
  return 1
}
count_features() {
  python3 -c 'import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
print(len(d["features"]) if isinstance(d, dict) and d.get("type") == "FeatureCollection" else "not-a-FeatureCollection")' "$1" 2>/dev/null || echo unreadable
}

IMG="slide A.vsi - Scene #1: 40x/2"   # QuPath's name for one series of a multi-series file
STEM="slide A - Scene #1_ 40x_2"      # what the naming rule makes of it
for v in $VERSIONS; do
  [ -n "$(qpkit_java_home "$v")" ] || { fail "$v: no Java runtime for this version"; continue; }
  t0=$SECONDS
  # ---- export: the test objects, GeoJSON and one mask per kind -------------------------------
  P="$tmp/$v/export"
  run "$v" "$P" "$IMG" 4003 3001 $T/h2g_test_objects.groovy $S/h2g_export_geojson.groovy "${mask_scripts[@]}"
  if scripts_ok "$v export"; then
    n_obj=$(sed -n 's/^h2g test objects: //p' "$tmp/out.log")
    gj="$P/h2g-annotations/$STEM.geojson"
    n=$(count_features "$gj")
    if [ "$n" = "$n_obj" ] && [ "$n_obj" -gt 0 ]; then
      pass "$v export geojson: a FeatureCollection of $n features ($n_obj annotations made) at '$STEM.geojson'"
    else
      fail "$v export geojson: '$gj' has $n features, $n_obj annotations were made"
    fi
    grep '^h2g masks:' "$tmp/out.log" | sed 's/^/    /' | head -1
    args=()
    reader=()
    while IFS='|' read -r spec _ hclass rlabel; do
      name=${spec%%@*}
      dir=h2g-masks
      [ "$name" = Tumor ] || dir=h2g-masks-$name
      # shellcheck disable=SC2086
      if "$H2G_BIN" rasterize "$gj" -o "$tmp/$v-$name.png" --size 1000x750 --downsample 4 $hclass \
        --ignore-unknown >/dev/null 2>"$tmp/raster.err"; then
        args+=("$spec" "$P/$dir/$STEM.png" "$tmp/$v-$name.png")
      else
        fail "$v mask $name: h2g rasterize failed: $(tail -1 "$tmp/raster.err")"
      fi
      # shellcheck disable=SC2206
      reader+=(--mask "$P/$dir/$STEM.png" --downsample 4 $rlabel "$gj")
    done <<<"$KINDS"
    png compare --tag "$v" --size 1000x750 "${args[@]}" >"$tmp/cmp.txt" || true
    while read -r line; do
      case "$line" in
        PASS*) pass "${line#PASS }" ;;
        *) fail "${line#FAIL }" ;;
      esac
    done <"$tmp/cmp.txt"
    # QuPath's own whole-image LabeledImageServer export of the same GeoJSON (kit reader: 0.4.4+)
    case "$v" in
      0.2.* | 0.3.*) echo "    note: $v: no QuPath whole-image comparison (the kit's reader needs 0.4.4+)" ;;
      *)
        set +e
        qpkit_run "$v" read-geojson.sh "${reader[@]}" >"$tmp/reader.txt" 2>/dev/null
        set -e
        i=0
        while IFS='|' read -r name _ _ _; do
          name=${name%%@*}
          i=$((i + 1))
          line=$(grep '^SUMMARY' "$tmp/reader.txt" | sed -n "${i}p" | grep -o 'LabeledImageServer export vs mask: [^	]*' || true)
          if [[ "$line" == *": 0 differing pixels"* ]]; then
            pass "$v mask $name: equals QuPath's whole-image LabeledImageServer export (${line#*: })"
          else
            fail "$v mask $name: against QuPath's whole-image LabeledImageServer export: ${line:-no result}"
          fi
        done <<<"$KINDS"
        ;;
    esac
  fi

  # ---- import (REPLACE off, again, REPLACE on, a bare array) and naming: two images with the
  # stem "twin" in one project ---------------------------------------------------------------
  P="$tmp/$v/twins"
  mkdir -p "$P/h2g"
  cp "$tmp/imp.geojson" "$P/h2g/twin.svs.geojson"
  cp "$tmp/imp.array.geojson" "$P/h2g/twin.svs.array.geojson"
  cp "$tmp/imp.array.geojson" "$P/h2g/twin.ndpi__id1.geojson"
  H2G_QP_EXTRA_IMAGES="twin.ndpi" run "$v" "$P" twin.svs 1000 800 $T/h2g_test_entries.groovy \
    $T/h2g_test_manual.groovy \
    $S/h2g_import_geojson.groovy $T/h2g_test_census.groovy \
    $S/h2g_import_geojson.groovy $T/h2g_test_census.groovy \
    "$tmp/s/import_replace.groovy" $T/h2g_test_census.groovy \
    "$tmp/s/import_array_replace.groovy" $T/h2g_test_census.groovy \
    $S/h2g_export_geojson.groovy "$tmp/s/masks_twin.groovy"
  if scripts_ok "$v import and twins (twin.svs)"; then
    cp "$tmp/out.log" "$tmp/twin1.log"
    mapfile -t got < <(grep '^H2GCENSUS' "$tmp/out.log")
    mapfile -t said < <(grep '^h2g import:' "$tmp/out.log" | grep -v WARNING)
    what=("REPLACE off, beside a manual annotation" "imported again, REPLACE off" "REPLACE on"
      "a bare array, REPLACE on, LOCK on")
    want=("$census_with" "$census_with" "$census_only" "$census_locked")
    for k in 0 1 2 3; do
      if [ "${got[$k]:-}" = "${want[$k]}" ]; then
        pass "$v import (${what[$k]}): ${got[$k]#H2GCENSUS } | ${said[$k]#*: }"
      else
        fail "$v import (${what[$k]}): got '${got[$k]:-nothing}', expected '${want[$k]}' | ${said[$k]:-}"
      fi
    done
  fi
  # the same name twice as well: whole names collide, entry ids decide (this image is entry 1)
  H2G_QP_EXTRA_IMAGES="twin.svs|twin.ndpi" run "$v" "$P" twin.ndpi 1000 800 $T/h2g_test_entries.groovy \
    $T/h2g_test_manual.groovy $S/h2g_import_geojson.groovy $S/h2g_export_geojson.groovy "$tmp/s/masks_twin.groovy"
  if scripts_ok "$v twins (twin.ndpi)" && [ -f "$tmp/twin1.log" ]; then
    a=$(count_features "$P/h2g-annotations/twin.svs.geojson")
    b=$(count_features "$P/h2g-annotations/twin.ndpi__id1.geojson")
    files=$(cd "$P" && ls h2g-annotations h2g-masks | tr '\n' ' ')
    warned=$(grep -c "WARNING: .* images of this project have the file stem 'twin'" "$tmp/twin1.log" "$tmp/out.log" | awk -F: '{s += $2} END {print s}')
    imported=$(grep -h '^h2g import:' "$tmp/twin1.log" "$tmp/out.log" | grep -c " $n_imp added from twin\.\(svs\|ndpi__id1\)\.geojson" || true)
    if [ "$a" = "$n_imp" ] && [ "$b" = "$((n_imp + 1))" ] && [ "$warned" = 9 ] && [ "$imported" = 3 ] \
      && [ -f "$P/h2g-masks/twin.svs.png" ] && [ -f "$P/h2g-masks/twin.ndpi__id1.png" ] \
      && [ ! -e "$P/h2g-annotations/twin.geojson" ] && [ ! -e "$P/h2g-masks/twin.png" ]; then
      pass "$v twins: 'twin.svs' -> twin.svs.* ($a features), 'twin.ndpi' (twice in the project) -> twin.ndpi__id1.* ($b features); $warned warnings (one per script and image); the imports found their files"
    else
      fail "$v twins: twin.svs.geojson $a (want $n_imp) features, twin.ndpi__id1.geojson $b (want $((n_imp + 1))), $warned warnings (want 9), $imported imports found (want 3); files: $files"
    fi
    # the twin masks come from integer-vertex polygons (vectorize output): h2g must agree exactly
    if "$H2G_BIN" rasterize "$P/h2g-annotations/twin.svs.geojson" -o "$tmp/$v-twin.png" --size 250x200 \
      --downsample 4 --class Tumor=255 --ignore-unknown >/dev/null 2>&1; then
      png compare --tag "$v" --size 250x200 "twin.svs (vectorized Tumor)" "$P/h2g-masks/twin.svs.png" "$tmp/$v-twin.png" >"$tmp/cmp.txt" || true
      line=$(cat "$tmp/cmp.txt")
      case "$line" in PASS*) pass "${line#PASS }" ;; *) fail "${line#FAIL }" ;; esac
    else
      fail "$v mask twin.svs: h2g rasterize failed"
    fi
  fi
  rm -f "$tmp/twin1.log"
  echo "    $v: $((SECONDS - t0)) s"
done

echo "qupath scripts: $passed passed, $failed failed (h2g: $H2G_BIN; QuPath $VERSIONS)"
[ "$failed" = 0 ]
