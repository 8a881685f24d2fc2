"""Format evolution: a changed payload format gets a new coder id (docs/plugins.md, "Format evolution").

``fixtures/coders/triplet.npz`` holds a (40, 75) tensor with 240 kept weights, 16 float16
centers and geometric indices; ``<coder id>.bin`` is that coder's payload for it, written
once by the coder's first version and never regenerated. Each must decode to the triplet
and re-encode byte for byte, and every built-in coder must have one.
"""
from pathlib import Path

import numpy as np
import pytest

from pacbits.core import Triplet, default_registry

FIXTURES = Path(__file__).parent / "fixtures" / "coders"
BUILT_IN = sorted(i for i in default_registry().ids("coder")
                  if default_registry().entries["coder"][i].package == "pacbits")


def triplet() -> Triplet:
    d = np.load(FIXTURES / "triplet.npz")
    return Triplet.build(tuple(d["shape"]), d["positions"], d["codebook"], d["indices"])


@pytest.mark.parametrize("coder_id", BUILT_IN)
def test_fixture_payload_still_decodes_and_reencodes(coder_id):
    path = FIXTURES / f"{coder_id}.bin"
    assert path.is_file(), f"built-in coder {coder_id!r} has no committed format fixture {path.name}"
    t, payload = triplet(), path.read_bytes()
    coder = default_registry().create("coder", coder_id)
    assert coder.decode(payload, t.shape).equals(t)
    assert coder.encode(t).payload == payload, f"{coder_id}: the format changed; a changed format needs a new id"


def test_every_built_in_coder_is_checked():
    assert {"fixed", "csr-arithmetic", "huffman", "paper2019"} <= set(BUILT_IN)
