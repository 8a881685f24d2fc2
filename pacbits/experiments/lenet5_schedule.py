"""The settings of ``pacbits reproduce lenet5`` (no torch import: the command line shows them in its help)."""

DEFAULT_CODEC = "lenet5-paper"

SCHEDULE = {
    "baseline": {"steps": 3000, "batch_size": 128, "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4,
                 "decay_every": 125, "decay_rate": 0.1},  # lr_t = lr / (1 + rate * floor(t / every))
    "dns": {"steps": 11000, "batch_size": 128, "lr": [[0, 0.01], [8000, 0.001]],  # piecewise constant
            "momentum": 0.9, "weight_decay": 5e-4},
    "kmeans": {"steps": 1000, "batch_size": 128, "lr": 1e-4},
    # sigma searched on a subset; then fresh noise per mini-batch of 50 over `passes` passes of the
    # training set: m = passes * 60000 / 50 Monte Carlo draws for the bound's correction
    "noise": {"tolerance": 0.005, "search_examples": 10000, "search_steps": 6, "batch_size": 50, "passes": 5},
    "bound": {"confidence": 0.95, "lambda_grid": [1e-3, 1.0, 32]},  # geomspace(lo, hi, G) x codebook range
}
QUICK = {"baseline": 400, "dns": 600, "kmeans": 100, "search_examples": 2000, "search_steps": 3, "passes": 1}
#: under --quick a pruner whose schedule names its length (DNS: schedule_steps) stretches it to the phase (attach)
SEEDS = {"init": 0, "baseline": 1, "dns": 2, "kmeans": 3, "search": 4, "draws": 5, "test_draws": 6}
