"""``pacbits bench`` on a tiny LeNet-5 and a 400-image IDX folder: consistent rows, paid choices, clear errors."""
import json
import math

import numpy as np
import pytest
import torch

from pacbits.cli import main
from pacbits.codecs.presets import LENET5_KMEANS
from pacbits.core import Codec, CodecSpec
from pacbits.core.bounds import kl_bound, occam_kl_report, pac_bayes_report
from pacbits.experiments.bench import union_bound

CONFIG = {"quantizers": [LENET5_KMEANS, {"id": "kmeans", "bits": 2}],  # the 2-bit codebook is float32
          "coders": ["csr-arithmetic", "paper2019"], "targets": "floating"}


@pytest.fixture(scope="module")
def bench_run(tiny_lenet5, tiny_mnist_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    (root / "config.json").write_text(json.dumps(CONFIG))
    out = root / "out"
    argv = ["bench", "--weights", str(tiny_lenet5), "--data", str(tiny_mnist_dir), "--config", str(root / "config.json"),
            "--out", str(out), "--json"]
    assert main(argv) == 0
    return out, json.loads((out / "leaderboard.json").read_text())


def coded(rows):
    return [r for r in rows if r["bound"] is not None]


def test_every_preset_and_combination_is_a_row(bench_run):
    _, rows = bench_run
    names = {r["codec"] for r in rows}
    assert {"lenet5-paper", "lenet5-paper2019", "lossless-fixed", "magnitude-kmeans-fixed"} <= names
    assert {"none+kmeans+csr-arithmetic", "none+kmeans+paper2019", "none+kmeans+csr-arithmetic#2"} <= names
    refused = [r for r in rows if r["bound"] is None]
    assert [r["codec"] for r in refused] == ["none+kmeans+paper2019#2"] and "float16" in refused[0]["error"]
    for r in rows:
        assert {"codec", "total_bits", "effective_bits", "bound"} <= set(r)


def test_bits_are_the_real_stream(bench_run, tiny_lenet5):
    _, rows = bench_run
    state = torch.load(tiny_lenet5, weights_only=True)
    for r in coded(rows):
        data = Codec.from_spec(CodecSpec.from_dict(r["spec"])).compress(state).data
        assert r["total_bits"] == sum(r["bits"].values()) == 8 * len(data), r["codec"]
        assert r["effective_bits"] + r["robustness_adjustment_bits"] == pytest.approx(r["total_bits"])


def test_bounds_cover_the_errors_and_pay_for_the_choice(bench_run):
    _, rows = bench_run
    rows = coded(rows)
    k = len(rows)
    for r in rows:
        assert r["occam_bound"] >= r["train_error"] and r["noise_robust_bound"] >= r["stochastic_train_error"]
        assert r["bound"] == min(r["occam_bound"], r["noise_robust_bound"]) <= r["best_of_k_bound"] <= 1
        assert r["k"] == k and r["union_cost_nats"] == pytest.approx(math.log(k))
    assert [r["rank"] for r in rows] == list(range(1, k + 1))
    assert [r["best"] for r in rows] == [True] + [False] * (k - 1)
    assert [r["best_of_k_bound"] for r in rows] == sorted(r["best_of_k_bound"] for r in rows)


def test_one_noise_search_per_distinct_network(bench_run):
    out, rows = bench_run
    rows = coded(rows)
    by_net = {}
    for r in rows:
        by_net.setdefault(r["network"], []).append(r)
    assert len(by_net) == 2 == len(list((out / "networks").iterdir()))
    for group in by_net.values():
        assert all(r["sigma"] == group[0]["sigma"] and r["stochastic_train_error"] == group[0]["stochastic_train_error"]
                   for r in group)
    same = by_net[next(r["network"] for r in rows if r["codec"] == "lenet5-paper")]
    assert all(r["exact"] for r in same) and {"lossless-fixed", "none+kmeans+paper2019"} <= {r["codec"] for r in same}


def test_markdown_and_chart_are_written(bench_run):
    out, rows = bench_run
    md = (out / "leaderboard.md").read_text()
    assert all(f"`{r['codec']}`" in md for r in rows)
    k = len(coded(rows))
    assert f"ln K = {math.log(k):.3f} nats" in md and "Against the paper's own coder (`lenet5-paper2019`" in md
    assert (out / "leaderboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_union_bound_adds_ln_k_and_splits_monte_carlo():
    n, train = 60000, 0.01
    occam = pac_bayes_report(occam_kl_report(20000), n, {"top-1": train}, confidence=0.975, forms=("kl",))
    assert union_bound(occam, {"top-1": train}, 1, 1) == pytest.approx(occam.bound, rel=1e-9)
    eps = occam.errors[0].eps
    for k in (2, 50):
        assert union_bound(occam, {"top-1": train}, k, 3) == pytest.approx(
            kl_bound(train, occam.kl.nats + math.log(k), n, eps), rel=1e-9)
    draws = {"top-1": np.full(1200, 0.02)}
    robust = pac_bayes_report(occam_kl_report(20000), n, draws, confidence=0.975)
    assert union_bound(robust, draws, 1, 1) == pytest.approx(robust.bound, rel=1e-9)
    assert robust.bound < union_bound(robust, draws, 1, 4) < union_bound(robust, draws, 8, 4)


@pytest.mark.parametrize("case,match", [
    ("unknown-plugin", "unknown coder id 'no-such-coder'; known: "),
    ("not-a-state-dict", "expected a state_dict"),
    ("not-lenet5", "not a state_dict of model 'lenet5'"),
    ("no-codecs", "no codecs to run"),
    ("empty-coders", "'coders' must be a non-empty list"),
])
def test_bad_input_fails_before_any_work(case, match, tiny_lenet5, tiny_mnist_dir, tmp_path, capsys):
    model, config = tiny_lenet5, tmp_path / "config.json"
    config.write_text(json.dumps(CONFIG))
    extra = ["--config", str(config)]
    if case == "unknown-plugin":
        config.write_text(json.dumps({"coders": ["fixed", {"id": "no-such-coder"}]}))
    elif case == "not-a-state-dict":
        torch.save([torch.zeros(3)], model := tmp_path / "list.pt")
    elif case == "not-lenet5":
        torch.save(torch.nn.Linear(4, 2).state_dict(), model := tmp_path / "linear.pt")
    elif case == "no-codecs":
        extra = ["--codecs"]
    else:
        config.write_text(json.dumps({"coders": []}))
    out = tmp_path / "out"
    argv = ["bench", "--weights", str(model), "--data", str(tiny_mnist_dir), "--out", str(out), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
