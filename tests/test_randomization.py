"""``pacbits reproduce randomization`` end to end on the tiny synthetic MNIST of conftest.py.

Theorem 6.1 itself (zero without a gap, growing with it, invalid inputs) is tested
in test_bounds_montecarlo.py; label randomization in test_labels.py.
"""
import copy
import json

import matplotlib.image
import pytest

from pacbits.cli import main
from pacbits.core.bounds import entropy_lower_bound
from pacbits.experiments.randomization_report import PLOTS, markdown, plot

TINY = ["--train-size", "200", "--steps", "40", "--retrain-steps", "5", "--fractions", "0,1",
        "--sparsities", "0,0.9", "--threshold", "0.5", "--seed", "3"]


@pytest.fixture(scope="module")
def tiny_run(tiny_mnist_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["reproduce", "randomization", "--data", str(tiny_mnist_dir), "--out", str(out), *TINY]) == 0
    return out, json.loads((out / "randomization.json").read_text())


def without_times(result: dict) -> list:
    return [{k: v for k, v in lv.items() if not k.endswith("seconds")} for lv in result["levels"]]


def test_writes_consistent_json(tiny_run):
    _, r = tiny_run
    assert r["n"] == 200 and [lv["fraction"] for lv in r["levels"]] == [0.0, 1.0]
    assert r["codec"]["coder"]["id"] == "csr-arithmetic" and r["codec"]["quantizer"]["bits"] == 5
    for lv in r["levels"]:
        b = entropy_lower_bound(lv["train_error"], lv["test_error"], 200)
        assert lv["entropy_lower_bound"]["bits"] == pytest.approx(b.bits)
        dense, pruned = lv["pruned"]
        assert dense["density"] == 1.0 and pruned["density"] == pytest.approx(0.1, abs=1e-5)
        assert 0 < pruned["bits"] < dense["bits"] and all(p["bits"] % 8 == 0 for p in lv["pruned"])
        kept = [p for p in lv["pruned"] if p["coded_train_accuracy"] >= 0.5]
        assert lv["needed"] == (min(kept, key=lambda p: p["bits"]) if kept else None)
    clean, noisy = r["levels"]  # the tiny data is learnable: only random labels open a generalization gap
    assert clean["needed"] is not None and clean["test_error"] < noisy["test_error"]
    assert clean["entropy_lower_bound"]["bits"] < noisy["entropy_lower_bound"]["bits"]


def test_writes_markdown_and_plots(tiny_run):
    out, r = tiny_run
    text = (out / "randomization.md").read_text()
    assert text == markdown(r) and "--train-size 200" in r["command"]
    assert sum(line.startswith("| 100% |") for line in text.splitlines()) == 3  # one row per table
    for name in PLOTS:
        assert matplotlib.image.imread(out / name).shape[2] in (3, 4)


def test_report_without_a_level_meeting_the_threshold(tiny_run, tmp_path):
    r = copy.deepcopy(tiny_run[1])
    r["levels"][1]["needed"] = None
    assert "| 100% |" in markdown(r) and "none" in markdown(r)
    assert all(p.stat().st_size > 0 for p in plot(r, tmp_path))


def test_same_seed_same_result(tiny_mnist_dir, tiny_run, tmp_path, capsys):
    _, r = tiny_run
    capsys.readouterr()
    assert main(["reproduce", "randomization", "--data", str(tiny_mnist_dir), "--out", str(tmp_path), *TINY, "--json"]) == 0
    assert without_times(json.loads(capsys.readouterr().out)) == without_times(r)


@pytest.mark.parametrize("argv, match", [
    (["--fractions", "0,1.5"], "--fractions: 1.5 is not in [0, 1]"),
    (["--fractions", "0,half"], "--fractions must be a number"),
    (["--fractions", "0.5,0.5"], "twice"),
    (["--sparsities", "0,1"], "--sparsities: 1 is not in [0, 1)"),
    (["--threshold", "0"], "--threshold must be in (0, 1]"),
    (["--kmeans-bits", "17"], "--kmeans-bits"),
    (["--train-size", "0"], "--train-size must be an integer >= 1"),
    (["--train-size", "401"], "exceeds the 400 training examples"),
    (["--steps", "2.5"], "--steps must be an integer"),
    (["--coder", "nope"], "nope"),
])
def test_invalid_options_exit_2_with_one_line(tiny_mnist_dir, tmp_path, capsys, argv, match):
    out = tmp_path / "out"
    code = main(["reproduce", "randomization", "--data", str(tiny_mnist_dir), "--out", str(out), *argv])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("pacbits reproduce: error:") and len(err.strip().splitlines()) == 1
    assert match in err and not out.exists()
