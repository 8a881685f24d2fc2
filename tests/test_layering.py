"""Layering: the bound engine, ``pacbits bound``, ``plugins`` and ``inspect`` load no torch; the library's
public names import lazily."""
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def imported(code: str) -> set[str]:
    """The modules loaded once ``code`` has run (in a fresh interpreter)."""
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print('--modules--', *sorted(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.rsplit("--modules--", 1)[1].split())


def test_bound_engine_imports_without_torch():
    mods = imported("import pacbits.core.bounds")
    assert "pacbits.core.bounds.kl" in mods and "torch" not in mods


def test_importtime_shows_no_torch():
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import pacbits.core.bounds"],
                          capture_output=True, text=True, check=True)
    names = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line]
    assert "pacbits.core.bounds" in names and not [n for n in names if n.split(".")[0] == "torch"]


def test_bound_command_runs_without_torch():
    mods = imported("from pacbits.cli import main\n"
                    "assert main(['bound', '--bits', '51037', '--n', '60000', '--train-error', '0.002']) == 0")
    assert "pacbits.cli.bound" in mods and "torch" not in mods


@pytest.mark.parametrize("argv", [["plugins", "--json"], ["plugins", "-v"],
                                  *[["inspect", str(f)] for f in sorted(FIXTURES.glob("*.pbits"))],
                                  ["inspect", "--json", str(FIXTURES / "subspace-dense-v2.pbits")]],
                         ids=lambda argv: " ".join(Path(a).name for a in argv))
def test_plugins_and_inspect_run_without_torch(argv):
    """Listing components (parameters, distributions) and re-encoding a stream's payloads need numpy only."""
    mods = imported(f"from pacbits.cli import main\nassert main({argv!r}) == 0")
    assert {"pacbits.cli.coding", "pacbits.plugins.subspace", "pacbits.plugins.dns"} <= mods
    assert "torch" not in mods


def test_public_names_resolve():
    import pacbits
    import pacbits.core as core

    assert pacbits.certify.__module__ == "pacbits.certification"
    assert {"Codec", "TrainingTime", "ModelSpec", "DatasetSpec", "hookimpl"} <= set(dir(core))
    for name in core.__all__:
        assert getattr(core, name) is not None
