#!/usr/bin/env python3
"""Test only (scripts/check-qupath-scripts.sh): PNG checks with the Python standard library.

  h2g_png.py compare --tag TAG --size WxH NAME QUPATH.png H2G.png [NAME QUPATH.png H2G.png ...]

For each NAME: QUPATH.png (written by h2g_export_masks.groovy) must be a valid PNG (signature,
every chunk CRC, IHDR, zlib stream, row filters) of 8-bit greyscale (colour type 0, no PLTE,
no tRNS) and W x H pixels; it is then compared pixel for pixel with H2G.png (`h2g rasterize`,
decoded the same way; 8- or 16-bit grey or palette indices). One PASS/FAIL line per NAME with
the number of differing pixels and the labelled pixel counts; a NAME of the form
BASE@L=KIND,L=KIND,... gives one line per label L instead (the pixels that differ where either
side has L). Exit status 1 when any FAIL.

  h2g_png.py mask OUT.png WxH RECT...   (RECT = x,y,w,h,label)
writes a test mask (8-bit grey) with the given filled rectangles, and prints per label the
number of 4-connected components and of pixels, as "label=L components=C pixels=P".
"""
import struct
import sys
import zlib

SIG = b"\x89PNG\r\n\x1a\n"


def read_png(path):
    """(width, height, colour type, bit depth, rows as lists of ints, chunk types)"""
    data = open(path, "rb").read()
    if data[:8] != SIG:
        raise ValueError("not a PNG signature")
    pos, chunks, idat = 8, [], []
    ihdr = None
    while pos < len(data):
        if pos + 8 > len(data):
            raise ValueError("truncated chunk header")
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise ValueError(f"bad CRC in chunk {kind!r}")
        chunks.append(kind.decode("latin-1"))
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + n
    if chunks[0] != "IHDR" or chunks[-1] != "IEND":
        raise ValueError(f"chunk order {chunks}")
    w, h, depth, ctype, comp, filt, interlace = ihdr
    if comp or filt or interlace:
        raise ValueError("unsupported compression/filter/interlace")
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    bpp = max(1, channels * depth // 8)
    stride = (w * channels * depth + 7) // 8
    raw = zlib.decompress(b"".join(idat))
    if len(raw) != h * (stride + 1):
        raise ValueError(f"{len(raw)} bytes of image data, expected {h * (stride + 1)}")
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 2:
            line = bytearray((x + b) & 255 for x, b in zip(line, prev))
        elif f != 0:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                if f == 1:
                    line[i] = (line[i] + a) & 255
                elif f == 3:
                    line[i] = (line[i] + (a + b) // 2) & 255
                elif f == 4:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                    line[i] = (line[i] + pr) & 255
                else:
                    raise ValueError(f"row {y}: filter {f}")
        prev = line
        if channels != 1:
            raise ValueError(f"colour type {ctype}: not a one-channel image")
        if depth == 8:
            rows.append(bytes(line))
        elif depth == 16:
            rows.append([line[2 * i] << 8 | line[2 * i + 1] for i in range(w)])
        else:
            bits = "".join(f"{x:08b}" for x in line)
            rows.append([int(bits[i * depth:(i + 1) * depth], 2) for i in range(w)])
    return w, h, ctype, depth, rows, chunks


def compare(args):
    tag, size = None, None
    rest = []
    it = iter(args)
    for a in it:
        if a == "--tag":
            tag = next(it)
        elif a == "--size":
            size = tuple(int(v) for v in next(it).split("x"))
        else:
            rest.append(a)
    fails = 0
    for k in range(0, len(rest), 3):
        name, qp, ref = rest[k:k + 3]
        try:
            w, h, ctype, depth, rows, chunks = read_png(qp)
            problems = []
            if (w, h) != size:
                problems.append(f"size {w}x{h}, expected {size[0]}x{size[1]}")
            if ctype != 0 or depth != 8:
                problems.append(f"colour type {ctype}, depth {depth} (want 0, 8)")
            if "PLTE" in chunks or "tRNS" in chunks:
                problems.append("has a palette/transparency chunk")
            if problems:
                raise ValueError("; ".join(problems))
            rw, rh, _, _, rrows, _ = read_png(ref)
            if (rw, rh) != (w, h):
                raise ValueError(f"h2g rasterize gave {rw}x{rh}")
            diff, pairs, qcount, rcount = 0, {}, {}, {}
            for y in range(h):
                a, b = rows[y], rrows[y]
                for lab in set(a):
                    if lab:
                        qcount[lab] = qcount.get(lab, 0) + a.count(lab)
                for lab in set(b):
                    if lab:
                        rcount[lab] = rcount.get(lab, 0) + list(b).count(lab)
                if a == b:
                    continue
                for x in range(w):
                    if a[x] != b[x]:
                        diff += 1
                        pairs[(a[x], b[x])] = pairs.get((a[x], b[x]), 0) + 1
            fmt = lambda c: ",".join(f"{l}:{n}" for l, n in sorted(c.items())) or "none"
            if "@" in name:
                # one line per label: the pixels where either side has it and they differ
                base, spec = name.split("@", 1)
                for item in spec.split(","):
                    lab, kind = item.split("=", 1)
                    lab = int(lab)
                    d = sum(n for (a, b), n in pairs.items() if lab in (a, b))
                    q, r = qcount.get(lab, 0), rcount.get(lab, 0)
                    others = ",".join(f"({a},{b}):{n}" for (a, b), n in sorted(pairs.items()) if lab in (a, b))
                    ok = d == 0 and q > 0
                    print(f"{'PASS' if ok else 'FAIL'} {tag} mask {kind} (label {lab} of the {base} mask, "
                          f"8-bit grey {w}x{h}): {d} pixels differ; labelled qupath {q} h2g {r}"
                          + (f"; (qupath,h2g) {others}" if others else "")
                          + ("; the QuPath mask has none" if not q else ""))
                    fails += not ok
                continue
            detail = (f"8-bit grey {w}x{h}; {diff} of {w * h} pixels differ; labelled qupath {fmt(qcount)} "
                      f"h2g {fmt(rcount)}")
            if diff:
                detail += "; (qupath,h2g) " + ",".join(f"({a},{b}):{n}" for (a, b), n in sorted(pairs.items()))
            ok = diff == 0 and sum(qcount.values()) > 0
            if not sum(qcount.values()):
                detail += "; the QuPath mask is empty"
            print(f"{'PASS' if ok else 'FAIL'} {tag} mask {name}: {detail}")
            fails += not ok
        except (ValueError, OSError, zlib.error, KeyError, struct.error) as e:
            print(f"FAIL {tag} mask {name}: {e}")
            fails += 1
    return 1 if fails else 0


def mask(args):
    out, size, rects = args[0], args[1], args[2:]
    w, h = (int(v) for v in size.split("x"))
    img = [[0] * w for _ in range(h)]
    for r in rects:
        x, y, rw, rh, label = (int(v) for v in r.split(","))
        for j in range(y, y + rh):
            for i in range(x, x + rw):
                img[j][i] = label
    raw = b"".join(b"\x00" + bytes(row) for row in img)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    with open(out, "wb") as f:
        f.write(SIG + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    # 4-connected components per label
    seen = [[False] * w for _ in range(h)]
    comps, pixels = {}, {}
    for y in range(h):
        for x in range(w):
            lab = img[y][x]
            if lab == 0:
                continue
            pixels[lab] = pixels.get(lab, 0) + 1
            if seen[y][x]:
                continue
            comps[lab] = comps.get(lab, 0) + 1
            stack = [(x, y)]
            seen[y][x] = True
            while stack:
                cx, cy = stack.pop()
                for nx, ny in ((cx + 1, cy), (cx - 1, cy), (cx, cy + 1), (cx, cy - 1)):
                    if 0 <= nx < w and 0 <= ny < h and not seen[ny][nx] and img[ny][nx] == lab:
                        seen[ny][nx] = True
                        stack.append((nx, ny))
    for lab in sorted(pixels):
        print(f"label={lab} components={comps[lab]} pixels={pixels[lab]}")
    return 0


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "compare":
        sys.exit(compare(sys.argv[2:]))
    if cmd == "mask":
        sys.exit(mask(sys.argv[2:]))
    sys.exit(__doc__)
