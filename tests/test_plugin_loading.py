"""Isolated loading of entry-point plugins: a broken or conflicting one is skipped with one warning.

Each test "installs" distributions by writing a ``.dist-info`` folder (and a module)
onto ``sys.path``, which is all ``importlib.metadata`` looks at.
"""
import textwrap
import warnings

import pytest

from pacbits.core import make_registry
from pacbits.core.loading import ENV_DISABLE, PluginWarning

CONFLICTING = '''
from pacbits.core import hookimpl
from pacbits.plugins.fixed import FixedCoder


class Mine(FixedCoder):
    id = "mine"


class Huffman(FixedCoder):
    id = "huffman"


@hookimpl
def register_coders():
    return [Mine, Huffman]
'''


def install(root, dist: str, entry_points: dict[str, str], module: str | None = None, source: str = "") -> None:
    info = root / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    eps = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[pacbits]\n{eps}")
    if module:
        (root / f"{module}.py").write_text(textwrap.dedent(source))


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(ENV_DISABLE, raising=False)
    return tmp_path


def registry_and_warnings(**kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reg = make_registry(**kwargs)
    return reg, [str(w.message) for w in caught if issubclass(w.category, PluginWarning)]


def test_a_plugin_that_fails_to_import_is_skipped_with_one_warning(site):
    install(site, "broken-plugin", {"broken-plugin": "broken_plugin_module_that_is_missing"})
    reg, warned = registry_and_warnings()
    assert "fixed" in reg.ids("coder")
    assert len(warned) == 1 and "'broken-plugin' (broken-plugin 0.1)" in warned[0]
    assert "failed to load (ModuleNotFoundError: No module named 'broken_plugin_module_that_is_missing')" in warned[0]
    assert [(p.plugin, p.status) for p in reg.problems] == [("broken-plugin", "broken")]


def test_a_conflicting_id_skips_that_component_only(site):
    install(site, "conflicting-plugin", {"conflicting-plugin": "conflicting_plugin"}, "conflicting_plugin", CONFLICTING)
    reg, warned = registry_and_warnings()
    assert reg.get("coder", "huffman").__module__ == "pacbits.plugins.huffman"  # the built-in keeps its id
    assert reg.get("coder", "mine").__module__ == "conflicting_plugin"
    assert len(warned) == 1 and "its coder 'huffman' is already registered by plugin 'pacbits.plugins.huffman'" in warned[0]
    assert [(p.plugin, p.status) for p in reg.problems] == [("conflicting-plugin", "conflict")]


def test_a_hook_that_raises_drops_the_plugin(site):
    install(site, "raising-plugin", {"raising-plugin": "raising_plugin"}, "raising_plugin", '''
        from pacbits.core import hookimpl
        from pacbits.plugins.fixed import FixedCoder

        class Ok(FixedCoder):
            id = "ok-but-dropped"

        @hookimpl
        def register_coders():
            return [Ok]

        @hookimpl
        def register_quantizers():
            raise RuntimeError("no quantizers today")
    ''')
    reg, warned = registry_and_warnings()
    assert "ok-but-dropped" not in reg.ids("coder") and "fixed" in reg.ids("coder")
    assert len(warned) == 1 and "hook register_quantizers raised RuntimeError: no quantizers today; skipped" in warned[0]


def test_duplicate_entry_point_names_are_reported(site):
    install(site, "first-plugin", {"same-name": "first_plugin"}, "first_plugin", "")
    install(site, "second-plugin", {"same-name": "second_plugin"}, "second_plugin", "")
    reg, warned = registry_and_warnings()
    assert len(warned) == 1 and "repeats the name of" in warned[0]
    assert [p.status for p in reg.problems] == ["duplicate"]


@pytest.mark.parametrize("how", ["env-name", "env-distribution", "env-all", "argument"])
def test_plugins_can_be_disabled(site, monkeypatch, how):
    install(site, "broken-plugin", {"broken-plugin": "broken_plugin_module_that_is_missing"})
    install(site, "conflicting-plugin", {"conflicting-plugin": "conflicting_plugin"}, "conflicting_plugin", CONFLICTING)
    value = {"env-name": "broken-plugin, conflicting-plugin", "env-distribution": "broken-plugin,conflicting-plugin",
             "env-all": "*"}.get(how)
    if value:
        monkeypatch.setenv(ENV_DISABLE, value)
    reg, warned = registry_and_warnings(disable=["broken-plugin", "conflicting-plugin"] if how == "argument" else None)
    assert not warned and "mine" not in reg.ids("coder")
    assert sorted((p.plugin, p.status) for p in reg.problems) == [("broken-plugin", "disabled"),
                                                                 ("conflicting-plugin", "disabled")]
