"""A 1 km2 windowed copy from a >= 100 MB COG, against downloading the whole file then clipping.

Prints bytes fetched and requests (counted at the server) and wall time, for
the HTTP peer and the S3 peer (moto). Run from the repository root:
``python3 benchmarks/clip.py``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import pystac

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stac_asset import Client, S3Client, blocking  # noqa: E402
from tests.cogs import write_cog  # noqa: E402
from tests.peers.http_peer import HttpPeer  # noqa: E402
from tests.s3.moto_peer import REGION, MotoPeer  # noqa: E402

UTM = "EPSG:32632"
KM2 = (530000.0, 4970000.0, 531000.0, 4971000.0)  # inside the COG below

# What a peer served since it was last reset: (bytes, requests).
Served = Callable[[], tuple[int, int]]


def range_bytes(header: str | None, size: int) -> int:
    """Bytes a GET asked for (the whole object without a Range header)."""
    if not header:
        return size
    start, _, stop = header.removeprefix("bytes=").partition("-")
    return (int(stop) if stop else size - 1) - int(start) + 1


def line(label: str, seconds: float, fetched: int, requests: int) -> None:
    """Print one row of figures."""
    print(f"{label:>34}: {fetched / 1e6:8.2f} MB, {requests:3d} requests, {seconds:6.2f} s")


def both_ways(
    label: str,
    href: str,
    work: Path,
    clients: list[Client],
    reset: Callable[[], None],
    served: Served,
) -> None:
    """Clip in place, then download whole and clip locally; print the figures of each."""
    reset()
    start = time.perf_counter()
    blocking.clip_asset(
        "big", pystac.Asset(href), work / "clip.tif", bbox=KM2, bbox_crs=UTM, clients=clients
    )
    seconds = time.perf_counter() - start
    line(f"{label}, windowed copy", seconds, *served())
    reset()
    start = time.perf_counter()
    whole = work / f"{label}-whole.tif"
    blocking.download_file(href, whole, clients=clients)
    local = pystac.Asset(str(whole))
    blocking.clip_asset("big", local, work / "clip2.tif", bbox=KM2, bbox_crs=UTM)
    seconds = time.perf_counter() - start
    line(f"{label}, whole download then clip", seconds, *served())


def main() -> None:
    """Run both ways on both peers and print the figures."""
    work = Path(tempfile.mkdtemp(prefix="stac-asset-bench-"))
    try:
        source = write_cog(work / "served" / "big.tif", 7300, 7300, noise=True, blocksize=512)
        size = source.stat().st_size
        print(f"COG: {size / 1e6:.0f} MB; clip: 1 km2 (100 x 100 px)")
        with HttpPeer.start(work / "served") as peer:

            def http_served() -> tuple[int, int]:
                log = peer.log()
                return sum(int(str(r["bytes_sent"])) for r in log), len(log)

            both_ways("HTTP", peer.url_for("big.tif"), work, [], peer.reset, http_served)
        with MotoPeer.start() as moto:
            s3 = moto.boto3_client()
            s3.create_bucket(Bucket="bench")
            with source.open("rb") as body:
                s3.put_object(Bucket="bench", Key="big.tif", Body=body)
            session = boto3.Session(region_name=REGION, **moto.admin)
            client = S3Client(session, endpoint_url=moto.endpoint_url)
            href = "s3://bench/big.tif"

            def s3_served() -> tuple[int, int]:
                gets = moto.gets(href)
                return sum(range_bytes(r["range"], size) for r in gets), len(gets)

            both_ways("S3", href, work, [client], moto.reset, s3_served)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
