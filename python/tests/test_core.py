"""The core API against the h2g command line (same code, same numbers) and against numpy."""

import csv
import json

import numpy as np
import pytest

import h2g


def read_png(path):
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return img[..., ::-1] if img.ndim == 3 else img


def test_slide_info_is_h2g_info(demo_slide, h2g_cli):
    s = h2g.Slide(demo_slide)
    cli = json.loads(h2g_cli("info", demo_slide, "--json").stdout)
    assert s.info == cli
    assert s.dimensions == (2220, 2967) and s.level_count == len(cli["levels"])
    assert s.level_downsamples[0] == 1.0


@pytest.mark.parametrize("at,x,y,w,h", [("level:0", 100, 200, 300, 150), ("10x", 0, 0, 400, 300), ("ds:3.3", 50, 70, 129, 97)])
def test_slide_read_is_h2g_region(demo_slide, h2g_cli, tmp_path, at, x, y, w, h):
    out = tmp_path / "r.png"
    h2g_cli("region", demo_slide, "--at", at, "--x", x, "--y", y, "--width", w, "--height", h, "-o", out)
    a = h2g.Slide(demo_slide).read(x, y, w, h, at=at)
    assert a.shape == (h, w, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, read_png(out))


def test_slide_errors_are_h2g_errors(tmp_path):
    with pytest.raises(h2g.H2gError, match="no such file"):
        h2g.Slide(tmp_path / "none.svs")
    (tmp_path / "junk.svs").write_bytes(b"not a slide")
    with pytest.raises(h2g.H2gError, match="cannot be opened as a slide"):
        h2g.Slide(tmp_path / "junk.svs")
    with pytest.raises(h2g.H2gError, match="mpp"):
        h2g.Slide(tmp_path / "junk.svs", mpp=-1.0)


def test_reading_checks_the_region(demo_slide):
    s = h2g.Slide(demo_slide)
    with pytest.raises(h2g.H2gError, match="cannot be read"):
        s.read(0, 0, 0, 10)
    with pytest.raises(h2g.H2gError, match="cannot be read"):
        s.read(0, 0, 100_000, 100_000)
    with pytest.raises(ValueError, match="at="):
        s.read(0, 0, 10, 10, at="fast")


def test_patches_are_h2g_patches(demo_slide, h2g_cli, tmp_path):
    import cv2

    # a tumour mask at downsample 4 over part of the slide
    mask = np.zeros((2967 // 4, 2220 // 4), np.uint8)
    mask[100:400, 150:450] = 1
    mp = tmp_path / "mask.png"
    cv2.imwrite(str(mp), mask)
    out = tmp_path / "p.csv"
    h2g_cli("patches", demo_slide, "-o", out, "--mask", mp, "--mask-downsample", 4, "--all", "-q")
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    t = h2g.patches(demo_slide, mask=mp, mask_downsample=4.0, all=True)
    assert len(rows) == len(t["x"]) > 0
    assert [int(r["x"]) for r in rows] == t["x"].tolist()
    assert [int(r["y"]) for r in rows] == t["y"].tolist()
    assert [r["label"] for r in rows] == t["label"].tolist()
    np.testing.assert_allclose([float(r["tissue_fraction"]) for r in rows], t["tissue_fraction"], atol=5e-7)
    np.testing.assert_allclose([float(r["tumour_fraction"]) for r in rows], t["tumour_fraction"], atol=5e-7)
    assert {r["level"] for r in rows} == {str(t["level"])} and int(rows[0]["width"]) == t["width"]
    assert set(t["label"]) >= {"tumour", "non-tumour"}


def test_patch_settings_are_checked(demo_slide):
    with pytest.raises(h2g.H2gError, match="--min-tissue must be in"):
        h2g.patches(demo_slide, min_tissue=1.5)
    with pytest.raises(h2g.H2gError, match="tissue-method must be"):
        h2g.patches(demo_slide, tissue_method="magic")


@pytest.mark.parametrize("seed", range(8))
def test_vectorize_and_rasterize_round_trip(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(1, 60, 2)
    m = (rng.random((h, w)) < rng.uniform(0.1, 0.7)).astype(np.uint8) * rng.integers(1, 4, (h, w)).astype(np.uint8)
    gj = h2g.vectorize(m, classes={1: "A", 2: "B", 3: "C"})
    back = h2g.rasterize(gj, size=(int(w), int(h)), classes={"A": 1, "B": 2, "C": 3})
    np.testing.assert_array_equal(back, m)


def test_sixteen_bit_labels_round_trip():
    m = np.zeros((20, 30), np.uint16)
    m[2:9, 3:12] = 300
    m[10:18, 15:25] = 7
    gj = h2g.vectorize(m)
    assert {f["properties"]["classification"]["name"] for f in gj["features"]} == {"Label 7", "Label 300"}
    back = h2g.rasterize(gj, size=(30, 20), classes={"Label 7": 7, "Label 300": 300})
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, m)


def test_vectorize_is_h2g_vectorize(h2g_cli, tmp_path):
    import cv2

    rng = np.random.default_rng(3)
    m = (rng.random((80, 90)) < 0.4).astype(np.uint8)
    p = tmp_path / "m.png"
    cv2.imwrite(str(p), m)
    out = tmp_path / "m.geojson"
    h2g_cli("vectorize", p, "-o", out, "--downsample", 4, "--class", "1=Tumor")
    ours = h2g.vectorize(m, downsample=4.0, classes=["1=Tumor"])
    assert ours == json.loads(out.read_text())


def test_rasterize_is_h2g_rasterize(h2g_cli, tmp_path):
    gj = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [[[3.3, 2.1], [40.7, 5.2], [22.5, 37.9], [3.3, 2.1]]]},
                "properties": {"objectType": "annotation", "classification": {"name": "Tumor"}},
            },
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[0.5, 30.2], [45.1, 10.4]]},
                "properties": {"objectType": "annotation", "classification": {"name": "Stroma"}},
            },
        ],
    }
    src = tmp_path / "a.geojson"
    src.write_text(json.dumps(gj))
    out = tmp_path / "a.png"
    h2g_cli("rasterize", src, "--size", "48x40", "--class", "Tumor=1", "--class", "Stroma=2", "-o", out)
    ours = h2g.rasterize(gj, size=(48, 40), classes=[("Tumor", 1), ("Stroma", 2)])
    np.testing.assert_array_equal(ours, read_png(out))
    assert set(np.unique(ours)) == {0, 1, 2}


