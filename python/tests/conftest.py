"""Shared fixtures: a small synthetic three-grade cohort of real tiled TIFF slides (read by
OpenSlide), the demo slide and the h2g binary for parity with the command line."""

import csv
import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def h2g_binary():
    """The h2g command line built from this checkout (cargo build --release)."""
    env = os.environ.get("H2G_BIN")
    if env:
        return pathlib.Path(env)
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    return target / "release" / "h2g"


@pytest.fixture(scope="session")
def h2g_cli():
    exe = h2g_binary()
    if not exe.exists():
        pytest.fail(f"{exe} is missing: build it with `cargo build --release` first")

    def run(*args, check=True):
        return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, check=check)

    return run


@pytest.fixture(scope="session")
def demo_slide():
    p = ROOT / ".deps" / "data" / "cmu_small_region.svs"
    if not p.exists():
        pytest.fail(f"{p} is missing: scripts/setup.sh fetches it")
    return p


def texture(seed, w, h):
    """An H&E-like texture: pink stroma, purple nuclei, white holes; distinct per seed."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    f1, f2 = rng.uniform(9, 41, 2)
    base = np.stack(
        [
            200 + 40 * np.sin(xx / f1) * np.cos(yy / f2),
            120 + 60 * np.sin((xx + yy) / (f1 + f2)),
            190 - 50 * np.cos(xx / f2 + yy / f1),
        ],
        -1,
    )
    noise = rng.normal(0, 18, (h, w, 3))
    img = np.clip(base + noise, 0, 255).astype(np.uint8)
    # background (no tissue) in one corner block
    img[: h // 4, : w // 4] = (246, 246, 244)
    return img


def write_slide(path, img, tile=128):
    import tifffile

    levels = [img, img[::2, ::2].copy()]
    with tifffile.TiffWriter(path) as t:
        for i, lv in enumerate(levels):
            t.write(
                lv,
                tile=(tile, tile),
                photometric="rgb",
                compression="zlib",
                subfiletype=1 if i else 0,
            )


def write_patch_csv(path, table):
    import h2g  # noqa: F401

    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["x", "y", "level", "downsample", "width", "height", "tissue_fraction", "tumour_fraction", "label"])
        for i in range(len(table["x"])):
            w.writerow(
                [
                    int(table["x"][i]),
                    int(table["y"][i]),
                    table["level"],
                    table["downsample"],
                    table["width"],
                    table["width"],
                    f"{table['tissue_fraction'][i]:.6f}",
                    f"{table['tumour_fraction'][i]:.6f}",
                    table["label"][i],
                ]
            )


@pytest.fixture(scope="session")
def cohort(tmp_path_factory):
    """Six 1024 × 768 slides, two per grade (I, II, III), train and val; each with a tumour mask
    at downsample 4 and its patch table (128-px patches at 10×, the slides being 1 µm/px) made by h2g.patches."""
    import cv2
    import h2g

    d = tmp_path_factory.mktemp("cohort")
    rows = []
    for i in range(6):
        grade = ["I", "II", "III"][i // 2]
        img = texture(i, 1024, 768)
        slide = d / f"s{i}.tif"
        write_slide(slide, img)
        mask = np.zeros((768 // 4, 1024 // 4), np.uint8)
        # a tumour block whose size grows with the grade
        mask[40 : 40 + 30 * (i // 2 + 1), 100:200] = 1
        cv2.imwrite(str(d / f"s{i}-mask.png"), mask)
        table = h2g.patches(str(slide), mask=str(d / f"s{i}-mask.png"), mask_downsample=4.0, size=128, at="10x", mpp=1.0)
        write_patch_csv(d / f"s{i}-patches.csv", table)
        rows.append((f"s{i}.tif", f"s{i}-patches.csv", grade, "val" if i % 2 else "train"))
    with open(d / "cohort.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["slide", "patches", "grade", "split"])
        w.writerows(rows)
    return d / "cohort.csv"


@pytest.fixture
def tmp_copy(tmp_path):
    def copy(src, name=None):
        dst = tmp_path / (name or pathlib.Path(src).name)
        shutil.copy(src, dst)
        return dst

    return copy
