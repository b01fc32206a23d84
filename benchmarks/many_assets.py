"""10,000 assets of 1 KiB over HTTP: files/s, peak open file descriptors and peak RSS.

Shows that descriptors and memory stay bounded by the concurrency, not by the
number of assets. Run from the repository root: ``python3 benchmarks/many_assets.py``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pystac

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import stac_asset  # noqa: E402
from stac_asset import blocking  # noqa: E402
from tests.peers.http_peer import HttpPeer  # noqa: E402


def main() -> None:
    """Download the assets and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=10_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stac-asset-bench-"))
    try:
        served = work / "served" / "tiny"
        served.mkdir(parents=True)
        for index in range(args.assets):
            (served / f"t{index:05d}.bin").write_bytes(os.urandom(1024))
        with HttpPeer.start(served.parent) as peer:
            item = pystac.Item("many", None, None, pystac.utils.now_in_utc(), {})
            for index in range(args.assets):
                name = f"t{index:05d}.bin"
                item.add_asset(name, pystac.Asset(peer.url_for(f"tiny/{name}")))
            peak_fds = 0

            def progress(message: stac_asset.Message) -> None:
                nonlocal peak_fds
                if isinstance(message, stac_asset.FinishAssetDownload):
                    peak_fds = max(peak_fds, len(os.listdir("/proc/self/fd")))

            start_fds = len(os.listdir("/proc/self/fd"))
            start = time.perf_counter()
            blocking.download_item(item, work / "out", messages=progress)
            seconds = time.perf_counter() - start
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{args.assets} assets of 1 KiB: {args.assets / seconds:.0f} files/s")
        print(f"open file descriptors: {start_fds} before, at most {peak_fds} during")
        print(f"peak RSS: {rss:.0f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
