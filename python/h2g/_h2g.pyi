"""Type stubs of the extension module (the h2g Rust library, built with PyO3)."""

from collections.abc import Iterator, Mapping, Sequence
from os import PathLike
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

_Path = str | PathLike[str]
_Batch = tuple[
    npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.int64], dict[str, Any]
]

__version__: str
ORT_VERSION: str

class H2gError(Exception):
    """An error of the h2g library; the message names the value and the fix."""

class Slide:
    def __init__(self, path: _Path, mpp: float | None = None) -> None: ...
    @property
    def path(self) -> str: ...
    @property
    def mpp(self) -> float | None: ...
    @property
    def info(self) -> dict[str, Any]: ...
    @property
    def dimensions(self) -> tuple[int, int]: ...
    @property
    def level_count(self) -> int: ...
    @property
    def level_dimensions(self) -> list[tuple[int, int]]: ...
    @property
    def level_downsamples(self) -> list[float]: ...
    def read(
        self,
        x: int = 0,
        y: int = 0,
        width: int | None = None,
        height: int | None = None,
        at: str = "level:0",
    ) -> npt.NDArray[np.uint8]: ...

def patches(
    slide: Slide | _Path,
    mask: _Path | None = None,
    *,
    mask_downsample: float | None = None,
    tumour_label: int | None = None,
    tumour_class: str | None = None,
    tissue: _Path | None = None,
    tissue_downsample: float | None = None,
    tissue_method: Literal["saturation", "otsu", "fast"] = "saturation",
    size: int = 256,
    at: str = "10x",
    min_tissue: float = 0.25,
    min_tumour: float = 0.25,
    all: bool = False,
    mpp: float | None = None,
) -> dict[str, Any]: ...
def vectorize(
    mask: npt.NDArray[np.uint8] | npt.NDArray[np.uint16] | npt.NDArray[np.bool_],
    *,
    classes: Mapping[int, str] | Sequence[str] | None = None,
    downsample: float | None = None,
    slide: _Path | None = None,
    mpp: float | None = None,
    min_area: float | None = None,
    max_hole: float | None = None,
    simplify: float | str | None = None,
    qupath_frame: bool = False,
    qupath_version: str = "0.2",
) -> dict[str, Any]: ...
def rasterize(
    annotations: Mapping[str, Any] | _Path,
    *,
    size: tuple[int, int] | None = None,
    like: _Path | None = None,
    downsample: float = 1.0,
    classes: Mapping[str, int] | Sequence[tuple[str, int]] | None = None,
    unclassified: int | None = None,
    ignore_unknown: bool = False,
    rule: Literal["qupath", "top-left", "centre"] = "qupath",
    line_thickness: float = 1.0,
    jdk: Literal[17, 21] = 21,
    ellipses_as_polygons: bool = False,
    drop_repeated_vertices: bool = False,
) -> npt.NDArray[np.uint8] | npt.NDArray[np.uint16]: ...
def evaluate(
    cohort: _Path,
    *,
    output: _Path | None = None,
    split: str | None = None,
    downsample: float | None = None,
    truth_class: Sequence[str] | None = None,
    prediction_class: Sequence[str] | None = None,
    threshold: float = 0.0,
    truth_threshold: float = 0.0,
    include_empty_truth: bool = False,
    alpha: float = 0.05,
    tukey_metric: Literal["dice", "precision", "recall"] = "dice",
    tukey_designs: Sequence[str] | None = None,
    tukey_exclude: Sequence[str] | None = None,
    classes: str | None = None,
) -> tuple[Any, dict[str, str]]: ...
def tukey(groups: Mapping[str, Sequence[float]], *, alpha: float = 0.05) -> dict[str, Any]: ...
def augment(
    image: npt.NDArray[np.uint8],
    *,
    flip_h: bool = False,
    flip_v: bool = False,
    rot90: int = 0,
    hsv: tuple[int, int, int] = (0, 0, 0),
    brightness: float = 1.0,
) -> npt.NDArray[np.uint8]: ...

class EpochIter(Iterator[_Batch]):
    def __iter__(self) -> EpochIter: ...
    def __next__(self) -> _Batch: ...
    def __len__(self) -> int: ...
    def close(self) -> None: ...

class Sampler:
    def __init__(
        self,
        cohort: _Path,
        *,
        batch_size: int = 64,
        batches_per_epoch: int = 500,
        seed: int = 0,
        split: str | None = None,
        stages: Sequence[Literal["grade", "slide", "class", "cluster"]] | None = None,
        augment: bool | Sequence[Literal["flip", "rot90", "hsv", "brightness"]] | None = None,
        workers: int = 8,
        queue: int = 20,
        cluster_column: str | None = None,
        cluster_model: Mapping[str, Any] | _Path | None = None,
        feature_model: FeatureModel | str | None = None,
        on_error: Literal["raise", "skip"] = "raise",
    ) -> None: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> EpochIter: ...
    def epoch(self, epoch: int) -> EpochIter: ...
    @property
    def slides(self) -> list[str]: ...
    @property
    def grades(self) -> list[str]: ...
    @property
    def skipped(self) -> list[tuple[int, str, str]]: ...
    @property
    def patches(self) -> dict[str, Any]: ...
    @property
    def patch_size(self) -> int: ...
    @property
    def batch_size(self) -> int: ...

class FeatureModel:
    def __init__(self, model: str, *, threads: int = 0) -> None: ...
    def __call__(self, images: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]: ...
    @property
    def name(self) -> str: ...

def fit_clusters(
    features: npt.NDArray[np.float64],
    *,
    k: int = 10,
    variance: float = 0.95,
    seed: int = 0,
    n_init: int = 10,
    init: npt.NDArray[np.float64] | None = None,
    max_iter: int = 300,
    tol: float = 1e-4,
) -> dict[str, Any]: ...
def assign_clusters(
    model: Mapping[str, Any] | _Path, features: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]: ...
def cluster_fit(
    cohort: _Path,
    model: str,
    *,
    output: _Path | None = None,
    batches: int = 100,
    batch_size: int = 32,
    k: int = 10,
    variance: float = 0.95,
    seed: int = 0,
    n_init: int = 10,
    split: str | None = None,
    workers: int = 4,
    threads: int = 0,
) -> dict[str, Any]: ...
def cluster_assign(
    cohort: _Path,
    clusters: _Path,
    model: str,
    output: _Path,
    *,
    column: str = "cluster",
    threads: int = 0,
) -> dict[str, Any]: ...
def _panic(message: str) -> None: ...
