"""``certify`` end to end on a network and data set defined here (``module:factory``), on 1 and 2 processes."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

import pacbits
from pacbits.cli import main
from pacbits.data import Dataset
from pacbits.evaluate import error_rate

HERE = Path(__file__).resolve().parent
CODEC = "magnitude-kmeans-fixed"


def mlp() -> nn.Module:
    """A small MLP with a BatchNorm layer (its statistics are side information)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 3))


def synthetic() -> Dataset:
    """400 training and 100 test points in 12 dimensions, 3 classes, learnable but noisy."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(500, 3, 4, generator=g)
    w = torch.randn(12, 3, generator=g)
    y = (x.flatten(1) @ w + 0.8 * torch.randn(500, 3, generator=g)).argmax(1)
    return Dataset(x[:400], y[:400], x[400:], y[400:], name="synthetic", source="tests/test_certify.py")


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    model, data = mlp(), synthetic()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        opt.zero_grad()
        nn.functional.cross_entropy(model(data.train_x), data.train_y).backward()
        opt.step()
    path = tmp_path_factory.mktemp("certify") / "mlp.pt"
    torch.save(model.state_dict(), path)
    return path


def certify_cli(weights, out, *extra) -> dict:
    argv = ["certify", "--model", "test_certify:mlp", "--weights", str(weights), "--data", "test_certify:synthetic",
            "--codec", CODEC, "--out", str(out), "--json", *extra]
    assert main(argv) == 0
    return json.loads((out / "report.json").read_text())


def test_reported_error_is_that_of_the_decompressed_network(weights, tmp_path, capsys):
    rep = certify_cli(weights, tmp_path / "out")
    assert json.loads(capsys.readouterr().out) == rep
    assert main(["decompress", str(tmp_path / "out" / "model.pbits"), "-o", str(tmp_path / "decoded.pt")]) == 0
    model = mlp()
    model.load_state_dict(torch.load(tmp_path / "decoded.pt", weights_only=True))
    data = synthetic()
    assert rep["train_error"] == error_rate(model, data.train_x, data.train_y)
    assert rep["test_error"] == error_rate(model, data.test_x, data.test_y)
    assert rep["compressed_bits"] == 8 * (tmp_path / "out" / "model.pbits").stat().st_size
    assert {t["name"] for t in rep["bits"]["tensors"] if not t["coded"]} >= {"2.running_mean", "2.running_var"}
    assert rep["train_error"] <= rep["occam_bound"] == rep["bound"] <= 1 and rep["noise_robust_bound"] is None


def test_library_twin_gives_the_same_report(weights, tmp_path):
    model = mlp()
    model.load_state_dict(torch.load(weights, weights_only=True))
    report = pacbits.certify(model, synthetic(), codec=CODEC)
    cli = certify_cli(weights, tmp_path / "out")
    assert report.data == (tmp_path / "out" / "model.pbits").read_bytes()
    assert report.to_dict() == cli


def test_noise_adds_the_noise_robust_bound(weights, tmp_path):
    rep = certify_cli(weights, tmp_path / "out", "--noise", "--passes", "2")
    assert rep["monte_carlo_draws"] == 2 * 400 // 50 and rep["noise_robust_bound"] is not None
    assert rep["bound"] == min(rep["occam_bound"], rep["noise_robust_bound"])
    assert rep["effective_bits"] < rep["compressed_bits"] or rep["noise_robust_bound"] >= rep["occam_bound"]
    assert set(rep["sigma"]) == {"1.weight", "4.weight"}


def test_two_gloo_processes_give_the_report_of_one(weights, tmp_path):
    one = certify_cli(weights, tmp_path / "one", "--noise")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "pacbits",
           "certify", "--model", "test_certify:mlp", "--weights", str(weights), "--data", "test_certify:synthetic",
           "--codec", CODEC, "--noise", "--out", str(tmp_path / "two"), "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=HERE.parent, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    two = json.loads((tmp_path / "two" / "report.json").read_text())
    assert two.pop("processes") == 2 and one.pop("processes") == 1
    assert two == one
    assert (tmp_path / "two" / "model.pbits").read_bytes() == (tmp_path / "one" / "model.pbits").read_bytes()


@pytest.mark.parametrize("argv,match", [
    (["--model", "no_such_module:f"], "cannot import 'no_such_module'"),
    (["--model", "lenet5"], "not a state_dict of model 'lenet5'"),
    (["--data", "nowhere"], "unknown data set 'nowhere'"),
    (["--device", "tpu"], "--device must be cpu, cuda"),
])
def test_user_errors_are_one_line(argv, match, weights, tmp_path, capsys):
    base = {"--model": "test_certify:mlp", "--data": "test_certify:synthetic", "--device": "cpu"}
    base.update(dict(zip(argv[::2], argv[1::2])))
    full = ["certify", "--weights", str(weights), "--out", str(tmp_path / "o")] + [a for kv in base.items() for a in kv]
    assert main(full) == 2
    err = capsys.readouterr().err.strip()
    assert match in err and len(err.splitlines()) == 1
