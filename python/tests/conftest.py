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

# the set-up's ONNX Runtime (scripts/setup.sh), for the model stages
_ORT = ROOT / ".deps" / "onnxruntime" / "lib" / "libonnxruntime.so.1.31.1"
if _ORT.is_file() and not os.environ.get("H2G_ORT_LIB"):
    os.environ["H2G_ORT_LIB"] = str(_ORT)
FEATURE_MODEL = ROOT / "models" / "test" / "vgg16_features.onnx"


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


def make_cohort(d, size, side, patch):
    """Six side × side slides at 1 µm/px, two per grade (I, II, III), train and val; each with a
    tumour mask at downsample 4 and its patch table (patch-px patches at 10×) made by
    h2g.patches."""
    import cv2
    import h2g

    rows = []
    q = side // 4
    for i in range(6):
        grade = ["I", "II", "III"][i // 2]
        img = texture(i, side, size)
        slide = d / f"s{i}.tif"
        write_slide(slide, img)
        mask = np.zeros((size // 4, q), np.uint8)
        # a tumour block whose size grows with the grade
        mask[size // 20 : size // 20 + (size // 26) * (i // 2 + 1), q * 2 // 5 : q * 4 // 5] = 1
        cv2.imwrite(str(d / f"s{i}-mask.png"), mask)
        table = h2g.patches(str(slide), mask=str(d / f"s{i}-mask.png"), mask_downsample=4.0, size=patch, at="10x", mpp=1.0)
        write_patch_csv(d / f"s{i}-patches.csv", table)
        rows.append((f"s{i}.tif", f"s{i}-patches.csv", grade, "val" if i % 2 else "train"))
    with open(d / "cohort.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["slide", "patches", "grade", "split"])
        w.writerows(rows)
    return d / "cohort.csv"


@pytest.fixture(scope="session")
def cohort(tmp_path_factory):
    """Six 1024 × 768 slides with 128-px patches (see make_cohort)."""
    return make_cohort(tmp_path_factory.mktemp("cohort"), 768, 1024, 128)


@pytest.fixture(scope="session")
def cohort256(tmp_path_factory):
    """Six 1536 × 1536 slides with 256-px patches, the feature model's side."""
    return make_cohort(tmp_path_factory.mktemp("cohort256"), 1536, 1536, 256)


@pytest.fixture(scope="session")
def feature_model():
    if not FEATURE_MODEL.is_file():
        pytest.fail(f"{FEATURE_MODEL} is missing (scripts/make_feature_model.py makes it)")
    return str(FEATURE_MODEL)


@pytest.fixture
def tmp_copy(tmp_path):
    def copy(src, name=None):
        dst = tmp_path / (name or pathlib.Path(src).name)
        shutil.copy(src, dst)
        return dst

    return copy
