#!/usr/bin/env bash
# convert-mask against vips on a realistic 50000×25000 QuPath-style mask (../shared/tools/
# gen_masks.py), in the same run: median wall time and peak RSS over N runs each, and ratios.
# usage: benches/convert_mask_vs_vips.sh [WIDTH HEIGHT [RUNS]]   (default 50000 25000 3)
# Sizes beyond 50000x25000 that are multiples of it are tiled from it with vips arrayjoin.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
W=${1:-50000}; H=${2:-25000}; N=${3:-3}
bench_tools gen_masks.py
bench_debs libvips-tools time bc
bench_venv "numpy, cv2, pyvips" numpy opencv-python-headless pyvips pyvips-binary
IN=$D/mask_${W}x${H}.png
if [ ! -s "$IN" ]; then
  if [ $((W * H)) -gt $((50000 * 25000)) ] && [ $((W % 50000)) -eq 0 ] && [ $((H % 25000)) -eq 0 ]; then
    # larger than gen_masks.py can hold in memory: tile the 50000x25000 mask with vips (streamed)
    "$0" 50000 25000 0 >/dev/null
    n=$(( (W / 50000) * (H / 25000) ))
    vips arrayjoin "$(printf "$D/mask_50000x25000.png %.0s" $(seq $n))" "$IN" --across $((W / 50000))
  else
    "$VENV/bin/python" "$TOOLS/gen_masks.py" "$W" "$H" "$IN" >&2
  fi
fi
[ "$N" -gt 0 ] || exit 0
cargo build --release --locked -q
measure() { # prints "seconds KB"
  /usr/bin/time -f "%e %M" -o "$D/time.txt" "$@" >/dev/null 2>"$D/err.txt" || { cat "$D/err.txt" >&2; exit 1; }
  cat "$D/time.txt"
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: >"$D/h2g.txt"; : >"$D/vips.txt"
for i in $(seq "$N"); do   # interleaved, so both see the same machine state
  measure target/release/h2g convert-mask "$IN" "$D/h2g.tif" -q >>"$D/h2g.txt"
  measure vips tiffsave "$IN" "$D/vips.tif" --tile --tile-width 1024 --tile-height 1024 --pyramid --compression lzw >>"$D/vips.txt"
done
ht=$(cut -d' ' -f1 "$D/h2g.txt" | median); hm=$(cut -d' ' -f2 "$D/h2g.txt" | median)
vt=$(cut -d' ' -f1 "$D/vips.txt" | median); vm=$(cut -d' ' -f2 "$D/vips.txt" | median)
echo "input: $IN (${W}x${H}), $N runs each, medians; $(vips --version)"
printf 'h2g convert-mask : %6.2f s  %7.1f MB peak RSS\n' "$ht" "$(echo "$hm/1024" | bc -l)"
printf 'vips tiffsave    : %6.2f s  %7.1f MB peak RSS\n' "$vt" "$(echo "$vm/1024" | bc -l)"
printf 'ratio h2g/vips   : time %.3f (target <= 0.333), RSS %.3f (target <= 1)\n' \
  "$(echo "$ht/$vt" | bc -l)" "$(echo "$hm/$vm" | bc -l)"
