#!/usr/bin/env python3
"""Writes fixtures/slides/vips-ycbcr420-pyramid.tif: a 1100 x 700 synthetic texture saved by
libvips as a tiled (128) pyramidal JPEG TIFF, quality 75, YCbCr with 4:2:0 chroma and shared
JPEG tables (the layout of most scanners' and vips's slides), five levels down to 68 x 43.
It lets `cargo test` check the direct JPEG tile reader against OpenSlide at every level on a
fresh clone. usage: python3 scripts/make_fixture_slides.py   (needs numpy, pyvips, pyvips-binary)
"""
import os
import numpy as np
import pyvips

w, h = 1100, 700
yy, xx = np.mgrid[:h, :w].astype(np.float64)
r = 180 + 60 * np.sin(xx / 37.0) * np.cos(yy / 23.0)
g = 120 + 90 * np.sin((xx + yy) / 51.0)
b = 200 - 70 * np.cos(xx / 13.0 + yy / 71.0)
a = np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)
a[(yy // 97 + xx // 89) % 3 == 0] = (250, 250, 248)
out = os.path.join(os.path.dirname(__file__), "..", "fixtures", "slides", "vips-ycbcr420-pyramid.tif")
pyvips.Image.new_from_array(a, interpretation="srgb").tiffsave(
    out, tile=True, tile_width=128, tile_height=128, pyramid=True, compression="jpeg", Q=75,
    strip=True)
print(f"wrote {out} ({os.path.getsize(out)} bytes)")
