"""pacbits: compress trained networks into real bitstreams and bound their test error."""

__version__ = "0.1.0"
