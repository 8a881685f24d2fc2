"""One exception hierarchy for the whole package (docs/architecture.md)."""


class PacbitsError(Exception):
    """Root of every error pacbits raises on purpose."""


class ConfigError(PacbitsError, ValueError):
    """A component, codec or command was given invalid settings."""


class EncodeError(PacbitsError, ValueError):
    """The input cannot be encoded (NaN weights, bad indices, wrong shapes...)."""


class DecodeError(PacbitsError):
    """Bytes that are not a valid pacbits bitstream (truncated, corrupted, wrong version...)."""


class PluginError(PacbitsError):
    """A plugin misbehaved: a hook raised, returned the wrong type, two plugins claim one id,
    or a coder broke its contract (a bit count that is not its payload's, no exact round trip)."""


class UnknownComponentError(PluginError, KeyError):
    """No registered component has the requested id."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""
