#!/usr/bin/env python3
"""Independent reference for `h2g segment --design h2g`: the heatmap stage is recomputed by
scripts/heatmap_parity.py's reference (from the slide and the published rules, not h2g's
heatmap), openslide-python reads the level the paper's rule gives (the coarsest of at least
1024 x 1024, else level 0; or the lowest with RULE=lowest, FAST's pipeline), numpy scales it
(min-max), OpenCV resizes
image and heatmap to 1024 x 1024 (bilinear on pixel centres, edges replicated: cv2.INTER_LINEAR),
onnxruntime runs the refinement model (either input form, either layout), and the probability
must match h2g's within 1e-5; the 0/1 result and the full-frame mask (top-left rule, separate
x/y scales) must agree too.

usage: segment_parity.py H2G SLIDE PATCH_MODEL.onnx PATCH_MANIFEST.json REFINE_MODEL.onnx OUTDIR [RULE]
"""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import onnxruntime as ort
import openslide
import tifffile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from heatmap_parity import reference  # noqa: E402

h2g, slide_path, patch_model, patch_manifest, refine_model, out = sys.argv[1:7]
RULE = sys.argv[7] if len(sys.argv) > 7 else "auto"
BATCH = 16
subprocess.run([h2g, "segment", slide_path, "--design", "h2g", "--model", patch_model, "--batch", str(BATCH),
                "--refine-model", refine_model, "--refine-level", RULE, "-o", out], check=True)
stem = os.path.splitext(os.path.basename(slide_path))[0]
rep = json.load(open(os.path.join(out, stem + ".segment-h2g.json")))
N = 1024


def resize(src, ow, oh):
    """OpenCV's bilinear resize of an H x W x C float image, channels kept."""
    r = cv2.resize(src, (ow, oh), interpolation=cv2.INTER_LINEAR)
    return r.reshape(oh, ow, -1).astype(np.float32)


s = openslide.OpenSlide(slide_path)
if RULE == "lowest":
    lvl = s.level_count - 1
else:
    big = [k for k, (w, h) in enumerate(s.level_dimensions) if w >= N and h >= N]
    lvl = max(big) if big else 0
got = rep["refine_input"]
if (got["level"], got["width"], got["height"]) != (lvl, *s.level_dimensions[lvl]):
    sys.exit(f"FAIL: h2g's refinement read level {got['level']} ({got['width']} x {got['height']}), "
             f"the {RULE} rule gives level {lvl} {s.level_dimensions[lvl]}")
img = np.asarray(s.read_region((0, 0), lvl, s.level_dimensions[lvl]).convert("RGB")).astype(np.float32)
lo, hi = img.min(), max(img.max(), img.min() + 1)
image = resize((img - lo) / (hi - lo), N, N)
# the heatmap the cascade refines, recomputed (h2g's own is read only for the cells whose tissue
# coverage is within 0.05 of the cut)
ours_heat = tifffile.imread(os.path.join(out, stem + ".heatmap.tif")).astype(np.float64)
ref = reference(slide_path, patch_model, json.load(open(patch_manifest)), ours_heat, BATCH)
heat = np.zeros((ref["rows"], ref["cols"]), np.float32)
for (r, c), p in ref["probs"].items():
    heat[r, c] = p
heat_worst = float(np.abs(heat - ours_heat).max()) if heat.shape == ours_heat.shape else float("inf")
heat = resize(heat[:, :, None], N, N)
sess = ort.InferenceSession(refine_model, providers=["CPUExecutionProvider"])
feeds = {}
first = sess.get_inputs()[0].shape
channels_first = first[1] in (1, 3, 4) and first[-1] not in (1, 3, 4)
for i in sess.get_inputs():
    c = i.shape[1] if channels_first else i.shape[-1]
    x = (image if c == 3 else heat if c == 1 else np.concatenate([image, heat], -1))[None]
    feeds[i.name] = x.transpose(0, 3, 1, 2) if channels_first else x
prob = sess.run(None, feeds)[0][0]
p1 = prob[1] if channels_first else prob[:, :, 1]
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
ok = heat_worst <= 1e-5 and worst <= 1e-5 and flips == 0 and mask_ok
print(("PASS" if ok else "FAIL") + f" segment h2g vs openslide-python + OpenCV + onnxruntime "
      f"({os.path.basename(refine_model)}, level {lvl} by the {RULE} rule): heatmap max |diff| {heat_worst:.2e}, max |dP| "
      f"{worst:.2e} (limit 1e-5), {flips} result cells differ, full-frame mask "
      f"{'identical' if mask_ok else 'DIFFERS'}")
sys.exit(0 if ok else 1)
