"""Downloads against stac-asset 0.4.8, on the same loopback server, in the same run.

Installs stac-asset 0.4.8 into its own virtualenv (same import name, so each
implementation runs in its own process), serves generated files from the
test HTTP server (tests/peers/http_server.py) and prints, per scenario, the
medians of alternating runs of each and their ratios:

- ``small``: 1,000 assets x 10 KiB, at 0 and at 20 ms of latency per request:
  wall time, and CPU time per file (all threads of the downloading process);
- ``large``: 32 assets x 16 MiB with ``file:checksum`` (which 0.4.8 does not
  verify), at 0 and 20 ms: wall time, CPU time, and this machine's CPU time
  for hashing the same bytes (sha2-256), the part of ours that 0.4.8 skips;
- ``throttle``: 300 x 10 KiB from a host that answers 503 with
  ``Retry-After: 1`` whenever more than 8 requests are in flight (20 ms per
  answer): wall time, files complete, 503 answers in all and after the
  first 2 s (the ideal is 300 / 8 x 20 ms = 0.75 s with no 503);
- ``big``: one 256 MiB asset from a host that caps each connection at
  32 MB/s: wall time and peak RSS of the downloading process;
- ``small-node``: ``small`` against a Node.js file server
  (``benchmarks/file_server.js``, latency added the same way) whose CPU per
  request is a fraction of the Python peer's, which on two cores bounds the
  runs above (at 0 ms, too); here the clients set the pace. Also at 100 ms
  (a far CDN), where requests in flight decide.

Run from the repository root: ``python3 benchmarks/vs_stac_asset.py [--runs 5]
[--only small,large,throttle,big,small-node] [--venv DIR] [--out DIR]``. The downloads
go under ``--out`` (default: the temporary directory); ``--out /dev/shm``
keeps the disk's write-back out of the figures, which on a shared machine
can move the 512 MiB runs by a third from one run to the next.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Callable, Iterator
from pathlib import Path

import pystac

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.peers.http_peer import HttpPeer  # noqa: E402
from tests.peers.process import PeerProcess  # noqa: E402

# Runs inside either implementation's interpreter.
CHILD = """
import json, os, resource, sys, time
import pystac
from stac_asset import blocking
item = pystac.Item.from_file(sys.argv[1])
start, cpu = time.perf_counter(), time.process_time()
error = None
try:
    blocking.download_item(item, sys.argv[2])
except Exception as caught:
    error = f"{type(caught).__name__}: {str(caught)[:300]}"
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
files = sum(1 for name in os.listdir(sys.argv[2]) if name.endswith(".bin"))
print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_rss_mb": peak, "files": files,
                  "error": error}))
