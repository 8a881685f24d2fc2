"""benchmarks/lenet5_recode.py: the README's LeNet-5 bounds, recomputed from the committed run."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def script():
    spec = importlib.util.spec_from_file_location("lenet5_recode", ROOT / "benchmarks" / "lenet5_recode.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_recoding_with_the_runs_codec_gives_back_its_bounds_exactly():
    report = json.loads((ROOT / "docs" / "lenet5" / "report.json").read_text())
    out, _, _ = script().recode(report["codec"]["id"])
    assert out["compressed_bits"] == report["compressed_bits"]
    assert out["effective_bits"] == report["effective_bits"]
    assert (out["bound"], out["occam_bound"]) == (report["bound"], report["occam_bound"])


def test_csr_structured_lowers_both_bounds():
    out, _, _ = script().recode("lenet5-structured")
    ref = out["reference"]
    assert out["compressed_bits"] <= 47_400
    assert out["occam_bound"] < ref["occam_bound"] and out["bound"] < ref["bound"]
    assert out["effective_bits"] < ref["effective_bits"]
