import csv
import pathlib
import warnings

import numpy as np
import pytest

import h2g
from reference import augment as ref_augment, augment_batch


def rows_of(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_rows(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def test_batches_have_the_promised_shapes_and_labels(cohort):
    s = h2g.Sampler(cohort, batch_size=16, batches_per_epoch=3, seed=1, workers=2, queue=2)
    assert len(s) == 3 and s.patch_size == 128 and s.grades == ["I", "II", "III"]
    batches = list(s)
    assert len(batches) == 3
    for i, (images, labels, clusters, meta) in enumerate(batches):
        assert images.shape == (16, 128, 128, 3) and images.dtype == np.uint8
        assert labels.dtype == np.uint8 and set(labels) <= {0, 1}
        assert (clusters == -1).all()
        assert meta["batch"] == i and meta["epoch"] == 0
        # the label is the patch's class in the patch table
        table = s.patches
        for j in range(16):
            p = meta["patch"][j]
            assert labels[j] == (table["label"][p] == "tumour")
            assert meta["x"][j] == table["x"][p] and meta["slide"][j] == table["slide"][p]


def test_the_same_seed_gives_the_same_batches_whatever_the_workers(cohort):
    def epoch(workers, queue, seed=7):
        s = h2g.Sampler(cohort, batch_size=8, batches_per_epoch=6, seed=seed, workers=workers, queue=queue)
        return [(im.copy(), m["patch"].copy()) for im, _, _, m in s]

    one = epoch(1, 1)
    four = epoch(4, 3)
    for (a, pa), (b, pb) in zip(one, four):
        assert (pa == pb).all() and (a == b).all()
    other = epoch(2, 2, seed=8)
    assert any((pa != pb).any() for (_, pa), (_, pb) in zip(one, other))


def test_each_epoch_draws_afresh_and_epoch_n_is_reproducible(cohort):
    s = h2g.Sampler(cohort, batch_size=8, batches_per_epoch=2, seed=3, workers=2)
    e0 = [m["patch"] for _, _, _, m in s]
    e1 = [m["patch"] for _, _, _, m in s]
    assert any((a != b).any() for a, b in zip(e0, e1))
    again = [m["patch"] for _, _, _, m in s.epoch(1)]
    assert all((a == b).all() for a, b in zip(e1, again))


def test_cli_sample_draws_what_epoch_0_draws(cohort, h2g_cli, tmp_path):
    s = h2g.Sampler(cohort, batch_size=5, batches_per_epoch=4, seed=11, augment=False, workers=3)
    ours = [(int(m["x"][j]), int(m["y"][j]), str(s.slides[m["slide"][j]])) for _, _, _, m in s for j in range(5)]
    out = tmp_path / "draws.csv"
    h2g_cli("sample", cohort, "-o", out, "--batches", 4, "--batch-size", 5, "--seed", 11, "-q")
    cli = [(int(r["x"]), int(r["y"]), r["slide"]) for r in rows_of(out)]
    assert [(x, y, pathlib.Path(p).name) for x, y, p in ours] == [(x, y, pathlib.Path(p).name) for x, y, p in cli]


def test_stages_are_uniform(cohort):
    # 3 grades; within a grade 2 slides; within a slide 2 classes
    s = h2g.Sampler(cohort, batch_size=64, batches_per_epoch=60, seed=5, augment=False, workers=2)
    grades, slides, labels = [], [], []
    for _, lab, _, m in s:
        grades.append(m["grade"])
        slides.append(m["slide"])
        labels.append(lab)
    g, sl, lab = map(np.concatenate, (grades, slides, labels))
    n = len(g)
    # binomial 5-sigma bounds around each uniform share
    def near(count, total, p):
        sd = np.sqrt(total * p * (1 - p))
        assert abs(count - total * p) < 5 * sd, (count, total, p)

    for k in range(3):
        near((g == k).sum(), n, 1 / 3)
    for k in range(6):
        near((sl == k).sum(), n, 1 / 6)
    near(lab.sum(), n, 1 / 2)


def test_a_stage_left_out_is_not_balanced(cohort):
    # without the class stage, tumour comes in as often as its patches do (a minority)
    s = h2g.Sampler(cohort, batch_size=64, batches_per_epoch=20, seed=5, augment=False, stages=["grade", "slide"], workers=2)
    share = np.concatenate([lab for _, lab, _, _ in s]).mean()
    assert share < 0.3


def test_the_split_selects_rows(cohort):
    s = h2g.Sampler(cohort, split="train", batch_size=4, batches_per_epoch=1)
    assert [p.name for p in s.slides] == ["s0.tif", "s2.tif", "s4.tif"]


def test_augmentations_match_the_numpy_opencv_reference(cohort):
    kw = dict(batch_size=32, batches_per_epoch=4, seed=9, workers=2)
    raw = list(h2g.Sampler(cohort, augment=False, **kw))
    aug = list(h2g.Sampler(cohort, **kw))
    seen = np.zeros(5, int)
    for (ri, _, _, rm), (ai, _, _, am) in zip(raw, aug):
        assert (rm["patch"] == am["patch"]).all()
        np.testing.assert_array_equal(ai, augment_batch(ri, am))
        seen += [am["flip_h"].sum(), am["flip_v"].sum(), (am["rot90"] > 0).sum(), am["hsv"].any(1).sum(), (am["brightness"] != 1).sum()]
    # each applied to about half of the 128 patches
    assert ((seen > 40) & (seen < 88)).all(), seen


@pytest.mark.parametrize("seed", range(6))
def test_augment_matches_the_reference_on_random_images(seed):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (33, 33, 3), dtype=np.uint8)
    # include greys and saturated colours
    img[0, :] = np.arange(33)[:, None] * 7
    img[1, :3] = [[255, 0, 0], [0, 255, 0], [0, 0, 255]]
    p = dict(
        flip_h=bool(rng.integers(2)),
        flip_v=bool(rng.integers(2)),
        rot90=int(rng.integers(4)),
        hsv=tuple(int(v) for v in rng.integers(-20, 21, 3)),
        brightness=float(np.float32(rng.uniform(0.8, 1.2))),
    )
    np.testing.assert_array_equal(h2g.augment(img, **p), ref_augment(img, **p))


def test_hsv_conversions_agree_with_opencv():
    import cv2
    from reference import hsv_to_rgb, hsv_to_rgb_cv2

    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    # a zero shift is the identity on greys and within one level of the colours
    same = h2g.augment(img, hsv=(0, 0, 1))
    ref = hsv_to_rgb(np.clip(cv2.cvtColor(img, cv2.COLOR_RGB2HSV).astype(int) + [0, 0, 1], 0, 255).astype(np.uint8))
    np.testing.assert_array_equal(same, ref)
    # every 8-bit HSV value: ours (rounded) and OpenCV's vectorised (truncated) differ by at most 1
    hh, ss, vv = np.meshgrid(np.arange(180), np.arange(256), np.arange(256), indexing="ij")
    hsv = np.stack([hh, ss, vv], -1).astype(np.uint8).reshape(-1, 256, 3)
    d = hsv_to_rgb(hsv).astype(int) - hsv_to_rgb_cv2(hsv).astype(int)
    assert d.min() >= 0 and d.max() <= 1


def test_a_missing_slide_names_its_row(cohort, tmp_path):
    rows = rows_of(cohort)
    rows[3]["slide"] = str(cohort.parent / "gone.tif")
    for r in rows:
        for k in ("slide", "patches"):
            r[k] = str(cohort.parent / r[k])
    bad = tmp_path / "cohort.csv"
    write_rows(bad, rows)
    with pytest.raises(h2g.H2gError, match=r"line 5: the slide .*gone.tif cannot be used: .*no such file"):
        h2g.Sampler(bad)
    with pytest.warns(UserWarning, match="line 5: left out"):
        s = h2g.Sampler(bad, on_error="skip", batch_size=4, batches_per_epoch=1)
    assert len(s.slides) == 5 and s.skipped[0][0] == 5
    assert len(list(s)) == 1


def test_bad_cohorts_get_specific_errors(cohort, tmp_path):
    base = cohort.parent
    rows = [{k: (str(base / v) if k in ("slide", "patches") else v) for k, v in r.items()} for r in rows_of(cohort)]
    # a patch table without the label column
    t = rows_of(base / "s0-patches.csv")
    nolabel = tmp_path / "nolabel.csv"
    write_rows(nolabel, [{k: v for k, v in r.items() if k != "label"} for r in t])
    c = tmp_path / "c1.csv"
    write_rows(c, [dict(rows[0], patches=str(nolabel))] + rows[1:])
    with pytest.raises(h2g.H2gError, match="label"):
        h2g.Sampler(c)
    # no tumour patch anywhere
    nt = tmp_path / "nt.csv"
    write_rows(nt, [r for r in t if r["label"] == "non-tumour"])
    c = tmp_path / "c2.csv"
    write_rows(c, [dict(r, patches=str(nt)) for r in rows])
    with pytest.raises(h2g.H2gError, match="no patch of class 'tumour'"):
        h2g.Sampler(c)
    # a grade whose slides have no patch
    empty = tmp_path / "empty.csv"
    write_rows(empty, [dict(t[0], label="background")])
    c = tmp_path / "c3.csv"
    write_rows(c, [dict(r, patches=str(empty)) if r["grade"] == "II" else r for r in rows])
    with pytest.raises(h2g.H2gError, match="grade 'II' has no patch to sample"):
        h2g.Sampler(c)
    # settings
    with pytest.raises(h2g.H2gError, match="workers must be between 1 and 256"):
        h2g.Sampler(cohort, workers=0)
    with pytest.raises(h2g.H2gError, match="'tissue' is not a sampling stage"):
        h2g.Sampler(cohort, stages=["grade", "tissue"])
    with pytest.raises(ValueError, match="on_error"):
        h2g.Sampler(cohort, on_error="ignore")
    with pytest.raises(h2g.H2gError, match="no slide to sample in split 'test'"):
        h2g.Sampler(cohort, split="test")


def test_clusters_come_from_a_cluster_column(cohort, tmp_path):
    base = cohort.parent
    rows = []
    for r in rows_of(cohort):
        t = rows_of(base / r["patches"])
        for i, p in enumerate(t):
            p["cluster"] = str(i % 3)
        out = tmp_path / r["patches"]
        write_rows(out, t)
        rows.append(dict(r, slide=str(base / r["slide"]), patches=str(out)))
    c = tmp_path / "cohort.csv"
    write_rows(c, rows)
    s = h2g.Sampler(c, cluster_column="cluster", batch_size=64, batches_per_epoch=30, seed=2, augment=False, workers=2)
    cl = np.concatenate([k for _, _, k, _ in s])
    assert set(cl) == {0, 1, 2}
    # the cluster stage balances them
    for k in range(3):
        assert abs((cl == k).mean() - 1 / 3) < 0.05


def test_an_epoch_can_be_left_early(cohort):
    s = h2g.Sampler(cohort, batch_size=8, batches_per_epoch=100, workers=4, queue=4)
    it = iter(s)
    next(it)
    it.close()
    assert list(it) == []
    # and the sampler goes on
    assert len(list(h2g.Sampler(cohort, batch_size=8, batches_per_epoch=2))) == 2
