"""A 1 km2 windowed copy from a >= 100 MB COG, against downloading the whole file then clipping.

Prints bytes fetched and requests (counted at the server) and wall time, for
the HTTP peer. Run from the repository root: ``python3 benchmarks/clip.py``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import pystac

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stac_asset import blocking  # noqa: E402
from tests.cogs import write_cog  # noqa: E402
from tests.peers.http_peer import HttpPeer  # noqa: E402

UTM = "EPSG:32632"
KM2 = (530000.0, 4970000.0, 531000.0, 4971000.0)  # inside the COG below


def report(label: str, seconds: float, log: list[dict[str, object]]) -> None:
    """Print one line of figures."""
    fetched = sum(int(str(r["bytes_sent"])) for r in log)
    print(f"{label:>28}: {fetched / 1e6:8.2f} MB fetched, {len(log):3d} requests, {seconds:6.2f} s")


def main() -> None:
    """Run both ways and print the figures."""
    work = Path(tempfile.mkdtemp(prefix="stac-asset-bench-"))
    try:
        source = write_cog(work / "served" / "big.tif", 7300, 7300, noise=True, blocksize=512)
        print(f"COG: {source.stat().st_size / 1e6:.0f} MB; clip: 1 km2 (100 x 100 px)")
        with HttpPeer.start(work / "served") as peer:
            asset = pystac.Asset(peer.url_for("big.tif"))
            peer.reset()
            start = time.perf_counter()
            blocking.clip_asset("big", asset, work / "clip.tif", bbox=KM2, bbox_crs=UTM)
            report("windowed copy", time.perf_counter() - start, peer.log())

            peer.reset()
            start = time.perf_counter()
            blocking.download_file(peer.url_for("big.tif"), work / "whole.tif")
            local = pystac.Asset(str(work / "whole.tif"))
            blocking.clip_asset("big", local, work / "clip2.tif", bbox=KM2, bbox_crs=UTM)
            report("whole download, then clip", time.perf_counter() - start, peer.log())
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
