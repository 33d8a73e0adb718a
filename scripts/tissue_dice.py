#!/usr/bin/env python3
"""Dice of each h2g tissue method against a reference tissue outline (GeoJSON, level-0 px).

usage: tissue_dice.py H2G SLIDE REFERENCE.geojson WORKDIR [MIN_DICE]
Runs every method at its default resolution, rasterises the reference polygons at each mask's
own scale (cv2.fillPoly, holes subtracted) and prints Dice, precision and recall. Exit 1 if a
method's Dice is below MIN_DICE (default 0: report only); QuPath's generic defaults
(threshold 127) are reported but not held to it, the AN1 preset is.
"""
import json, subprocess, sys
import numpy as np, cv2, tifffile

h2g, slide, ref, work = sys.argv[1:5]
min_dice = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
gj = json.load(open(ref))
feats = gj["features"] if isinstance(gj, dict) and "features" in gj else gj if isinstance(gj, list) else [gj]

def polygons(g):
    if g["type"] == "Polygon":
        yield g["coordinates"]
    elif g["type"] == "MultiPolygon":
        yield from g["coordinates"]

def rasterise(shape, dsx, dsy):
    m = np.zeros(shape, np.uint8)
    for f in feats:
        for poly in polygons(f.get("geometry") or f):
            rings = [np.round(np.array(r, float) / [dsx, dsy] - 0.5).astype(np.int32) for r in poly]
            cv2.fillPoly(m, rings[:1], 1)
            for hole in rings[1:]:
                cv2.fillPoly(m, [hole], 0)
    return m > 0

ok = True
print(f"{'method':<11} {'dice':>6} {'precision':>9} {'recall':>6}  mask size")
import os
methods = [("saturation", "saturation"), ("otsu", "otsu"), ("fast", "fast"),
           ("qupath", "qupath"), ("qupath-an1", "qupath", "--preset", "an1")]
model = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "models", "superfast_tissue", "best_unet.onnx")
if os.path.exists(model):
    methods.append(("model", "model", "--model", model))
for label, method, *extra in methods:
    subprocess.run([h2g, "tissue", slide, "-o", work, "--method", method, *extra], check=True, capture_output=True)
    stem = slide.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    rep = json.load(open(f"{work}/{stem}.tissue-{method}.json"))
    pred = tifffile.imread(f"{work}/{stem}.tissue-{method}.tif") > 0
    gt = rasterise(pred.shape, rep["downsample_x"], rep["downsample_y"])
    tp = int((pred & gt).sum())
    dice = 2 * tp / max(1, int(pred.sum()) + int(gt.sum()))
    prec, rec = tp / max(1, int(pred.sum())), tp / max(1, int(gt.sum()))
    ok &= dice >= min_dice or method == "qupath" and not extra
    print(f"{label:<11} {dice:6.3f} {prec:9.3f} {rec:6.3f}  {pred.shape[1]}x{pred.shape[0]}")
sys.exit(0 if ok else 1)
