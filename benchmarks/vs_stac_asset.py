"""Download throughput against stac-asset 0.4.8, on the same loopback server, in the same run.

Installs stac-asset 0.4.8 into its own virtualenv (same import name, so each
implementation runs in its own process), serves generated files from the
test HTTP server (tests/peers/http_server.py) and prints, per scenario, the
median of a few alternating runs of each and their ratio:

- 32 assets x 16 MiB with 20 ms latency per request: wall time and MB/s, and
  the MB/s of copying the same bytes from local files (this disk's ceiling);
- 1,000 assets x 10 KiB: files/s;
- one 2 GiB asset: peak RSS of the downloading process (``--big-gib 0`` skips it).

Run from the repository root: ``python3 benchmarks/vs_stac_asset.py [--runs 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import pystac

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.peers.http_peer import HttpPeer  # noqa: E402

# Runs inside either implementation's interpreter.
CHILD = """
import json, resource, sys, time
import pystac
from stac_asset import blocking
item = pystac.Item.from_file(sys.argv[1])
start = time.perf_counter()
blocking.download_item(item, sys.argv[2])
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_rss_mb": peak}))
"""


def old_python(venv_dir: Path) -> Path:
    """A virtualenv with stac-asset 0.4.8 (created once, reused)."""
    python = venv_dir / "bin" / "python"
    if not python.exists():
        venv.create(venv_dir, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "stac-asset==0.4.8"], check=True)
    return python


def write_files(directory: Path, count: int, size: int) -> list[str]:
    """``count`` files of ``size`` random bytes; their names."""
    directory.mkdir(parents=True, exist_ok=True)
    names = []
    for index in range(count):
        name = f"{directory.name}-{index:04d}.bin"
        with (directory / name).open("wb") as file:
            remaining = size
            while remaining:
                chunk = min(remaining, 16 * 1024 * 1024)
                file.write(os.urandom(chunk))
                remaining -= chunk
        names.append(name)
    return names


def write_item(path: Path, peer: HttpPeer, folder: str, names: list[str]) -> Path:
    """An item whose assets are ``names`` under ``folder`` on the peer."""
    item = pystac.Item(
        path.stem, None, None, pystac.utils.str_to_datetime("2024-01-01T00:00:00Z"), {}
    )
    for name in names:
        item.add_asset(name, pystac.Asset(peer.url_for(f"{folder}/{name}")))
    item.save_object(include_self_link=False, dest_href=str(path))
    return path


def run(python: Path, item: Path, out: Path, ours: bool) -> dict[str, float]:
    """Download ``item`` into the new directory ``out`` with one implementation; its figures."""
    env = dict(os.environ)
    if ours:
        env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [str(python), "-c", CHILD, str(item), str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=tempfile.gettempdir(),
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def compare(
    label: str, old: Path, item: Path, work: Path, runs: int
) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """Alternate runs of stac-asset 0.4.8 and ours; all figures of each.

    Every run writes into a new directory, and all are removed only at the
    end: on a file system such as ext4 without a journal, creating files
    right after deleting many makes the kernel skip past each recently freed
    inode (about 0.5 ms per new file here), which would time the previous
    run's clean-up rather than the download.
    """
    theirs, ours = [], []
    outputs = work / f"out-{label.split()[0]}"
    for index in range(runs):
        theirs.append(run(old, item, outputs / f"old-{index}", ours=False))
        ours.append(run(Path(sys.executable), item, outputs / f"new-{index}", ours=True))
    shutil.rmtree(outputs, ignore_errors=True)
    print(f"\n{label}")
    return theirs, ours


def median(figures: list[dict[str, float]], key: str) -> float:
    """The median of one figure over runs."""
    return statistics.median(f[key] for f in figures)


def main() -> None:
    """Run the scenarios and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--big-gib", type=float, default=2.0)
    parser.add_argument(
        "--venv", type=Path, default=Path(tempfile.gettempdir()) / "stac-asset-0.4.8"
    )
    args = parser.parse_args()
    old = old_python(args.venv)
    work = Path(tempfile.mkdtemp(prefix="stac-asset-bench-"))
    try:
        served = work / "served"
        large = write_files(served / "large", 32, 16 * 1024 * 1024)
        small = write_files(served / "small", 1000, 10 * 1024)
        with HttpPeer.start(served) as peer:
            mb = 32 * 16 * 1024 * 1024 / 1e6
            peer.configure(latency_ms=20)
            item = write_item(work / "large.json", peer, "large", large)
            theirs, ours = compare("32 x 16 MiB, 20 ms latency", old, item, work, args.runs)
            start = time.perf_counter()
            (work / "copy").mkdir()
            for name in large:
                shutil.copyfile(served / "large" / name, work / "copy" / name)
            ceiling = mb / (time.perf_counter() - start)
            shutil.rmtree(work / "copy")
            t_old, t_new = median(theirs, "seconds"), median(ours, "seconds")
            print(f"  stac-asset 0.4.8: {t_old:.2f} s  {mb / t_old:7.1f} MB/s")
            print(f"  this project    : {t_new:.2f} s  {mb / t_new:7.1f} MB/s")
            print(f"  local file copy :         {ceiling:7.1f} MB/s (the disk's ceiling)")
            print(f"  wall time ratio (ours / 0.4.8): {t_new / t_old:.2f}")

            peer.configure()
            item = write_item(work / "small.json", peer, "small", small)
            theirs, ours = compare("1,000 x 10 KiB", old, item, work, args.runs)
            f_old, f_new = 1000 / median(theirs, "seconds"), 1000 / median(ours, "seconds")
            print(f"  stac-asset 0.4.8: {f_old:7.0f} files/s")
            print(f"  this project    : {f_new:7.0f} files/s")
            print(f"  files/s ratio (ours / 0.4.8): {f_new / f_old:.2f}")

            if args.big_gib > 0:
                shutil.rmtree(served / "large")
                shutil.rmtree(served / "small")
                big = write_files(served / "big", 1, int(args.big_gib * 1024**3))
                item = write_item(work / "big.json", peer, "big", big)
                theirs, ours = compare(f"one {args.big_gib:g} GiB asset", old, item, work, 1)
                print(f"  stac-asset 0.4.8: peak RSS {median(theirs, 'peak_rss_mb'):6.0f} MB")
                print(f"  this project    : peak RSS {median(ours, 'peak_rss_mb'):6.0f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
