"""An independent numpy/OpenCV implementation of the sampler's augmentations, for parity.

RGB → HSV is OpenCV's own (``cv2.cvtColor``, bit-exact fixed point). HSV → RGB is written here
in numpy, in single precision with rounding to nearest: the arithmetic of OpenCV's scalar
``HSV2RGB_b`` path. (OpenCV's vectorised path truncates instead of rounding, so
``cv2.cvtColor(..., COLOR_HSV2RGB)`` gives a result up to one level lower on most pixels of a
large image and the rounded one on the last few of each run: ``hsv_to_rgb_cv2`` is kept for the
test that bounds that difference.)
"""

import cv2
import numpy as np

# (b, g, r) indices into (v, p, q, t) per hue sector, as in OpenCV
_SECTORS = np.array([[1, 3, 0], [1, 0, 2], [3, 0, 1], [0, 2, 1], [0, 1, 3], [2, 1, 0]])


def hsv_to_rgb(hsv):
    """8-bit HSV (hue 0-179) → RGB in float32 arithmetic, rounded to nearest (ties to even)."""
    one = np.float32(1)
    h = hsv[..., 0].astype(np.float32) * np.float32(6.0 / 180.0)
    s = hsv[..., 1].astype(np.float32) * np.float32(1.0 / 255.0)
    v = hsv[..., 2].astype(np.float32) * np.float32(1.0 / 255.0)
    sector = np.floor(h).astype(np.int64)
    f = (h - sector.astype(np.float32)).astype(np.float32)
    tab = np.stack([v, v * (one - s), v * (one - s * f), v * (one - s * (one - f))], -1)
    pick = lambda k: np.take_along_axis(tab, _SECTORS[sector, k][..., None], -1)[..., 0]
    b, g, r = pick(0), pick(1), pick(2)
    grey = s == 0
    rgb = np.stack([np.where(grey, v, r), np.where(grey, v, g), np.where(grey, v, b)], -1)
    return np.clip(np.rint(rgb * np.float32(255)), 0, 255).astype(np.uint8)


def hsv_to_rgb_cv2(hsv):
    return cv2.cvtColor(np.ascontiguousarray(hsv), cv2.COLOR_HSV2RGB)


def augment(img, flip_h, flip_v, rot90, hsv, brightness):
    out = img
    if flip_h:
        out = out[:, ::-1]
    if flip_v:
        out = out[::-1]
    if rot90:
        out = np.rot90(out, int(rot90))
    out = np.ascontiguousarray(out)
    if any(int(v) for v in hsv):
        h, s, v = cv2.split(cv2.cvtColor(out, cv2.COLOR_RGB2HSV).astype(np.int32))
        h = (h + int(hsv[0])) % 180
        s = np.clip(s + int(hsv[1]), 0, 255)
        v = np.clip(v + int(hsv[2]), 0, 255)
        out = hsv_to_rgb(np.stack([h, s, v], -1).astype(np.uint8))
    if brightness != 1.0:
        f = np.float32(brightness)
        out = np.minimum(np.floor(out.astype(np.float32) * f + np.float32(0.5)), 255).astype(np.uint8)
    return out


def augment_batch(images, meta):
    return np.stack(
        [
            augment(
                images[i],
                meta["flip_h"][i],
                meta["flip_v"][i],
                meta["rot90"][i],
                meta["hsv"][i],
                meta["brightness"][i],
            )
            for i in range(len(images))
        ]
    )
