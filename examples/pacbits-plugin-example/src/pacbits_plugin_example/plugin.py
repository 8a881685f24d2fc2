"""The hook implementations pacbits finds through the entry point ``[project.entry-points.pacbits]``."""
from pacbits.core import CodecSpec, hookimpl

from .gamma import EliasGammaCoder
from .uniform import UniformQuantizer


@hookimpl
def register_coders():
    return [EliasGammaCoder]


@hookimpl
def register_quantizers():
    return [UniformQuantizer]


@hookimpl
def register_codecs():
    return [
        CodecSpec(
            id="magnitude-uniform-gamma",
            pruner={"id": "magnitude", "density": 0.1},
            quantizer={"id": "uniform", "bits": 4},
            coder={"id": "elias-gamma"},
            description="10% magnitude pruning, 16 uniform levels, Elias-gamma coded gaps",
        )
    ]
