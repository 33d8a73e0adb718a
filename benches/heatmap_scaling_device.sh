#!/usr/bin/env bash
# Core scaling of h2g's patch stage (heatmap) against the model alone and against the straight
# Python loop (benches/python_loop.py), as run on the 16-core device machine (no network there).
# Everything it needs travels in .devcarry/ (ignored by git; prepare it with
# benches/prepare_devcarry.sh): xz-compressed h2g and examples/model_throughput binaries,
# libturbojpeg.so.0, ../shared/tools/gen_texture.py and build_wsi.py, and wheels (numpy,
# onnxruntime 1.31.1 — whose libonnxruntime h2g also loads —, openslide-python, openslide-bin —
# whose libopenslide.so.1 h2g also loads, as .so.0 —, pillow, cffi, pycparser, pyvips-binary;
# pyvips itself under .devcarry/site/).
# For each core count n: taskset to n cores, h2g --threads n (inference and readers together),
# the model alone and the Python loop with n ONNX Runtime threads.
# Env: W H (slide size, default 80000x40000, taken as x400), CORES ("2 4 8 16"), BATCH (16),
# READS (--read-threads values run besides the default, "0": readers sharing all cores),
# OSCORES (core counts also run with H2G_SLIDE_READER=openslide, "16"), PYCORES (core counts
# for the Python loop, "4 16"), PY (python); OUT receives the heatmap reports.
set -uo pipefail
export PYTHONUNBUFFERED=1
C=$PWD/.devcarry
PY=${PY:-python3}
rm -rf /tmp/site
$PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site $C/*.whl || exit 1
cp -r $C/site/pyvips /tmp/site/ 2>/dev/null
export PYTHONPATH=/tmp/site
mkdir -p /tmp/lib /tmp/bin
cp /tmp/site/openslide_bin/libopenslide.so.1 /tmp/lib/libopenslide.so.0 || exit 1
export LD_LIBRARY_PATH=/tmp/lib
export H2G_ORT_LIB=$(ls /tmp/site/onnxruntime/capi/libonnxruntime.so.1.31.1) || exit 1
export H2G_TURBOJPEG_LIB=$C/libturbojpeg.so.0
for b in h2g model_throughput; do
  $PY -c "import lzma,sys; open(sys.argv[2],'wb').write(lzma.open(sys.argv[1]).read())" $C/$b.xz /tmp/bin/$b && chmod +x /tmp/bin/$b || exit 1
done
BIN=/tmp/bin/h2g
nproc; lscpu | grep -E "Model name|^CPU\(s\)|Thread" ; $PY --version
$BIN --version || exit 1
t0=$(date +%s)
$PY $C/gen_texture.py 2048 /tmp/tex.png >/dev/null || exit 1
[ -s /tmp/wsi.tif ] || $PY $C/build_wsi.py /tmp/tex.png ${W:-80000} ${H:-40000} 512 /tmp/wsi.tif || exit 1
ls -la /tmp/wsi.tif; echo "slide built in $(( $(date +%s) - t0 )) s"
$BIN info /tmp/wsi.tif --mpp 0.25 | sed -n 3p
$PY -c "import onnx" || { echo "the device Python needs onnx for benches/make_mobilenetv2.py" >&2; exit 1; }
$PY benches/make_mobilenetv2.py /tmp/mnv2.onnx || exit 1
sed -e 's/"name": "test-patch-classifier"/"name": "mobilenetv2-bench"/' -e 's#"file": "test/patch_classifier.onnx"#"file": "mnv2.onnx"#' \
    -e 's/"sha256": "[0-9a-f]*"/"sha256": null/' models/test-patch-classifier.json > /tmp/mnv2.json
stage() { # n reader read_threads -> "pps cells wall"
  local n=$1 reader=$2 rt=$3 s e extra=()
  [ "$rt" = default ] || extra=(--read-threads "$rt")
  s=$(date +%s.%N)
  H2G_SLIDE_READER=$reader taskset -c 0-$((n-1)) $BIN heatmap /tmp/wsi.tif --model /tmp/mnv2.onnx \
    --mpp 0.25 --threads $n "${extra[@]}" --batch ${BATCH:-16} -o /tmp/hm-$reader-$n 2>/tmp/err.txt || { cat /tmp/err.txt >&2; return 1; }
  e=$(date +%s.%N)
  cp /tmp/hm-$reader-$n/wsi.heatmap.json ${OUT:-/tmp}/heatmap_${reader}_${n}_$rt.json 2>/dev/null
  $PY -c "import json,sys; r=json.load(open(sys.argv[1])); print(round(r['patches_per_second'],1), r['cells_run'], round($e-$s,1))" /tmp/hm-$reader-$n/wsi.heatmap.json
}
ratio() { $PY -c "import sys; print(round(float(sys.argv[1])/float(sys.argv[2]), 3))" "$1" "$2"; }
echo "batch ${BATCH:-16}; h2g runs: direct JPEG reader with --read-threads default (1 per 8 cores from 8 up) and each of READS; openslide = H2G_SLIDE_READER=openslide"
echo "cores model_alone | run pps ratio ... | python_loop h2g_default/python"
for n in ${CORES:-2 4 8 16}; do
  alone=$(taskset -c 0-$((n-1)) /tmp/bin/model_throughput /tmp/mnv2.onnx ${BATCH:-16} 8 $n)
  read -r d cells wall < <(stage $n direct default)
  line="$n $alone | default $d $(ratio $d $alone)"
  for r in ${READS:-0}; do
    read -r x _ _ < <(stage $n direct $r)
    line="$line | rt$r $x $(ratio $x $alone)"
  done
  if [[ " ${OSCORES:-16} " == *" $n "* ]]; then
    read -r o _ _ < <(stage $n openslide default)
    line="$line | openslide $o $(ratio $o $alone)"
  fi
  if [[ " ${PYCORES:-4 16} " == *" $n "* ]]; then
    p=$(OMP_NUM_THREADS=$n taskset -c 0-$((n-1)) $PY benches/python_loop.py /tmp/wsi.tif /tmp/mnv2.onnx /tmp/hm-direct-$n/wsi.heatmap.json $n)
    line="$line | python $p $(ratio $d $p)"
  fi
  echo "$line | cells $cells"
done
echo "total $(( $(date +%s) - t0 )) s"
