"""``pacbits bench --stream``: given bitstreams (subspace, transfer prior, identity) ranked beside the codecs."""
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from pacbits.cli import main
from pacbits.core import Codec, decompress, default_registry
from pacbits.core.bounds import catoni_bound, kl_bound, occam_kl
from pacbits.core.parametrization import state_dict_sha256
from pacbits.loading import load_data
from pacbits.models import lenet5_small
from pacbits.plugins.subspace import Subspace

SUBSPACE = Path(__file__).parent / "fixtures" / "subspace-sparse-v2.pbits"  # lenet5-small, seed θ₀
CODECS = ["--codecs", "lenet5-paper"]


@pytest.fixture(scope="module")
def streams(tmp_path_factory, tiny_lenet5):
    """An identity stream of the tiny LeNet-5, and a subspace stream whose θ₀ is a transfer prior."""
    root = tmp_path_factory.mktemp("streams")
    state = torch.load(tiny_lenet5, weights_only=True)
    identity = root / "identity.pbits"
    identity.write_bytes(Codec.from_spec(default_registry().get("codec", "lossless-fixed")).compress(state).data)
    torch.manual_seed(0)
    prior, other = lenet5_small().state_dict(), lenet5_small().state_dict()
    torch.save(prior, root / "prior.pt")
    (root / "prior.pt.json").write_text(json.dumps({"dataset": "fashion-mnist"}))
    torch.save(other, root / "other.pt")
    param = Subspace("lenet5-small", 20, init="prior", prior_sha256=state_dict_sha256(prior))
    codec = Codec(default_registry().create("coder", "csr-arithmetic"), targets="floating", parametrization=param)
    w = torch.linspace(-0.5, 0.5, 5)[torch.arange(20) % 5]
    (transfer := root / "transfer.pbits").write_bytes(codec.compress({"w": w}).data)
    return {"identity": identity, "transfer": transfer, "prior": root / "prior.pt", "other": root / "other.pt"}


