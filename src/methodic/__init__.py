"""methodic: the Python client for the Chronicle experiment platform."""

from methodic._version import __version__

__all__ = ["__version__"]
