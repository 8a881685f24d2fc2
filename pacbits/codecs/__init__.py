"""Named codec presets: pruner + quantizer + coder by id, registered through ``register_codecs`` (:mod:`.presets`)."""

#: the preset ``pacbits compress`` and ``pacbits certify`` use unless told otherwise
DEFAULT_CODEC = "magnitude-kmeans-fixed"
