"""What a windowed copy cuts: a bbox or a pixel window, and how the output is written.

Plain settings (no rasterio): :class:`~stac_asset.Config` holds a
:class:`Clip`, and :mod:`stac_asset.clip` carries it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from rasterio.windows import Window

WGS84 = "EPSG:4326"
_RASTER_SUFFIXES = (".tif", ".tiff", ".jp2", ".vrt", ".img", ".nc")

WindowLike: TypeAlias = "Window | tuple[tuple[int, int], tuple[int, int]]"
"""A rasterio Window, or ``((row_start, row_stop), (col_start, col_stop))``."""


@dataclass(frozen=True)
class Clip:
    """What to cut: a bbox (in ``bbox_crs``) or a pixel window, and how to write it."""

    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: str = WGS84
    window: WindowLike | None = None
    overviews: bool = False
    compress: str | None = None
    """Compression of the output; the source's when None."""

    def __post_init__(self) -> None:
        if (self.bbox is None) == (self.window is None):
            raise ValueError("give exactly one of bbox and window")


def is_raster(href: str, media_type: str | None) -> bool:
    """Whether an asset is a raster GDAL can clip, from its media type or file name."""
    if media_type:
        return any(kind in media_type for kind in ("tiff", "jp2", "netcdf", "x-hdf"))
    return href.lower().split("?", 1)[0].endswith(_RASTER_SUFFIXES)
