#!/usr/bin/env bash
# The tests: set up, then the full suite; with ../shared present, also the independent
# interoperability check of convert-mask outputs (tifffile, OpenSlide, vips).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --release --locked
if [ -d ../shared/tools ]; then
  scripts/check-interop.sh
fi
