#!/usr/bin/env bash
# Core scaling of h2g's patch stage (heatmap) against the model alone, as run on the 16-core
# device machine (no network there): everything it needs travels in .devcarry/ (ignored by git):
# stripped h2g and examples/model_throughput binaries, libonnxruntime.so.1.31.1, openslide-bin's
# libopenslide.so.1 (loaded as .so.0), ../shared/tools/gen_texture.py and build_wsi.py, and
# wheels for pyvips (cffi, pycparser, pyvips-binary; pyvips itself under .devcarry/site/).
# For each core count n: taskset to n cores, RAYON_NUM_THREADS=n, ONNX Runtime --threads n.
# Env: W H (slide size, default 80000x40000, taken as x400), CORES ("1 2 4 8 16"), BATCH (16),
# SPIN (ONNX Runtime idle spinning in h2g: 0 default, 1),
# PY (python), SKIP_PIP; OUT receives the heatmap reports.
set -uo pipefail
export PYTHONUNBUFFERED=1
C=$PWD/.devcarry
rm -rf /tmp/site; [ -n "${SKIP_PIP:-}" ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site $C/*.whl || exit 1
cp -r $C/site/pyvips /tmp/site/ 2>/dev/null
export PYTHONPATH=/tmp/site
mkdir -p /tmp/lib && cp $C/libopenslide.so.1 /tmp/lib/libopenslide.so.0 && export LD_LIBRARY_PATH=/tmp/lib
export H2G_ORT_LIB=$C/libonnxruntime.so.1.31.1
chmod +x $C/h2g $C/model_throughput
nproc; lscpu | grep -E "Model name|^CPU\(s\)|Thread" ; ${PY:-python3} --version
$C/h2g --version || exit 1
t0=$(date +%s)
${PY:-python3} $C/gen_texture.py 2048 /tmp/tex.png >/dev/null || exit 1
[ -s /tmp/wsi.tif ] || ${PY:-python3} $C/build_wsi.py /tmp/tex.png ${W:-80000} ${H:-40000} 512 /tmp/wsi.tif || exit 1
ls -la /tmp/wsi.tif; echo "slide built in $(( $(date +%s) - t0 )) s"
${PY:-python3} benches/make_mobilenetv2.py /tmp/mnv2.onnx || exit 1
sed -e 's/"name": "test-patch-classifier"/"name": "mobilenetv2-bench"/' -e 's#"file": "test/patch_classifier.onnx"#"file": "mnv2.onnx"#' \
    -e 's/"sha256": "[0-9a-f]*"/"sha256": null/' models/test-patch-classifier.json > /tmp/mnv2.json
$C/h2g models inspect /tmp/mnv2.onnx
echo "batch ${BATCH:-16} spinning ${SPIN:-0}"; echo "cores model_alone_pps h2g_stage_pps ratio cells wall_s"
for n in ${CORES:-1 2 4 8 16}; do
  cpus=0-$((n-1))
  alone=$(taskset -c $cpus $C/model_throughput /tmp/mnv2.onnx ${BATCH:-16} 6 $n)
  s=$(date +%s.%N)
  H2G_ORT_SPINNING=${SPIN:-0} RAYON_NUM_THREADS=$n taskset -c $cpus $C/h2g heatmap /tmp/wsi.tif --model /tmp/mnv2.onnx --mpp 0.25 --threads $n --batch ${BATCH:-16} -o /tmp/hm$n 2>/tmp/err$n.txt || { cat /tmp/err$n.txt; continue; }
  e=$(date +%s.%N)
  read -r pps cells < <(${PY:-python3} -c "import json; r=json.load(open('/tmp/hm$n/wsi.heatmap.json')); print(r['patches_per_second'], r['cells_run'])")
  echo "$n $alone $pps $(${PY:-python3} -c "print(round($pps/$alone, 3))") $cells $(${PY:-python3} -c "print(round($e-$s, 1))")"
  cp /tmp/hm$n/wsi.heatmap.json $OUT/heatmap_$n.json 2>/dev/null
done
echo "total $(( $(date +%s) - t0 )) s"
