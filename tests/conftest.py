import pytest

from pacbits.core import make_registry


@pytest.fixture
def registry():
    """A fresh registry of the built-in plugins, isolated from installed ones."""
    return make_registry(entry_points=False)
