"""The settings of ``pacbits reproduce randomization`` (no torch import: the command line shows them in its help)."""

SETTINGS = {
    "train_size": 8000,  # first examples of the MNIST training set
    "fractions": [0.0, 0.25, 0.5, 0.75, 1.0],
    "sparsities": [0.0, 0.5, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995],
    "steps": 8000,  # dense fit: Adam, batch 128
    "retrain_steps": 1000,  # after pruning, per sparsity level
    "batch_size": 128,
    "lr": 1e-3,
    "final_lr": 1e-4,  # for the last quarter of every fit and retraining
    "threshold": 0.95,  # training accuracy the coded network must keep
    "kmeans_bits": 5,  # 31 centers + exact zero per tensor, float16 codebook; 0: the exact float32 values
    "coder": "csr-arithmetic",
    "threads": 1,
}
QUICK = {"train_size": 1000, "steps": 1500, "retrain_steps": 200,
         "sparsities": [0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99]}
#: seed offsets: the same initialization for every fraction, a different stream for each use
SEEDS = {"init": 0, "labels": 1, "test_labels": 2, "fit": 3, "retrain": 4}
