"""The error the data loaders raise."""

from pacbits.core.errors import PacbitsError


class DataError(PacbitsError):
    """A data set is missing, or a data file is malformed or fails its checksum."""
