#!/usr/bin/env python3
"""h2g's direct JPEG tile reader against OpenSlide, byte for byte.

Builds JPEG-tiled pyramidal TIFFs with libvips (chroma-subsampled YCbCr, full-resolution
chroma, RGB-declared tiles, odd and exact sizes, several tile sizes), then reads regions at every
level with `h2g region` twice: with the direct reader and with H2G_SLIDE_READER=openslide
(h2g's OpenSlide), and also with openslide-python (whatever OpenSlide it loads). All three must
agree pixel for pixel, and `h2g info` must say the direct reader is in use.
usage: direct_read_parity.py H2G_BINARY WORKDIR [SLIDE...]
"""
import os
import random
import subprocess
import sys

import numpy as np
import openslide
import pyvips
import tifffile
from PIL import Image

h2g, work = sys.argv[1], sys.argv[2]
extra = sys.argv[3:]
os.makedirs(work, exist_ok=True)


def texture(w, h):
    """A tissue-like RGB picture with colour edges (so chroma subsampling matters)."""
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    r = 180 + 60 * np.sin(xx / 37.0) * np.cos(yy / 23.0)
    g = 120 + 90 * np.sin((xx + yy) / 51.0)
    b = 200 - 70 * np.cos(xx / 13.0 + yy / 71.0)
    a = np.stack([r, g, b], -1)
    a[(yy // 97 + xx // 89) % 3 == 0] = (250, 250, 248)
    return np.clip(a, 0, 255).astype(np.uint8)


slides = []
# libvips: YCbCr 4:2:0 with shared JPEG tables, exact and odd sizes
for name, w, h, tile, q in [("vips-exact", 4096, 2048, 256, 85), ("vips-odd", 3001, 2003, 512, 80)]:
    path = f"{work}/{name}.tif"
    pyvips.Image.new_from_array(texture(w, h), interpretation="srgb").tiffsave(
        path, tile=True, tile_width=tile, tile_height=tile, pyramid=True, compression="jpeg", Q=q)
    slides.append(path)
# tifffile + imagecodecs: self-contained tiles, full-resolution chroma and RGB-declared tiles
for name, w, h, tile, photometric in [("tifffile-444", 1999, 1237, 128, "ycbcr"),
                                      ("tifffile-rgb", 2048, 1536, 256, "rgb")]:
    path = f"{work}/{name}.tif"
    a = texture(w, h)
    with tifffile.TiffWriter(path) as t:
        while True:
            kw = dict(subsampling=(1, 1)) if photometric == "ycbcr" else {}
            t.write(a, tile=(tile, tile), compression="jpeg", compressionargs={"level": 92},
                    photometric=photometric, subfiletype=0 if a.shape[1] == w else 1, **kw)
            if min(a.shape[:2]) < 2 * tile:
                break
            a = np.asarray(Image.fromarray(a).resize((a.shape[1] // 2, a.shape[0] // 2)))
    slides.append(path)
slides += extra

ok = True
for path in slides:
    info = subprocess.run([h2g, "info", path, "--mpp", "0.25"], capture_output=True, text=True)
    direct = "decoded directly" in info.stdout
    base = os.path.basename(path)
    if not direct:
        print("FAIL", f"{base}: h2g does not read it directly: {info.stdout.splitlines()[2:3]}")
        ok = False
        continue
    s = openslide.OpenSlide(path)
    rng = random.Random(base)
    checked = 0
    same_all = True
    for level in range(s.level_count):
        lw, lh = s.level_dimensions[level]
        ds = s.level_downsamples[level]
        rects = [(0, 0, min(lw, 700), min(lh, 500)), (max(lw - 37, 0), max(lh - 29, 0), 80, 60)]
        for _ in range(4):
            rects.append((rng.randrange(lw), rng.randrange(lh), rng.randint(1, 400), rng.randint(1, 300)))
        for x, y, rw, rh in rects:
            x0, y0 = round(x * ds), round(y * ds)
            out = {}
            for mode in ("direct", "openslide"):
                env = dict(os.environ)
                if mode == "openslide":
                    env["H2G_SLIDE_READER"] = "openslide"
                png = f"{work}/{base}.{mode}.png"
                subprocess.run([h2g, "region", path, "--mpp", "0.25", "--at", f"level:{level}",
                                "--x", str(x0), "--y", str(y0), "--width", str(rw),
                                "--height", str(rh), "-o", png],
                               check=True, env=env, capture_output=True)
                out[mode] = np.asarray(Image.open(png).convert("RGB"))
            ref = np.asarray(s.read_region((x0, y0), level, (rw, rh)))
            # openslide-python gives premultiplied-free RGBA: flatten on white as h2g does
            a = ref[..., 3:4].astype(np.int32)
            flat = (ref[..., :3].astype(np.int32) * a // 255 + 255 - a).astype(np.uint8)
            exact = x0 / ds == x and y0 / ds == y
            same = np.array_equal(out["direct"], out["openslide"])
            if exact:
                same = same and np.array_equal(out["direct"], flat)
            if not same:
                print("FAIL", f"{base} level {level} region {x},{y} {rw}x{rh}: "
                      f"max diff {np.abs(out['direct'].astype(int) - out['openslide'].astype(int)).max()}")
            same_all &= same
            checked += 1
    ok &= same_all
    print(("PASS" if same_all else "FAIL"),
          f"direct JPEG tile reader == OpenSlide {openslide.__library_version__} and h2g's OpenSlide: "
          f"{base}, {checked} regions over {s.level_count} levels")
sys.exit(0 if ok else 1)