def bench(tmp, data, *extra):
    out = tmp / "out"
    assert main(["bench", "--data", str(data), "--out", str(out), "--json", *map(str, extra)]) == 0
    return json.loads((out / "leaderboard.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_lenet5, tiny_mnist_dir, streams):
    """The same codec without and with three streams."""
    plain = bench(tmp_path_factory.mktemp("plain"), tiny_mnist_dir, "--weights", tiny_lenet5, *CODECS)
    ranked = bench(tmp_path_factory.mktemp("ranked"), tiny_mnist_dir, "--weights", tiny_lenet5, *CODECS,
                   "--stream", SUBSPACE, "--stream", streams["transfer"], "--stream-prior", streams["prior"],
                   "--stream", streams["identity"])
    return plain, {r["codec"]: r for r in ranked}


def stream_row(rows, path):
    return next(r for name, r in rows.items() if name.endswith(f"({path})"))


def test_stream_bits_are_the_file(runs, streams):
    _, rows = runs
    for path in (SUBSPACE, streams["transfer"], streams["identity"]):
        r = stream_row(rows, path)
        assert r["source"] == "stream" and r["spec"]["stream"] == str(path)
        assert r["total_bits"] == sum(r["bits"].values()) == 8 * len(path.read_bytes())


def test_labels_name_the_kind_and_the_transfer_prior(runs, streams):
    _, rows = runs
    assert stream_row(rows, SUBSPACE)["codec"] == f"stream: subspace d=50 ({SUBSPACE})"
    transfer = stream_row(rows, streams["transfer"])
    assert transfer["codec"].startswith("stream: subspace d=20, transfer prior (θ₀ trained on fashion-mnist)")
    assert transfer["prior"] == "transfer prior (θ₀ trained on fashion-mnist)"
    assert stream_row(rows, SUBSPACE)["prior"] is None and stream_row(rows, streams["identity"])["prior"] is None
    assert stream_row(rows, streams["identity"])["codec"].startswith("stream: identity (")


def test_decoded_train_error_is_the_decoded_network(runs, tiny_mnist_dir, streams):
    _, rows = runs
    data = load_data(str(tiny_mnist_dir))
    priors = {SUBSPACE: None, streams["transfer"]: torch.load(streams["prior"], weights_only=True)}
    for path, prior in priors.items():
        model = lenet5_small().eval()
        model.load_state_dict(decompress(path.read_bytes(), prior=prior))
        with torch.no_grad():
            wrong = (model(data.train_x).argmax(1) != data.train_y).sum().item()
        assert stream_row(rows, path)["train_error"] == wrong / len(data.train_y)


def occam_union(r, k, n):
    """The Occam bound at its share 1 - δ/2 = 0.975 of the confidence, over the kl and Catoni forms, plus ln k."""
    kl, eps = occam_kl(r["total_bits"]) + math.log(k), 0.025 / 2
    return min(kl_bound(r["train_error"], kl, n, eps), catoni_bound(r["train_error"], kl, n, eps).bound)


def test_k_counts_the_streams(runs):
    plain, rows = runs
    k = len(rows)
    assert k == len(plain) + 3
    for r in rows.values():
        assert r["k"] == k and r["union_cost_nats"] == pytest.approx(math.log(k))
        assert r["best_of_k_bound"] <= occam_union(r, k, 400) * (1 + 1e-9)
    assert [r["rank"] for r in sorted(rows.values(), key=lambda r: r["best_of_k_bound"])] == list(range(1, k + 1))


@pytest.fixture(scope="module")
def mnist_20k(tmp_path_factory):
    """20,000 noise images: enough examples for a subspace stream's Occam bound to sit well below 1."""
    from pacbits.data import write_mnist_dir

    rng = np.random.default_rng(1)
    x = lambda m: rng.integers(0, 256, (m, 28, 28)).astype(np.uint8)
    return write_mnist_dir(tmp_path_factory.mktemp("mnist_20k"), x(20000), rng.integers(0, 10, 20000), x(50),
                           rng.integers(0, 10, 50))


def test_every_row_pays_ln_k_of_the_streams(mnist_20k, streams, tmp_path):
    one = bench(tmp_path / "one", mnist_20k, "--codecs", "--stream", SUBSPACE)
    two = bench(tmp_path / "two", mnist_20k, "--codecs", "--stream", SUBSPACE, "--stream", streams["transfer"],
                "--stream-prior", streams["prior"])
    assert [r["k"] for r in one] == [1] and [r["k"] for r in two] == [2, 2]
    for rows, k in ((one, 1), (two, 2)):
        for r in rows:
            assert r["best_of_k_bound"] == pytest.approx(occam_union(r, k, 20000), rel=1e-9)
            assert r["best_of_k_bound"] < 0.99
    assert one[0]["occam_bound"] == one[0]["best_of_k_bound"]
    same = next(r for r in two if r["spec"]["stream"] == str(SUBSPACE))
    assert same["occam_bound"] == one[0]["occam_bound"] < one[0]["best_of_k_bound"] + 1e-12 < same["best_of_k_bound"]


def test_noise_path_for_identity_streams_only(runs, streams):
    _, rows = runs
    identity, codec = stream_row(rows, streams["identity"]), rows["lenet5-paper"]
    assert identity["network"] == codec["network"] and identity["sigma"] == codec["sigma"]  # one σ search, shared
    assert identity["noise_robust_bound"] is not None and identity["effective_bits"] is not None
    for path in (SUBSPACE, streams["transfer"]):
        r = stream_row(rows, path)
        assert r["noise_robust_bound"] is None and r["effective_bits"] is None and r["monte_carlo_draws"] == 0
        assert r["bound"] == r["occam_bound"]


def test_streams_alone(tmp_path, tiny_mnist_dir, monkeypatch, capsys):
    # --codecs with no ids: no model needed; with no model at the default path: the streams alone, said on stderr
    rows = bench(tmp_path / "a", tiny_mnist_dir, "--codecs", "--stream", SUBSPACE)
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["bench", "--data", str(tiny_mnist_dir), "--out", "b", "--json", "--stream", str(SUBSPACE)]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == json.loads((tmp_path / "b" / "leaderboard.json").read_text())
    assert "ranking the --stream bitstreams alone" in err
    for r in (rows[0], json.loads(out)[0]):
        assert len(rows) == 1 and r["k"] == 1 and r["rank"] == 1 and r["union_cost_nats"] == 0
    md = (tmp_path / "b" / "leaderboard.md").read_text()
    assert f"`{rows[0]['codec']}`" in md and "Streams only" in md and "not computed" in md


@pytest.mark.parametrize("case,match", [
    ("no-prior", "transfer prior with state_dict SHA-256"),
    ("wrong-prior", "no --stream-prior has it (1 given)"),
    ("missing-prior", "missing.pt: no such file"),
    ("same-data-prior", "a prior may not see the sample"),
    ("not-a-stream", "--stream "),
    ("no-file", "cannot read it"),
    ("twice", "the same file is given twice"),
])
def test_bad_streams_are_one_line_errors(case, match, streams, tiny_mnist_dir, tmp_path, capsys):
    extra = {"no-prior": [streams["transfer"]],
             "wrong-prior": [streams["transfer"], "--stream-prior", streams["other"]],
             "missing-prior": [streams["transfer"], "--stream-prior", tmp_path / "missing.pt"],
             "not-a-stream": [streams["prior"]], "no-file": [tmp_path / "none.pbits"],
             "twice": [SUBSPACE, "--stream", SUBSPACE]}.get(case)
    if case == "same-data-prior":
        prior = tmp_path / "p.pt"
        prior.write_bytes(streams["prior"].read_bytes())
        (tmp_path / "p.pt.json").write_text(json.dumps({"dataset": load_data(str(tiny_mnist_dir)).name}))
        extra = [streams["transfer"], "--stream-prior", prior]
    out = tmp_path / "out"
    argv = ["bench", "--codecs", "--data", str(tiny_mnist_dir), "--out", str(out), "--stream", *map(str, extra)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