"""

Figures = dict[str, float]

OUT = Path(tempfile.gettempdir())
"""Where the downloads go (``--out``)."""


def old_python(venv_dir: Path) -> Path:
    """A virtualenv with stac-asset 0.4.8 (created once, reused)."""
    python = venv_dir / "bin" / "python"
    if not python.exists():
        venv.create(venv_dir, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "stac-asset==0.4.8"], check=True)
    return python


def write_files(directory: Path, count: int, size: int) -> dict[str, str]:
    """``count`` files of ``size`` random bytes; their names and sha2-256 multihashes."""
    directory.mkdir(parents=True, exist_ok=True)
    names = {}
    for index in range(count):
        name = f"{directory.name}-{index:04d}.bin"
        digest = hashlib.sha256()
        with (directory / name).open("wb") as file:
            remaining = size
            while remaining:
                chunk = os.urandom(min(remaining, 16 * 1024 * 1024))
                file.write(chunk)
                digest.update(chunk)
                remaining -= len(chunk)
        names[name] = "1220" + digest.hexdigest()
    return names


def write_item(
    path: Path, peer: HttpPeer | NodeServer, folder: str, files: dict[str, str], checksums: bool
) -> Path:
    """An item whose assets are ``files`` under ``folder`` on the peer."""
    item = pystac.Item(
        path.stem, None, None, pystac.utils.str_to_datetime("2024-01-01T00:00:00Z"), {}
    )
    for name, checksum in files.items():
        fields = {"file:checksum": checksum} if checksums else {}
        item.add_asset(name, pystac.Asset(peer.url_for(f"{folder}/{name}"), extra_fields=fields))
    item.save_object(include_self_link=False, dest_href=str(path))
    return path


def run(python: Path, item: Path, out: Path, ours: bool) -> Figures:
    """Download ``item`` into the new directory ``out`` with one implementation; its figures."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if ours:
        env["PYTHONPATH"] = str(ROOT)
    out.mkdir(parents=True)
    result = subprocess.run(
        [str(python), "-c", CHILD, str(item), str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=tempfile.gettempdir(),
    )
    figures: Figures = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def compare(
    label: str,
    old: Path,
    item: Path,
    runs: int,
    observe: Callable[[Figures], None] | None = None,
    before: Callable[[], None] | None = None,
) -> tuple[list[Figures], list[Figures]]:
    """Alternate runs of stac-asset 0.4.8 and ours; all figures of each.

    ``before`` runs before each run (resetting the server), ``observe``
    after it (adding figures from the server's log). Every run writes into a
    new directory. On disk, all are removed only at the end: on a file system
    such as ext4 without a journal, creating files right after deleting many
    makes the kernel skip past each recently freed inode (about 0.5 ms per new
    file here), which would time the previous run's clean-up rather than the
    download. On tmpfs each is removed right after its run: gigabytes of
    earlier runs held in memory made the next runs' pages slow to come by
    (twice the CPU time, for one implementation more than the other).
    """
    theirs: list[Figures] = []
    ours: list[Figures] = []
    outputs = OUT / f"stac-asset-bench-{label.split()[0]}-{time.monotonic_ns()}"
    for index in range(runs):
        for mine, figures in ((False, theirs), (True, ours)):
            if before is not None:
                before()
            python = Path(sys.executable) if mine else old
            name = f"{'new' if mine else 'old'}-{index}"
            result = run(python, item, outputs / name, ours=mine)
            if on_tmpfs(outputs):
                shutil.rmtree(outputs / name)
            if observe is not None:
                observe(result)
            figures.append(result)
    shutil.rmtree(outputs, ignore_errors=True)
    print(f"\n{label} (medians of {runs})", flush=True)
    for name, figures in (("0.4.8", theirs), ("ours", ours)):
        errors = {f["error"] for f in figures if f.get("error")}
        if errors:
            print(f"  {name} errors: {sorted(errors)}")
    return theirs, ours


def on_tmpfs(path: Path) -> bool:
    """Whether ``path`` is on a tmpfs (a RAM disk such as /dev/shm), by /proc/mounts."""
    mounts = Path("/proc/mounts")
    if not mounts.exists():
        return False
    found, kind = "", ""
    for line in mounts.read_text().splitlines():
        _, point, fstype, *_ = line.split()
        if str(path).startswith(point.rstrip("/") + "/") and len(point) > len(found):
            found, kind = point, fstype
    return kind == "tmpfs"


def median(figures: list[Figures], key: str) -> float:
    """The median of one figure over runs."""
    return statistics.median(f[key] for f in figures)


def at_latencies(
    label: str, peer: HttpPeer, old: Path, item: Path, runs: int
) -> Iterator[tuple[list[Figures], list[Figures]]]:
    """``compare`` at 0 and at 20 ms of latency per request; the figures of each."""
    for latency in (0, 20):
        yield compare(
            f"{label}, {latency} ms latency",
            old,
            item,
            runs,
            before=lambda latency=latency: peer.configure(latency_ms=latency),
        )


def small(peer: HttpPeer, old: Path, work: Path, runs: int, files: dict[str, str]) -> None:
    """1,000 x 10 KiB at 0 and 20 ms: wall and CPU per file."""
    item = write_item(work / "small.json", peer, "small", files, checksums=False)
    for theirs, ours in at_latencies("1,000 x 10 KiB", peer, old, item, runs):
        print_small(theirs, ours, len(files))


def small_node(old: Path, work: Path, runs: int, files: dict[str, str]) -> None:
    """``small`` against benchmarks/file_server.js, one server process per latency."""
    for latency in (0, 20, 100):
        command = ["node", "benchmarks/file_server.js", str(work / "served"), str(latency)]
        with PeerProcess("file_server.js", command=command) as server:
            item = write_item(
                work / "small-node.json", NodeServer(server.port), "small", files, checksums=False
            )
            label = f"1,000 x 10 KiB from a Node.js file server, {latency} ms latency"
            print_small(*compare(label, old, item, runs), len(files))


class NodeServer:
    """Where benchmarks/file_server.js serves a file."""

    def __init__(self, port: int) -> None:
        self.port = port

    def url_for(self, path: str) -> str:
        """The URL of ``path`` under the served folder."""
        return f"http://127.0.0.1:{self.port}/{path}"


def print_small(theirs: list[Figures], ours: list[Figures], files: int) -> None:
    """Wall and CPU per file of each, and their ratios."""
    for name, figures in (("stac-asset 0.4.8", theirs), ("this project", ours)):
        wall, cpu = median(figures, "seconds"), median(figures, "cpu")
        print(f"  {name:16}: {wall:5.2f} s wall, {cpu / files * 1000:.3f} ms CPU per file")
    wall = median(ours, "seconds") / median(theirs, "seconds")
    cpu = median(ours, "cpu") / median(theirs, "cpu")
    print(f"  ratios (ours / 0.4.8): wall {wall:.2f}, CPU per file {cpu:.2f}")


def large(peer: HttpPeer, old: Path, work: Path, runs: int, files: dict[str, str]) -> None:
    """32 x 16 MiB with file:checksum at 0 and 20 ms: wall, CPU, and the hashing's share."""
    item = write_item(work / "large.json", peer, "large", files, checksums=True)
    start = time.process_time()
    for name in files:
        digest = hashlib.sha256()
        with (work / "served" / "large" / name).open("rb") as file:
            while chunk := file.read(1024 * 1024):
                digest.update(chunk)
    hashing = time.process_time() - start
    label = "32 x 16 MiB with file:checksum"
    for theirs, ours in at_latencies(label, peer, old, item, runs):
        for name, figures in (("stac-asset 0.4.8", theirs), ("this project", ours)):
            wall, cpu = median(figures, "seconds"), median(figures, "cpu")
            print(f"  {name:16}: {wall:5.2f} s wall, {cpu:5.2f} s CPU")
        beyond = median(ours, "cpu") - hashing
        print(f"  hashing 512 MiB (sha2-256, read from disk): {hashing:.2f} s CPU")
        wall = median(ours, "seconds") / median(theirs, "seconds")
        print(
            f"  ratios (ours / 0.4.8): wall {wall:.2f}, "
            f"CPU beyond hashing {beyond / median(theirs, 'cpu'):.2f}"
        )


def throttle(peer: HttpPeer, old: Path, work: Path, runs: int, files: dict[str, str]) -> None:
    """300 x 10 KiB from a host that answers 503 beyond 8 requests in flight."""
    chosen = dict(list(files.items())[:300])
    item = write_item(work / "throttle.json", peer, "small", chosen, checksums=False)

    def before() -> None:
        peer.reset()
        peer.configure(latency_ms=20, max_in_flight=8, retry_after=1)

    def observe(figures: Figures) -> None:
        log = peer.log()
        first = min(entry["time"] for entry in log)
        refused = [entry for entry in log if entry["status"] == 503]
        late = [entry for entry in refused if entry["time"] - first > 2.0]
        after = [entry for entry in log if entry["time"] - first > 2.0]
        figures["requests"] = len(log)
        figures["refused"] = len(refused)
        figures["late_refused"] = len(late)
        figures["late_share"] = len(late) / len(after) if after else 0.0

    theirs, ours = compare(
        "300 x 10 KiB, 503 + Retry-After: 1 beyond 8 in flight, 20 ms latency",
        old,
        item,
        runs,
        observe,
        before,
    )
    for name, figures in (("stac-asset 0.4.8", theirs), ("this project", ours)):
        complete = f"{min(f['files'] for f in figures):.0f}-{max(f['files'] for f in figures):.0f}"
        print(
            f"  {name:16}: {median(figures, 'seconds'):5.2f} s wall, files {complete} of 300, "
            f"requests {median(figures, 'requests'):.0f}, 503s {median(figures, 'refused'):.0f} "
            f"({median(figures, 'late_refused'):.0f} after 2 s = "
            f"{median(figures, 'late_share') * 100:.1f} % of requests after 2 s)"
        )
    peer.reset()


def big(peer: HttpPeer, old: Path, work: Path, runs: int) -> None:
    """One 256 MiB asset, each connection capped at 32 MB/s."""
    files = write_files(work / "served" / "big", 1, 256 * 1024 * 1024)
    item = write_item(work / "big.json", peer, "big", files, checksums=True)
    theirs, ours = compare(
        "one 256 MiB asset with file:checksum, 32 MB/s per connection",
        old,
        item,
        runs,
        before=lambda: peer.configure(rate_cap_bps=32e6),
    )
    for name, figures in (("stac-asset 0.4.8", theirs), ("this project", ours)):
        print(
            f"  {name:16}: {median(figures, 'seconds'):5.2f} s wall, "
            f"peak RSS {median(figures, 'peak_rss_mb'):4.0f} MB"
        )
    print(f"  wall ratio (ours / 0.4.8): {median(ours, 'seconds') / median(theirs, 'seconds'):.2f}")
    peer.configure()
    shutil.rmtree(work / "served" / "big")


def main() -> None:
    """Run the scenarios and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="small,large,throttle,big,small-node")
    parser.add_argument(
        "--venv", type=Path, default=Path(tempfile.gettempdir()) / "stac-asset-0.4.8"
    )
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    global OUT
    OUT = args.out
    scenarios = set(args.only.split(","))
    old = old_python(args.venv)
    work = Path(tempfile.mkdtemp(prefix="stac-asset-bench-"))
    try:
        served = work / "served"
        small_files = write_files(served / "small", 1000, 10 * 1024)
        with HttpPeer.start(served) as peer:
            if "small" in scenarios:
                small(peer, old, work, args.runs, small_files)
            if "throttle" in scenarios:
                throttle(peer, old, work, args.runs, small_files)
            if "large" in scenarios:
                large_files = write_files(served / "large", 32, 16 * 1024 * 1024)
                large(peer, old, work, args.runs, large_files)
                shutil.rmtree(served / "large")
            if "big" in scenarios:
                big(peer, old, work, args.runs)
        if "small-node" in scenarios:
            small_node(old, work, args.runs, small_files)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
