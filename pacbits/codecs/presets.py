"""Built-in codec presets."""
from pacbits.core import CodecSpec, hookimpl

DEFAULT_CODEC = "magnitude-kmeans-fixed"


@hookimpl
def register_codecs():
    return [
        CodecSpec(
            id="magnitude-kmeans-fixed",
            pruner={"id": "magnitude", "density": 0.1},
            quantizer={"id": "kmeans", "bits": 4},
            coder={"id": "fixed"},
            description="10% magnitude pruning, 4-bit k-means, fixed-width codes (Theorem 4.3's lengths)",
        ),
        CodecSpec(
            id="lossless-fixed",
            coder={"id": "fixed"},
            description="no pruning or quantization: zeros pruned, codebook of the exact distinct values",
        ),
    ]
