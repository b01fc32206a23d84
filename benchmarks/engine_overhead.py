"""The engine's own cost per file, without HTTP: many small local files copied by download_item.

Writes N files of 10 KiB into a temporary directory, makes an item of them,
and downloads it R times (each into a fresh directory; outputs are deleted
only at the end, since creating files just after deleting many can be slow
on some file systems). Prints the median wall time, files/s, and the
process's user and system CPU per 1,000 files. Run from the repository root:
``python3 benchmarks/engine_overhead.py [--files N] [--runs R] [--threads T]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stac_asset import blocking  # noqa: E402
from tests.conftest import make_item  # noqa: E402


def main() -> None:
    """Copy the files R times and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="max_concurrent_downloads")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stac-asset-engine-"))
    try:
        source = work / "source"
        source.mkdir()
        hrefs = {}
        for index in range(args.files):
            path = source / f"small-{index:05d}.bin"
            path.write_bytes(os.urandom(10 * 1024))
            hrefs[path.name] = str(path)
        item = make_item("engine", hrefs)
        options = {} if args.threads is None else {"max_concurrent_downloads": args.threads}
        blocking.download_item(item, work / "warm", **options)
        walls, users, systems = [], [], []
        for run in range(args.runs):
            before = resource.getrusage(resource.RUSAGE_SELF)
            start = time.perf_counter()
            blocking.download_item(item, work / f"out-{run}", **options)
            walls.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_SELF)
            users.append(after.ru_utime - before.ru_utime)
            systems.append(after.ru_stime - before.ru_stime)
        per_thousand = 1000 / args.files
        wall = statistics.median(walls)
        print(f"{args.files} local files of 10 KiB, {args.runs} runs (medians):")
        print(f"  wall {wall:.3f} s, {args.files / wall:.0f} files/s")
        print(
            f"  CPU per 1,000 files: user {statistics.median(users) * per_thousand:.3f} s, "
            f"system {statistics.median(systems) * per_thousand:.3f} s"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
