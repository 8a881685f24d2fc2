"""The paper's experiments, each runnable from ``pacbits reproduce``."""
