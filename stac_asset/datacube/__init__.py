"""Datacubes: odc-stac, stackstac and rioxarray read assets through stac-asset's resolution.

:class:`CubeAccess` resolves every asset of a set of items once and puts each
asset's GDAL options in force for its path only (GDAL's path-specific
options), in this process and, with :meth:`CubeAccess.register`, on every
dask worker. See the Datacubes page of the documentation.
"""

from ..errors import OptionsConflictError
from .cube import CubeAccess

__all__ = ["CubeAccess", "OptionsConflictError"]
