"""Windowed copies: read only the tiles of a raster that a bbox or window needs, write a COG.

The source is read through the same :class:`~stac_asset.Access` as
:func:`stac_asset.open`; the output is written block by block to a tiled
GeoTIFF beside the destination, turned into a Cloud-Optimized GeoTIFF, and
renamed into place, so memory stays bounded and nothing partial is ever at
the final path.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pystac
import rasterio
import rasterio.shutil
from rasterio.enums import MaskFlags
from rasterio.io import DatasetReader
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from . import opening
from .access import Access
from .clients.base import Client
from .clients.filesystem import partial_path
from .clip_spec import WGS84, Clip
from .errors import ClipError

_BLOCK = 512


@dataclass(frozen=True)
class ClipResult:
    """The clipped file's grid, for rewriting the asset's ``proj:*`` fields."""

    shape: tuple[int, int]
    transform: tuple[float, ...]
    bbox: tuple[float, float, float, float]
    """The file's extent in its own CRS."""
    footprint: tuple[float, float, float, float] | None = None
    """The file's extent in EPSG:4326 (edges densified), if it has a CRS."""

    @classmethod
    def of_file(cls, path: Path) -> ClipResult:
        """The grid of a raster file already on disk."""
        with rasterio.open(path) as ds:
            bounds = ds.bounds
            footprint = None
            if ds.crs is not None:
                west, south, east, north = transform_bounds(ds.crs, WGS84, *bounds, densify_pts=21)
                footprint = (west, south, east, north)
            return cls(
                (ds.height, ds.width),
                tuple(ds.transform)[:6],
                (bounds.left, bounds.bottom, bounds.right, bounds.top),
                footprint,
            )


def source_window(src: DatasetReader, clip: Clip, what: str) -> Window:
    """The whole-pixel window of ``src`` that ``clip`` covers, intersected with the raster."""
    if clip.window is not None:
        window = (
            clip.window if isinstance(clip.window, Window) else Window.from_slices(*clip.window)
        )
        col0, row0 = window.col_off, window.row_off
        col1, row1 = col0 + window.width, row0 + window.height
    else:
        assert clip.bbox is not None
        west, south, east, north = transform_bounds(clip.bbox_crs, src.crs, *clip.bbox)
        inverse = ~src.transform
        cols, rows = zip(
            *(
                inverse @ corner
                for corner in ((west, north), (east, north), (west, south), (east, south))
            ),
            strict=True,
        )
        col0, col1 = math.floor(min(cols)), math.ceil(max(cols))
        row0, row1 = math.floor(min(rows)), math.ceil(max(rows))
    col0, row0 = max(col0, 0), max(row0, 0)
    col1, row1 = min(col1, src.width), min(row1, src.height)
    if col0 >= col1 or row0 >= row1:
        raster = transform_bounds(src.crs, clip.bbox_crs, *src.bounds) if clip.bbox else None
        asked = clip.bbox if clip.bbox else clip.window
        extent = (
            f"{_fmt(raster)} in {clip.bbox_crs}" if raster else f"{src.width}x{src.height} pixels"
        )
        raise ClipError(f"{what}: the clip {asked} misses the raster, whose extent is {extent}")
    return Window(col0, row0, col1 - col0, row1 - row0)


def _fmt(bounds: Sequence[float]) -> str:
    return "(" + ", ".join(f"{value:.6g}" for value in bounds) + ")"


def _copy_band_metadata(src: DatasetReader, dst: Any) -> None:
    dst.update_tags(**src.tags())
    dst.colorinterp = src.colorinterp
    dst.scales = src.scales
    dst.offsets = src.offsets
    dst.units = src.units
    for band in range(1, src.count + 1):
        if src.descriptions[band - 1]:
            dst.set_band_description(band, src.descriptions[band - 1])
        dst.update_tags(band, **src.tags(band))
    with contextlib.suppress(ValueError):  # raised when there is no colour table
        dst.write_colormap(1, src.colormap(1))


def _write_blocks(src: DatasetReader, window: Window, path: Path, compress: str | None) -> None:
    """Copy ``window`` of ``src`` into a tiled GeoTIFF at ``path``, one block at a time."""
    profile = {
        "driver": "GTiff",
        "width": int(window.width),
        "height": int(window.height),
        "count": src.count,
        "dtype": src.dtypes[0],
        "crs": src.crs,
        "transform": src.window_transform(window),
        "nodata": src.nodata,
        "tiled": True,
        "blockxsize": _BLOCK,
        "blockysize": _BLOCK,
        "BIGTIFF": "IF_SAFER",
    }
    if compress:
        profile["compress"] = compress
    per_dataset_mask = MaskFlags.per_dataset in src.mask_flag_enums[0]
    with rasterio.open(path, "w", **profile) as dst:
        _copy_band_metadata(src, dst)
        for row in range(0, int(window.height), _BLOCK):
            for col in range(0, int(window.width), _BLOCK):
                width = min(_BLOCK, int(window.width) - col)
                height = min(_BLOCK, int(window.height) - row)
                out = Window(col, row, width, height)
                source = Window(window.col_off + col, window.row_off + row, width, height)
                dst.write(src.read(window=source), window=out)
                if per_dataset_mask:
                    dst.write_mask(src.read_masks(1, window=source), window=out)


def clip_to_path(
    access: Access,
    path: Path,
    clip: Clip,
    what: str,
    client: Client | None = None,
    asset: pystac.Asset | None = None,
) -> ClipResult:
    """Write the clip of ``access`` to ``path`` as a COG (complete, or not at all).

    With the ``client`` that resolved ``access`` (for ``asset``), credentials
    the storage refuses are renewed once, as downloads do.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    part = Path(partial_path(path))
    blocks = part.with_name(f"{part.name}.blocks.tif")
    try:
        source = opening.open_resolved(access, client, asset) if client else opening.open(access)
        with source as src:
            window = source_window(src, clip, what)
            compress = clip.compress or (src.compression.value if src.compression else None)
            _write_blocks(src, window, blocks, compress)
        options = {"OVERVIEWS": "AUTO" if clip.overviews else "NONE", "BLOCKSIZE": str(_BLOCK)}
        if compress:
            options["COMPRESS"] = compress
        rasterio.shutil.copy(blocks, part, driver="COG", **options)
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    finally:
        blocks.unlink(missing_ok=True)
    return ClipResult.of_file(path)
