#!/usr/bin/env python3
"""Independent reference for `h2g heatmap`: openslide-python reads each patch that h2g ran,
onnxruntime runs the same model, and the probabilities must match h2g's float32 TIFF within
1e-5. Written for the test: a straightforward loop, no code shared with h2g.

usage: heatmap_parity.py H2G SLIDE MODEL.onnx OUTDIR
"""
import json
import math
import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import openslide
import tifffile

h2g, slide_path, model, out = sys.argv[1:5]
subprocess.run([h2g, "heatmap", slide_path, "--model", model, "-o", out], check=True)
stem = os.path.splitext(os.path.basename(slide_path))[0]
rep = json.load(open(os.path.join(out, stem + ".heatmap.json")))
ours = tifffile.imread(os.path.join(out, stem + ".heatmap.tif")).astype(np.float64)
g = rep["grid"]
cols, rows, size, ds, level = g["cols"], g["rows"], g["patch"], g["downsample"], g["level"]
s = openslide.OpenSlide(slide_path)
w0, h0 = s.dimensions
lds = s.level_downsamples[level]
k = ds / lds
assert abs(k - round(k)) < 1e-9, "reference handles integer shrink factors only"
k = int(round(k))
sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
name = sess.get_inputs()[0].name
side = size * ds
cells, batch = [], []
for r in range(rows):
    for c in range(cols):
        if ours[r, c] == 0:
            continue
        x0, y0 = int(round(c * side)), int(round(r * side))
        iw = min(size, math.floor((w0 - x0) / ds))
        ih = min(size, math.floor((h0 - y0) / ds))
        px = np.full((size, size, 3), 255, np.uint8)
        if iw > 0 and ih > 0:
            reg = np.asarray(s.read_region((x0, y0), level, (iw * k, ih * k)).convert("RGB"), np.float64)
            # area average over k x k, rounded half up
            reg = reg.reshape(ih, k, iw, k, 3).mean(axis=(1, 3))
            px[:ih, :iw] = np.floor(reg + 0.5).astype(np.uint8)
        cells.append((r, c))
        batch.append(px.astype(np.float32) / 255.0)
# the same batches as h2g (row-major, rep["batch"] at a time): ONNX Runtime's reductions may
# round differently for another batch size
worst, n = 0.0, 0
b = rep["batch"]
for i in range(0, len(cells), b):
    probs = sess.run(None, {name: np.stack(batch[i:i + b])})[0][:, 1]
    for (r, c), p in zip(cells[i:i + b], probs):
        worst = max(worst, abs(float(p) - ours[r, c]))
        n += 1
ok = n == rep["cells_run"] and n > 0 and worst <= 1e-5
print(("PASS" if ok else "FAIL") + f" heatmap vs openslide-python + onnxruntime {ort.__version__}: "
      f"{n} patches (h2g ran {rep['cells_run']}), max |diff| {worst:.2e} (limit 1e-5)")
sys.exit(0 if ok else 1)
