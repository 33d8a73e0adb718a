import math

import numpy as np
import pytest

from h2g.losses import cwce, cwce_grad


def test_a_hand_computed_batch():
    y = [[1, 0], [0, 1], [1, 0]]
    p = [[0.8, 0.2], [0.4, 0.6], [0.5, 0.5]]
    k = [0, 0, 1]
    # class 0: cluster 0 → log .8 / 2, cluster 1 → log .5; class 1: cluster 0 → log .6 / 2, cluster 1 → 0
    expect = -0.5 * ((math.log(0.8) / 2 + math.log(0.5)) / 2 + (math.log(0.6) / 2 + 0.0) / 2)
    assert cwce(y, p, k) == pytest.approx(expect, rel=1e-12)


def test_one_cluster_is_cross_entropy_over_classes():
    rng = np.random.default_rng(0)
    p = rng.dirichlet([1, 1, 1], 20)
    y = np.eye(3)[rng.integers(0, 3, 20)]
    ce = -(y * np.log(p)).sum(1).mean()
    assert cwce(y, p, np.zeros(20)) == pytest.approx(ce / 3, rel=1e-12)


def test_every_cluster_weighs_the_same_whatever_its_size():
    # one sample of cluster 1 against nine of cluster 0: the lone sample carries half the loss
    y = np.tile([1.0, 0.0], (10, 1))
    p = np.tile([0.9, 0.1], (10, 1))
    p[9] = [0.3, 0.7]
    k = np.array([0] * 9 + [1])
    expect = -0.5 * (math.log(0.9) + math.log(0.3)) / 2
    assert cwce(y, p, k) == pytest.approx(expect, rel=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_the_gradient_is_the_finite_difference(seed):
    rng = np.random.default_rng(seed)
    n, c = 12, 3
    p = rng.uniform(0.05, 0.95, (n, c))
    y = np.eye(c)[rng.integers(0, c, n)]
    k = rng.integers(0, 4, n)
    g = cwce_grad(y, p, k)
    h = 1e-6
    fd = np.zeros_like(p)
    for i in range(n):
        for j in range(c):
            d = np.zeros_like(p)
            d[i, j] = h
            fd[i, j] = (cwce(y, p + d, k) - cwce(y, p - d, k)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-9)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="N × C"):
        cwce([[1, 0]], [[0.5, 0.5, 0.0]], [0])
    with pytest.raises(ValueError, match="one value per sample"):
        cwce([[1, 0]], [[0.5, 0.5]], [0, 1])
    with pytest.raises(ValueError, match="empty batch"):
        cwce(np.zeros((0, 2)), np.zeros((0, 2)), [])
