#!/usr/bin/env bash
# The tests: set up, then the full suite, the QuPath Groovy scripts (syntax, then run in QuPath
# 0.2-0.7's core with rasterize and imports compared), the evaluation report rendered in
# headless Chromium and the Snakemake workflow run on real slides;
# with ../shared present, also the independent interoperability checks (tifffile, OpenSlide,
# vips, GEOS/shapely).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --release --locked
scripts/check-groovy.sh
# QuPath's own core (0.2.3-0.7.0, the test kit beside the checkout): the Groovy scripts run for a
# project, h2g's GeoJSON of every command imported, rasterize against QuPath's labelled export;
# each says "skipped" without the kit (and fails under CI=true)
scripts/check-qupath-scripts.sh
scripts/check-qupath-import.sh
scripts/check-rasterize-qupath.sh
scripts/check-report.sh
scripts/check-snakemake.sh
if [ -d ../shared/tools ]; then
  scripts/check-interop.sh
fi
