#!/usr/bin/env python3
"""Independent reference for the model contracts of the manifests (docs/models.md): scaling,
channel order, layout and which output is used, for the contract-shaped test models of
scripts/make_contract_models.py, run through the whole `h2g heatmap` and `h2g segment`.

usage: contract_parity.py H2G SLIDE OUTDIR

The reference reads each manifest and applies its rules itself, with numpy and onnxruntime:
  * scaling: div255 x / 255; minmax (x - min) / (max - min) over the image; symmetric
    x / 127.5 - 1; meanstd (x / 255 - mean[k]) / std[k] (0-1 scale, the model's channel order);
  * channel_order bgr: the model's colour channels are B, G, R;
  * output.tensor: the output used (its index or name); a single output needs none.
Patch classifiers (20x, so the demo slide's 20x level 0 is read as it is): the grid, the tissue
rule and the patches are scripts/heatmap_parity.py's `reference`, given the manifest's input
preparation and output; every cell h2g ran must match within 1e-5.
Refinements: `h2g segment --design h2g` with the test patch classifier; the heatmap recomputed
by the same `reference`, the slide's lowest level scaled as the manifest says, both resized to
1024 x 1024 with OpenCV (INTER_LINEAR), fed by channel count (3 image, 1 heatmap, 4 both); the
chosen output's P(tumour) must match h2g's .prob.tif within 1e-5. The demo slide has one level,
so the level the refinement reads is level 0 under any level rule (asserted).
Multiclass (test-contract-patch-4class, test-contract-refine-4class): every heatmap band, the
pw labels (argmax over 1 - the bands' sum and the bands), the refinement's class probabilities
and its argmax labels (pixels whose two best classes are within 1e-5 left out), the per-class
masks against the label mask, and the GeoJSON's class names.
"""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import onnxruntime as ort
import openslide
import tifffile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from heatmap_parity import reference  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
N = 1024
BATCH = 16
PATCH = ["inceptionv3", "mobilenetv2", "patch-bgr", "patch-meanstd"]
REFINE = ["unet-2in", "unet-4ch", "agunet", "doubleunet"]


def manifest(name):
    with open(os.path.join(ROOT, "models", name + ".json")) as f:
        return json.load(f)


def order(man):
    """The RGB channel each of the model's colour channels holds."""
    return [2, 1, 0] if man["channel_order"] == "bgr" else [0, 1, 2]


def scale(man, x):
    """x: float32 [..., 3] in the MODEL's channel order, 0-255; scaled per the manifest."""
    s = man["scaling"]
    if s == "div255":
        return x / np.float32(255.0)
    if s == "minmax":
        lo, hi = x.min(), max(x.max(), x.min() + 1)
        return (x - lo) / (hi - lo)
    if s == "symmetric":
        return x / np.float32(127.5) - np.float32(1.0)
    if s == "meanstd":
        mean = np.asarray(man["mean"], np.float32)
        std = np.asarray(man["std"], np.float32)
        return (x / np.float32(255.0) - mean) / std
    raise SystemExit(f"unknown scaling {s}")


def output_index(sess, man):
    t = man["output"].get("tensor")
    names = [o.name for o in sess.get_outputs()]
    if t is None:
        assert len(names) == 1, f"{man['name']}: {len(names)} outputs and no output.tensor"
        return 0
    return t if isinstance(t, int) else names.index(t)


def patch_parity(h2g, slide, out):
    fails, lines = [], []
    for short in PATCH:
        name = "test-contract-" + short
        man = manifest(name)
        model = os.path.join(ROOT, "models", man["file"])
        d = os.path.join(out, short)
        subprocess.run([h2g, "heatmap", slide, "--model", name, "--batch", str(BATCH), "-o", d],
                       check=True, stdout=subprocess.DEVNULL)
        stem = os.path.splitext(os.path.basename(slide))[0]
        rep = json.load(open(os.path.join(d, stem + ".heatmap.json")))
        ours = tifffile.imread(os.path.join(d, stem + ".heatmap.tif")).astype(np.float64)
        sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        which, ch = output_index(sess, man), int(man["output"]["channel"])

        def prepare(px, channels_first):
            x = scale(man, px[..., order(man)].astype(np.float32)).astype(np.float32)
            return x.transpose(0, 3, 1, 2) if channels_first else x

        ref = reference(slide, model, man, ours, int(rep["batch"]), prepare=prepare,
                        pick=lambda outs: outs[which][:, ch])
        # the contract is checked on the cells h2g ran (which cells run is heatmap_parity.py's
        # check; partial edge cells differ between its coverage rule and h2g's, see the report)
        ran = ref["ran"]
        missing = ran - set(ref["probs"])
        worst = max((abs(ref["probs"][rc] - ours[rc]) for rc in ran - missing), default=0.0)
        n = len(ran - missing)
        extra = len(set(ref["probs"]) - ran)
        ok = n > 0 and not missing and n == rep["cells_run"] and worst <= 1e-5 and \
            (ref["cols"], ref["rows"]) == (rep["grid"]["cols"], rep["grid"]["rows"])
        lines.append(f"{short} ({man['scaling']}, {man['channel_order']}): {n} patches, "
                     f"max |diff| {worst:.2e}" + (f" ({extra} cells h2g did not run left out)" if extra else ""))
        if not ok:
            fails.append(f"{short}: {n} patches compared, {len(missing)} h2g ran without a "
                         f"reference (h2g ran {rep['cells_run']}), max |diff| {worst:.2e}")
    return fails, lines


