#!/usr/bin/env python3
"""Writes the bad-input corpus into fixtures/bad-inputs/ (standard library only): broken and
hostile PNGs, TIFFs, GeoJSON, ASAP XML and cohort tables, each small. The cases and their
expected errors are in fixtures/bad-inputs/cases.tsv; tests/bad_inputs/ runs them."""
import json, os, struct, sys, zlib

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "fixtures", "bad-inputs")
os.makedirs(out, exist_ok=True)


def w(name, data):
    with open(os.path.join(out, name), "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)


def png(width, height, rows, depth=8, colour=0, extra=b""):
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


W, H = 64, 48
good_rows = b"".join(b"\x00" + bytes(1 if 10 <= x < 40 and 8 <= y < 30 else 0 for x in range(W)) for y in range(H))
good = png(W, H, good_rows)
w("mask-good.png", good)
w("mask-truncated.png", good[: len(good) // 2])
bad_crc = bytearray(good)
bad_crc[len(good) - 20] ^= 0xFF  # inside the IDAT data: its CRC no longer matches
w("mask-bad-crc.png", bytes(bad_crc))
w("mask-not-png.png", b"GIF89a not a png at all")
w("mask-empty.png", png(W, H, b"".join(b"\x00" + bytes(W) for _ in range(H))))
# a header claiming 2^31-1 x 2^31-1 pixels over a few bytes of data
w("mask-absurd.png", png(0x7FFFFFFF, 0x7FFFFFFF, b"\x00" * 64))
# IDAT that inflates to fewer rows than the header says
w("mask-short-data.png", png(W, H, good_rows[: (W + 1) * 5]))
w("empty-file.png", b"")


def tiff(width, height, bits=8, strip=b"\x00", offsets=None, counts=None, spp=1, fmt=1, compression=1):
    """A little-endian baseline TIFF with one strip; offsets/counts override the strip's."""
    entries = []
    def e(tag, typ, count, value):
        entries.append((tag, typ, count, value))
    data_at = 8
    e(256, 4, 1, width)
    e(257, 4, 1, height)
    e(258, 3, 1, bits)
    e(259, 3, 1, compression)
    e(262, 3, 1, 1)
    e(273, 4, 1, offsets if offsets is not None else data_at)
    e(277, 3, 1, spp)
    e(278, 4, 1, height)
    e(279, 4, 1, counts if counts is not None else len(strip))
    e(339, 3, 1, fmt)
    ifd_at = data_at + len(strip) + (len(strip) & 1)
    body = b"II*\x00" + struct.pack("<I", ifd_at) + strip + (b"\x00" if len(strip) & 1 else b"")
    ifd = struct.pack("<H", len(entries))
    for tag, typ, count, value in sorted(entries):
        if typ == 3:
            ifd += struct.pack("<HHIHH", tag, typ, count, value, 0)
        else:
            ifd += struct.pack("<HHII", tag, typ, count, value)
    ifd += struct.pack("<I", 0)
    return body + ifd


w("mask-good.tif", tiff(8, 4, strip=bytes([0, 1] * 16)))
w("mask-absurd.tif", tiff(1_000_000, 1_000_000, strip=b"\x00" * 16, counts=1_000_000 * 1_000_000 % 2**32))
w("mask-strip-past-end.tif", tiff(64, 64, strip=b"\x00" * 16, offsets=10_000_000, counts=4096))
w("mask-float.tif", tiff(4, 4, bits=32, strip=struct.pack("<16f", *([0.5] * 16)), fmt=3))
w("mask-zero-size.tif", tiff(0, 0, strip=b"\x00"))
tif_loop = bytearray(tiff(8, 4, strip=bytes(32)))
# the IFD's next-IFD pointer (its last 4 bytes) pointing back at itself
ifd_at = struct.unpack("<I", tif_loop[4:8])[0]
tif_loop[-4:] = struct.pack("<I", ifd_at)
w("mask-ifd-loop.tif", bytes(tif_loop))
w("mask-not-tiff.tif", b"II*\x00\xff\xff\xff\xff garbage")

poly = [[[10, 10], [100, 10], [100, 80], [10, 80], [10, 10]]]
def fc(geoms, props=None):
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props or {"classification": {"name": "Tumor"}}, "geometry": g} for g in geoms]}
w("geojson-not-json.geojson", '{"type": "FeatureCollection", "features": [ {"type": "Feature", ')
w("geojson-nan.geojson", json.dumps(fc([{"type": "Polygon", "coordinates": [[[10, 10], [float("nan"), 10], [100, 80], [10, 10]]]}])))
w("geojson-infinite.geojson", json.dumps(fc([{"type": "Polygon", "coordinates": [[[10, 10], [1e400, 10], [100, 80], [10, 10]]]}])).replace("Infinity", "1e400"))
w("geojson-huge.geojson", json.dumps(fc([{"type": "Polygon", "coordinates": [[[10, 10], [1e300, 10], [100, 1e300], [10, 10]]]}])))
w("geojson-no-coordinates.geojson", json.dumps(fc([{"type": "Polygon"}])))
w("geojson-short-ring.geojson", json.dumps(fc([{"type": "Polygon", "coordinates": [[[10, 10], [20, 20]]]}])))
w("geojson-strings.geojson", json.dumps(fc([{"type": "Polygon", "coordinates": [[["a", "b"], [1, 2], [3, 4], ["a", "b"]]]}])))
w("geojson-points-only.geojson", json.dumps(fc([{"type": "Point", "coordinates": [5, 5]}])))
w("geojson-deep.geojson", "[" * 20_000 + "]" * 20_000)
w("geojson-empty.geojson", json.dumps({"type": "FeatureCollection", "features": []}))
w("geojson-wrong-type.geojson", json.dumps({"type": "Topology", "objects": {}}))
w("geojson-good.geojson", json.dumps(fc([{"type": "Polygon", "coordinates": poly}])))
w("empty-file.geojson", b"")
w("asap-malformed.xml", '<?xml version="1.0"?><ASAP_Annotations><Annotations><Annotation Name="a" Type="Polygon"><Coordinates><Coordinate Order="0" X="1" Y="2"')
w("asap-nan.xml", '<?xml version="1.0"?><ASAP_Annotations><Annotations><Annotation Name="a" Type="Polygon" PartOfGroup="Tumor"><Coordinates>'
  '<Coordinate Order="0" X="1" Y="2"/><Coordinate Order="1" X="NaN" Y="2"/><Coordinate Order="2" X="5" Y="9"/></Coordinates></Annotation></Annotations></ASAP_Annotations>')
