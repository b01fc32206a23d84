"""What each HTTP transport costs alone, next to this project's downloads, for many small files.

Serves 1,000 files of 10 KiB from the test HTTP server (tests/peers/http_server.py,
in its own process) and fetches each into its own file with:

- ``requests``: one ``requests.Session``, streamed GETs (what the byte view sends through);
- ``urllib3``: one ``urllib3.PoolManager``, streamed GETs (requests' engine, alone);
- ``pycurl``: libcurl's multi interface with 64 handles, if pycurl is installed;
- ``pycurl-easy``: one libcurl easy handle per thread, if pycurl is installed;
- ``pycurl-loop``: libcurl's multi interface on one thread (128 handles at
  20 ms) with the least of an engine's own work per file (``HttpClient.resolve``,
  a part file renamed into place): the floor of an engine whose one thread
  drives every transfer, as 0.4.8's event loop does;
- ``stac-asset``: ``blocking.download_item`` of an item with the 1,000 assets.

At 0 ms of latency each transport runs on one thread (its CPU per file is
its floor); at 20 ms per request the Python ones run on 64 threads and
pycurl on 64 handles of one thread. Prints, per case, the median wall time
and the process's CPU time per file (user + system) over the runs.

The figures say where the CPU per file of the project's downloads goes: a
transport whose floor is above a goal cannot reach it, whatever the engine.

Run from the repository root: ``python3 benchmarks/transport_floor.py [--runs 5]
[--out DIR]`` (``--out /dev/shm`` keeps the disk out of the figures).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pystac
import requests
import urllib3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.vs_stac_asset import write_files, write_item  # noqa: E402
from stac_asset import HttpClient, blocking  # noqa: E402
from tests.peers.http_peer import HttpPeer  # noqa: E402

FILES, SIZE, THREADS = 1000, 10 * 1024, 64
CHUNK = 64 * 1024

Fetch = Callable[[list[str], Path], None]


def _each(fetch_one: Callable[[str, Path], None], threads: int) -> Fetch:
    """Fetch every URL into ``out/<index>`` with ``fetch_one``, on ``threads`` threads."""

    def fetch(urls: list[str], out: Path) -> None:
        jobs = [(url, out / str(index)) for index, url in enumerate(urls)]
        if threads == 1:
            for url, path in jobs:
                fetch_one(url, path)
            return
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda job: fetch_one(*job), jobs))

    return fetch


def with_requests(threads: int) -> Fetch:
    """Streamed GETs through one ``requests.Session``."""
    session = requests.Session()

    def fetch_one(url: str, path: Path) -> None:
        with session.get(url, stream=True, timeout=30) as response, path.open("wb") as file:
            response.raise_for_status()
            for chunk in response.iter_content(CHUNK):
                file.write(chunk)

    return _each(fetch_one, threads)


def with_urllib3(threads: int) -> Fetch:
    """Streamed GETs through one ``urllib3.PoolManager``."""
    pool = urllib3.PoolManager(maxsize=threads)

    def fetch_one(url: str, path: Path) -> None:
        response = pool.request("GET", url, preload_content=False, timeout=30)
        with path.open("wb") as file:
            for chunk in response.stream(CHUNK):
                file.write(chunk)
        response.release_conn()

    return _each(fetch_one, threads)


def with_pycurl(handles: int, engine_work: bool = False) -> Fetch:
    """libcurl's multi interface: ``handles`` transfers at a time, on this thread.

    With ``engine_work``, each file also costs what an engine's own work on
    it would at least: ``HttpClient.resolve`` of the URL (its headers), a
    part file renamed into place once complete, and the status checked. That
    is the floor of an engine whose one thread drives every transfer.
    """
    import pycurl

    client = HttpClient()

    def fetch(urls: list[str], out: Path) -> None:
        multi = pycurl.CurlMulti()
        idle = [pycurl.Curl() for _ in range(handles)]
        queue = list(enumerate(urls))
        files: dict[Any, Any] = {}
        while queue or files:
            while queue and idle:
                index, url = queue.pop()
                curl = idle.pop()
                path = out / str(index)
                if engine_work:
                    access = client.resolve(url)
                    url = access.url or url
                    headers = [f"{name}: {value}" for name, value in access.headers.items()]
                    curl.setopt(pycurl.HTTPHEADER, [*headers, "Accept-Encoding: identity"])
                    part = path.with_name(f".{path.name}.part")
                    files[curl] = (part.open("wb"), part, path)
                else:
                    files[curl] = (path.open("wb"), None, path)
                curl.setopt(pycurl.URL, url)
                curl.setopt(pycurl.WRITEDATA, files[curl][0])
                curl.setopt(pycurl.TIMEOUT, 30)
                multi.add_handle(curl)
            while multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
                pass
            remaining = 1
            while remaining:
                remaining, done, failed = multi.info_read()
                for curl in [*done, *(entry[0] for entry in failed)]:
                    multi.remove_handle(curl)
                    file, part, path = files.pop(curl)
                    file.close()
                    if part is not None and curl.getinfo(pycurl.RESPONSE_CODE) == 200:
                        part.replace(path)
                    idle.append(curl)
                if failed:
                    raise RuntimeError(f"pycurl: {failed[0][2]}")
            multi.select(1.0)

    return fetch


def with_pycurl_easy(threads: int) -> Fetch:
    """One libcurl easy handle per thread (libcurl lets go of the interpreter lock as it works)."""
    import pycurl

    local = threading.local()

    def fetch_one(url: str, path: Path) -> None:
        curl = getattr(local, "curl", None)
        if curl is None:
            curl = local.curl = pycurl.Curl()
        with path.open("wb") as file:
            curl.setopt(pycurl.URL, url)
            curl.setopt(pycurl.WRITEDATA, file)
            curl.setopt(pycurl.TIMEOUT, 30)
            curl.perform()

    return _each(fetch_one, threads)


def with_stac_asset(item: Path) -> Fetch:
    """``blocking.download_item`` of the item whose assets are the URLs."""

    def fetch(urls: list[str], out: Path) -> None:
        blocking.download_item(pystac.Item.from_file(str(item)), str(out))

    return fetch


def measure(fetch: Fetch, urls: list[str], out: Path, runs: int) -> tuple[float, float]:
    """Median wall seconds and CPU milliseconds per file over ``runs`` runs (after a warm-up)."""
    walls, cpus = [], []
    for run in range(runs + 1):
        target = out / f"run-{time.monotonic_ns()}"
        target.mkdir(parents=True)
        start, cpu = time.perf_counter(), time.process_time()
        fetch(urls, target)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        if sum(1 for path in target.rglob("*") if path.is_file()) < len(urls):
            raise RuntimeError(f"{target}: files missing")
        shutil.rmtree(target)
        if run:
            walls.append(wall)
            cpus.append(cpu / len(urls) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    """Run every transport at 0 and 20 ms and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stac-asset-floor-"))
    out = Path(tempfile.mkdtemp(prefix="stac-asset-floor-out-", dir=args.out))
    try:
        files = write_files(work / "served" / "small", FILES, SIZE)
        with HttpPeer.start(work / "served") as peer:
            item = write_item(work / "small.json", peer, "small", files, checksums=False)
            urls = [peer.url_for(f"small/{name}") for name in files]
            for latency in (0, 20):
                peer.configure(latency_ms=latency)
                threads = 1 if latency == 0 else THREADS
                cases: dict[str, Fetch] = {
                    "requests": with_requests(threads),
                    "urllib3": with_urllib3(threads),
                    "stac-asset": with_stac_asset(item),
                }
                try:
                    cases["pycurl"] = with_pycurl(1 if latency == 0 else THREADS)
                    cases["pycurl-easy"] = with_pycurl_easy(threads)
                    # 128 at a time at 20 ms: what one thread would keep in flight.
                    handles = 1 if latency == 0 else 2 * THREADS
                    cases["pycurl-loop"] = with_pycurl(handles, engine_work=True)
                except ImportError:
                    print("(pycurl is not installed: pip install pycurl to include it)")
                spread = "one at a time" if latency == 0 else f"{THREADS} at a time"
                print(f"\n{FILES:,} x 10 KiB, {latency} ms per request, transports {spread}")
                for name, fetch in cases.items():
                    wall, cpu = measure(fetch, urls, out, args.runs)
                    print(f"  {name:11}: {wall:5.2f} s wall, {cpu:.3f} ms CPU per file")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
