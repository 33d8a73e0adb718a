#!/usr/bin/env bash
# The training sampler (Python package) against the paper's generator design (Python,
# openslide-python, numpy/OpenCV augmentations, a multiprocessing pool with the same workers and
# queue), same cohort, same cores, in one run; then where h2g's time goes (perf: the share in
# JPEG decoding). The cohort: six 40× JPEG pyramids of 48000 × 32000 to 58240 × 37120 pixels
# made by the test kit's build_wsi.py (three grades; about 10 000 patches of 256 × 256 at 10×, so
# that an epoch's 12 800 draws seldom repeat a patch), tumour masks from gen_masks.py, patch
# tables by `h2g patches`.
# usage: benches/sampler_vs_python.sh [BATCHES] [WORKERS]   (needs ../shared/tools)
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=../shared/tools
[ -d "$TOOLS" ] || { echo "needs ../shared/tools (build_wsi.py, gen_texture.py, gen_masks.py)"; exit 1; }
VENV=${H2G_PY_VENV:-.deps/py-venv}
BATCHES=${1:-200}
WORKERS=${2:-8}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q numpy==2.4.6 opencv-python-headless==5.0.0.93 openslide-python==1.4.7 \
  openslide-bin==4.0.1.2 pyvips==3.2.0 pyvips-binary==8.18.7
"$VENV/bin/python" -c "import h2g" 2>/dev/null || "$VENV/bin/pip" install -q .
cargo build --release --locked -q
H=target/release/h2g
D=target/tmp/sampler-bench
mkdir -p "$D"
PY="$VENV/bin/python"
[ -s "$D/tex.png" ] || "$PY" "$TOOLS/gen_texture.py" 1024 "$D/tex.png" >&2
{
  echo "slide,patches,grade"
  for i in 0 1 2 3 4 5; do
    w=$((48000 + 2048 * i)); h=$((32000 + 1024 * i))
    s="$D/s$i.tif"
    [ -s "$s" ] || "$PY" "$TOOLS/build_wsi.py" "$D/tex.png" $w $h 256 "$s" >&2
    [ -s "$D/m$i.png" ] || "$PY" "$TOOLS/gen_masks.py" $((w / 16)) $((h / 16)) "$D/m$i.png" --seed $i --cell 64 --frac 0.3 >&2
    [ -s "$D/p$i.csv" ] || "$H" patches "$s" --mpp 0.25 --mask "$D/m$i.png" --mask-downsample 16 -o "$D/p$i.csv" -q >&2
    echo "s$i.tif,p$i.csv,$(( i / 2 + 1 ))"
  done
} > "$D/cohort.csv"
echo "cohort: $D/cohort.csv ($(nproc) cores, $WORKERS workers, queue 20, batches of 64)"
"$PY" benches/sampler_vs_python.py "$D/cohort.csv" --batches "$BATCHES" --workers "$WORKERS"
# where h2g's sampler spends its time: CPU samples per shared object (libturbojpeg is the JPEG
# decoding; _h2g the rest of h2g: draws, copies, augmentations), with and without augmentation
for aug in 1 0; do
  rm -f "$D/perf.data"
  perf record -q -o "$D/perf.data" -F 499 -- "$PY" benches/sampler_vs_python.py "$D/cohort.csv" \
    --batches "$BATCHES" --workers "$WORKERS" --child h2g --augment $aug >/dev/null 2>&1 || true
  if [ -s "$D/perf.data" ]; then
    echo "h2g sampler, augment=$aug: share of CPU samples by shared object:"
    perf report -i "$D/perf.data" --sort dso --stdio --no-children 2>/dev/null | grep '%' | head -6
  else
    echo "h2g sampler, augment=$aug: perf record is not available here"
  fi
done
