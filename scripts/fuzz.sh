#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo fuzz, libFuzzer) of the readers of user files: QuPath GeoJSON
# (with gzip/zip), ASAP XML, and PNG/TIFF label masks through row reading and tracing. Each
# target runs SECONDS (default 60) from a seed corpus of the project's fixtures (and ../shared's
# real annotations when present). Needs a nightly toolchain (`rustup toolchain install nightly`)
# and cargo-fuzz (installed here if missing). Exit 1 when a target crashed: its input is left in
# fuzz/artifacts/TARGET/; add it to fixtures/bad-inputs/ with a case in tests/bad_inputs/.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(geojson asap_xml mask)
rustup toolchain list | grep -q '^nightly' || { echo "fuzz: needs a nightly toolchain (rustup toolchain install nightly)" >&2; exit 2; }
cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
seed() {  # seed TARGET FILES...
  local dir=fuzz/corpus/$1; shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$dir/seed-$(basename "$f")"; done
  return 0
}
seed geojson fixtures/bad-inputs/*.geojson ../shared/data/annotations/qupath-exports/*.json \
  ../shared/data/annotations/qupath-format-samples/*.json ../shared/data/annotations/derived/*.geojson
seed asap_xml fixtures/bad-inputs/*.xml
# the XML target puts the <?xml header first: seeds without it
for f in fuzz/corpus/asap_xml/seed-*.xml ../shared/data/annotations/camelyon16/*.xml ../shared/data/annotations/qupath-exports/*.xml; do
  [ -f "$f" ] || continue
  sed '1s/^<?xml[^>]*>//' "$f" >"fuzz/corpus/asap_xml/seed-$(basename "$f").body"
done
rm -f fuzz/corpus/asap_xml/seed-*.xml
seed mask fixtures/bad-inputs/mask-* fixtures/qupath-label-masks/*.png ../shared/data/label-masks/*.png
cd fuzz
cargo +nightly fuzz build -O >/dev/null 2>&1 || cargo +nightly fuzz build -O
status=0
export TMPDIR=${TMPDIR:-/dev/shm}
for t in "${TARGETS[@]}"; do
  echo "fuzz: $t for ${SECONDS_EACH} s" >&2
  if cargo +nightly fuzz run -O "$t" -- -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 \
       -timeout=10 -print_final_stats=1 >"target/fuzz-$t.log" 2>&1; then
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^Done' "target/fuzz-$t.log" | sed "s/^/fuzz: $t: /" >&2 || true
    grep -E 'cov: [0-9]+' "target/fuzz-$t.log" | tail -1 | sed "s/^/fuzz: $t: /" >&2 || true
  else
    echo "fuzz: $t CRASHED; input in fuzz/artifacts/$t/; log in fuzz/target/fuzz-$t.log" >&2
    tail -40 "target/fuzz-$t.log" >&2
    status=1
  fi
done
exit $status
