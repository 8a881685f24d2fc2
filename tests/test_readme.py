"""The README's Python examples run as written."""
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_the_library_and_bring_your_own_model_examples():
    assert len(BLOCKS) >= 2 and any("pacbits.certify(" in b for b in BLOCKS)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_example_runs(code, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "readme_example"}
    exec(compile(code, str(README), "exec"), namespace)
    out = capsys.readouterr().out
    assert "bits" in out
    if "pacbits.certify(" in code:
        report = namespace["report"]
        assert report.train_error <= report.bound <= 1 and report.bits.total_bits == 8 * len(report.data)
