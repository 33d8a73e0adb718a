#!/usr/bin/env bash
# `h2g patches` on a 100000x50000 pyramidal slide (../shared/tools/build_wsi.py) with its
# downsample-4 tumour mask (gen_masks.py 25000 12500): wall time and peak RSS.
# usage: benches/patches_at_scale.sh
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=../shared/tools
[ -d "$TOOLS" ] || { echo "needs ../shared/tools" >&2; exit 1; }
dpkg -s time >/dev/null 2>&1 || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }
VENV=${H2G_BENCH_VENV:-.deps/bench-venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q numpy opencv-python-headless pyvips pyvips-binary
D=.bench; mkdir -p "$D"
[ -s "$D/tex2048.png" ] || "$VENV/bin/python" "$TOOLS/gen_texture.py" 2048 "$D/tex2048.png" >&2
[ -s "$D/wsi_100000x50000.tif" ] || "$VENV/bin/python" "$TOOLS/build_wsi.py" "$D/tex2048.png" 100000 50000 512 "$D/wsi_100000x50000.tif" >&2
[ -s "$D/mask_25000x12500.png" ] || "$VENV/bin/python" "$TOOLS/gen_masks.py" 25000 12500 "$D/mask_25000x12500.png" >&2
cargo build --release --locked -q
/usr/bin/time -f "patches: %e s wall, %M KB peak RSS" target/release/h2g patches "$D/wsi_100000x50000.tif" \
  -o "$D/patches_100k.csv" --mask "$D/mask_25000x12500.png" --mask-downsample 4 --mpp 0.25 -q
