"""h2g: H2G-Net breast-cancer tumour segmentation across the QuPath annotation lifecycle.

The Python face of the h2g library (the same code as the ``h2g`` command line):

- :class:`Slide` — a whole-slide image (OpenSlide), read at any resolution;
- :func:`patches` — a slide's patch grid with tissue and tumour fractions and labels;
- :func:`vectorize` / :func:`rasterize` — label masks ↔ QuPath GeoJSON, exactly;
- :func:`evaluate` / :func:`tukey` — per-slide Dice, precision, recall; Tukey's HSD;
- :class:`Sampler` — the paper's streaming hierarchical sampler for training, reading on Rust
  threads, with :func:`augment` applying its augmentations;
- :func:`cluster_fit` / :func:`cluster_assign` / :class:`FeatureModel` — the sampler's
  clustering stage (features, z-scores, PCA, k-means), as ``h2g cluster``;
- :mod:`h2g.losses` — the cluster-weighted cross-entropy (CWCE) in numpy, with its gradient.

The model stages need ONNX Runtime's shared library, version :data:`ORT_VERSION`: the
``onnxruntime`` wheel of that version (``pip install onnxruntime==1.31.1``) is found by itself;
otherwise set ``H2G_ORT_LIB`` to ``libonnxruntime.so``.

Every call releases the GIL while Rust works; library errors raise :class:`H2gError`.
"""

import importlib.util as _importlib_util
import os as _os
import pathlib as _pathlib

from ._h2g import (
    ORT_VERSION,
    FeatureModel,
    H2gError,
    Slide,
    Sampler,
    EpochIter,
    __version__,
    assign_clusters,
    augment,
    cluster_assign,
    cluster_fit,
    evaluate,
    fit_clusters,
    patches,
    rasterize,
    tukey,
    vectorize,
)
from . import losses

__all__ = [
    "ORT_VERSION",
    "FeatureModel",
    "H2gError",
    "Slide",
    "Sampler",
    "EpochIter",
    "__version__",
    "assign_clusters",
    "augment",
    "cluster_assign",
    "cluster_fit",
    "evaluate",
    "fit_clusters",
    "losses",
    "patches",
    "rasterize",
    "read_csv_columns",
    "tukey",
    "vectorize",
]


def _find_onnxruntime():
    """Points h2g at the onnxruntime wheel's library when no library was named."""
    if _os.environ.get("H2G_ORT_LIB") or _os.environ.get("ORT_DYLIB_PATH"):
        return
    try:
        spec = _importlib_util.find_spec("onnxruntime")
    except (ImportError, ValueError):
        return
    for d in (spec.submodule_search_locations or []) if spec else []:
        lib = _pathlib.Path(d) / "capi" / f"libonnxruntime.so.{ORT_VERSION}"
        if lib.is_file():
            _os.environ["H2G_ORT_LIB"] = str(lib)
            return


_find_onnxruntime()


def read_csv_columns(text):
    """A CSV table (the text of one of :func:`evaluate`'s files) as {column: list of str}."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    return {name: [r[i] if i < len(r) else "" for r in body] for i, name in enumerate(header)}
