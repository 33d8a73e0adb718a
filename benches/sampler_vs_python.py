#!/usr/bin/env python3
"""The training sampler against the paper's generator design, in one run, on one cohort.

h2g: ``h2g.Sampler`` (hierarchical draws, patches read on Rust threads into a bounded queue,
augmentations in Rust). Peer: the design the paper trained with (a Keras-style generator):
Python worker processes (multiprocessing, the same count), each drawing the same hierarchy with
numpy, reading patches with openslide-python ``read_region``, augmenting with numpy and OpenCV
(flips, rot90, HSV shift through ``cv2.cvtColor``, brightness), and putting whole batches into a
``multiprocessing.Queue`` of the same size. Each configuration runs in a child process of its own;
its wall time for a whole epoch (from before the sampler or the pool is made to the last batch
received: start-up and read-ahead count for both), its patches/s and the peak RSS of its
process tree (sampled from /proc) are printed, then the ratios.

usage: sampler_vs_python.py COHORT.csv [--batches N] [--batch-size B] [--workers W] [--queue Q]
"""
import argparse
import csv
import json
import os
import pathlib
import subprocess
import sys
import threading
import time


def rss_tree(pid):
    """The resident set of a process and its descendants, in bytes."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return total


def run_child(args):
    """Runs one configuration in a child process; returns its JSON result and peak RSS."""
    p = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True)
    peak = [0]

    def watch():
        while p.poll() is None:
            peak[0] = max(peak[0], rss_tree(p.pid))
            time.sleep(0.05)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    out, _ = p.communicate()
    t.join()
    if p.returncode:
        raise SystemExit(f"child {args} failed ({p.returncode})")
    r = json.loads(out.strip().splitlines()[-1])
    r["peak_rss_mb"] = peak[0] / 1e6
    return r


# ---- the peer: the paper's generator design in Python ----

def load_cohort(path):
    base = pathlib.Path(path).parent
    grades = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            slide = str(base / row["slide"])
            with open(base / row["patches"], newline="") as g:
                classes = {}
                for p in csv.DictReader(g):
                    if p["label"] in ("tumour", "non-tumour"):
                        classes.setdefault(p["label"], []).append((int(p["x"]), int(p["y"]), int(p["level"]), float(p["downsample"]), int(p["width"])))
            if classes:
                grades.setdefault(row["grade"], []).append((slide, classes))
    return grades


def augment_numpy(img, rng, cv2, np):
    if rng.random() < 0.5:
        img = img[:, ::-1]
    if rng.random() < 0.5:
        img = img[::-1]
    if rng.random() < 0.5:
        img = np.rot90(img, int(rng.integers(1, 4)))
    img = np.ascontiguousarray(img)
    if rng.random() < 0.5:
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV).astype(np.int16)
        d = rng.integers(-20, 21, 3)
        hsv[..., 0] = (hsv[..., 0] + d[0]) % 180
        hsv[..., 1:] = np.clip(hsv[..., 1:] + d[1:], 0, 255)
        img = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)
    if rng.random() < 0.5:
        img = np.clip(img.astype(np.float32) * rng.uniform(0.8, 1.2) + 0.5, 0, 255).astype(np.uint8)
    return img


def peer_worker(cohort, batch_size, seed, augment, queue, todo):
    import cv2
    import numpy as np
    import openslide

    cv2.setNumThreads(1)
    grades = load_cohort(cohort)
    names = sorted(grades)
    slides = {}
    while True:
        b = todo.get()
        if b is None:
            return
        rng = np.random.default_rng([seed, b])
        imgs = np.empty((batch_size, 256, 256, 3), np.uint8)
        for i in range(batch_size):
            g = grades[names[rng.integers(len(names))]]
            path, classes = g[rng.integers(len(g))]
            cls = sorted(classes)
            patches = classes[cls[rng.integers(len(cls))]]
            x, y, level, ds, width = patches[rng.integers(len(patches))]
            s = slides.get(path) or slides.setdefault(path, openslide.OpenSlide(path))
            side = int(round(width / ds))
            img = np.asarray(s.read_region((x, y), level, (side, side)))[..., :3]
            if augment:
                img = augment_numpy(img, rng, cv2, np)
            imgs[i] = img
        queue.put((b, imgs))


def child_peer(a):
    import multiprocessing as mp

    t = time.perf_counter()
    ctx = mp.get_context("fork")
    queue = ctx.Queue(maxsize=a.queue)
    todo = ctx.Queue()
    for b in range(a.batches):
        todo.put(b)
    for _ in range(a.workers):
        todo.put(None)
    procs = [ctx.Process(target=peer_worker, args=(a.cohort, a.batch_size, a.seed, a.augment, queue, todo)) for _ in range(a.workers)]
    for p in procs:
        p.start()
    for _ in range(a.batches):
        _, imgs = queue.get()
        assert imgs.shape == (a.batch_size, 256, 256, 3)
    wall = time.perf_counter() - t
    for p in procs:
        p.join()
    return wall


def child_h2g(a):
    import h2g

    t = time.perf_counter()
    s = h2g.Sampler(a.cohort, batch_size=a.batch_size, batches_per_epoch=a.batches, seed=a.seed, augment=a.augment, workers=a.workers, queue=a.queue)
    n = 0
    for images, _, _, _ in s:
        assert images.shape == (a.batch_size, 256, 256, 3)
        n += 1
    assert n == a.batches
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cohort")
    ap.add_argument("--batches", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--queue", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--child", choices=["h2g", "peer"])
    ap.add_argument("--augment", type=int, default=1)
    a = ap.parse_args()
    if a.child:
        a.augment = bool(a.augment)
        wall = (child_h2g if a.child == "h2g" else child_peer)(a)
        print(json.dumps({"wall_s": wall, "patches_per_s": a.batches * a.batch_size / wall}))
        return
    common = [a.cohort, "--batches", str(a.batches), "--batch-size", str(a.batch_size), "--workers", str(a.workers), "--queue", str(a.queue), "--seed", str(a.seed)]
    rows = []
    # interleaved, so that both see the same machine and the same page cache
    for augment in (1, 0):
        for who in ("peer", "h2g"):
            r = run_child([*common, "--augment", str(augment)] + ["--child", who])
            r.update(who=who, augment=bool(augment))
            rows.append(r)
            print(f"{who:5} augment={bool(augment)!s:5}: {r['patches_per_s']:8.1f} patches/s, peak RSS {r['peak_rss_mb']:7.1f} MB", flush=True)
    by = {(r["who"], r["augment"]): r for r in rows}
    for augment in (True, False):
        h, p = by[("h2g", augment)], by[("peer", augment)]
        print(
            f"augment={augment!s:5}: h2g / Python generator = {h['patches_per_s'] / p['patches_per_s']:.2f}× patches/s "
            f"(target ≥ 2× with augmentation), peak RSS {h['peak_rss_mb']:.0f} MB vs {p['peak_rss_mb']:.0f} MB"
        )
    batch_mb = a.batch_size * 256 * 256 * 3 / 1e6
    print(f"one batch is {batch_mb:.1f} MB; (queue + workers) batches = {(a.queue + a.workers) * batch_mb:.0f} MB, the bound on h2g's batches in flight")
    print(json.dumps({"cores": os.cpu_count(), "workers": a.workers, "queue": a.queue, "batch_size": a.batch_size, "batches": a.batches, "rows": rows}))


if __name__ == "__main__":
    main()
