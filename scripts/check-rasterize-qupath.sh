#!/bin/bash
# Compares `h2g rasterize` with QuPath's own LabeledImageServer export, for every QuPath version
# of the test kit (../shared/tools/qupath, GPL, test-only: called, never copied) and every shape
# kind, at downsamples 1, 2, 4 and 3.7; lines and mixed scenes also with the builder's
# lineThickness 2 (wide strokes at every downsample); lines also at 1.5 and 5.3.
#
#   scripts/check-rasterize-qupath.sh [VERSION...]     (default: all six, 0.2.3 ... 0.7.0)
#
# Two routes into QuPath, both ending in LabeledImageServer.readRegion over a blank image of the
# covered full-resolution size:
#   * a Groovy script run "Run for project"-style (run-script.sh) for every version: it imports
#     the GeoJSON with QuPath's PathIO.readObjects (0.3+; on 0.2.3 feature by feature with
#     GsonTools, each given the "id" that version requires), adds the objects to a hierarchy,
#     builds the label server (background 0, A=1, B=2, C=3, drawn in that order) and counts the
#     pixels that differ from h2g's PNG;
#   * for 0.4.4+, also the kit's read-geojson.sh --mask (its own import and comparison).
# QuPath 0.2/0.3 ignore "isEllipse": they are compared with h2g's --ellipses-as-polygons masks.
# Wide lines are outlined by the JDK's Marlin stroker, which differs between Java 17 and 21: each
# version is compared with h2g's mask for the Java it runs on (--jdk 17 for 0.2-0.5, 21 for 0.6+).
# The kit's read-geojson.sh has no lineThickness option: the thickness-2 cases go through the
# Groovy route only (SKIP lines for the reader).
# Self-crossing rings are refused by 0.6+ (SKIP); "mixed" scenes hold only valid geometry.
# Rings with dozens of crossings ("selfcross-dense") are KNOWN lines on 0.2-0.5: counted, not failed.
# Prints one PASS/FAIL/SKIP line per version × shape kind × downsample (pixels differing /
# total); without the kit or Java it prints "skipped: ..." and exits 0 (1 under CI=true).
# Exit status: 1 when any line FAILs.
set -u
cd "$(dirname "$0")/.."
. scripts/qupath-kit.sh
if [ -z "$QPKIT" ]; then
  echo "skipped: the QuPath test kit (../shared/tools/qupath) is not beside the checkout"
  [ "${CI:-}" = true ] && exit 1
  exit 0
fi
VERSIONS=${*:-$QPKIT_VERSIONS}
ONLY_SCRIPT=${ONLY_SCRIPT:-}
H2G=${H2G:-target/release/h2g}
[ -x "$H2G" ] || cargo build --release -q || exit 1
work=$(mktemp -d)
# QPCHECK_KEEP=1 keeps the scenes, masks and script for a closer look
if [ -n "${QPCHECK_KEEP:-}" ]; then echo "scenes in $work"; else trap 'rm -rf "$work"' EXIT; fi

# --- the shapes: seeded, on QuPath's 0.01 grid, straddling the 512-pixel tile edges -----------
python3 - "$work" <<'PY'
import json, math, random, sys
work = sys.argv[1]
W, H = 700, 600
kinds = ["polygon", "selfcross", "holes", "multipolygon", "rectangle", "ellipse", "points", "lines", "mixed"]
# (kind, thickness) cases beyond the default thickness 1
thick = [("lines", 2), ("mixed", 2)]
def c2(v): return round(v, 2)
def star(rng, cx, cy, r, lo, hi):
    n = rng.randrange(lo, hi)
    out = []
    for k in range(n):
        a = (k + rng.uniform(0, 0.8)) * 2 * math.pi / n
        rr = r * rng.uniform(0.35, 1.0)
        out.append([c2(cx + rr * math.cos(a)), c2(cy + rr * math.sin(a))])
    return out
