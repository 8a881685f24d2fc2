"""An example third-party pacbits plugin: an Elias-gamma coder, a uniform quantizer and a codec preset."""
