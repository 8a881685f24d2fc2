"""A tiny end-to-end run of ``pacbits reproduce lenet5`` on a 400-image IDX folder (``lenet5_run`` in conftest.py)."""
import json

import torch

from pacbits.cli import main
from pacbits.core import decompress
from pacbits.data import load_mnist
from pacbits.evaluate import error_rate
from pacbits.models import lenet5


def test_report_holds_the_figures_and_every_cost(lenet5_run, tiny_mnist_dir):
    out, _ = lenet5_run
    rep = json.loads((out / "report.json").read_text())
    for key in ("bound", "train_error", "test_error", "stochastic_train_error", "compressed_bits", "effective_bits"):
        assert key in rep
    assert rep["compressed_bits"] == 8 * (out / "lenet5.pbits").stat().st_size == rep["bits"]["total_bits"]
    assert rep["train_error"] <= rep["bound"] <= 1 and rep["monte_carlo_draws"] == 2 * 400 // 50
    terms = {t["name"] for t in rep["noise_robust_report"]["kl"]["terms"]}
    assert {"length prior -ln m(L)", "lambda-grid cost"} <= terms
    assert rep["weight_density"] < 0.2


def test_bitstream_decodes_to_the_measured_network(lenet5_run, tiny_mnist_dir):
    out, _ = lenet5_run
    rep = json.loads((out / "report.json").read_text())
    model = lenet5()
    model.load_state_dict(decompress((out / "lenet5.pbits").read_bytes()))
    data = load_mnist(tiny_mnist_dir)
    assert error_rate(model, data.test_x, data.test_y) == rep["test_error"]
    saved = torch.load(out / "quantized.pt", weights_only=True)
    assert all(torch.equal(saved[k], v) for k, v in model.state_dict().items())


def test_rerun_resumes_and_gives_the_same_bytes(lenet5_run, capsys):
    out, argv = lenet5_run
    before = (out / "lenet5.pbits").read_bytes()
    assert main(argv) == 0
    assert "resumed" in capsys.readouterr().err and (out / "lenet5.pbits").read_bytes() == before


def test_other_settings_in_the_same_folder_are_refused(lenet5_run, capsys):
    out, argv = lenet5_run
    assert argv[-4:] == ["--steps", "20,20,5", "--passes", "2"]
    assert main([*argv[:-4], "--steps", "21,20,5", "--passes", "2"]) == 2
    assert "other settings" in capsys.readouterr().err
