"""Built-in codec presets."""
from pacbits.codecs import DEFAULT_CODEC  # noqa: F401 (re-exported)
from pacbits.core import CodecSpec, hookimpl

#: Dynamic Network Surgery for LeNet-5 (paper Appendix B.1, adapted: per-layer target
#: densities reached by quantile thresholds on a cubic ramp, update probability 1 -> 1e-3).
LENET5_DNS = {"id": "dns", "hysteresis": 0.05, "begin": 0, "end": 4000, "schedule_steps": 11000,
              "density": {"conv1.weight": 0.3, "conv2.weight": 0.05, "fc1.weight": 0.009, "fc2.weight": 0.06},
              "prob": [[0, 1.0], [4500, 0.1], [6000, 0.01], [7500, 0.001]]}
#: 4-bit k-means (15 centers + exact zero) on weights and biases, float16 codebooks as coded.
LENET5_KMEANS = {"id": "kmeans", "bits": 4, "dtype": "float16", "targets": "floating"}


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
        CodecSpec(
            id="lenet5-paper",
            pruner=LENET5_DNS, quantizer=LENET5_KMEANS, coder={"id": "csr-arithmetic"}, targets="floating",
            description="the paper's LeNet-5 recipe (DNS, 4-bit k-means, biases too) with pacbits' arithmetic coder",
        ),
        CodecSpec(
            id="lenet5-structured",
            pruner=LENET5_DNS, quantizer=LENET5_KMEANS, coder={"id": "csr-structured"}, targets="floating",
            description="the paper's LeNet-5 recipe with csr-structured, which skips the rows and columns DNS empties",
        ),
        CodecSpec(
            id="lenet5-paper2019",
            pruner=LENET5_DNS, quantizer=LENET5_KMEANS, coder={"id": "paper2019"}, targets="floating",
            description="the paper's LeNet-5 recipe coded by the paper's own published coder (the baseline)",
        ),
    ]
