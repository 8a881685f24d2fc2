"""Layering: the bound engine and ``pacbits bound`` load no torch; the library's public names import lazily."""
import subprocess
import sys


def imported(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True).stdout.split()
    return set(out)


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


def test_public_names_resolve():
    import pacbits
    import pacbits.core as core

    assert pacbits.certify.__module__ == "pacbits.certification"
    assert {"Codec", "TrainingTime", "ModelSpec", "DatasetSpec", "hookimpl"} <= set(dir(core))
    for name in core.__all__:
        assert getattr(core, name) is not None