def refine_parity(h2g, slide_path, out):
    fails, lines = [], []
    s = openslide.OpenSlide(slide_path)
    assert s.level_count == 1, "this reference needs a one-level slide (any level rule reads level 0)"
    rgb = np.asarray(s.read_region((0, 0), 0, s.level_dimensions[0]).convert("RGB")).astype(np.float32)
    pm = manifest("test-patch-classifier")
    patch_model = os.path.join(ROOT, "models", pm["file"])
    stem = os.path.splitext(os.path.basename(slide_path))[0]
    for short in REFINE:
        name = "test-contract-" + short
        man = manifest(name)
        model = os.path.join(ROOT, "models", man["file"])
        d = os.path.join(out, short)
        subprocess.run([h2g, "segment", slide_path, "--design", "h2g", "--model", "test-patch-classifier",
                        "--batch", str(BATCH), "--refine-model", name, "-o", d],
                       check=True, stdout=subprocess.DEVNULL)
        ours_heat = tifffile.imread(os.path.join(d, stem + ".heatmap.tif")).astype(np.float64)
        ref = reference(slide_path, patch_model, pm, ours_heat, BATCH)
        heat = np.zeros((ref["rows"], ref["cols"]), np.float32)
        for (r, c), p in ref["probs"].items():
            heat[r, c] = p
        heat = cv2.resize(heat, (N, N), interpolation=cv2.INTER_LINEAR).reshape(N, N, 1)
        # scaled in RGB (the mean and std of the model's channel k belong to RGB channel order[k])
        o = order(man)
        back = [o.index(c) for c in range(3)]
        img = scale(man, rgb[..., o])[..., back].astype(np.float32)
        image = cv2.resize(img, (N, N), interpolation=cv2.INTER_LINEAR).reshape(N, N, 3)[..., o]
        sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        feeds = {}
        first = sess.get_inputs()[0].shape
        channels_first = first[1] in (1, 3, 4) and first[-1] not in (1, 3, 4)
        for i in sess.get_inputs():
            c = i.shape[1] if channels_first else i.shape[-1]
            x = (image if c == 3 else heat if c == 1 else np.concatenate([image, heat], -1))[None]
            feeds[i.name] = np.ascontiguousarray(x.transpose(0, 3, 1, 2) if channels_first else x)
        which, ch = output_index(sess, man), int(man["output"]["channel"])
        prob = sess.run(None, feeds)[which][0]
        p1 = prob[ch] if prob.shape[0] != N else prob[:, :, ch]
        ours = tifffile.imread(os.path.join(d, stem + ".segment-h2g.prob.tif"))
        worst = float(np.abs(p1 - ours).max())
        # the other outputs at full resolution must differ, or choosing the wrong one would pass
        others = [float(np.abs((q[0][ch] if q[0].shape[0] != N else q[0][:, :, ch]) - ours).max())
                  for k, q in enumerate(sess.run(None, feeds)) if k != which and N in q.shape]
        lines.append(f"{short} ({man['scaling']}, {man['channel_order']}, output {which}): max |dP| "
                     f"{worst:.2e}" + (f", other outputs {min(others):.2e} away" if others else ""))
        if worst > 1e-5 or any(o <= 1e-3 for o in others):
            fails.append(f"{short}: max |dP| {worst:.2e}, other outputs {others}")
    return fails, lines


