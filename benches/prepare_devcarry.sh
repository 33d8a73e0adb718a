#!/usr/bin/env bash
# Fills .devcarry/ (ignored by git) with what benches/heatmap_scaling_device.sh needs on a machine
# without network: release binaries (xz), libturbojpeg, the slide generator and Python wheels for
# the device's Python (3.12 by default: PYVER).
set -euo pipefail
cd "$(dirname "$0")/.."
C=.devcarry
PYVER=${PYVER:-3.12}
mkdir -p "$C/site"
cargo build --release --locked -q
cargo build --release --locked -q --example model_throughput
for b in target/release/h2g target/release/examples/model_throughput; do
  strip -o "$C/$(basename "$b")" "$b"
  xz -f -6 "$C/$(basename "$b")"
done
cp -L /usr/lib/x86_64-linux-gnu/libturbojpeg.so.0 "$C/libturbojpeg.so.0"
cp ../shared/tools/gen_texture.py ../shared/tools/build_wsi.py "$C/"
rm -f "$C"/*.whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PYVER" \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_28_x86_64 -d "$C" numpy onnxruntime==1.31.1 openslide-python openslide-bin \
  pillow cffi pycparser pyvips-binary
# pyvips itself is pure Python: taken from the benchmark venv (benches/heatmap_throughput.sh makes it)
[ -d "$C/site/pyvips" ] || cp -r .deps/bench-venv/lib/python3*/site-packages/pyvips "$C/site/"
du -cb "$C" | tail -1
