#!/usr/bin/env python3
"""Two epochs of balanced batches from a three-grade synthetic cohort, with clusters fitted by
the clustering stage, printing the realised proportions at every stage of the sampling tree.

Trains nothing: it shows what a training loop receives. The cohort is made here: six synthetic
slides (1 µm/px tiled TIFFs, two per grade I, II, III), each with a tumour mask and its patch
table from h2g.patches. The clusters come from h2g.cluster_fit with the project's untrained
VGG16-shaped feature model (models/test/vgg16_features.onnx; give another with --model), and
h2g.cluster_assign writes them into the patch tables.

usage: python two_epochs.py OUT_DIR [--model FEATURES.onnx] [--batches N] [--k K]
(needs numpy and tifffile besides h2g; ONNX Runtime as docs/python.md says)
"""
import argparse
import collections
import csv
import os
import pathlib

import numpy as np
import tifffile

HERE = pathlib.Path(__file__).resolve().parent
# in a checkout, the set-up's ONNX Runtime (scripts/setup.sh) when none is named
_ORT = HERE.parents[1] / ".deps" / "onnxruntime" / "lib" / "libonnxruntime.so.1.31.1"
if _ORT.is_file() and not os.environ.get("H2G_ORT_LIB"):
    os.environ["H2G_ORT_LIB"] = str(_ORT)

import h2g  # noqa: E402


def texture(seed, side):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:side, :side].astype(np.float32)
    f1, f2 = rng.uniform(9, 41, 2)
    img = np.stack(
        [200 + 40 * np.sin(xx / f1) * np.cos(yy / f2), 120 + 60 * np.sin((xx + yy) / (f1 + f2)), 190 - 50 * np.cos(xx / f2 + yy / f1)], -1
    )
    img = np.clip(img + rng.normal(0, 18, img.shape), 0, 255).astype(np.uint8)
    img[: side // 4, : side // 4] = (246, 246, 244)  # background in a corner
    return img


def make_cohort(out, side=1536):
    rows = []
    for i in range(6):
        img = texture(i, side)
        with tifffile.TiffWriter(out / f"s{i}.tif") as t:
            t.write(img, tile=(256, 256), photometric="rgb", compression="zlib")
            t.write(img[::2, ::2].copy(), tile=(256, 256), photometric="rgb", compression="zlib", subfiletype=1)
        mask = np.zeros((side // 4, side // 4), np.uint8)
        mask[40 : 40 + 50 * (i // 2 + 1), 120:300] = 1
        tifffile.imwrite(out / f"s{i}-mask.tif", mask)
        t = h2g.patches(str(out / f"s{i}.tif"), mask=str(out / f"s{i}-mask.tif"), mask_downsample=4.0, at="10x", mpp=1.0)
        with open(out / f"s{i}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["x", "y", "level", "downsample", "width", "label"])
            for j in range(len(t["x"])):
                w.writerow([t["x"][j], t["y"][j], t["level"], t["downsample"], t["width"], t["label"][j]])
        rows.append((f"s{i}.tif", f"s{i}.csv", ["I", "II", "III"][i // 2]))
    with open(out / "cohort.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["slide", "patches", "grade"])
        w.writerows(rows)
    return out / "cohort.csv"


def shares(counter):
    n = sum(counter.values())
    return {k: counter[k] / n for k in sorted(counter)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=pathlib.Path)
    ap.add_argument("--model", default=str(HERE.parents[1] / "models" / "test" / "vgg16_features.onnx"))
    ap.add_argument("--batches", type=int, default=50)
    ap.add_argument("--k", type=int, default=4)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    cohort = make_cohort(a.out)
    model = h2g.cluster_fit(cohort, a.model, output=a.out / "clusters.json", batches=10, batch_size=32, k=a.k, seed=1)
    print(f"clusters: {model['patches']} patches, {model['features']} features -> {len(model['components'])} PCA axes "
          f"({100 * sum(model['explained_variance_ratio']):.1f} % of the variance) -> {a.k} clusters")
    done = h2g.cluster_assign(cohort, a.out / "clusters.json", a.model, a.out / "clustered")
    sampler = h2g.Sampler(done["cohort"], cluster_column="cluster", batch_size=64, batches_per_epoch=a.batches, seed=7, workers=4)
    grades = sampler.grades
    worst = 0.0
    for epoch in range(2):
        g, s, c, k = collections.Counter(), collections.defaultdict(collections.Counter), collections.defaultdict(collections.Counter), collections.defaultdict(collections.Counter)
        n = 0
        for images, labels, clusters, meta in sampler:
            for j in range(len(labels)):
                grade, slide, cls = grades[meta["grade"][j]], int(meta["slide"][j]), int(labels[j])
                g[grade] += 1
                s[grade][slide] += 1
                c[(grade, slide)][cls] += 1
                k[(grade, slide, cls)][int(clusters[j])] += 1
            n += len(labels)
        print(f"epoch {epoch}: {n} patches")
        print("  grade:   " + ", ".join(f"{x} {100 * v:.1f} %" for x, v in shares(g).items()) + f"  (uniform {100 / len(g):.1f} %)")
        worst = max(worst, max(abs(v - 1 / len(g)) for v in shares(g).values()))
        for grade in sorted(s):
            sh = shares(s[grade])
            worst = max(worst, max(abs(v - 1 / len(sh)) for v in sh.values()))
            print(f"  slide | grade {grade}: " + ", ".join(f"{pathlib.Path(sampler.slides[x]).name} {100 * v:.1f} %" for x, v in sh.items()) + f"  (uniform {100 / len(sh):.1f} %)")
        cls = collections.Counter()
        for v in c.values():
            for x, m in v.items():
                cls["tumour" if x else "non-tumour"] += m
        print("  class (over slides): " + ", ".join(f"{x} {100 * v:.1f} %" for x, v in shares(cls).items()) + "  (uniform 50.0 %)")
        spread = [max(abs(v - 1 / len(sh)) for v in sh.values()) for sh in map(shares, k.values()) if len(sh) > 1]
        print(f"  cluster | class: {len(k)} (slide, class) nodes; largest departure from uniform {100 * max(spread or [0]):.1f} points")
    print(f"largest departure of a grade or slide share from uniform: {100 * worst:.1f} points")


if __name__ == "__main__":
    main()