def multiclass_parity(h2g, slide_path, out):
    """The 4-class contract models through `segment --design h2g` and `--design pw`: heatmap
    bands, pw labels, the refinement's class probabilities and labels, the per-class masks and
    the GeoJSON classes, against this file's own computation."""
    fails = []
    pm, rm = manifest("test-contract-patch-4class"), manifest("test-contract-refine-4class")
    names = [c["name"] for c in rm["classes"]]
    k = len(names)
    d = os.path.join(out, "multiclass")
    stem = os.path.splitext(os.path.basename(slide_path))[0]
    for design in ["h2g", "pw"]:
        subprocess.run([h2g, "segment", slide_path, "--design", design, "--model", pm["name"],
                        "--refine-model", rm["name"], "--batch", str(BATCH), "-o", d],
                       check=True, stdout=subprocess.DEVNULL)
    heat = tifffile.imread(os.path.join(d, stem + ".heatmap.tif")).astype(np.float64)
    assert heat.shape[0] == k - 1, heat.shape
    with tifffile.TiffFile(os.path.join(d, stem + ".heatmap.tif")) as t:
        pages = [p.tags["PageName"].value for p in t.pages]
    if pages != names[1:]:
        fails.append(f"heatmap page names {pages}")
    # the bands, one reference run each, on the cells h2g ran
    patch_model = os.path.join(ROOT, "models", pm["file"])
    ran = heat.sum(0) != 0
    ref = np.zeros_like(heat)
    for b in range(k - 1):
        r = reference(slide_path, patch_model, pm, ran.astype(np.float64), BATCH,
                      pick=lambda outs, b=b: outs[0][:, b + 1])
        for (row, col), p in r["probs"].items():
            if ran[row, col]:
                ref[b, row, col] = p
    dheat = float(np.abs(ref - heat).max())
    # pw: the cell's class by argmax over (1 - the bands' sum, the bands)
    full = np.concatenate([1 - ref.sum(0, keepdims=True), ref])
    pw_want = full.argmax(0).astype(np.uint8)
    pw_ours = tifffile.imread(os.path.join(d, stem + ".segment-pw.tif"))[:pw_want.shape[0], :pw_want.shape[1]]
    top2 = np.sort(full, 0)[-2:]
    clear = (top2[1] - top2[0]) > 1e-5
    pw_bad = int(((pw_ours != pw_want) & clear).sum())
    # the refinement: image / 255 and the reference bands, both to 1024 (OpenCV), NHWC
    s = openslide.OpenSlide(slide_path)
    rgb = np.asarray(s.read_region((0, 0), 0, s.level_dimensions[0]).convert("RGB")).astype(np.float32)
    image = cv2.resize(rgb / np.float32(255.0), (N, N), interpolation=cv2.INTER_LINEAR)
    bands = cv2.resize(ref.transpose(1, 2, 0).astype(np.float32), (N, N), interpolation=cv2.INTER_LINEAR)
    x = np.concatenate([image, bands.reshape(N, N, k - 1)], -1)[None].astype(np.float32)
    sess = ort.InferenceSession(os.path.join(ROOT, "models", rm["file"]),
                                providers=["CPUExecutionProvider"])
    prob = sess.run(None, {sess.get_inputs()[0].name: x})[0][0]  # [k, N, N]
    ours_p = tifffile.imread(os.path.join(d, stem + ".segment-h2g.prob.tif"))
    dprob = float(np.abs(prob[1:] - ours_p).max())
    want = prob.argmax(0).astype(np.uint8)
    ours = tifffile.imread(os.path.join(d, stem + ".segment-h2g.tif"))
    top2 = np.sort(prob, 0)[-2:]
    clear = (top2[1] - top2[0]) > 1e-5
    bad = int(((ours != want) & clear).sum())
    counts = np.bincount(want.ravel(), minlength=k)
    # one 0/1 mask per class, equal to the label mask's class
    mask = tifffile.imread(os.path.join(d, stem + ".segment-h2g.mask.tif"))
    masks_bad = []
    for v, n in enumerate(names[1:], 1):
        m = tifffile.imread(os.path.join(d, f"{stem}.segment-h2g.{n.lower().replace(' ', '-')}.mask.tif"))
        if not np.array_equal(m, (mask == v).astype(m.dtype)):
            masks_bad.append(n)
    gj = json.load(open(os.path.join(d, stem + ".segment-h2g.geojson")))
    got = {f["properties"]["classification"]["name"] for f in gj["features"]}
    if dheat > 1e-5 or pw_bad or dprob > 1e-5 or bad or masks_bad or got != set(names[1:]) \
            or (counts == 0).any():
        fails.append(f"multiclass: heatmap {dheat:.2e}, pw labels {pw_bad} off, prob {dprob:.2e}, "
                     f"labels {bad} off, class counts {counts.tolist()}, masks {masks_bad}, "
                     f"GeoJSON classes {sorted(got)}")
    line = (f"multiclass ({k} classes): heatmap bands {dheat:.2e}, pw labels {pw_bad} of "
            f"{pw_want.size} off, refinement P {dprob:.2e}, labels {bad} of {want.size} off "
            f"(per class {counts.tolist()}), {len(names) - 1} class masks and GeoJSON classes as named")
    return fails, [line]


def main():
    h2g, slide, out = sys.argv[1:4]
    f1, l1 = patch_parity(h2g, slide, out)
    f2, l2 = refine_parity(h2g, slide, out)
    f3, l3 = multiclass_parity(h2g, slide, out)
    fails = f1 + f2 + f3
    l2 = l2 + l3
    print(("FAIL " + "; ".join(fails)) if fails else
          f"PASS model contracts vs numpy + OpenCV + onnxruntime {ort.__version__} (limit 1e-5): "
          + "; ".join(l1 + l2))
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
