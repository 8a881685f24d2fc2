"""A tiny end-to-end run of ``pacbits reproduce subspace`` on a 400-image IDX folder (``subspace_run`` in conftest.py)."""
import json

import torch

from pacbits.cli import main
from pacbits.core.parametrization import state_dict_sha256
from pacbits.data import load_mnist
from pacbits.evaluate import error_rate
from pacbits.models import lenet5_small
KEYS = ("bound", "train_error", "test_error", "stochastic_train_error", "compressed_bits", "effective_bits",
        "parametrization", "dataset", "prior")


def test_report_has_the_keys_and_pays_every_bit(subspace_run):
    out, _ = subspace_run
    rep = json.loads((out / "report.json").read_text())
    assert all(k in rep for k in KEYS)
    assert rep["dataset"] == "mnist" and rep["prior"] is None and rep["parametrization"]["id"] == "subspace"
    assert rep["compressed_bits"] == 8 * (out / "subspace.pbits").stat().st_size == rep["bits"]["total_bits"]
    assert rep["monte_carlo_draws"] == 400 // 50
    assert rep["train_error"] <= rep["occam_bound"] <= 1 and rep["bound"] <= rep["occam_bound"]
    tried = [(r["levels"], r["rate"]) for r in rep["levels_tried"]]
    assert tried == [(4, 0.0), (4, 0.05), (6, 0.0), (6, 0.05)]
    best = min(rep["levels_tried"], key=lambda r: r["occam_bound"])
    assert (rep["levels"], rep["rate"], rep["compressed_bits"]) == (best["levels"], best["rate"], best["bits"])


def test_decompress_gives_the_reported_network(subspace_run, tiny_mnist_dir, tmp_path):
    out, _ = subspace_run
    rep = json.loads((out / "report.json").read_text())
    assert main(["decompress", str(out / "subspace.pbits"), "-o", str(tmp_path / "net.pt")]) == 0
    sd = torch.load(tmp_path / "net.pt", weights_only=True)
    assert state_dict_sha256(sd) == rep["state_dict_sha256"]
    model = lenet5_small()
    model.load_state_dict(sd)
    data = load_mnist(tiny_mnist_dir)
    assert error_rate(model, data.test_x, data.test_y) == rep["test_error"]
    assert error_rate(model, data.train_x, data.train_y) == rep["train_error"]


def test_rerun_resumes_and_gives_the_same_bytes(subspace_run, capsys):
    out, argv = subspace_run
    before = (out / "subspace.pbits").read_bytes()
    assert main(argv) == 0
    assert "resumed" in capsys.readouterr().err and (out / "subspace.pbits").read_bytes() == before


def test_a_prior_trained_on_the_bounded_data_set_is_refused(subspace_run, tiny_mnist_dir, tmp_path, capsys):
    prior = tmp_path / "prior.pt"
    assert main(["reproduce", "subspace", "--data", str(tiny_mnist_dir), "--out", str(tmp_path / "p"),
                 "--quick", "--steps", "5,1", "--write-prior", str(prior)]) == 0
    assert json.loads((tmp_path / "prior.pt.json").read_text())["dataset"] == "mnist"
    argv = ["reproduce", "subspace", "--data", str(tiny_mnist_dir), "--out", str(tmp_path / "q"), *subspace_run[1][6:],
            "--prior", str(prior)]
    assert main(argv) == 2
    assert "may not see the sample" in capsys.readouterr().err


def test_bad_rates_are_one_line_errors(tiny_mnist_dir, tmp_path, capsys):
    for rates in ("0,x", "-0.1", "nan"):
        argv = ["reproduce", "subspace", "--data", str(tiny_mnist_dir), "--out", str(tmp_path / "r"), "--quick",
                "--rates", rates]
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert "--rates" in err and "\n" not in err
