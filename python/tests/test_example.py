import pathlib
import re
import subprocess
import sys

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "two_epochs.py"


def test_the_two_epoch_example_prints_uniform_shares(tmp_path):
    out = subprocess.run([sys.executable, str(EXAMPLE), str(tmp_path), "--batches", "30"], capture_output=True, text=True, check=True).stdout
    assert out.count("epoch ") == 2 and "3 clusters" not in out and "4 clusters" in out
    # 1920 patches per epoch: a grade share's sd is about 1.1 points, a slide's in its grade 2
    worst = float(re.search(r"largest departure of a grade or slide share from uniform: ([\d.]+) points", out).group(1))
    assert worst < 8.0, out
    for line in re.findall(r"class \(over slides\): .*", out):
        t = float(re.search(r"tumour ([\d.]+) %", line.split(",")[1]).group(1))
        assert abs(t - 50) < 5, line
    assert (tmp_path / "clusters.json").exists() and (tmp_path / "clustered" / "cohort.csv").exists()
