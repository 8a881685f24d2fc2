"""The training-time protocol: any TrainingTime pruner or quantizer runs in ``reproduce``; one-shot-only ones are refused."""
import json
import types

import numpy as np
import pytest
import torch

from pacbits.cli import main
from pacbits.core import (Codec, CodecSpec, EncodeError, Quantizer, TrainingTime, decompress, hookimpl,
                          make_registry, reparam)
from pacbits.core import registry as registry_module
from pacbits.models import lenet5
from pacbits.plugins.dns import DNSPruner
from pacbits.plugins.fixed import FixedCoder
from pacbits.plugins.magnitude import MagnitudePruner


def levels(values: torch.Tensor, bits: int) -> tuple[np.ndarray, np.ndarray]:
    x = values.detach().double().numpy().reshape(-1)
    if not x.size:
        return np.zeros(0, np.float32), np.zeros(0, np.int64)
    cb = np.linspace(x.min(), x.max(), 2**bits if x.max() > x.min() else 1).astype(np.float32)
    c = cb.astype(np.float64)
    return cb, np.searchsorted((c[1:] + c[:-1]) / 2, x).astype(np.int64)


class OneShotLevels(Quantizer):
    """Evenly spaced levels, one-shot only: no attach."""

    id = "test-one-shot-levels"

    def __init__(self, bits: int = 3):
        self.bits = bits

    def quantize(self, name, values):
        return levels(values, self.bits)


class TrainedLevels(OneShotLevels, TrainingTime):
    """The same levels, installed during training as a frozen codebook; counts its update calls."""

    id = "test-trained-levels"
    calls = {"attach": 0, "update": 0}

    def attach(self, model, steps=None):
        TrainedLevels.calls["attach"] += 1

        def make(name, w):
            kept = w != 0
            cb, idx = self.quantize(name, w[kept])
            index = torch.zeros(w.shape, dtype=torch.int64)
            index[kept] = torch.from_numpy(idx + 1)
            table = reparam.Codebook(torch.from_numpy(cb), index)
            table.centers.requires_grad_(False)
            return table

        reparam.install(model, reparam.target_tensors(model), make)
        return []

    def update(self, model, step):
        TrainedLevels.calls["update"] += 1
        return False


def plugin():
    mod = types.ModuleType("third_party_levels")
    mod.register_quantizers = hookimpl(lambda: [OneShotLevels, TrainedLevels])
    spec = lambda q: CodecSpec(id=f"mag-{q}", pruner={"id": "magnitude", "density": 0.2},
                               quantizer={"id": q}, coder={"id": "fixed"})
    mod.register_codecs = hookimpl(lambda: [spec("test-one-shot-levels"), spec("test-trained-levels")])
    return mod


@pytest.fixture
def third_party(monkeypatch):
    monkeypatch.setattr(registry_module, "_default", make_registry(entry_points=False, plugins=[plugin()]))


def test_third_party_training_time_quantizer_runs_in_reproduce(third_party, tiny_mnist_dir, tmp_path):
    TrainedLevels.calls.update(attach=0, update=0)
    out = tmp_path / "run"
    argv = ["reproduce", "lenet5", "--codec", "mag-test-trained-levels", "--data", str(tiny_mnist_dir),
            "--out", str(out), "--steps", "20,20,5", "--passes", "1", "--json"]
    assert main(argv) == 0
    rep = json.loads((out / "report.json").read_text())
    assert TrainedLevels.calls == {"attach": 1, "update": 0}  # no centers to fine-tune: no fine-tuning steps
    model = lenet5()
    model.load_state_dict(decompress((out / "lenet5.pbits").read_bytes()))
    for name, w in model.state_dict().items():
        if w.dim() >= 2:  # at most 2**3 distinct kept values, about 20 % kept
            assert torch.unique(w[w != 0]).numel() <= 8 and 0.15 < float((w != 0).float().mean()) < 0.25
    assert rep["train_error"] <= rep["bound"] <= 1


def test_one_shot_only_quantizer_is_refused_before_training(third_party, tiny_mnist_dir, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["reproduce", "lenet5", "--codec", "mag-test-one-shot-levels", "--data", str(tiny_mnist_dir),
            "--out", str(out), "--steps", "20,20,5"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "quantizer 'test-one-shot-levels' works only one-shot" in err
    assert not list(out.glob("*.pt")) if out.exists() else True  # nothing trained


def test_training_only_pruner_refuses_a_dense_state_dict():
    codec = Codec(FixedCoder(), pruner=DNSPruner(density=0.1))
    dense = lenet5().state_dict()
    with pytest.raises(EncodeError, match="pruner 'dns' works only during training.*no pruned"):
        codec.compress(dense)
    sparse = {k: v * (torch.rand_like(v) < 0.5) if v.dim() >= 2 else v for k, v in dense.items()}
    back = decompress(codec.compress(sparse).data)
    assert all(torch.equal(back[k], sparse[k]) for k in sparse)


def test_dense_refusal_is_one_line_on_the_command_line(tmp_path, capsys):
    torch.save(lenet5().state_dict(), path := tmp_path / "dense.pt")
    assert main(["compress", str(path), "--codec", "lenet5-paper", "-o", str(tmp_path / "x.pbits")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "works only during training" in err


@pytest.mark.parametrize("steps", [2, 60, 11000, 20000])
def test_stretched_schedule_keeps_its_shape(steps):
    p = DNSPruner.from_config({"id": "dns", "density": 0.1, "begin": 0, "end": 4000, "schedule_steps": 11000,
                               "prob": [[0, 1.0], [4500, 0.1], [6000, 0.01], [7500, 0.001]]})
    s = p.stretched(steps)
    assert s.end == 4000 * steps // 11000
    starts = [t for t, _ in s.prob]
    assert starts == sorted(set(starts)) and starts[0] == 0 and s.prob[-1][1] == 0.001
    assert starts == [t * steps // 11000 for t in (0, 4500, 6000, 7500)] or steps < 11000 / 1500
    assert p.stretched(11000) is p and p.stretched(None) is p


def test_magnitude_schedule_stretches_with_the_phase():
    p = MagnitudePruner(density=0.1, begin=100, end=1100, frequency=100, schedule_steps=2000)
    s = p.stretched(200)
    assert (s.begin, s.end, s.frequency) == (10, 110, 10)
    model = torch.nn.Sequential(torch.nn.Linear(50, 40))
    p.attach(model, 200)
    p.update(model, 110)  # the stretched end: final density
    kept = reparam.installed(model)["0.weight"][2].mask
    assert int(kept.sum()) == round(0.1 * kept.numel())
