#!/usr/bin/env bash
# `h2g patches` on a 100000x50000 pyramidal slide (../shared/tools/build_wsi.py) with its
# downsample-4 tumour mask (gen_masks.py 25000 12500): wall time and peak RSS.
# usage: benches/patches_at_scale.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
bench_tools
bench_debs time
bench_venv "numpy, cv2, pyvips" numpy opencv-python-headless pyvips pyvips-binary
bench_wsi "$D/wsi_100000x50000.tif"
[ -s "$D/mask_25000x12500.png" ] || "$VENV/bin/python" "$TOOLS/gen_masks.py" 25000 12500 "$D/mask_25000x12500.png" >&2
cargo build --release --locked -q
/usr/bin/time -f "patches: %e s wall, %M KB peak RSS" target/release/h2g patches "$D/wsi_100000x50000.tif" \
  -o "$D/patches_100k.csv" --mask "$D/mask_25000x12500.png" --mask-downsample 4 --mpp 0.25 -q
