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
# QuPath's simple tissue detection with all its steps (AN1 preset: threshold 200, min area
# 100 000 µm², max hole 1 000 000 µm²) at 20 µm per pixel: grey = (R+G+B)/3, 3x3 mean (border
# replicated), grey < threshold, 3x3 median (OpenCV's medianBlur, border replicated), 4-connected
# objects under the minimum area dropped, then holes (4-connected, off the border) under the
# maximum hole area filled. The mean is taken exactly (integer sums), so pixels whose mean sits
# exactly on the threshold are counted apart: float rounding may put them either side.
m, _ = ours("qupath", "--preset", "an1", "--mpp", "20")
s3 = cv2.blur(r.sum(-1).astype(np.float64), (3, 3), borderType=cv2.BORDER_REPLICATE) * 9
s3 = np.rint(s3).astype(np.int64)  # the 3x3 sum of R+G+B, exactly (small integers)
fg = (s3 < 27 * 200).astype(np.uint8)
ties = int((s3 == 27 * 200).sum())
fg = cv2.medianBlur(fg * 255, 3) > 0
px = 20.0 * 20.0
n, lab, st, _ = cv2.connectedComponentsWithStats(fg.astype(np.uint8), connectivity=4)
for i in range(1, n):
    if st[i, cv2.CC_STAT_AREA] * px < 100_000:
        fg[lab == i] = False
n, lab, st, _ = cv2.connectedComponentsWithStats((~fg).astype(np.uint8), connectivity=4)
H, W = fg.shape
for i in range(1, n):
    x, y, w, h = st[i, :4]
    border = x == 0 or y == 0 or x + w == W or y + h == H
    if not border and st[i, cv2.CC_STAT_AREA] * px < 1_000_000:
        fg[lab == i] = True
tie = cv2.dilate((s3 == 27 * 200).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
print(f"INFO qupath: {ties} pixels whose 3x3 mean equals the threshold exactly")
check("qupath (AN1, every step) vs OpenCV, away from those pixels (3x3)", m & ~tie, fg & ~tie, True)
check("qupath (AN1, every step) vs OpenCV, next to them", m & tie, fg & tie, False)
print("RESULT:", "OK" if ok else "FAILED")
sys.exit(0 if ok else 1)
