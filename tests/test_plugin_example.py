"""The example third-party plugin, installed for real into a fresh virtual environment.

The environment reuses this one's packages (no network, no build isolation); only
the example comes in through ``pip install``, so pacbits finds it solely through
its entry point.
"""
import json
import math
import os
import re
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pacbits.core import DecodeError, decompress

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "pacbits-plugin-example"
PRESET = "magnitude-uniform-gamma"
# the pacbits under test is this checkout's, whatever the environment has installed
ENV = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1",
       "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}


def run(*argv, cwd=None, env=None, stderr=False):
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=env or ENV, cwd=cwd)
    assert proc.returncode == 0, f"{argv} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return (proc.stdout, proc.stderr) if stderr else proc.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """(python of a venv with the example installed, the example's source copy)."""
    root = tmp_path_factory.mktemp("plugin-example")
    src = shutil.copytree(EXAMPLE, root / "src",  # pip builds in place: keep the checkout clean
                          ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".pytest_cache"))
    run(sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", root / "venv")
    python = root / "venv" / "bin" / "python"
    # --system-site-packages reaches the base interpreter's packages only; add this environment's
    purelib = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    (purelib / "parent_env.pth").write_text("".join(f"import site; site.addsitedir({p!r})\n" for p in site.getsitepackages()))
    run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index", src)
    return python, src


def pacbits(python, *argv, **kwargs):
    return run(python, "-c", "import sys; from pacbits.cli import main; sys.exit(main())", *argv, **kwargs)


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    sd = torch.nn.Sequential(torch.nn.Linear(40, 30), torch.nn.ReLU(), torch.nn.Linear(30, 10)).state_dict()
    torch.save(sd, tmp_path / "model.pt")
    return tmp_path / "model.pt", sd


def test_listed_by_pacbits_plugins(venv):
    rows = json.loads(pacbits(venv[0], "plugins", "--json"))["components"]
    mine = {(r["kind"], r["id"]) for r in rows if r["package"] == "pacbits_plugin_example"}
    assert mine == {("coder", "elias-gamma"), ("quantizer", "uniform"), ("codec", PRESET)}
    assert ("coder", "fixed") in {(r["kind"], r["id"]) for r in rows}


def test_compress_with_its_preset(venv, checkpoint, tmp_path):
    python, _ = venv
    path, sd = checkpoint
    report = json.loads(pacbits(python, "compress", path, "--codec", PRESET, "-o", tmp_path / "m.pbits", "--json"))
    data = (tmp_path / "m.pbits").read_bytes()
    assert report["total_bits"] == 8 * len(data)
    pacbits(python, "decompress", tmp_path / "m.pbits", "-o", tmp_path / "back.pt")
    back = torch.load(tmp_path / "back.pt", weights_only=True)
    for name, w in sd.items():
        if w.dim() < 2:
            assert torch.equal(back[name], w), name  # side information is exact
            continue
        kept = back[name] != 0
        top = torch.zeros(w.numel(), dtype=torch.bool)
        top[w.abs().reshape(-1).topk(round(0.1 * w.numel())).indices] = True
        assert torch.equal(kept.reshape(-1), top), name  # magnitude pruning to 10%
        assert len(torch.unique(back[name][kept])) <= 16, name  # 4-bit uniform grid
    # the stream names its coder, so an environment without the plugin says what is missing
    with pytest.raises(DecodeError, match="needs coder 'elias-gamma'"):
        decompress(data)


def test_usable_in_a_codec_config(venv, checkpoint, tmp_path):
    python, _ = venv
    path, sd = checkpoint
    config = json.dumps({"quantizer": {"id": "uniform", "bits": 2}, "coder": {"id": "elias-gamma"}})
    out = tmp_path / "m.pbits"
    pacbits(python, "compress", path, "--codec", "lossless-fixed", "--config", config, "-o", out)
    pacbits(python, "decompress", out, "-o", tmp_path / "back.pt")
    back = torch.load(tmp_path / "back.pt", weights_only=True)
    for name, w in sd.items():
        if w.dim() == 2:
            assert torch.equal(back[name] != 0, w != 0) and len(torch.unique(back[name])) <= 4 + 1, name


def test_passes_the_conformance_kit(venv):
    python, src = venv
    # the example's own suite (a CoderConformance subclass) and the no-file route, in one run; the coder is the
    # same in both, so 100 examples a property (not the kit's 500) show each route runs and passes every property
    out = run(python, "-m", "pytest", "-v", "-p", "no:cacheprovider", "tests", "--pacbits-coder", "elias-gamma",
              "--pacbits-max-examples", "100", cwd=src)
    for suite in ("TestEliasGamma", "TestInstalledCoder"):
        assert len(re.findall(rf"::{suite}::test_\w+(\[elias-gamma\])? PASSED", out)) == 5, out


def test_ranked_by_pacbits_bench(venv, tiny_lenet5, tiny_mnist_dir, tmp_path):
    rows = json.loads(pacbits(venv[0], "bench", "--weights", tiny_lenet5, "--data", tiny_mnist_dir, "--out", tmp_path,
                              "--json"))
    ranked = {r["codec"]: r for r in rows if r["bound"] is not None}
    assert ranked[PRESET]["source"] == "preset (pacbits_plugin_example)"
    assert {"lenet5-paper", "lenet5-paper2019", PRESET} <= set(ranked)
    assert sorted(r["rank"] for r in ranked.values()) == list(range(1, len(ranked) + 1))
    assert all(r["union_cost_nats"] == math.log(len(ranked)) for r in ranked.values())


CONFLICTING = """
from pacbits.core import hookimpl
from pacbits.plugins.fixed import FixedCoder


class Huffman(FixedCoder):
    id = "huffman"


@hookimpl
def register_coders():
    return [Huffman]
"""


def test_broken_and_conflicting_plugins_beside_it_cost_one_warning_line_each(venv, checkpoint, tmp_path):
    """A plugin that fails to import and one that claims 'huffman' are installed beside the example:
    plugins, compress and decompress keep working, each saying so in one warning line per plugin."""
    python, _ = venv
    site = tmp_path / "site"
    site.mkdir()
    for dist, value in (("broken-plugin", "broken_plugin_module_that_is_missing"), ("conflicting-plugin", "conflicting_plugin")):
        info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[pacbits]\n{dist} = {value}\n")
    (site / "conflicting_plugin.py").write_text(CONFLICTING)
    env = {**ENV, "PYTHONPATH": os.pathsep.join([ENV["PYTHONPATH"], str(site)])}

    def warned(err):
        lines = [line for line in err.splitlines() if "warning" in line]
        assert len(lines) == 2 and all(line.startswith("pacbits: warning: plugin '") for line in lines), err
        assert any("'broken-plugin' (broken-plugin 0.1): entry point" in line and "ModuleNotFoundError" in line
                   for line in lines), err
        assert any("'conflicting-plugin' (conflicting-plugin 0.1): its coder 'huffman' is already registered" in line
                   for line in lines), err

    out, err = pacbits(python, "plugins", "--json", env=env, stderr=True)
    listing = json.loads(out)
    assert {(r["kind"], r["id"]) for r in listing["components"]} >= {("coder", "elias-gamma"), ("coder", "huffman")}
    assert {(p["plugin"], p["status"]) for p in listing["problems"]} == {("broken-plugin", "broken"),
                                                                       ("conflicting-plugin", "conflict")}
    warned(err)
    path, sd = checkpoint
    out, err = pacbits(python, "compress", path, "--codec", "huffman", "-o", tmp_path / "m.pbits", env=env, stderr=True)
    warned(err)
    _, err = pacbits(python, "decompress", tmp_path / "m.pbits", "-o", tmp_path / "back.pt", env=env, stderr=True)
    warned(err)
    back = torch.load(tmp_path / "back.pt", weights_only=True)
    assert all(torch.equal(back[n], sd[n]) for n in sd)  # the built-in huffman coded it, losslessly
    # and switched off, they cost nothing
    _, err = pacbits(python, "--disable-plugin", "broken-plugin", "--disable-plugin", "conflicting-plugin",
                     "plugins", env=env, stderr=True)
    assert "warning" not in err


@pytest.mark.slow  # the default suite keeps the in-process equivalent, test_training_protocol.py's
def test_its_quantizer_trains_in_reproduce(venv, tiny_mnist_dir, tmp_path):
    rep = json.loads(pacbits(venv[0], "reproduce", "lenet5", "--codec", PRESET, "--data", tiny_mnist_dir,
                             "--out", tmp_path, "--steps", "20,20,5", "--passes", "1", "--json"))
    assert rep["codec"]["quantizer"]["id"] == "uniform" and rep["compressed_bits"] == 8 * (
        tmp_path / "lenet5.pbits").stat().st_size
    saved = torch.load(tmp_path / "quantized.pt", weights_only=True)
    for name, w in saved.items():
        if w.dim() >= 2:  # 10 % kept, on at most 16 levels
            assert len(torch.unique(w[w != 0])) <= 16 and abs(float((w != 0).float().mean()) - 0.1) < 0.01, name
