#!/usr/bin/env python3
"""Writes the slide fixtures of fixtures/slides (see its README):
  vips-ycbcr420-pyramid.tif  a 1100 x 700 synthetic texture saved by libvips as a tiled (128)
                             pyramidal JPEG TIFF, quality 75, YCbCr with 4:2:0 chroma and shared
                             JPEG tables, five levels down to 68 x 43: `cargo test` checks the
                             direct JPEG tile reader against OpenSlide at every level;
  leica-bounds.scn           a Leica SCN (TIFF with Leica's XML) whose 2000 x 1500 main image
                             sits at (1000, 500) of a 4000 x 3000 collection: OpenSlide reports
                             bounds, the case of QuPath's frame (--frame qupath).
usage: python3 scripts/make_fixture_slides.py   (needs numpy, tifffile, pyvips, pyvips-binary)
"""
import os
import numpy as np
import pyvips
import tifffile

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


# Leica SCN: a macro image covering the collection, a main image of two levels at an offset
nm = 500  # nm per level-0 pixel
W, H, OX, OY, CW, CH = 2000, 1500, 1000, 500, 4000, 3000
device = 'model="Leica SCN400;Leica SCN" version="1.5.1.10804 2012/05/10 13:29:07;1.5.1.10864"'


def scn_image(name, uuid, w, h, dims, view, objective):
    d = "".join(f'<dimension sizeX="{a}" sizeY="{b}" r="{r}" ifd="{i}" />' for a, b, r, i in dims)
    vw, vh, vx, vy = view
    return (f'<image name="{name}" uuid="{uuid}"><creationDate>2026-12-01T00:00:00.00Z</creationDate>'
            f'<device {device} /><pixels sizeX="{w}" sizeY="{h}">{d}</pixels>'
            f'<view sizeX="{vw}" sizeY="{vh}" offsetX="{vx}" offsetY="{vy}" spacingZ="NaN" />'
            f'<scanSettings><objectiveSettings><objective>{objective}</objective></objectiveSettings>'
            '<illuminationSettings><numericalAperture>0.7</numericalAperture>'
            '<illuminationSource>brightfield</illuminationSource></illuminationSettings>'
            '</scanSettings></image>')


xml = ('<?xml version="1.0" encoding="utf-8"?>\n'
       '<scn xmlns="http://www.leica-microsystems.com/scn/2010/10/01">'
       f'<collection name="h2g" uuid="1" sizeX="{CW * nm}" sizeY="{CH * nm}"><barcode>h2g</barcode>'
       + scn_image("macro", 2, 400, 300, [(400, 300, 0, 0)], (CW * nm, CH * nm, 0, 0), 0.1)
       + scn_image("main", 3, W, H, [(W, H, 0, 1), (W // 4, H // 4, 1, 2)],
                   (W * nm, H * nm, OX * nm, OY * nm), 20)
       + "</collection></scn>")
main = np.full((H, W, 3), 240, np.uint8)
main[300:900, 400:1400] = (180, 90, 160)
out = os.path.join(os.path.dirname(__file__), "..", "fixtures", "slides", "leica-bounds.scn")
with tifffile.TiffWriter(out) as t:
    t.write(np.full((300, 400, 3), 200, np.uint8), description=xml, metadata=None,
            tile=(128, 128), compression="jpeg", photometric="rgb")
    t.write(main, tile=(256, 256), compression="jpeg", photometric="rgb", metadata=None)
    t.write(main[::4, ::4].copy(), tile=(256, 256), compression="jpeg", photometric="rgb",
            metadata=None)
print(f"wrote {out} ({os.path.getsize(out)} bytes)")
