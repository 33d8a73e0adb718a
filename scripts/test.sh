#!/usr/bin/env bash
# The tests: set up, then the full suite, a syntax check of the QuPath Groovy scripts, the
# evaluation report rendered in headless Chromium and the Snakemake workflow run on real slides;
# with ../shared present, also the independent interoperability checks (tifffile, OpenSlide,
# vips, GEOS/shapely).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --release --locked
scripts/check-groovy.sh
scripts/check-report.sh
scripts/check-snakemake.sh
if [ -d ../shared/tools ]; then
  scripts/check-interop.sh
fi
