#!/usr/bin/env bash
# The tests: set up, then the full suite, the QuPath Groovy scripts (syntax, then run in QuPath
# 0.2-0.7's core with rasterize and imports compared), the evaluation report rendered in
# headless Chromium and the Snakemake workflow run on real slides;
# and the independent interoperability checks (tifffile, OpenSlide, vips, OpenCV, GEOS/shapely,
# onnxruntime), with a few more parts when ../shared is present.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# tests that lack data or a tool say "skipped: ..." and are listed here (under CI=true they fail)
skips=${CARGO_TARGET_DIR:-target}/tmp/skipped-tests.txt
rm -f "$skips"
cargo test --release --locked
if [ -s "$skips" ]; then
  echo "cargo test: $(sort -u "$skips" | wc -l) skipped:"
  sort -u "$skips" | sed 's/^/  /'
else
  echo "cargo test: none skipped"
fi
# the Python package, installed with pip from this checkout, and its pytest suite
scripts/check-python.sh
scripts/check-groovy.sh
# QuPath's own core (0.2.3-0.7.0, the test kit beside the checkout): the Groovy scripts run for a
# project, h2g's GeoJSON of every command imported, rasterize against QuPath's labelled export;
# each says "skipped" without the kit (and fails under CI=true)
scripts/check-qupath-scripts.sh
scripts/check-qupath-import.sh
scripts/check-rasterize-qupath.sh
scripts/check-an1-qupath.sh
scripts/check-report.sh
scripts/check-snakemake.sh
# the Slurm profile for real on a single-node cluster here ("skipped" when none can be started)
scripts/check-slurm.sh
# independent readers and references (PyPI packages, pinned); the parts that need the test kit
# beside the checkout say "skipped" without it
scripts/check-interop.sh
# the paper's ablation study (designs I-IX, one h2g run, the paper's tables, Tukey against
# statsmodels) on a synthetic cohort made by the test kit's generators ("skipped" without them)
scripts/ablation_cohort.sh
