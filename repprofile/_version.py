"""The library version, single source for the wheel and for provenance."""

__all__ = ["__version__"]

__version__ = "0.1.0"
