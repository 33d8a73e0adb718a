#!/usr/bin/env bash
# Where the time of `h2g segment --design h2g` goes, stage by stage, on the large synthetic slide
# (../shared/tools/build_wsi.py, 100000x50000, taken as x400 with --mpp 0.25) with UNTRAINED
# networks of the published shapes: a MobileNetV2-shaped patch classifier
# (benches/make_mobilenetv2.py) and a U-Net-shaped refinement with the paper's filters
# (benches/make_unet.py). The peer in the same run is Python onnxruntime running the same
# refinement network on the same cores (one call, as h2g makes one). Prints the report's stage
# seconds, the refinement's share of the total and the ratio to the peer; the paper's figures
# (Table 3, OpenVINO on 32 cores: 57.32 s stage 1, 0.75 s stage 2, 58.07 s total) are printed
# beside them for scale, not measured here.
# usage: benches/segment_stages.sh [THREADS]   (default: all cores)
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
THREADS=${1:-$(nproc)}
bench_venv "numpy, onnx, onnxruntime, openslide, pyvips, tifffile" numpy onnx==1.19.1 \
  onnxruntime==1.31.1 openslide-python openslide-bin pyvips pyvips-binary opencv-python-headless tifffile
SLIDE=${H2G_BENCH_SLIDE:-$D/wsi_100000x50000.tif}
bench_wsi "$SLIDE"
PATCH=$D/mobilenetv2_bench.onnx
bench_mobilenetv2 "$PATCH"
UNET=$D/unet_bench.onnx
[ -s "$UNET" ] || "$VENV/bin/python" benches/make_unet.py "$UNET"
bench_manifest test-refinement-2in unet-bench "$UNET"
cargo build --release --locked -q
OUT=$D/segment-bench; rm -rf "$OUT"
/usr/bin/time -f "%e %M" -o "$D/time.txt" target/release/h2g segment "$SLIDE" --design h2g \
  --model "$PATCH" --refine-model "$UNET" --mpp 0.25 --threads "$THREADS" -o "$OUT" 2>"$D/err.txt" ||
  { cat "$D/err.txt" >&2; exit 1; }
stem=$(basename "${SLIDE%.*}")
OMP_NUM_THREADS=$THREADS "$VENV/bin/python" - "$OUT/$stem.segment-h2g.json" "$UNET" "$THREADS" "$D/time.txt" <<'EOF'
import json, sys, time
import numpy as np
import onnxruntime as ort

report, unet, threads, timef = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
r = json.load(open(report))
t = r["timings"]
wall, rss_kb = open(timef).read().split()
so = ort.SessionOptions()
so.intra_op_num_threads = threads
sess = ort.InferenceSession(unet, so, providers=["CPUExecutionProvider"])
rng = np.random.default_rng(0)
feeds = {i.name: rng.random([d if isinstance(d, int) else 1 for d in i.shape], np.float32)
         for i in sess.get_inputs()}
t0 = time.perf_counter()
sess.run(None, feeds)
peer = time.perf_counter() - t0
ri = r["refine_input"]
stage2 = t["refine_reading"] + t["refinement"]
print(f"slide {r['level0']['width']} x {r['level0']['height']}, {r['heatmap']['cells_run']} patches, "
      f"{threads} threads; refinement read level {ri['level']} ({ri['width']} x {ri['height']})")
for k in ["tissue_gate", "patch_reading", "stage1_inference", "stage1", "refine_reading",
          "refinement", "total", "writing"]:
    print(f"  {k:17s} {t[k]:9.2f} s")
print(f"  wall (time)       {float(wall):9.2f} s, peak RSS {int(rss_kb) / 1024:.0f} MiB")
print(f"stage 2 (reading + refinement) {stage2:.2f} s = {100 * stage2 / t['total']:.1f} % of the total "
      f"(paper, OpenVINO on 32 cores: 0.75 of 58.07 s = 1.3 %)")
print(f"refinement network: h2g {t['refinement']:.2f} s, Python onnxruntime {peer:.2f} s "
      f"(ratio {t['refinement'] / peer:.2f}; h2g's includes resizing the heatmap)")
EOF
