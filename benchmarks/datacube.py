"""Requests and bytes per tile for a datacube: each loader through CubeAccess vs its defaults.

A cube of 3 items x 2 bands, each a 2048 x 2048 COG of 512 x 512 tiles
(incompressible), served by the local HTTP peer (tests/peers/http_server.py,
its own process) which logs every request; loaded lazily at native resolution
in 512 x 512 chunks and computed on dask's threads in this process. Counted
at the server, per tile read (96 tiles), at 0 and 20 ms latency per request;
times are medians of alternating runs. GDAL's caches are emptied before each
run. Run from the repository root: ``python3 benchmarks/datacube.py``.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pystac

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stac_asset import CubeAccess, gdal_paths  # noqa: E402
from tests.cogs import write_cog  # noqa: E402
from tests.peers.http_peer import HttpPeer  # noqa: E402

BANDS = ["B02", "B03"]
SIZE, TILE = 2048, 512
TILES = 3 * len(BANDS) * (SIZE // TILE) ** 2
RUNS = 3


def items_for(peer: HttpPeer) -> list[pystac.Item]:
    """Three items, two bands each, with ``proj:*`` (what odc-stac and stackstac need)."""
    items = []
    for index in range(3):
        item = pystac.Item(
            id=f"BENCH-{index}",
            geometry=None,
            bbox=None,
            datetime=datetime(2024, 6, 1, tzinfo=timezone.utc) + timedelta(days=index),
            properties={
                "proj:epsg": 32632,
                "proj:shape": [SIZE, SIZE],
                "proj:transform": [10, 0, 500000, 0, -10, 5000000],
            },
            stac_extensions=["https://stac-extensions.github.io/projection/v1.1.0/schema.json"],
        )
        for band in BANDS:
            href = peer.url_for(f"cube/{index}-{band}.tif")
            item.add_asset(band, pystac.Asset(href, media_type=pystac.MediaType.COG))
        items.append(item)
    return items


def odc_stac(items: list[pystac.Item], cube: CubeAccess | None) -> Any:
    import odc.stac

    patch = {"patch_url": cube.patch_url} if cube else {}
    chunks = {"x": TILE, "y": TILE}
    return odc.stac.load(items, bands=BANDS, dtype="uint16", chunks=chunks, **patch)


def stackstac(items: list[pystac.Item], cube: CubeAccess | None) -> Any:
    import stackstac

    source = cube.items if cube else items
    extra = {"gdal_env": cube.stackstac_env()} if cube else {}
    return stackstac.stack(
        [item.to_dict() for item in source],
        assets=BANDS,
        dtype="uint16",
        fill_value=np.uint16(0),
        rescale=False,
        chunksize=TILE,
        **extra,
    )


def rioxarray(items: list[pystac.Item], cube: CubeAccess | None) -> Any:
    import rioxarray
    import xarray

    arrays = [
        cube.open_dataarray(item, band, chunks=TILE, lock=False)
        if cube
        else rioxarray.open_rasterio(item.assets[band].href, chunks=TILE, lock=False)
        for item in items
        for band in BANDS
    ]
    return xarray.concat(arrays, dim="band")


LOADERS: dict[str, Callable[[list[pystac.Item], CubeAccess | None], Any]] = {
    "odc-stac": odc_stac,
    "stackstac": stackstac,
    "rioxarray": rioxarray,
}


def run(
    peer: HttpPeer, loader: str, items: list[pystac.Item], ours: bool, latency: float
) -> tuple[int, int, float]:
    """Requests, bytes and seconds for building and computing the cube once."""
    gdal_paths.clear_network_cache()
    peer.reset()
    peer.configure(latency_ms=latency)
    started = time.perf_counter()
    if ours:
        with CubeAccess(items) as cube:
            LOADERS[loader](items, cube).compute()
    else:
        LOADERS[loader](items, None).compute()
    seconds = time.perf_counter() - started
    log = peer.log()
    return len(log), sum(int(e.get("bytes_sent") or 0) for e in log), seconds


def main() -> None:
    """Print requests and bytes per tile, and times, for each loader both ways."""
    root = Path(tempfile.mkdtemp(prefix="stac-asset-bench-"))
    try:
        for index in range(3):
            for seed, band in enumerate(BANDS):
                path = root / "cube" / f"{index}-{band}.tif"
                write_cog(path, SIZE, SIZE, noise=True, blocksize=TILE, seed=index * 2 + seed)
        with HttpPeer.start(root) as peer:
            items = items_for(peer)
            print(f"cube: 3 items x {len(BANDS)} bands of {SIZE}x{SIZE}, {TILES} tiles of {TILE}")
            for latency in (0.0, 20.0):
                print(f"\nlatency {latency:.0f} ms per request")
                print(f"{'loader':>10} {'options':>11} {'req/tile':>9} {'KiB/tile':>9} {'s':>6}")
                for loader in LOADERS:
                    figures: dict[bool, list[tuple[int, int, float]]] = {True: [], False: []}
                    for _ in range(RUNS):
                        for ours in (True, False):
                            figures[ours].append(run(peer, loader, items, ours, latency))
                    for ours in (True, False):
                        requests, sent, _ = figures[ours][-1]
                        seconds = statistics.median(f[2] for f in figures[ours])
                        label = "CubeAccess" if ours else "defaults"
                        print(
                            f"{loader:>10} {label:>11} {requests / TILES:9.2f}"
                            f" {sent / TILES / 1024:9.1f} {seconds:6.2f}"
                        )
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
