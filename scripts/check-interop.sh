#!/usr/bin/env bash
# Independent checks of h2g's outputs, each against code h2g did not write: convert-mask TIFFs
# read by tifffile, pyvips and OpenSlide at every level; tissue detection against OpenCV; GeoJSON
# validity with shapely/GEOS; the direct JPEG tile reader against OpenSlide; heatmap and segment
# parity with openslide-python + onnxruntime. These need only PyPI packages (pinned below, in
# .deps/check-venv) and the demo slide scripts/setup.sh fetches, so they run on every clone.
# A few more use checkers and data of the test kit beside the checkout (../shared: check_tiff.py,
# check_geojson.py, the Tukey oracle, real annotations); without them each says "skipped: ..."
# (a failure under CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${H2G_CHECK_VENV:-.deps/check-venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# a no-op when everything is there; brings packages added since the venv was made
"$VENV/bin/pip" install -q numpy==2.4.6 tifffile==2026.3.3 imagecodecs==2026.3.6 \
  openslide-python==1.4.7 openslide-bin==4.0.1.2 pyvips==3.2.0 pyvips-binary==8.18.7 \
  opencv-python-headless==5.0.0.93 shapely==2.2.0 rasterio==1.4.4 pillow==13.0.0 \
  onnxruntime==1.31.1 statsmodels==0.15.0
