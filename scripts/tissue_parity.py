#!/usr/bin/env python3
"""h2g tissue vs OpenCV on the same RGB picture, pixel for pixel.

usage: tissue_parity.py H2G PICTURE.png WORKDIR
For each method, runs `h2g tissue PICTURE --at level:0` and the same rule in OpenCV
(cvtColor RGB2HSV + morphologyEx MORPH_CLOSE, default border), then prints the pixels that
differ. For `saturation` it also applies OpenCV's morphology to the exact saturation rule
(255*(max-min) >= 20*max, no 8-bit rounding): h2g must equal that exactly, so every
difference from plain OpenCV is a pixel where OpenCV's rounded saturation crosses 20.
Exit 1 if any exact-parity check fails.
"""
import json, subprocess, sys
import numpy as np, cv2, tifffile

h2g, pic, work = sys.argv[1:4]
rgb = cv2.cvtColor(cv2.imread(pic, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
hsv_s = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[..., 1]
close = lambda m, k: cv2.morphologyEx(m, cv2.MORPH_CLOSE, k)
sq = lambda n: np.ones((n, n), np.uint8)
def disk(r):
    y, x = np.mgrid[-r:r + 1, -r:r + 1]
    return (x * x + y * y <= r * r).astype(np.uint8)

def ours(method, *extra):
    subprocess.run([h2g, "tissue", pic, "-o", work, "--method", method, "--at", "level:0", *extra],
                   check=True, capture_output=True)
    stem = pic.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    report = json.load(open(f"{work}/{stem}.tissue-{method}.json"))
    return tifffile.imread(f"{work}/{stem}.tissue-{method}.tif") > 0, report

ok = True
def check(name, a, b, must_equal):
    global ok
    d = int((a != b).sum())
    if must_equal and d:
        ok = False
    print(f"{'FAIL' if must_equal and d else 'PASS' if not d else 'INFO'} {name}: {d} of {a.size} pixels differ")

m, _ = ours("saturation")
cv = close(close((hsv_s >= 20).astype(np.uint8), sq(5)), sq(3)) > 0
r = rgb.astype(np.int32); mx = r.max(-1); mn = r.min(-1)
exact = close(close((255 * (mx - mn) >= 20 * mx).astype(np.uint8), sq(5)), sq(3)) > 0
check("saturation vs OpenCV morphology on the exact saturation rule", m, exact, True)
check("saturation vs plain OpenCV (differences: OpenCV's 8-bit saturation rounding)", m, cv, False)
raw_diff = int(((hsv_s >= 20) != (255 * (mx - mn) >= 20 * mx)).sum())
print(f"INFO thresholded pixels where OpenCV's rounded S and the exact S disagree: {raw_diff}")

m, rep = ours("otsu")
t, _ = cv2.threshold(hsv_s, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
print(f"INFO Otsu threshold: h2g {rep['otsu_threshold']}, OpenCV {int(t)}")
ok &= rep["otsu_threshold"] == int(t)
check("otsu vs OpenCV", m, close(close((hsv_s > t).astype(np.uint8), sq(5)), sq(3)) > 0, True)

m, _ = ours("fast")
d2 = ((255 - r) ** 2).sum(-1)
raw = (d2 > 85 * 85) & ~((r == 0).all(-1))
check("fast vs OpenCV (disk radius 4)", m, close(raw.astype(np.uint8), disk(4)) > 0, True)

m, _ = ours("saturation", "--closing", "disks")
check("saturation with disks vs OpenCV", m, close(close((255 * (mx - mn) >= 20 * mx).astype(np.uint8), disk(5)), disk(3)) > 0, True)
# Design I as published (segment --design otsu): Otsu on OpenCV's saturation, no closing; and
# the authors' evaluated variant with one disk(5) closing
m, rep = ours("otsu", "--closing", "none")
ok &= rep["otsu_threshold"] == int(t)
check("otsu without closing (design I) vs OpenCV THRESH_OTSU", m, hsv_s > t, True)
m, _ = ours("otsu", "--closing", "disk5")
check("otsu with a disk(5) closing vs OpenCV", m, close((hsv_s > t).astype(np.uint8), disk(5)) > 0, True)
# QuPath's simple tissue detection (AN1 preset: threshold 200, min area 100 000 µm², max hole
# 1 000 000 µm²) at 20 µm per pixel, each step written here from QuPath's description with
# OpenCV and NumPy: ImageJ's grey (R+G+B)/3 rounded; ImageJ's 3x3 mean (edge pixels repeated,
# (sum + 4) / 9); grey < 200; 3x3 median (medianBlur, edges repeated); outlines of 4-connected
# components in scan order, each filled (background not 8-connected to the outside), skipped when
# inside an outline already traced, kept when the filled area is >= the minimum; then the holes
# (kept fills minus the original pixels) traced the same way, left open when their filled area
# is >= the maximum hole area.
m, _ = ours("qupath", "--preset", "an1", "--mpp", "20")
grey = (r.sum(-1) + 1) // 3
pad = np.pad(grey, 1, mode="edge")
H, W = grey.shape
s9 = sum(pad[dy:dy + H, dx:dx + W] for dy in range(3) for dx in range(3))
fg = ((s9 + 4) // 9) < 200
fg = cv2.medianBlur(fg.astype(np.uint8) * 255, 3) > 0

def outlines(mask):
    """(filled mask, first pixel) of each traced outline, in QuPath's order."""
    n, lab = cv2.connectedComponents(mask.astype(np.uint8), connectivity=4)
    labels, first = np.unique(lab.ravel(), return_index=True)
    done = np.zeros(mask.shape, bool)
    out = []
    for lbl, f in sorted(zip(labels, first), key=lambda t: t[1]):
        if lbl == 0 or done.flat[f]:
            continue
        ys, xs = np.nonzero(lab == lbl)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        comp = np.pad(lab[y0:y1, x0:x1] == lbl, 1)
        free = (~comp).astype(np.uint8)
        ff = np.zeros((free.shape[0] + 2, free.shape[1] + 2), np.uint8)
        cv2.floodFill(free, ff, (0, 0), 2, flags=8)
        filled = np.zeros(mask.shape, bool)
        filled[y0:y1, x0:x1] = (free != 2)[1:-1, 1:-1]
        done |= filled
        out.append(filled)
    return out

min_px, hole_px = 100_000 / 400.0, 1_000_000 / 400.0
kept = np.zeros(fg.shape, bool)
for f in outlines(fg):
    if f.sum() >= min_px:
        kept |= f
final = kept.copy()
for f in outlines(kept & ~fg):
    if f.sum() >= hole_px:
        final &= ~f
check("qupath (AN1, every step) vs the steps in OpenCV/NumPy", m, final, True)
print("RESULT:", "OK" if ok else "FAILED")
sys.exit(0 if ok else 1)
