#!/usr/bin/env python3
"""Independent reference for `h2g heatmap`, from the slide and the published rules alone.

usage: heatmap_parity.py H2G SLIDE MODEL.onnx MANIFEST.json OUTDIR

The reference never reads h2g's report to decide what to compute:
  * the grid: patches of the manifest's size at its magnification, no overlap, row-major from
    (0, 0), ceil(W / side) x ceil(H / side) cells (side = size x objective / magnification, from
    OpenSlide's objective power); the level is the coarsest whose downsample is at most the
    patch's, and each patch is that level's region shrunk by Pillow's box reduction, padded
    white past the slide's edge;
  * the tissue: the paper's mask (saturation 255*(max-min) >= 20*max at 1.25x, closed by 5x5
    then 3x3 squares with OpenCV), and a cell runs when it covers at least half its footprint;
  * the probabilities: onnxruntime on every patch (batches of the size h2g reports, since
    ONNX Runtime's reductions may round differently for another batch size).
Then h2g's grid must equal the derived one; every cell h2g ran must match within 1e-5; the cells
run must be the reference's, except cells whose coverage is within 0.05 of one half (the two
masks may differ by a pixel there: different area resamplers), where h2g's choice is taken.
`reference()` serves scripts/segment_parity.py too.
"""
import json
import math
import os
import subprocess
import sys

import cv2
import numpy as np
import onnxruntime as ort
import openslide
import tifffile
from PIL import Image


