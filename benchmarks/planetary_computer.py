"""Token requests and wall time for 64 threads x 8 assets from one Planetary Computer container.

Starts Azurite and the local token API (tests/azure, each in its own process;
the token API answers after a simulated 50 ms round trip), uploads 512 blobs
of 64 KiB to one container, then fetches them all twice in the same run:

* stac-asset: 64 threads, each resolving its 8 hrefs with one
  :class:`~stac_asset.PlanetaryComputerClient` and reading them into memory;
* planetary-computer: 64 threads, each signing its 8 hrefs with
  ``planetary_computer.sign`` and reading them with ``requests``;
* stac-asset's engine: ``download_item_collection`` of the 64 items x 8
  assets to disk (temporary file + rename, item JSON), 64 transfers at once.

One untimed pass warms Azurite up first. On a small machine Azurite (one Node
process) bounds the wall time; the token requests are the point.

Run from the repository root: ``python3 benchmarks/planetary_computer.py``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pystac
import requests
import requests.adapters
from azure.storage.blob import BlobServiceClient

# This script's own directory would shadow the planetary_computer package: replace it.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from stac_asset import PlanetaryComputerClient, blocking  # noqa: E402
from tests.azure.peers import Azurite, TokenApi  # noqa: E402
from tests.conftest import make_item  # noqa: E402

THREADS = 64
ASSETS = 8
SIZE = 64 * 1024
CONTAINER = "bench"
TOKEN_API_DELAY = 0.05
PUBLIC_ENDPOINT = "https://devstoreaccount1.blob.core.windows.net"


def upload(azurite: Azurite) -> list[list[str]]:
    """Upload THREADS x ASSETS blobs; return their names, one list per item."""
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    service.create_container(CONTAINER)
    names = [[f"item{i:02d}/B{j:02d}.tif" for j in range(ASSETS)] for i in range(THREADS)]
    payload = os.urandom(SIZE)
    with ThreadPoolExecutor(16) as pool:
        list(
            pool.map(
                lambda name: service.get_blob_client(CONTAINER, name).upload_blob(payload),
                [name for item in names for name in item],
            )
        )
    return names


def run_stac_asset(azurite: Azurite, token_api: TokenApi, names: list[list[str]]) -> float:
    """Resolve and read each href with one PlanetaryComputerClient; return the wall time."""
    client = PlanetaryComputerClient(sas_url=token_api.sas_url, endpoint_url=azurite.endpoint)

    def fetch(item: list[str]) -> int:
        total = 0
        for name in item:
            access = client.resolve(f"{azurite.endpoint}/{CONTAINER}/{name}")
            with client.open_stream(access) as stream:
                total += sum(len(chunk) for chunk in stream.chunks())
        return total

    start = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        total = sum(pool.map(fetch, names))
    elapsed = time.perf_counter() - start
    assert total == THREADS * ASSETS * SIZE
    return elapsed


def run_engine(azurite: Azurite, token_api: TokenApi, names: list[list[str]]) -> float:
    """Download all the items with download_item_collection; return the wall time."""
    client = PlanetaryComputerClient(sas_url=token_api.sas_url, endpoint_url=azurite.endpoint)
    items = pystac.ItemCollection(
        [
            make_item(
                f"item{i:02d}",
                {
                    f"B{j:02d}": f"{azurite.endpoint}/{CONTAINER}/{name}"
                    for j, name in enumerate(item)
                },
            )
            for i, item in enumerate(names)
        ]
    )
    with tempfile.TemporaryDirectory() as directory:
        start = time.perf_counter()
        blocking.download_item_collection(
            items, directory, clients=[client], max_concurrent_downloads=THREADS
        )
        return time.perf_counter() - start


def run_planetary_computer_sign(azurite: Azurite, names: list[list[str]]) -> float:
    """Sign each href with planetary_computer.sign and GET it; return the wall time."""
    import planetary_computer
    from planetary_computer.sas import TOKEN_CACHE

    TOKEN_CACHE.clear()
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=THREADS)
    session.mount("http://", adapter)

    def fetch(item: list[str]) -> int:
        total = 0
        for name in item:
            # The SDK signs only *.blob.core.windows.net hrefs; Azurite serves them here.
            signed = planetary_computer.sign(f"{PUBLIC_ENDPOINT}/{CONTAINER}/{name}")
            url = signed.replace(PUBLIC_ENDPOINT, azurite.endpoint, 1)
            with session.get(url, timeout=60) as response:
                response.raise_for_status()
                total += len(response.content)
        return total

    start = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        total = sum(pool.map(fetch, names))
    elapsed = time.perf_counter() - start
    assert total == THREADS * ASSETS * SIZE
    return elapsed


def main() -> None:
    """Print token requests and wall time for both ways."""
    with Azurite() as azurite, TokenApi() as token_api:
        names = upload(azurite)
        os.environ["PC_SDK_SAS_URL"] = token_api.sas_url
        count = THREADS * ASSETS
        print(
            f"{THREADS} threads x {ASSETS} assets = {count} blobs of {SIZE // 1024} KiB, "
            f"one container; token API round trip {TOKEN_API_DELAY * 1000:.0f} ms"
        )
        run_stac_asset(azurite, token_api, names)  # warm-up: Azurite's first reads are slower
        for label, run in (
            (
                "stac-asset PlanetaryComputerClient",
                lambda: run_stac_asset(azurite, token_api, names),
            ),
            (
                "planetary_computer.sign per href",
                lambda: run_planetary_computer_sign(azurite, names),
            ),
            (
                "stac-asset download_item_collection",
                lambda: run_engine(azurite, token_api, names),
            ),
        ):
            token_api.reset()
            token_api.configure(delay=TOKEN_API_DELAY)
            elapsed = run()
            tokens = len(token_api.log())
            print(
                f"{label:>37}: {tokens:3d} token requests, {elapsed:6.2f} s wall, "
                f"{count / elapsed:6.0f} assets/s"
            )


if __name__ == "__main__":
    main()
