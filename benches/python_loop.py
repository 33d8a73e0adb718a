#!/usr/bin/env python3
"""The straightforward Python patch loop h2g's heatmap is compared with: openslide-python
read_region -> RGB float32 / 255 -> onnxruntime, batches of 16, over exactly the patches h2g ran
(the non-zero cells of its heatmap TIFF). Prints patches per second.
usage: python_loop.py SLIDE MODEL.onnx H2G_HEATMAP.json THREADS"""
import json
import sys
import time

import numpy as np
import onnxruntime as ort
import openslide

slide, model, rep, threads = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3])), int(sys.argv[4])
g = rep["grid"]
side, level = g["level0_side"], g["level"]


def read_heatmap(path):
    """h2g's heatmap TIFF: one uncompressed float32 strip (parsed here, so no tifffile needed)."""
    import struct
    b = open(path, "rb").read()
    assert b[:4] == b"II*\0", "expected h2g's little-endian classic TIFF"
    at = struct.unpack_from("<I", b, 4)[0]
    tags = {}
    for k in range(struct.unpack_from("<H", b, at)[0]):
        tag, typ, _count, val = struct.unpack_from("<HHII", b, at + 2 + 12 * k)
        tags[tag] = val & 0xFFFF if typ == 3 else val
    w, h, strip = tags[256], tags[257], tags[273]
    return np.frombuffer(b, np.float32, w * h, strip).reshape(h, w)


heat = read_heatmap(rep["files"]["tiff"])
cells = [(r, c) for r in range(heat.shape[0]) for c in range(heat.shape[1]) if heat[r, c] != 0]
o = ort.SessionOptions()
o.intra_op_num_threads = threads
sess = ort.InferenceSession(model, o, providers=["CPUExecutionProvider"])
name = sess.get_inputs()[0].name
s = openslide.OpenSlide(slide)
t = time.perf_counter()
for i in range(0, len(cells), 16):
    batch = []
    for r, c in cells[i:i + 16]:
        p = s.read_region((int(round(c * side)), int(round(r * side))), level, (256, 256)).convert("RGB")
        batch.append(np.asarray(p, np.float32) / 255.0)
    sess.run(None, {name: np.stack(batch)})
print(f"{len(cells) / (time.perf_counter() - t):.2f}")