def test_vector_errors():
    with pytest.raises(ValueError, match="2-D"):
        h2g.vectorize(np.zeros((3, 3, 3), np.uint8))
    with pytest.raises(TypeError, match="uint8, uint16 or bool"):
        h2g.vectorize(np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match="give the mask size"):
        h2g.rasterize({"type": "FeatureCollection", "features": []})
    with pytest.raises(h2g.H2gError, match="no --class maps"):
        h2g.rasterize(
            {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [4, 0], [4, 4], [0, 0]]]}, "properties": {"classification": {"name": "X"}}}]},
            size=(5, 5),
            classes={"Tumor": 1},
        )


def test_tukey_is_h2g_stats_tukey(h2g_cli, tmp_path):
    rng = np.random.default_rng(1)
    groups = {g: [float(v) for v in rng.normal(mu, 0.1, n)] for g, mu, n in [("h2g", 0.8, 12), ("pw", 0.7, 10), ("otsu", 0.5, 11)]}
    p = tmp_path / "long.csv"
    with open(p, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["slide", "design", "dice"])
        for g, vals in groups.items():
            for i, v in enumerate(vals):
                w.writerow([f"s{i}", g, repr(v)])
    cli = json.loads(h2g_cli("stats", "tukey", p, "--json").stdout)
    ours = h2g.tukey(groups)
    assert ours == cli
    assert [(q["group1"], q["group2"]) for q in ours["pairs"]] == [("h2g", "otsu"), ("h2g", "pw"), ("otsu", "pw")]
    with pytest.raises(h2g.H2gError, match="at least two groups"):
        h2g.tukey({"a": [1.0, 2.0]})


def test_evaluate_counts_what_numpy_counts(tmp_path):
    import cv2

    rng = np.random.default_rng(4)
    rows = []
    expect = {}
    for i in range(3):
        truth = (rng.random((40, 50)) < 0.3).astype(np.uint8)
        for design, flip in [("good", 0.05), ("bad", 0.4)]:
            pred = truth ^ (rng.random((40, 50)) < flip).astype(np.uint8)
            cv2.imwrite(str(tmp_path / f"t{i}.png"), truth)
            cv2.imwrite(str(tmp_path / f"p{i}{design}.png"), pred)
            rows.append([f"s{i}", design, f"t{i}.png", f"p{i}{design}.png", "I", 1, 1])
            tp = int((truth & pred).sum())
            expect[(f"s{i}", design)] = 2 * tp / (truth.sum() + pred.sum())
    cohort = tmp_path / "evaluation.csv"
    with open(cohort, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["slide", "design", "truth", "prediction", "grade", "truth_downsample", "prediction_downsample"])
        w.writerows(rows)
    ev, files = h2g.evaluate(cohort, output=tmp_path / "report")
    assert "per_slide.csv" in files and (tmp_path / "report" / "per_slide.csv").exists()
    table = h2g.read_csv_columns(files["per_slide.csv"])
    got = {(s, d): float(v) for s, d, v in zip(table["slide"], table["design"], table["dice"])}
    assert got.keys() == expect.keys()
    for k, v in expect.items():
        assert abs(got[k] - v) < 1e-9
    assert set(ev["designs"]) == {"good", "bad"}


def test_a_rust_panic_is_a_python_exception():
    from h2g import _h2g

    with pytest.raises(BaseException) as e:
        _h2g._panic("a test panic")
    assert "a test panic" in str(e.value)
    # the interpreter goes on
    assert h2g.tukey({"a": [1.0, 2.0], "b": [2.0, 3.5]})["groups"] == 2


def test_the_type_stubs_name_everything_the_module_has():
    import ast
    import pathlib

    from h2g import _h2g

    stub = pathlib.Path(h2g.__file__).with_name("_h2g.pyi")
    tree = ast.parse(stub.read_text())
    named = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            named.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            named.add(node.target.id)
    public = {n for n in dir(_h2g) if not n.startswith("__") or n == "__version__"}
    assert public - named == set(), "in the module, not in the stubs"
    assert {n for n in named if not n.startswith("_") or n == "__version__"} - public == set()
    # every public function and class has a docstring
    for name in public - {"__version__", "ORT_VERSION"}:
        assert getattr(_h2g, name).__doc__, name
