"""A scriptable command line: under ``--json`` every command prints exactly one JSON document on stdout.

Each command runs in-process on tiny inputs; its stdout must parse as one JSON
value (``json.loads`` refuses a second document or a stray status line), and the
table below must name every command the parser knows, so a new command without a
tested ``--json`` fails here.
"""
import argparse
import json

import pytest
import torch

from pacbits import __version__
from pacbits.cli import build_parser, main


def commands() -> set[str]:
    """Every command path, e.g. ``compress`` and ``reproduce lenet5``."""
    def walk(parser, prefix):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            return {" ".join(prefix)}
        return set().union(*(walk(p, [*prefix, name]) for name, p in subs[0].choices.items()))

    return walk(build_parser(), [])


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_mnist_dir, tiny_lenet5):
    root = tmp_path_factory.mktemp("cli-json")
    torch.manual_seed(0)
    torch.save(torch.nn.Sequential(torch.nn.Linear(20, 30), torch.nn.Linear(30, 5)).state_dict(), root / "model.pt")
    assert main(["compress", str(root / "model.pt"), "--codec", "huffman", "-o", str(root / "m.pbits"), "-q"]) == 0
    return {"root": root, "model": root / "model.pt", "pbits": root / "m.pbits", "data": tiny_mnist_dir,
            "lenet5": tiny_lenet5}


ARGV = {
    "plugins": lambda f: ["plugins", "-v"],
    "compress": lambda f: ["compress", f["model"], "--codec", "fixed", "-o", f["root"] / "c.pbits", "--force"],
    "decompress": lambda f: ["decompress", f["pbits"], "-o", f["root"] / "back.pt", "--force"],
    "inspect": lambda f: ["inspect", f["pbits"]],
    "bound": lambda f: ["bound", "--size", "6.23KiB", "--n", "60000", "--train-error", "0.002"],
    "bench": lambda f: ["bench", "--weights", f["lenet5"], "--data", f["data"], "--out", f["root"] / "bench"],
    "certify": lambda f: ["certify", "--model", "lenet5", "--weights", f["lenet5"], "--data", f["data"],
                          "--codec", "magnitude-kmeans-fixed", "--out", f["root"] / "certify"],
    "reproduce randomization": lambda f: ["reproduce", "randomization", "--data", f["data"], "--out", f["root"] / "rand",
                                          "--train-size", "100", "--steps", "10", "--retrain-steps", "2",
                                          "--fractions", "0", "--sparsities", "0.5"],
}


#: Commands a session fixture runs fresh under --json (checking its stdout); here they resume that run.
SHARED = {"reproduce lenet5": "lenet5_run", "reproduce subspace": "subspace_run"}


def test_every_command_is_covered():
    assert commands() == set(ARGV) | set(SHARED), "a command without a --json test below"


@pytest.mark.parametrize("command", sorted({*ARGV, *SHARED}))
def test_json_output_is_one_document(command, files, capsys, request):
    argv = request.getfixturevalue(SHARED[command])[1] if command in SHARED else ARGV[command](files)
    assert main([str(a) for a in argv] + ["--json"]) == 0
    out, _ = capsys.readouterr()
    doc = json.loads(out)  # exactly one JSON document: no status line, no second document
    assert isinstance(doc, (dict, list)) and doc


def test_quiet_prints_results_but_no_status(files, capsys):
    assert main(["decompress", str(files["pbits"]), "-o", str(files["root"] / "q.pt"), "--force", "--json", "-q"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["tensors"] and err == ""


def test_decompress_json_describes_what_it_wrote(files, capsys):
    assert main(["decompress", str(files["pbits"]), "-o", str(files["root"] / "d.pt"), "--force", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    sd = torch.load(files["root"] / "d.pt", weights_only=True)
    assert doc["bits"] == 8 * files["pbits"].stat().st_size and doc["output"] == str(files["root"] / "d.pt")
    assert [(t["name"], t["shape"], t["nonzero"]) for t in doc["tensors"]] == [
        (n, list(t.shape), int(t.count_nonzero())) for n, t in sd.items()]


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out == f"pacbits {__version__}\n"


def test_every_argument_has_help():
    def walk(parser, path):
        for a in parser._actions:
            if isinstance(a, argparse._SubParsersAction):
                for name, p in a.choices.items():
                    yield from walk(p, f"{path} {name}")
            elif a.help != argparse.SUPPRESS:
                yield path, a

    missing = [f"{path}: {'/'.join(a.option_strings) or a.dest}" for path, a in walk(build_parser(), "pacbits") if not a.help]
    assert not missing


def test_codec_accepts_a_coder_id_and_says_how_otherwise(files, capsys):
    out = files["root"] / "h.pbits"
    assert main(["compress", str(files["model"]), "--codec", "csr-arithmetic", "-o", str(out), "--force", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["total_bits"] == 8 * out.stat().st_size
    assert main(["compress", str(files["model"]), "--codec", "nope", "-o", str(out), "--force"]) == 2
    err = capsys.readouterr().err
    assert "unknown codec id 'nope'; known codecs:" in err and "or a coder id" in err and "huffman" in err
