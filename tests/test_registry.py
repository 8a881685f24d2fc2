import json
import types

import pytest

from pacbits.core import Coder, ConfigError, PluginError, UnknownComponentError, hookimpl, make_registry
from pacbits.plugins.fixed import FixedCoder


def plugin(name, **hooks):
    mod = types.ModuleType(name)
    for hook, fn in hooks.items():
        setattr(mod, hook, hookimpl(fn))
    return mod


def test_builtins_registered_through_hooks(registry):
    assert "fixed" in registry.ids("coder")
    assert {"magnitude-kmeans-fixed", "lossless-fixed"} <= set(registry.ids("codec"))
    assert all(e["package"] == "pacbits" for e in registry.listing())


def test_every_component_config_round_trips(registry):
    for kind in ("pruner", "quantizer", "coder"):
        for cid in registry.ids(kind):
            comp = registry.create(kind, cid)
            cfg = comp.get_config()
            assert json.loads(json.dumps(cfg)) == cfg and cfg["id"] == cid
            assert registry.create(kind, cfg).get_config() == cfg


def test_duplicate_id_names_both_plugins():
    class Again(FixedCoder):
        pass

    with pytest.raises(PluginError, match=r"'fixed' is claimed twice.*pacbits.plugins.fixed.*'rival'"):
        make_registry(entry_points=False, plugins=[plugin("rival", register_coders=lambda: [Again])])


def test_unknown_id_lists_known(registry):
    with pytest.raises(UnknownComponentError, match=r"unknown coder id 'zip'; known: .*fixed"):
        registry.create("coder", "zip")


def test_hook_returning_wrong_type_names_plugin():
    with pytest.raises(PluginError, match=r"plugin 'bad'.*not a subclass of Coder"):
        make_registry(entry_points=False, plugins=[plugin("bad", register_coders=lambda: [dict])])
    with pytest.raises(PluginError, match=r"plugin 'bad2'.*expected a list"):
        make_registry(entry_points=False, plugins=[plugin("bad2", register_coders=lambda: FixedCoder)])


def test_hook_that_raises_names_plugin():
    def boom():
        raise RuntimeError("disk on fire")

    with pytest.raises(PluginError, match=r"plugin 'flaky'.*register_quantizers raised RuntimeError: disk on fire"):
        make_registry(entry_points=False, plugins=[plugin("flaky", register_quantizers=boom)])


def test_class_missing_methods_rejected():
    class Half(Coder):
        id = "half"

        def encode(self, t):
            return None

    with pytest.raises(PluginError, match=r"plugin 'lazy'.*Half does not implement decode"):
        make_registry(entry_points=False, plugins=[plugin("lazy", register_coders=lambda: [Half])])


def test_codec_hook_must_return_specs():
    with pytest.raises(PluginError, match=r"plugin 'c'.*not a CodecSpec"):
        make_registry(entry_points=False, plugins=[plugin("c", register_codecs=lambda: [{"id": "x"}])])


def test_fresh_registries_are_isolated():
    class Extra(FixedCoder):
        id = "extra"

    a = make_registry(entry_points=False, plugins=[plugin("p", register_coders=lambda: [Extra])])
    b = make_registry(entry_points=False)
    assert "extra" in a.ids("coder") and "extra" not in b.ids("coder")


def test_bad_configs(registry):
    with pytest.raises(ConfigError, match="bad config for coder 'fixed'"):
        registry.create("coder", {"id": "fixed", "nonsense": 1})
    with pytest.raises(ConfigError, match="needs a 'coder'|must be a dict"):
        registry.create("coder", {"positions": "auto"})


def test_builtin_plugins_are_the_listed_modules_only(registry):
    from pacbits.core.registry import BUILTIN_PLUGINS

    names = {name for name, _ in registry.pm.list_name_plugin()}
    assert names == set(BUILTIN_PLUGINS)
    assert not {"pacbits.plugins.bitfields", "pacbits.plugins.gaps", "pacbits.plugins.histogram"} & names


def test_models_and_data_sets_are_plugins(registry):
    from torch import nn

    assert {"lenet5", "lenet-300-100"} <= set(registry.ids("model"))
    assert {"mnist", "idx"} <= set(registry.ids("dataset"))
    assert isinstance(registry.get("model", "lenet-300-100").factory(), nn.Module)


def test_third_party_model_and_data_set_use_the_same_hooks():
    import torch
    from torch import nn

    from pacbits.core import DatasetSpec, ModelSpec
    from pacbits.loading import load_data, load_model

    tiny = lambda: nn.Linear(3, 2)
    data = lambda path: (torch.randn(10, 3), torch.randint(0, 2, (10,)))
    reg = make_registry(entry_points=False, plugins=[plugin("zoo", register_models=lambda: [ModelSpec("tiny", tiny)],
                                                             register_datasets=lambda: [DatasetSpec("noise", data)])])
    assert isinstance(load_model("tiny", reg), nn.Linear)
    loaded = load_data("noise", reg)
    assert loaded.train_x.shape == (10, 3) and loaded.test_x is loaded.train_x and loaded.name == "noise"
    with pytest.raises(PluginError, match=r"plugin 'bad'.*register_models returned .* not a ModelSpec"):
        make_registry(entry_points=False, plugins=[plugin("bad", register_models=lambda: [tiny])])
    with pytest.raises(PluginError, match=r"model id 'lenet5' is claimed twice"):
        make_registry(entry_points=False, plugins=[plugin("again", register_models=lambda: [ModelSpec("lenet5", tiny)])])