def closed(r): return r + [r[0]]
def obj(rng, kind, d):
    cx, cy = rng.uniform(-20, W + 20) * d, rng.uniform(-20, H + 20) * d
    r = rng.uniform(1.5, 160) * d
    if kind == "polygon":
        return {"type": "Polygon", "coordinates": [closed(star(rng, cx, cy, r, 3, 40))]}
    if kind in ("selfcross", "selfcross-dense"):
        n = rng.randrange(4, 12) if kind == "selfcross" else rng.randrange(12, 40)
        ring = [[c2(cx + rng.uniform(-r, r)), c2(cy + rng.uniform(-r, r))] for _ in range(n)]
        return {"type": "Polygon", "coordinates": [closed(ring)]}
    if kind == "holes":
        return {"type": "Polygon", "coordinates": [closed(star(rng, cx, cy, r, 6, 30)),
                                                   closed(star(rng, cx, cy, 0.3 * r, 3, 12))]}
    if kind == "multipolygon":
        dy = rng.uniform(-r, r)
        return {"type": "MultiPolygon", "coordinates": [[closed(star(rng, cx, cy, r, 3, 20))],
                                                        [closed(star(rng, cx + 2.2 * r, cy + dy, r, 3, 20))]]}
    if kind == "rectangle":
        x0, y0 = c2(cx), c2(cy)
        x1, y1 = c2(cx + rng.uniform(0.3, 2) * r), c2(cy + rng.uniform(0.3, 2) * r)
        return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}
    if kind == "ellipse":
        x0, y0 = c2(cx), c2(cy)
        x1, y1 = c2(cx + rng.uniform(0.2, 2) * r), c2(cy + rng.uniform(0.2, 2) * r)
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        pts = [[x1, c2(my)], [c2(mx), y1], [x0, c2(my)], [c2(mx), y0]]
        pts += [[c2(mx + 0.49 * (x1 - x0) * math.cos((k + .5) * math.pi / 6)),
                 c2(my + 0.49 * (y1 - y0) * math.sin((k + .5) * math.pi / 6))] for k in range(12)]
        pts.sort(key=lambda p: math.atan2(p[1] - my, p[0] - mx))
        return {"type": "Polygon", "isEllipse": True, "coordinates": [closed(pts)]}
    if kind == "lines":
        # LineROI (two positions), PolylineROI, or a MultiLineString (GeometryROI)
        rr = rng.uniform(1, 300) * d
        def part(n):
            p = [[c2(cx + rng.uniform(-rr, rr)), c2(cy + rng.uniform(-rr, rr))] for _ in range(n)]
            if n > 2 and rng.random() < 0.2:
                # a repeated vertex (Java 17 and 21 stroke it differently)
                i = rng.randrange(n)
                p.insert(i, list(p[i]))
            return p
        t = rng.randrange(3)
        if t == 0:
            return {"type": "LineString", "coordinates": part(2)}
        if t == 1:
            return {"type": "LineString", "coordinates": part(rng.randrange(3, 12))}
        return {"type": "MultiLineString", "coordinates": [part(rng.randrange(2, 8)) for _ in range(rng.randrange(2, 4))]}
    n = rng.randrange(1, 30)
    return {"type": "MultiPoint", "coordinates": [[c2(rng.uniform(-2, W + 2) * d), c2(rng.uniform(-2, H + 2) * d)]
                                                  for _ in range(n)]}
cases = []
def scene(kind, d, t, seed):
    rng = random.Random(seed)
    feats = []
    for _ in range(12):
        if kind == "mixed":
            # valid kinds only; with a wide stroke (t > 1) the areas go to another filler and
            # the scene holds lines too
            k = rng.choice([k for k in kinds if k not in ("selfcross", "mixed") and (t > 1 or k != "lines")])
        else:
            k = kind
        cls = rng.choice("ABC")
        feats.append({"type": "Feature", "geometry": obj(rng, k, d),
                      "properties": {"objectType": "annotation",
                                     "classification": {"name": cls, "colorRGB": -65536}}})
    name = f"{kind}_d{d}" + (f"_t{t}" if t != 1 else "")
    json.dump({"type": "FeatureCollection", "features": feats}, open(f"{work}/{name}.geojson", "w"))
    label = kind + (f"-t{t}" if t != 1 else "")
    cases.append(f"{label}\t{d}\t{work}/{name}.geojson\t{work}/{name}.png\t{t}")
for di, d in enumerate([1, 2, 4, 3.7]):
    for ki, kind in enumerate(kinds):
        scene(kind, d, 1, 1000 * di + ki)
    for ti, (kind, t) in enumerate(thick):
        scene(kind, d, t, 1000 * di + 500 + ti)
# lines also at two more downsamples where even thickness 1 is wide
for di, d in enumerate([1.5, 5.3]):
    scene("lines", d, 1, 7000 + di)
    scene("lines", d, 2, 7500 + di)
# rings with many crossings (QuPath <= 0.5 put each on its 0.01 grid) at every downsample
for di, d in enumerate([1, 1.5, 2, 3.7, 4, 5.3]):
    scene("selfcross-dense", d, 1, 8000 + di)
