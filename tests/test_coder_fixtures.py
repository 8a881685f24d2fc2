"""Format stability: payloads written by the first version of each entropy coder must still decode.

``fixtures/coders/triplet.npz`` holds a (40, 75) tensor with 240 kept weights, 16 float16
centers and geometric indices; ``<coder id>.bin`` is that coder's payload for it.
"""
from pathlib import Path

import numpy as np
import pytest

from pacbits.core import Triplet, default_registry

FIXTURES = Path(__file__).parent / "fixtures" / "coders"


@pytest.mark.parametrize("coder_id", ["csr-arithmetic", "csr-structured", "huffman", "paper2019"])
def test_fixture_payload_still_decodes(coder_id):
    d = np.load(FIXTURES / "triplet.npz")
    t = Triplet.build(tuple(d["shape"]), d["positions"], d["codebook"], d["indices"])
    coder = default_registry().create("coder", coder_id)
    assert coder.decode((FIXTURES / f"{coder_id}.bin").read_bytes(), t.shape).equals(t)