cargo build --release --locked -q
H=target/release/h2g
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
"$VENV/bin/python" - "$T" <<'PYEOF'
import sys, numpy as np, tifffile
rng = np.random.default_rng(7)
a = np.zeros((3001, 2050), np.uint8)
yy, xx = np.mgrid[:3001, :2050]
a[(yy - 1500) ** 2 + (xx - 1000) ** 2 < 900 ** 2] = 1
a[(yy - 700) ** 2 + (xx - 1500) ** 2 < 300 ** 2] = 2
tifffile.imwrite(sys.argv[1] + "/strips.tif", a)
np.save(sys.argv[1] + "/strips.npy", a)
# 16-bit labels (instance-style ids up to 40 000), as QuPath writes for > 255 labels
b = ((yy // 37) * 61 + (xx // 41)).astype(np.uint16) % 40000
b[b % 7 == 0] = 0
tifffile.imwrite(sys.argv[1] + "/u16-input.tif", b)
np.save(sys.argv[1] + "/u16-input.npy", b)
# the H2G-Net authors' mask format: vips tiled pyramidal LZW, 1024 tiles
import pyvips
pyvips.Image.new_from_array(a).cast("uchar").tiffsave(
    sys.argv[1] + "/vips-tiled.tif", tile=True, tile_width=1024, tile_height=1024,
    pyramid=True, compression="lzw", region_shrink="nearest")
PYEOF
fail=0
skipped=0
run() { echo "-- $*"; "$@" || fail=1; }
# has PATH...: true when every path exists; else says what is skipped (a failure under CI=true)
has() {
  local p
  for p in "$@"; do
    if [ ! -e "$p" ]; then
      echo "skipped: needs $p"
      skipped=$((skipped + 1))
      [ "${CI:-}" = true ] && fail=1
      return 1
    fi
  done
}
CHECK_TIFF=../shared/tools/check_tiff.py
CHECK_GEOJSON=../shared/tools/check_geojson.py
# exact GEOJSON MASK DOWNSAMPLE: valid polygons (the checker's exit status) whose rasterization
# is the mask exactly (its Dice line must read 1.000000)
exact() {
  echo "-- check_geojson $*"
  local out
  out=$("$VENV/bin/python" "$CHECK_GEOJSON" "$@") || { echo "$out"; echo "FAIL invalid geometry in $1"; fail=1; return; }
  echo "$out"
  if grep -qx "DICE 1.000000" <<< "$out"; then
    echo "PASS $1 rasterizes to its mask exactly"
  else
    echo "FAIL $1 does not rasterize to its mask exactly"; fail=1
  fi
}
for m in fixtures/qupath-label-masks/*.png; do
  run $H convert-mask "$m" "$T/$(basename "$m" .png).tif" --tile-size 128 -q
done
run $H convert-mask "$T/strips.tif" "$T/strips-lzw.tif" --tile-size 512 -q
run $H convert-mask "$T/strips.tif" "$T/strips-big.tif" --tile-size 256 --bigtiff always --reduce nearest -q
run $H convert-mask "$T/vips-tiled.tif" "$T/vips-retiled.tif" --tile-size 512 -q
mkdir -p "$T/u16"
run $H convert-mask "$T/u16-input.tif" "$T/u16/labels16-pyramid.tif" --tile-size 256 -q
if has "$CHECK_TIFF"; then
  for f in "$T"/*-lzw.tif "$T"/strips-big.tif "$T"/vips-retiled.tif "$T"/label*.tif; do
    run "$VENV/bin/python" "$CHECK_TIFF" "$f" --no-values
  done
fi
run "$VENV/bin/python" - "$T" <<'PYEOF'
import glob, sys, numpy as np, pyvips, tifffile
ok = True
for f in sorted(glob.glob(sys.argv[1] + "/*.tif")):
    if f.endswith("/strips.tif") or f.endswith("/vips-tiled.tif") or f.endswith("/u16-input.tif"):
        continue
    with tifffile.TiffFile(f) as t:
        for i, p in enumerate(t.pages):
            ref = p.asarray()
            v = pyvips.Image.new_from_file(f, page=i, access="sequential")
            got = np.ndarray(buffer=v.write_to_memory(), dtype=np.uint8, shape=(v.height, v.width, v.bands))[..., 0]
            same = got.shape == ref.shape and (got == ref).all()
            ok &= bool(same)
            print(("PASS" if same else "FAIL"), f"vips == tifffile: {f.rsplit('/', 1)[1]} level {i} {ref.shape}")
    import openslide
    s = openslide.OpenSlide(f)
    same = s.level_count == len(tifffile.TiffFile(f).pages)
    for i in range(s.level_count):
        ref = tifffile.imread(f, key=i)
        reg = np.asarray(s.read_region((0, 0), i, s.level_dimensions[i]))
        same &= bool((reg[..., 0] == ref).all() and (reg[..., 3] == 255).all())
    ok &= same
    print(("PASS" if same else "FAIL"), f"openslide {openslide.__library_version__} == tifffile at all {s.level_count} levels: {f.rsplit('/', 1)[1]}")
# 16-bit labels: every level read alike by tifffile and pyvips, level 0 equal to the input
f16 = sys.argv[1] + "/u16/labels16-pyramid.tif"
ref16 = np.load(sys.argv[1] + "/u16-input.npy")
with tifffile.TiffFile(f16) as t:
    levels = [p.asarray() for p in t.pages]
same = levels[0].dtype == np.uint16 and (levels[0] == ref16).all()
for i, lv in enumerate(levels):
    v = pyvips.Image.new_from_file(f16, page=i, access="sequential")
    got = np.ndarray(buffer=v.write_to_memory(), dtype=np.uint16, shape=(v.height, v.width))
    same &= bool(got.shape == lv.shape and (got == lv).all())
ok &= bool(same)
print(("PASS" if same else "FAIL"), f"16-bit labels: tifffile == pyvips at all {len(levels)} levels, level 0 == input")
ref = np.load(sys.argv[1] + "/strips.npy")
for f in ("strips-lzw.tif", "strips-big.tif", "vips-retiled.tif"):
    same = (tifffile.imread(sys.argv[1] + "/" + f) == ref).all()
    ok &= bool(same)
    print(("PASS" if same else "FAIL"), f"{f} level 0 == input labels")
sys.exit(0 if ok else 1)
PYEOF
# tissue detection against OpenCV on a real slide thumbnail (10x of CMU-1-Small-Region)
SLIDE=.deps/data/cmu_small_region.svs
[ -f "$SLIDE" ] || SLIDE=../shared/data/slides/CMU-1-Small-Region.svs
run $H region "$SLIDE" --at 10x -o "$T/cmu10x.png"
run "$VENV/bin/python" scripts/tissue_parity.py "$H" "$T/cmu10x.png" "$T/parity"
# each method against the coarse real tissue outline of the same slide (Dice as docs/tissue.md says)
TRUTH=../shared/data/annotations/derived/CMU-1-Small-Region.tissue-from-pathopatcher-CMU-1.geojson
has "$TRUTH" && run "$VENV/bin/python" scripts/tissue_dice.py "$H" "$SLIDE" "$TRUTH" "$T/dice"
# vectorize: GEOS-valid before and after snapping to QuPath's 0.01 grid, Dice 1 against the mask
run $H vectorize "$T/strips.tif" -o "$T/strips.geojson" --class 1=Tumor --class 2=Stroma --downsample 4
run $H vectorize "$T/parity/cmu10x.tissue-saturation.tif" -o "$T/tissue.geojson" --class 255=Tissue --downsample 2
if has "$CHECK_GEOJSON"; then
  exact "$T/strips.geojson" "$T/strips.tif" 4
  exact "$T/tissue.geojson" "$T/parity/cmu10x.tissue-saturation.tif" 2
fi
# simplified outlines must stay valid too (Douglas-Peucker with validity checks)
run $H vectorize "$T/strips.tif" -o "$T/strips-s3.geojson" --class 1=Tumor --class 2=Stroma --downsample 4 --simplify 12px
run $H vectorize "$T/parity/cmu10x.tissue-saturation.tif" -o "$T/tissue-s.geojson" --class 255=Tissue --downsample 2 --simplify 4um --mpp 0.499
run "$VENV/bin/python" - "$T/strips.geojson" "$T/tissue.geojson" "$T/strips-s3.geojson" "$T/tissue-s.geojson" <<'PYEOF'
import json, sys, shapely
from shapely.geometry import shape
bad = 0
for f in sys.argv[1:]:
    for feat in json.load(open(f))["features"]:
        g = shape(feat["geometry"]); s = shapely.set_precision(g, 0.01)
        bad += (not g.is_valid) or s.is_empty or (not s.is_valid) or abs(s.area - g.area) > 1e-6 * g.area
print(("PASS" if bad == 0 else "FAIL") + f" every polygon valid after snapping to the 0.01 grid ({bad} failures)")
sys.exit(1 if bad else 0)
PYEOF
# self-crossing rings in real annotations: h2g reports exactly the features GEOS finds invalid
C16=../shared/data/annotations/derived/camelyon16_tumor_085.qupath.geojson
if has "$C16"; then
$H rasterize "$C16" -o "$T/c16.tif" --size 3000x3000 --downsample 32 2>"$T/c16.err" >/dev/null || fail=1
run "$VENV/bin/python" - "$C16" "$T/c16.err" <<'PYEOF'
import json, re, sys
from shapely.geometry import shape
fc = json.load(open(sys.argv[1]))
feats = fc["features"] if isinstance(fc, dict) else fc
geos = sorted(i + 1 for i, f in enumerate(feats) if not shape(f["geometry"]).is_valid)
ours = sorted(int(m) for m in re.findall(r"annotation (\d+) .*crosses itself", open(sys.argv[2]).read()))
ok = geos == ours and len(ours) > 0
print(("PASS" if ok else "FAIL") + f" self-crossing rings reported {ours}, GEOS-invalid features {geos}")
sys.exit(0 if ok else 1)
PYEOF
fi
# the direct JPEG tile reader against OpenSlide (h2g's and openslide-python's), pixel for pixel
run "$VENV/bin/python" scripts/direct_read_parity.py "$H" "$T/direct" "$SLIDE"
# Tukey HSD against statsmodels' pairwise_tukeyhsd (within 1e-9) on generated and edge-case tables
has ../shared/tools/tukey_oracle.py && run "$VENV/bin/python" scripts/tukey_parity.py "$H" ../shared/tools "$T/tukey"
# and directly against statsmodels (every clone): stats tukey --tukey-exclude otsu on per_slide.csv tables
run "$VENV/bin/python" scripts/tukey_parity.py --direct "$H" "$T/tukey-direct"
# heatmap parity: openslide-python + onnxruntime on the same patches and batches (within 1e-5)
for m in patch-classifier patch-classifier-nchw; do
  run "$VENV/bin/python" scripts/heatmap_parity.py "$H" "$SLIDE" "models/test/$(tr - _ <<< "$m").onnx" \
    "models/test-$m.json" "$T/heatmap-$m"
done
# segment (H2G-Net cascade) parity for both refinement input forms, channels last and first; its
# outputs readable and consistent: result TIFF by tifffile/OpenSlide, GeoJSON valid with Dice 1
# against the mask
# (the last one under FAST's lowest-level rule)
for pair in refinement_2in:auto refinement_4ch:auto refinement_2in_nchw:auto refinement_4ch_nchw:lowest; do
  m=${pair%%:*}
  run "$VENV/bin/python" scripts/segment_parity.py "$H" "$SLIDE" models/test/patch_classifier.onnx \
    models/test-patch-classifier.json models/test/$m.onnx "$T/seg-$m" "${pair#*:}"
done
# model contracts (scripts/make_contract_models.py): scaling, channel order, layout and the output
# used, per manifest, for patch classifiers and refinements, against onnxruntime (within 1e-5)
run "$VENV/bin/python" scripts/contract_parity.py "$H" "$SLIDE" "$T/contracts"
SEG=$T/seg-refinement_2in/$(basename "${SLIDE%.*}").segment-h2g
has "$CHECK_TIFF" && run "$VENV/bin/python" "$CHECK_TIFF" "$SEG.tif"
has "$CHECK_GEOJSON" && exact "$SEG.geojson" "$SEG.mask.tif" 4
if [ $fail -ne 0 ]; then
  echo "check-interop: FAILED" >&2
  exit 1
fi
echo "check-interop: all passed ($skipped skipped for want of ../shared)"
