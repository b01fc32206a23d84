"""Small Cloud-Optimized GeoTIFFs for tests, generated with rasterio (never committed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from affine import Affine


def write_cog(
    path: Path,
    width: int = 512,
    height: int = 512,
    *,
    count: int = 1,
    dtype: str = "uint16",
    blocksize: int = 256,
    seed: int = 0,
    compress: str | None = "deflate",
    noise: bool = False,
) -> Path:
    """Write a tiled GeoTIFF with overviews in COG layout (UTM 32N, 10 m pixels).

    With ``noise`` the pixels are random, so compression cannot shrink the file
    (for tests that need a file of a given size).
    """
    rng = np.random.default_rng(seed)
    if noise:
        data = rng.integers(0, np.iinfo(dtype).max, size=(count, height, width), dtype=dtype)
    else:
        y, x = np.mgrid[0:height, 0:width]
        base = (x * 7 + y * 3 + seed * 11) % 4000
        data = np.stack([(base + band * 100).astype(dtype) for band in range(count)])
    profile = {
        "driver": "COG",
        "width": width,
        "height": height,
        "count": count,
        "dtype": dtype,
        "crs": "EPSG:32632",
        "transform": Affine(10, 0, 500000, 0, -10, 5000000),
        "blocksize": blocksize,
        "nodata": 0,
    }
    if compress:
        profile["compress"] = compress
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path