def reference(slide_path, model, man, ours, batch, prepare=None, pick=None):
    """The derived grid, the reference tissue rule and probabilities: a dict with cols, rows,
    level, k, ds, cover (per cell), want_run, unclear, and probs (per cell h2g ran, from
    onnxruntime on the reference's own patches). `prepare(patches, channels_first)` turns a
    uint8 [N, H, W, 3] batch into the model's input (default x / 255) and `pick(outputs)` the
    outputs into P per patch (default channel 1 of the first); scripts/contract_parity.py
    passes the manifest's."""
    s = openslide.OpenSlide(slide_path)
    w0, h0 = s.dimensions
    objective = float(s.properties[openslide.PROPERTY_NAME_OBJECTIVE_POWER])
    size, mag = int(man["size"]), float(man["magnification"])
    ds = objective / mag
    side = size * ds
    cols, rows = math.ceil(w0 / side), math.ceil(h0 / side)
    level = max(i for i, d in enumerate(s.level_downsamples) if d <= ds * (1 + 1e-9))
    k = ds / s.level_downsamples[level]
    assert abs(k - round(k)) < 1e-9, "this reference handles whole shrink factors only"
    k = int(round(k))

    def patch(r, c):
        x0, y0 = int(round(c * side)), int(round(r * side))
        iw = min(size, math.floor((w0 - x0) / ds))
        ih = min(size, math.floor((h0 - y0) / ds))
        px = np.full((size, size, 3), 255, np.uint8)
        if iw > 0 and ih > 0:
            reg = s.read_region((x0, y0), level, (iw * k, ih * k)).convert("RGB")
            px[:ih, :iw] = np.asarray(reg.reduce(k) if k > 1 else reg)
        return px

    # the paper's tissue mask at 1.25x, and each cell's coverage of it
    td = objective / 1.25
    tl = max(i for i, d in enumerate(s.level_downsamples) if d <= td * (1 + 1e-9))
    tk = td / s.level_downsamples[tl]
    assert abs(tk - round(tk)) < 1e-9, "this reference handles whole shrink factors only"
    tk = int(round(tk))
    lw, lh = s.level_dimensions[tl]
    thumb = s.read_region((0, 0), tl, (lw // tk * tk, lh // tk * tk)).convert("RGB")
    rgb = np.asarray(thumb.reduce(tk) if tk > 1 else thumb).astype(np.int32)
    mx, mn = rgb.max(-1), rgb.min(-1)
    sat = (255 * (mx - mn) >= 20 * mx).astype(np.uint8)
    sq = lambda n: np.ones((n, n), np.uint8)
    tissue = cv2.morphologyEx(cv2.morphologyEx(sat, cv2.MORPH_CLOSE, sq(5)), cv2.MORPH_CLOSE, sq(3)) > 0

    def coverage(r, c):
        x0, x1 = c * side / td, min((c + 1) * side, w0) / td
        y0, y1 = r * side / td, min((r + 1) * side, h0) / td
        xs = slice(int(math.floor(x0)), max(int(math.ceil(x1)), int(math.floor(x0)) + 1))
        ys = slice(int(math.floor(y0)), max(int(math.ceil(y1)), int(math.floor(y0)) + 1))
        m = tissue[ys, xs]
        return float(m.mean()) if m.size else 0.0

    cells = [(r, c) for r in range(rows) for c in range(cols)]
    cover = {rc: coverage(*rc) for rc in cells}
    want_run = {rc for rc in cells if cover[rc] >= 0.5}
    unclear = {rc for rc in cells if abs(cover[rc] - 0.5) <= 0.05}
    ran = {(r, c) for (r, c) in cells
           if r < ours.shape[0] and c < ours.shape[1] and ours[r, c] != 0}
    # the patches to run: the rule's, and in the unclear band h2g's choice
    todo = sorted((want_run - unclear) | (ran & unclear))
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    channels_first = inp.shape[1] == 3
    probs = {}
    for i in range(0, len(todo), batch):
        chunk = todo[i:i + batch]
        px = np.stack([patch(r, c) for r, c in chunk])
        if prepare is not None:
            x = prepare(px, channels_first)
        else:
            x = px.astype(np.float32) / 255.0
            if channels_first:
                x = x.transpose(0, 3, 1, 2)
        outs = sess.run(None, {inp.name: x})
        for rc, p in zip(chunk, pick(outs) if pick is not None else outs[0][:, 1]):
            probs[rc] = float(p)
    return dict(cols=cols, rows=rows, level=level, k=k, ds=ds, size=size, want_run=want_run,
                unclear=unclear, ran=ran, probs=probs)


def main():
    h2g, slide_path, model, manifest_path, out = sys.argv[1:6]
    man = json.load(open(manifest_path))
    subprocess.run([h2g, "heatmap", slide_path, "--model", model, "-o", out], check=True)
    stem = os.path.splitext(os.path.basename(slide_path))[0]
    rep = json.load(open(os.path.join(out, stem + ".heatmap.json")))
    ours = tifffile.imread(os.path.join(out, stem + ".heatmap.tif")).astype(np.float64)
    ref = reference(slide_path, model, man, ours, int(rep["batch"]))
    fail = []
    g = rep["grid"]
    derived = {"cols": ref["cols"], "rows": ref["rows"], "patch": ref["size"], "level": ref["level"]}
    got = {key: g[key] for key in derived}
    if got != derived or abs(g["downsample"] - ref["ds"]) > 1e-9:
        fail.append(f"grid {got}, downsample {g['downsample']}; derived {derived}, downsample {ref['ds']}")
    odd = (ref["want_run"] ^ ref["ran"]) - ref["unclear"]
    if odd:
        fail.append(f"{len(odd)} cells run differently from the derived tissue rule, e.g. {sorted(odd)[:5]}")
    worst = max((abs(p - ours[r, c]) for (r, c), p in ref["probs"].items()), default=0.0)
    n = len(ref["probs"])
    if not (n > 0 and n == rep["cells_run"] and worst <= 1e-5):
        fail.append(f"{n} patches compared (h2g reports {rep['cells_run']}), max |diff| {worst:.2e}")
    near = len(ref["unclear"] & (ref["want_run"] ^ ref["ran"]))
    print(("FAIL " + "; ".join(fail)) if fail else
          f"PASS heatmap vs openslide-python + Pillow + OpenCV + onnxruntime {ort.__version__}: grid "
          f"{ref['cols']}x{ref['rows']} at level {ref['level']} (x{ref['k']}) derived, {n} patches, "
          f"max |diff| {worst:.2e} (limit 1e-5), {len(ref['want_run'])} cells by the tissue rule "
          f"({near} differ within 0.05 of the cut)")
    sys.exit(1 if fail else 0)


if __name__ == "__main__":
    main()
