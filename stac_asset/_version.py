"""The version of stac-asset: its one source (setuptools, the docs and the conda recipe read it)."""

__version__ = "0.5.0"
"""The version of this package."""