open(f"{work}/cases.tsv", "w").write("\n".join(cases) + "\n")
PY
# h2g's masks per QuPath generation and Java, named NAME-GEN-jJ.png: "old" (0.2/0.3) does not know
# "isEllipse" (--ellipses-as-polygons), "new" (0.6+) drops repeated line vertices on import
# (--drop-repeated-vertices); wide lines follow the Marlin stroker of Java 17 or 21 (--jdk)
while IFS=$'\t' read -r kind d gj png t; do
  for gen in old mid new; do
    for j in 17 21; do
      flags=()
      [ "$gen" = old ] && flags+=(--ellipses-as-polygons)
      [ "$gen" = new ] && flags+=(--drop-repeated-vertices)
      "$H2G" rasterize "$gj" -o "${png%.png}-$gen-j$j.png" --size 700x600 \
        --downsample "$d" --line-thickness "$t" --jdk "$j" "${flags[@]}" \
        --class A=1 --class B=2 --class C=3 2>/dev/null ||
        { echo "FAIL h2g rasterize $gj"; exit 1; }
    done
  done
done < "$work/cases.tsv"
for gen in old mid new; do
  for j in 17 21; do
    awk -F'\t' -v OFS='\t' -v s="-$gen-j$j" '{ sub(/\.png$/, s ".png", $4); print }' \
      "$work/cases.tsv" > "$work/cases-$gen-j$j.tsv"
  done
done

# --- QuPath: one Groovy script for every version ------------------------------------------------
cat > "$work/export.groovy" <<GROOVY
import java.awt.image.BufferedImage
import javax.imageio.ImageIO
import com.google.gson.JsonParser
import qupath.lib.io.GsonTools
import qupath.lib.images.ImageData
import qupath.lib.images.servers.WrappedBufferedImageServer
import qupath.lib.images.servers.LabeledImageServer
import qupath.lib.objects.PathObject
import qupath.lib.objects.hierarchy.PathObjectHierarchy
import qupath.lib.regions.RegionRequest

def qv = qupath.lib.common.GeneralTools.getVersion()
def gen = (qv =~ /^v?0\.[0-3]\./) ? 'old' : (qv =~ /^v?0\.[45]\./) ? 'mid' : 'new'
// h2g's masks for the Java this runs on (the Marlin stroker of 17 and of 21+ differ)
def jdk = Integer.parseInt(System.getProperty('java.specification.version')) >= 21 ? 21 : 17
for (line in new File("$work/cases-\${gen}-j\${jdk}.tsv").readLines()) {
    def f = line.split('\t')
    def (kind, ds, gj, png, ts) = [f[0], f[1], f[2], f[3], f[4]]
    double d = ds as double
    def mask = ImageIO.read(new File(png))
    int mw = mask.width, mh = mask.height
    int w0 = Math.round(mw * d), h0 = Math.round(mh * d)
    List<PathObject> objs
    try {
        objs = qupath.lib.io.PathIO.readObjects(new File(gj).toPath())
    } catch (MissingMethodException e) {
        // 0.2.3: no PathIO.readObjects; GsonTools needs each feature's "id" (the class name)
        objs = []
        def root = JsonParser.parseString(new File(gj).text).getAsJsonObject()
        for (feat in root.getAsJsonArray('features')) {
            feat.getAsJsonObject().addProperty('id', 'PathAnnotationObject')
            objs << GsonTools.getInstance().fromJson(feat, PathObject.class)
        }
    } catch (Exception e) {
        println "RESULT\t\$kind\t\$ds\timport-refused\t\${e.getClass().getSimpleName()}: \${e.getMessage()}"
        continue
    }
    def hier = new PathObjectHierarchy()
    try { hier.addObjects(objs) } catch (MissingMethodException e) { hier.addPathObjects(objs) }
    def server = new WrappedBufferedImageServer('blank', new BufferedImage(w0, h0, BufferedImage.TYPE_INT_RGB))
    def imageData = new ImageData<BufferedImage>(server, hier)
    def b = new LabeledImageServer.Builder(imageData).backgroundLabel(0).downsample(d).multichannelOutput(false)
    b.lineThickness(ts as float)
    b.addLabel('A', 1); b.addLabel('B', 2); b.addLabel('C', 3)
    def ls = b.build()
    def req = RegionRequest.createInstance(ls.getPath(), d, 0, 0, w0, h0)
    def out
    try { out = ls.readRegion(req) } catch (MissingMethodException e) { out = ls.readBufferedImage(req) }
    def o = out.getRaster(), m = mask.getRaster()
    long diff = 0, fg = 0
    int cw = Math.min(mw, out.width), ch = Math.min(mh, out.height)
    for (int y = 0; y < ch; y++) for (int x = 0; x < cw; x++) {
        int q = o.getSample(x, y, 0), a = m.getSample(x, y, 0)
        if (q != 0) fg++
        if (q != a) {
            if (diff < 3) println "DIFF\t\$kind\t\$ds\tx=\$x y=\$y qupath=\$q h2g=\$a"
            diff++
        }
    }
    def size = (out.width == mw && out.height == mh) ? 'same-size' : "size \${out.width}x\${out.height} vs \${mw}x\${mh}"
    println "RESULT\t\$kind\t\$ds\t\$diff\t\${(long) cw * ch}\t\$fg\t\$size"
}
GROOVY

