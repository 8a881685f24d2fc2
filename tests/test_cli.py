import json

import pytest
import torch

from pacbits.cli import main


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    sd = torch.nn.Sequential(torch.nn.Linear(20, 30), torch.nn.Linear(30, 5)).state_dict()
    path = tmp_path / "model.pt"
    torch.save(sd, path)
    return path, sd


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plugins_json_lists_builtin_coders(capsys):
    code, out, _ = run(capsys, "plugins", "--json")
    rows = json.loads(out)["components"]
    assert code == 0 and {"kind": "coder", "id": "fixed", "package": "pacbits"} in rows


def test_compress_inspect_decompress(tmp_path, capsys, checkpoint):
    path, sd = checkpoint
    pb, back = tmp_path / "m.pbits", tmp_path / "back.pt"
    code, out, _ = run(capsys, "compress", str(path), "--codec", "lossless-fixed", "-o", str(pb), "--json")
    assert code == 0 and json.loads(out)["total_bits"] == 8 * pb.stat().st_size
    code, out, _ = run(capsys, "inspect", str(pb), "--json")
    rep = json.loads(out)
    assert code == 0 and rep["total_bits"] == 8 * pb.stat().st_size
    assert [t["name"] for t in rep["tensors"]] == list(sd) and {"positions", "indices", "side"} <= set(rep["tensors"][0])
    assert run(capsys, "decompress", str(pb), "-o", str(back))[0] == 0
    loaded = torch.load(back, weights_only=True)
    assert all(torch.equal(loaded[n], sd[n]) for n in sd)


def test_compress_with_config_override(tmp_path, capsys, checkpoint):
    path, _ = checkpoint
    pb = tmp_path / "m.pbits"
    code, out, _ = run(capsys, "compress", str(path), "--config", '{"pruner": {"id": "magnitude", "density": 0.05}}',
                       "-o", str(pb), "--json")
    kept = {t["name"]: t["k"] for t in json.loads(out)["tensors"]}
    assert code == 0 and kept["0.weight"] == 30


@pytest.mark.parametrize(
    "argv,match",
    [
        (["decompress", "{garbage}", "-o", "x.pt"], "not a pacbits bitstream"),
        (["inspect", "{empty}"], "too short"),
        (["compress", "{missing}", "-o", "x.pbits"], "no such file"),
        (["compress", "{garbage}", "-o", "x.pbits"], "not a loadable PyTorch checkpoint"),
        (["compress", "{notsd}", "-o", "x.pbits"], "expected a state_dict"),
        (["compress", "{ckpt}", "--codec", "nope", "-o", "x.pbits"], "unknown codec id 'nope'; known"),
        (["compress", "{ckpt}", "--config", "[1]", "-o", "x.pbits"], "must be a JSON object"),
    ],
)
def test_user_errors_are_one_line_exit_2(tmp_path, capsys, checkpoint, argv, match):
    files = {"garbage": tmp_path / "g.bin", "empty": tmp_path / "e.bin", "missing": tmp_path / "missing.pt",
             "notsd": tmp_path / "list.pt", "ckpt": checkpoint[0]}
    files["garbage"].write_bytes(b"\x00junk" * 10)
    files["empty"].write_bytes(b"")
    torch.save([1, 2], files["notsd"])
    argv = [a.format(**files) for a in argv]
    code, _, err = run(capsys, *argv)
    assert code == 2 and match in err and err.count("\n") == 1 and "Traceback" not in err
