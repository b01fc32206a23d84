"""Each loader's way to build and compute the cube, and the pixels it must hold."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pystac

import stac_asset
from stac_asset import Client, gdal_paths
from stac_asset.datacube import CubeAccess
from tests.datacube.conftest import BANDS


def expected(items: Sequence[pystac.Item], clients: Sequence[Client] = ()) -> np.ndarray:
    """(time, band, y, x) read asset by asset with stac_asset.open."""
    stack = []
    for item in items:
        bands = []
        for band in BANDS:
            with stac_asset.open(item, band, clients=list(clients)) as ds:
                bands.append(ds.read(1))
        stack.append(bands)
    return np.array(stack)


def odc_stac(cube: CubeAccess, items: Sequence[pystac.Item], **compute: Any) -> np.ndarray:
    """odc-stac's lazy cube (one dask chunk per tile), computed: (time, band, y, x)."""
    import odc.stac

    data = odc.stac.load(
        items,
        bands=list(BANDS),
        dtype="uint16",
        patch_url=cube.patch_url,
        chunks={"x": 256, "y": 256},
    )
    data = data.compute(**compute)
    return np.stack([data[band].values for band in BANDS], axis=1)


def stackstac(cube: CubeAccess, **compute: Any) -> np.ndarray:
    """stackstac's lazy cube of the cube's items (GDAL paths), computed."""
    import stackstac

    array = stackstac.stack(
        [item.to_dict() for item in cube.items],
        assets=list(BANDS),
        dtype="uint16",
        fill_value=np.uint16(0),
        rescale=False,
        chunksize=256,
        gdal_env=cube.stackstac_env(),
    )
    return np.asarray(array.compute(**compute).values)


def rioxarray(cube: CubeAccess, items: Sequence[pystac.Item], **compute: Any) -> np.ndarray:
    """One lazy rioxarray DataArray per asset, computed (on dask's threads, lock=False)."""
    arrays = [
        [cube.open_dataarray(item, band, chunks=256, lock=False) for band in BANDS]
        for item in items
    ]
    return np.array([[a.compute(**compute).values[0] for a in row] for row in arrays])


LOADERS = {"odc-stac": odc_stac, "stackstac": stackstac, "rioxarray": rioxarray}


def load(name: str, cube: CubeAccess, items: Sequence[pystac.Item], **compute: Any) -> np.ndarray:
    """Build and compute the cube with loader ``name``, nothing read from GDAL's cache."""
    gdal_paths.clear_network_cache()
    if name == "stackstac":
        return stackstac(cube, **compute)
    return LOADERS[name](cube, items, **compute)  # type: ignore[operator]
