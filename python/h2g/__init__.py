"""h2g: H2G-Net breast-cancer tumour segmentation across the QuPath annotation lifecycle.

The Python face of the h2g library (the same code as the ``h2g`` command line):

- :class:`Slide` — a whole-slide image (OpenSlide), read at any resolution;
- :func:`patches` — a slide's patch grid with tissue and tumour fractions and labels;
- :func:`vectorize` / :func:`rasterize` — label masks ↔ QuPath GeoJSON, exactly;
- :func:`evaluate` / :func:`tukey` — per-slide Dice, precision, recall; Tukey's HSD;
- :class:`Sampler` — the paper's streaming hierarchical sampler for training, reading on Rust
  threads, with :func:`augment` applying its augmentations;
- :mod:`h2g.losses` — the cluster-weighted cross-entropy (CWCE) in numpy, with its gradient.

Every call releases the GIL while Rust works; library errors raise :class:`H2gError`.
"""

from ._h2g import (
    H2gError,
    Slide,
    Sampler,
    EpochIter,
    __version__,
    augment,
    evaluate,
    patches,
    rasterize,
    tukey,
    vectorize,
)
from . import losses

__all__ = [
    "H2gError",
    "Slide",
    "Sampler",
    "EpochIter",
    "__version__",
    "augment",
    "evaluate",
    "losses",
    "patches",
    "rasterize",
    "read_csv_columns",
    "tukey",
    "vectorize",
]


def read_csv_columns(text):
    """A CSV table (the text of one of :func:`evaluate`'s files) as {column: list of str}."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    return {name: [r[i] if i < len(r) else "" for r in body] for i, name in enumerate(header)}
