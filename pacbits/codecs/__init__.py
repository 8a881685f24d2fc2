"""Named codec presets: pruner + quantizer + coder by id, registered through ``register_codecs``."""
