#!/usr/bin/env bash
# The Python package: `pip install .` of this checkout into its own venv (maturin from PyPI
# builds the extension module), then its pytest suite (python/tests), which compares the package
# with the h2g command line (target/release/h2g) and with numpy/OpenCV references.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${H2G_PY_VENV:-.deps/py-venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# the test dependencies, pinned (a no-op when present); the package's own build needs only
# maturin, which pip fetches into its isolated build environment
"$VENV/bin/pip" install -q numpy==2.4.6 pytest==8.4.2 opencv-python-headless==5.0.0.93 \
  tifffile==2026.3.3 scikit-learn==1.8.0
[ -x target/release/h2g ] || cargo build --release --locked -q
"$VENV/bin/pip" install -q .
# from outside the checkout, so that the installed package is the one imported
(cd python/tests && "../../$VENV/bin/python" -m pytest -q -p no:cacheprovider .)
