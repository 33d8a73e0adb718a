"""The cluster-weighted cross-entropy (CWCE) of H2G-Net (Pedersen et al. 2022, eq. 1), in numpy.

For a batch with one-hot targets ``y`` (N × C), predicted probabilities ``p`` (N × C) and a
cluster per sample ``k`` (N): for each class c and each cluster present in the batch, the sum of
``y·log p`` over that cluster's samples is divided by the cluster's size; these are averaged over
the clusters present, then over the classes, and negated::

    L = -(1/C) Σ_c (1/|K|) Σ_k (1/n_k) Σ_{i in k} y_ic · log p_ic

Every cluster present weighs the same, however many of its patches the batch holds. With a
single cluster this is the ordinary categorical cross-entropy divided by C.
"""

import numpy as np

__all__ = ["cwce", "cwce_grad"]


def _check(y_true, y_pred, clusters):
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    k = np.asarray(clusters)
    if y.ndim != 2 or p.shape != y.shape:
        raise ValueError(
            f"y_true and y_pred must both be N × C, not {y.shape} and {p.shape}"
        )
    if k.shape != (y.shape[0],):
        raise ValueError(f"clusters must have one value per sample ({y.shape[0]}), not shape {k.shape}")
    if y.shape[0] == 0:
        raise ValueError("an empty batch has no loss")
    return y, p, k


def _weights(k):
    """Per sample: 1 / (its cluster's size × the number of clusters present)."""
    present, inverse, counts = np.unique(k, return_inverse=True, return_counts=True)
    return 1.0 / (counts[inverse] * len(present))


def cwce(y_true, y_pred, clusters, eps=1e-7):
    """The CWCE loss of one batch (a float). ``y_pred`` is clipped to [eps, 1 − eps] first, as
    Keras' cross-entropy does."""
    y, p, k = _check(y_true, y_pred, clusters)
    p = np.clip(p, eps, 1.0 - eps)
    w = _weights(k)[:, None]
    return float(-(w * y * np.log(p)).sum() / y.shape[1])


def cwce_grad(y_true, y_pred, clusters, eps=1e-7):
    """The gradient of :func:`cwce` with respect to ``y_pred`` (N × C); zero where the clip
    is active."""
    y, p, k = _check(y_true, y_pred, clusters)
    inside = (p > eps) & (p < 1.0 - eps)
    pc = np.clip(p, eps, 1.0 - eps)
    w = _weights(k)[:, None]
    return np.where(inside, -(w * y / pc) / y.shape[1], 0.0)
