"""HTTP requests GDAL makes to open a >= 20 MB COG and read one interior 512x512 tile.

Counts them at a local HTTP server (tests/peers/http_server.py, in its own
process) for stac-asset's GDAL options and for rasterio's defaults, side by
side. Run from the repository root: ``python3 benchmarks/requests_per_read.py``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import rasterio
from rasterio.windows import Window

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import stac_asset  # noqa: E402
from tests.cogs import write_cog  # noqa: E402
from tests.peers.http_peer import HttpPeer  # noqa: E402


def count(peer: HttpPeer, name: str, options: dict[str, str] | None) -> list[dict[str, object]]:
    """Open ``name`` and read one tile, with our options (None) or rasterio's defaults."""
    peer.reset()
    url = peer.url_for(name)
    window = Window(1536, 1536, 512, 512)
    if options is None:
        with stac_asset.open(url) as ds:
            ds.read(1, window=window)
    else:
        with rasterio.Env(**options), rasterio.open(f"/vsicurl/{url}") as ds:
            ds.read(1, window=window)
    return peer.log()


def main() -> None:
    """Print the request counts."""
    root = Path(tempfile.mkdtemp(prefix="stac-asset-bench-"))
    try:
        write_cog(root / "a" / "ours.tif", 3300, 3300, noise=True, blocksize=512)
        # A separate file, so GDAL's caches from the first run do not help the second.
        shutil.copy(root / "a" / "ours.tif", root / "a" / "defaults.tif")
        size = (root / "a" / "ours.tif").stat().st_size
        print(f"COG: {size / 1e6:.1f} MB, 512x512 tiles, reading one interior tile")
        with HttpPeer.start(root) as peer:
            for label, name, options in (
                ("stac-asset", "a/ours.tif", None),
                ("rasterio defaults", "a/defaults.tif", {}),
            ):
                log = count(peer, name, options)
                print(f"{label:>18}: {len(log):2d} requests")
                for entry in log:
                    print(
                        f"{'':>20}{entry['method']} {entry['path']} {entry['range'] or ''}"
                        f" -> {entry['status']}"
                    )
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
