"""``pacbits bound``: the calculator."""
import json

import pytest

from pacbits.cli import main
from pacbits.cli.bound import parse_size


def run(capsys, *argv):
    code = main(["bound", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("text, bits", [
    ("6.23KiB", 51037), ("6.23 KiB", 51037), ("6.25kib", 51200), ("100B", 800), ("1MiB", 8 * 2**20),
    ("12bits", 12), ("1.5 bits", 2), ("2e3B", 16000), (".5KiB", 4096), ("7 bit", 7),
])
def test_parse_size(text, bits):
    assert parse_size(text) == bits


def test_paper_lenet_size_gives_a_bound_below_46_percent(capsys):
    code, out, _ = run(capsys, "--size", "6.23KiB", "--n", "60000", "--train-error", "0.002", "--json")
    assert code == 0
    d = json.loads(out)
    assert d["kl"]["code_bits"] == 51037 and 0.002 < d["bound"] < 0.46
    assert "top5_bound" not in d
    code, out2, _ = run(capsys, "--bits", "51037", "--n", "60000", "--train-error", "0.002", "--json")
    assert json.loads(out2)["bound"] == d["bound"]


def test_top5_and_text_output(capsys):
    code, out, _ = run(capsys, "--size", "350KiB", "--n", "1281167", "--train-error", "0.35", "--top5-error", "0.13",
                       "--confidence", "0.9", "--json")
    d = json.loads(out)
    assert code == 0 and d["top5_bound"] < d["bound"] < 1 and d["confidence"] == 0.9
    code, out, _ = run(capsys, "--bits", "1000", "--n", "500", "--train-error", "0", "--length-prior", "elias-delta")
    assert code == 0 and "KL (occam)" in out and "top-1" in out and "elias-delta" in out


@pytest.mark.parametrize("argv, flag", [
    (["--bits", "-5", "--n", "10", "--train-error", "0.1"], "--bits"),
    (["--bits", "1.5", "--n", "10", "--train-error", "0.1"], "--bits"),
    (["--size", "6.23", "--n", "10", "--train-error", "0.1"], "--size"),
    (["--size", "6.23kb", "--n", "10", "--train-error", "0.1"], "--size"),
    (["--size", "6.23b", "--n", "10", "--train-error", "0.1"], "--size"),
    (["--bits", "100", "--n", "0", "--train-error", "0.1"], "--n"),
    (["--bits", "100", "--n", "ten", "--train-error", "0.1"], "--n"),
    (["--bits", "100", "--n", "10", "--train-error", "1.5"], "--train-error"),
    (["--bits", "100", "--n", "10", "--train-error", "x"], "--train-error"),
    (["--bits", "100", "--n", "10", "--train-error", "0.1", "--top5-error", "-1"], "--top5-error"),
    (["--bits", "100", "--n", "10", "--train-error", "0.1", "--confidence", "1"], "--confidence"),
    (["--bits", "100", "--n", "10", "--train-error", "0.1", "--alpha", "1"], "--alpha"),
])
def test_bad_arguments_exit_2_naming_the_flag(capsys, argv, flag):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert flag in err and len(err.strip().splitlines()) == 1


def test_size_and_bits_are_exclusive(capsys):
    with pytest.raises(SystemExit) as e:
        main(["bound", "--bits", "10", "--size", "1B", "--n", "10", "--train-error", "0"])
    assert e.value.code == 2
