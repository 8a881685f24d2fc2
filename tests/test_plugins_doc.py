"""The minimal plugin in docs/plugins.md is real: it registers, conforms, and codes a model."""
import re
import types
from pathlib import Path

import torch

from pacbits.core import Codec, decompress, make_registry
from pacbits.testing import check_coder

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


def guide_plugin() -> types.ModuleType:
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S)
    mod = types.ModuleType("guide_plugin")
    exec(compile(next(b for b in blocks if "class Raw32Coder" in b), str(GUIDE), "exec"), mod.__dict__)
    return mod


def test_guide_coder_passes_the_conformance_kit():
    check_coder(guide_plugin().Raw32Coder(), max_examples=200)


def test_guide_plugin_registers_and_codes_a_model():
    reg = make_registry(entry_points=False, plugins=[guide_plugin()])
    torch.manual_seed(0)
    sd = torch.nn.Linear(30, 20).state_dict()
    out = Codec.from_spec({"coder": {"id": "raw32"}}, reg).compress(sd)
    back = decompress(out.data, reg)
    assert all(torch.equal(back[n], sd[n]) for n in sd)
    assert out.report.total_bits == 8 * len(out.data)
