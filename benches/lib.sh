# The set-up the bench scripts share. A script runs `set -euo pipefail`, goes to the repository
# root (`cd "$(dirname "$0")/.."`) and sources this file; it then has:
#   TOOLS  ../shared/tools (the team's generators and checkers)
#   D      .bench, the scratch folder (made here; a script may set its own below it)
#   VENV   the benches' Python venv: $H2G_BENCH_VENV, default .deps/bench-venv
# and the functions below. Nothing here runs a benchmark.

TOOLS=../shared/tools
D=.bench
mkdir -p "$D"
VENV=${H2G_BENCH_VENV:-.deps/bench-venv}

# bench_tools [WHAT]: stops the script unless ../shared/tools is here (WHAT: the tools it uses).
bench_tools() {
  [ -d "$TOOLS" ] || { echo "needs ../shared/tools${1:+ ($1)}" >&2; exit 1; }
}

# bench_debs PKG...: installs the Debian packages that are missing (apt-get).
bench_debs() {
  local pkg
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || {
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
    }
  done
}

# bench_venv MODULES PKG...: makes $VENV if absent and installs PKG... (pip) unless every one of
# MODULES (comma-separated, as Python's import takes them) imports already.
bench_venv() {
  local modules=$1
  shift
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/python" -c "import $modules" 2>/dev/null || "$VENV/bin/pip" install -q "$@"
}

# bench_texture: .bench/tex2048.png, gen_texture.py's 2048-px H&E-like texture, unless there.
bench_texture() {
  [ -s .bench/tex2048.png ] || "$VENV/bin/python" "$TOOLS/gen_texture.py" 2048 .bench/tex2048.png >&2
}

# bench_wsi PATH: the 100000 × 50000 pyramidal JPEG slide (build_wsi.py, 512-px tiles, of the
# texture) at PATH, unless there.
bench_wsi() {
  if [ ! -s "$1" ]; then
    bench_tools "gen_texture.py, build_wsi.py"
    bench_texture
    "$VENV/bin/python" "$TOOLS/build_wsi.py" .bench/tex2048.png 100000 50000 512 "$1" >&2
  fi
}

# bench_manifest BASE NAME MODEL: writes MODEL's manifest (MODEL without .onnx, plus .json)
# from models/BASE.json: named NAME, its file MODEL's name (beside the manifest), no sha256.
bench_manifest() {
  sed -e "s/\"name\": \"$1\"/\"name\": \"$2\"/" \
      -e "s#\"file\": \"[^\"]*\"#\"file\": \"$(basename "$3")\"#" \
      -e 's/"sha256": "[0-9a-f]*"/"sha256": null/' "models/$1.json" >"${3%.onnx}.json"
}

# bench_mobilenetv2 MODEL: the untrained MobileNetV2-shaped patch classifier
# (benches/make_mobilenetv2.py) at MODEL unless there, and its manifest, mobilenetv2-bench: the
# test classifier's contract.
bench_mobilenetv2() {
  if [ ! -s "$1" ]; then
    "$VENV/bin/python" -c "import onnx" 2>/dev/null || "$VENV/bin/pip" install -q onnx==1.19.1
    "$VENV/bin/python" benches/make_mobilenetv2.py "$1"
  fi
  bench_manifest test-patch-classifier mobilenetv2-bench "$1"
}