fail=0
report() { # VERSION ROUTE KIND D DIFF TOTAL NOTE
  local v=$1 route=$2 kind=$3 d=$4 diff=$5 total=$6 note=$7
  if [[ $kind = selfcross* ]] && [ "$diff" = import-refused ]; then
    echo "SKIP $v $route $kind d=$d: QuPath refuses self-crossing polygons ($total)"
  elif [ "$diff" = 0 ] && [ "$note" = same-size ]; then
    echo "PASS $v $route $kind d=$d: 0 / $total pixels differ"
  elif [ "$kind" = selfcross-dense ] && [ "$note" = same-size ]; then
    # rings with dozens of crossings: QuPath <= 0.5 turns them into JTS geometry and back into
    # an Area in ways h2g does not follow yet (docs/rasterize.md); reported, not failed
    echo "KNOWN $v $route $kind d=$d: $diff / $total pixels differ (rings with many crossings)"
  else
    echo "FAIL $v $route $kind d=$d: $diff / $total pixels differ ($note)"
    fail=1
  fi
}
for v in $VERSIONS; do
  jh=$(qpkit_java_home "$v")
  if [ -z "$jh" ]; then
    echo "skipped: no Java for QuPath $v"
    [ "${CI:-}" = true ] && fail=1
    continue
  fi
  out=$(qpkit_run "$v" run-script.sh "$work/proj-$v" blank 64 64 "$work/export.groovy" 2>&1)
  # QPCHECK_DIFFS=1 shows the first differing pixels of each case
  [ -n "${QPCHECK_DIFFS:-}" ] && grep "^DIFF" <<< "$out"
  n=0
  while IFS=$'\t' read -r tag kind d diff total fg note; do
    [ "$tag" = RESULT ] || continue
    n=$((n + 1))
    report "$v" script "$kind" "$d" "$diff" "$total" "$note"
  done <<< "$out"
  if [ "$n" = 0 ]; then
    echo "FAIL $v script: no result"; echo "$out" | tail -20; fail=1
  fi
  if [ -z "$ONLY_SCRIPT" ] && grep -qx "v${v#v}" "$QPKIT/reader/versions.txt" 2>/dev/null; then
    args=()
    jh_major=$("$jh/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p;q')
    j=17; [ "${jh_major:-17}" -ge 21 ] && j=21
    gen=new; case "${v#v}" in 0.4*|0.5*) gen=mid ;; esac
    # the reader draws with lineThickness 1 only
    awk -F'\t' '$5 == 1' "$work/cases-$gen-j$j.tsv" > "$work/reader.tsv"
    awk -F'\t' '$5 != 1' "$work/cases-$gen-j$j.tsv" | while IFS=$'\t' read -r kind d gj png t; do
      echo "SKIP $v read-geojson $kind d=$d: the kit's reader cannot set lineThickness $t"
    done
    while IFS=$'\t' read -r kind d gj png t; do
      args+=(--mask "$png" --downsample "$d" --label 1=A --label 2=B --label 3=C "$gj")
    done < "$work/reader.tsv"
    rout=$(qpkit_run "$v" read-geojson.sh "${args[@]}" 2>/dev/null)
    mapfile -t kinds < <(cut -f1,2 "$work/reader.tsv")
    i=0
    while IFS= read -r line; do
      case "$line" in SUMMARY*) ;; *) continue ;; esac
      IFS=$'\t' read -r kind d <<< "${kinds[$i]}"
      i=$((i + 1))
      if [[ $line =~ export\ vs\ mask:\ ([0-9]+)\ differing\ pixels.*\ of\ ([0-9]+) ]]; then
        diff=${BASH_REMATCH[1]} total=${BASH_REMATCH[2]} note=same-size
        [[ $line == *"LabeledImageServer size"* ]] && note="size differs"
        report "$v" read-geojson "$kind" "$d" "$diff" "$total" "$note"
      elif [[ $kind = selfcross* ]]; then
        report "$v" read-geojson "$kind" "$d" import-refused "import refused" ""
      else
        echo "FAIL $v read-geojson $kind d=$d: no comparison (${line:0:300})"; fail=1
      fi
    done <<< "$rout"
  fi
done
exit $fail