w("asap-not-numbers.xml", '<?xml version="1.0"?><ASAP_Annotations><Annotations><Annotation Name="a" Type="Polygon" PartOfGroup="Tumor"><Coordinates>'
  '<Coordinate Order="0" X="one" Y="2"/><Coordinate Order="1" X="3" Y="2"/><Coordinate Order="2" X="5" Y="9"/></Coordinates></Annotation></Annotations></ASAP_Annotations>')
w("text.svs", "this is not a slide\n")
w("empty-file.svs", b"")
# a white picture: a 'slide' without tissue (flat PNG, 512 x 384)
w("white-slide.png", png(512, 384, b"".join(b"\x00" + b"\xff" * (512 * 3) for _ in range(384)), colour=2))
w("cohort-no-slide-column.csv", "id,path\na,a.svs\n")
w("cohort-duplicate-ids.csv", "slide\nx/a.svs\ny/a.svs\n")
w("cohort-bad-mpp.csv", "slide,mpp\na.svs,-0.5\n")
w("evaluate-bad-columns.csv", "slide,design\na,b\n")

def readers():
    """Annotation readers: XML rules in ASAP files, GeoJSON structure, encodings, formats by content."""
    def asap(annotations, head='<?xml version="1.0"?>\n', root="<ASAP_Annotations>"):
        return head + root + "<Annotations>\n" + annotations + "</Annotations><AnnotationGroups /></ASAP_Annotations>\n"
    def coords(points, q='"', order="{o} {x} {y}"):
        return "<Coordinates>" + "".join(
            "<Coordinate " + order.format(o=f"Order={q}{i}{q}", x=f"X={q}{x}{q}", y=f"Y={q}{y}{q}") + " />"
            for i, (x, y) in enumerate(points)) + "</Coordinates>"
    rect = [(10, 10), (100, 10), (100, 80), (10, 80)]
    other = [(120, 120), (190, 120), (190, 190), (120, 190)]
    plain = '<Annotation Name="a" Type="Polygon" PartOfGroup="Tumor" Color="#F4FA58">' + coords(rect) + "</Annotation>\n"
    w("asap-plain.xml", asap(plain))
    # a second annotation commented out, and one inside a CDATA section: neither is drawn
    hidden = '<Annotation Name="b" Type="Polygon" PartOfGroup="Tumor">' + coords(other) + "</Annotation>"
    w("asap-commented.xml", asap(plain + "<!-- " + hidden + " -->\n<![CDATA[" + hidden + "]]>\n"))
    w("asap-entities.xml", asap(plain.replace('Name="a"', 'Name="a &lt;1&gt;"').replace('"Tumor"', '"Tumor &amp; Stroma &#233;"')))
    # single quotes, attributes in another order, white space and line breaks inside the tags
    w("asap-single-quotes.xml", asap("<Annotation  Color='#F4FA58'\n   PartOfGroup = 'Tumor' Type='Polygon' Name='a'>"
                                     + coords(rect, q="'", order="{y}\n {x}   {o}") + "</Annotation >\n"))
    # nine levels of entities, each ten of the one below: 10^9 'lol's if expanded
    ents = '<!ENTITY a "lol">' + "".join(f'<!ENTITY {chr(c)} "{("&" + chr(c - 1) + ";") * 10}">' for c in range(ord("b"), ord("j") + 1))
    w("asap-billion-laughs.xml", asap(plain.replace('Name="a"', 'Name="&j;"'), head=f'<?xml version="1.0"?>\n<!DOCTYPE ASAP_Annotations [{ents}]>\n'))
    w("asap-latin1.xml", asap(plain.replace('Name="a"', 'Name="tum\xe9fi\xe9"')).encode("latin-1"))
    w("xml-not-asap.geojson", '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><polygon points="10,10 100,10 100,80" /></svg>\n')
    # formats go by content: ASAP XML named .geojson, GeoJSON named .xml
    w("xml-as-geojson.geojson", asap(plain))
    good = fc([{"type": "Polygon", "coordinates": poly}])
    w("json-as-xml.xml", json.dumps(good))
    w("geojson-bom.geojson", b"\xef\xbb\xbf" + json.dumps(good).encode())
    w("geojson-utf16.geojson", "\ufeff".encode("utf-16-le") + json.dumps(good).encode("utf-16-le"))
    w("geojson-utf16-no-bom.geojson", json.dumps(good).encode("utf-16-be"))
    feature = good["features"][0]
    w("geojson-features-not-array.geojson", json.dumps({"type": "FeatureCollection", "features": feature}))
    w("geojson-feature-not-object.geojson", json.dumps({"type": "FeatureCollection", "features": [feature, 3]}))
    w("geojson-geometry-string.geojson", json.dumps(fc(["POLYGON ((10 10, 100 10, 100 80, 10 10))"])))
    w("geojson-no-features.geojson", json.dumps({"type": "FeatureCollection"}))
    w("geojson-no-type.geojson", json.dumps({"features": [feature]}))
    w("geojson-type-number.geojson", json.dumps([dict(feature, type=7)]))
    w("geojson-collection-member.geojson", json.dumps(fc([{"type": "GeometryCollection", "geometries": [{"type": "Polygon", "coordinates": poly}, 3]}])))
    w("geojson-child-not-object.geojson", json.dumps([dict(feature, children=[feature, "x"])]))


readers()
print("wrote", out)
