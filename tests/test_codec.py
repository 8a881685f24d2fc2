import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings

from pacbits.core import Codec, CodecSpec, ConfigError, EncodeError, PluginError, decompress, inspect
from pacbits.plugins.fixed import FixedCoder
from pacbits.plugins.kmeans import KMeansQuantizer
from pacbits.plugins.magnitude import MagnitudePruner
from pacbits.testing import state_dicts


def model_state(seed=0, dtype=torch.float32):
    torch.manual_seed(seed)
    m = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 5))
    return {k: v.to(dtype) if v.is_floating_point() else v for k, v in m.state_dict().items()}


def lossy():
    return Codec(FixedCoder(), MagnitudePruner(density=0.2), KMeansQuantizer(bits=3))


def test_lossy_round_trip_matches_triplets_and_keeps_side_info_exact():
    sd = model_state()
    codec = lossy()
    out = codec.compress(sd)
    back = decompress(out.data)
    trip = codec.triplets(sd)
    assert set(trip) == {"0.weight", "3.weight"}
    for n, t in sd.items():
        expect = torch.from_numpy(trip[n].dense()) if n in trip else t
        assert torch.equal(back[n], expect), n
    w = back["3.weight"]
    assert (w != 0).sum() == round(0.2 * w.numel()) and len(torch.unique(w)) <= 8


def test_report_counts_every_bit_and_matches_inspect():
    out = lossy().compress(model_state())
    rep = out.report
    assert rep.total_bits == 8 * len(out.data)
    t = {x.name: x for x in rep.tensors}
    assert t["0.bias"].bits.side == 4 * 32 and not t["0.bias"].coded
    assert t["1.num_batches_tracked"].bits.side == 64
    assert t["3.weight"].counts.sum() == t["3.weight"].k == round(0.2 * 5 * 144)
    assert inspect(out.data).to_dict() == rep.to_dict()


def test_same_input_same_bytes():
    assert lossy().compress(model_state(1)).data == lossy().compress(model_state(1)).data


def test_targets_floating_codes_biases_too():
    rep = Codec(FixedCoder(), targets="floating").compress(model_state()).report
    assert all(t.coded for t in rep.tensors if t.dtype.startswith("torch.float"))


def test_half_precision_model_round_trips():
    sd = model_state(dtype=torch.float16)
    back = decompress(Codec(FixedCoder()).compress(sd).data)
    assert all(torch.equal(back[n], sd[n]) and back[n].dtype == sd[n].dtype for n in sd)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state_dicts())
def test_lossy_codec_never_fails_on_valid_state_dicts(sd):
    out = lossy().compress(sd)
    assert out.report.total_bits == 8 * len(out.data)
    assert set(decompress(out.data)) == set(sd)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights_rejected(bad):
    sd = model_state()
    sd["3.weight"][0, 0] = bad
    with pytest.raises(EncodeError, match="'3.weight' holds NaN or Inf"):
        lossy().compress(sd)


def test_not_a_state_dict():
    with pytest.raises(EncodeError, match="state_dict"):
        lossy().compress([torch.zeros(3)])
    with pytest.raises(EncodeError, match="not a named tensor"):
        lossy().compress({"a": np.zeros(3)})


def test_pruner_mask_shape_checked():
    class Wrong(MagnitudePruner):
        def masks(self, weights):
            return {n: torch.ones(3, dtype=torch.bool) for n in weights}

    with pytest.raises(PluginError, match=r"pruner 'magnitude' \(.*Wrong, module .*test_codec\): mask for '0.weight' has shape"):
        Codec(FixedCoder(), Wrong()).compress(model_state())


def test_specs_and_bad_specs(registry):
    codec = Codec.from_spec("magnitude-kmeans-fixed", registry)
    assert Codec.from_spec(codec.spec(), registry).spec() == codec.spec()
    with pytest.raises(ConfigError, match="unknown codec config keys"):
        CodecSpec.from_dict({"coder": {"id": "fixed"}, "prunr": {}})
    with pytest.raises(ConfigError, match="targets"):
        Codec(FixedCoder(), targets="biases")
    with pytest.raises(ConfigError, match="must be a Coder"):
        Codec(MagnitudePruner())
