"""Format stability: bitstreams written by earlier versions must still decode to the same network."""
import hashlib
from pathlib import Path

from pacbits.core import decompress, inspect
from pacbits.models import lenet5

FIXTURES = Path(__file__).parent / "fixtures"


def digest(state_dict) -> str:
    h = hashlib.sha256()
    for name, t in state_dict.items():
        h.update(name.encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def test_lenet5_v1_stream_decodes_to_the_same_network():
    # written by `pacbits reproduce lenet5` (format version 1, lenet5-paper codec)
    data = (FIXTURES / "lenet5-v1.pbits").read_bytes()
    sd = decompress(data)
    assert digest(sd) == "5f9121d7056ef643a91e49c3a61c0b55f8de9ea7cf09afbfde61b15d56eb5227"
    lenet5().load_state_dict(sd)
    report = inspect(data)
    assert report.total_bits == 51888 == 8 * len(data)
    assert {t.name: t.k for t in report.tensors if t.name.endswith("weight")} == {
        "conv1.weight": 150, "conv2.weight": 1257, "fc1.weight": 3661, "fc2.weight": 311}
