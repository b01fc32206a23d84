"""Copies into object stores: HTTP -> S3 (moto) and HTTP -> Azure Blob (Azurite), on loopback.

Starts the HTTP peer, moto and Azurite in their own processes, and copies
through the engine (``Fetcher.copy``: a source client streaming into the
store's writer, no local copy) one large object and many small ones. Prints
MB/s and the peak resident memory of each run (VmHWM, reset before each run),
next to a copy of the same bytes to the local disk, boto3's own upload of the
local file (moto's ceiling), and, for S3, server-side copies inside moto.
Run from the repository root: ``python3 benchmarks/copy_to_store.py``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from azure.storage.blob import BlobServiceClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stac_asset import AzureClient, S3Client  # noqa: E402
from stac_asset.resolver import Resolver  # noqa: E402
from stac_asset.transfer import Fetcher, Transfer  # noqa: E402
from tests.azure.peers import Azurite  # noqa: E402
from tests.azure.token_api import ACCOUNT_KEY  # noqa: E402
from tests.peers.http_peer import HttpPeer  # noqa: E402
from tests.s3.moto_peer import MotoPeer  # noqa: E402

MiB = 1024 * 1024
LARGE_SIZE = 512 * MiB
SMALL_COUNT = 500
SMALL_SIZE = 10 * 1024
THREADS = 16
BUCKET = "bench"
CONTAINER = "bench"


def status(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in bytes."""
    with open("/proc/self/status") as lines:
        for line in lines:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    return 0


def run(label: str, nbytes: int, count: int, func: Callable[[], None]) -> None:
    # Writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS.
    Path("/proc/self/clear_refs").write_text("5")
    before = status("VmRSS")
    start = time.perf_counter()
    func()
    elapsed = time.perf_counter() - start
    peak = status("VmHWM")
    print(
        f"{label:>44}: {elapsed:6.2f} s, {nbytes / elapsed / 1e6:6.1f} MB/s, "
        f"{count / elapsed:6.1f} obj/s, peak RSS {peak / MiB:5.0f} MiB "
        f"(+{(peak - before) / MiB:4.0f} over the {before / MiB:.0f} MiB before)"
    )


def write_sources(root: Path) -> None:
    large = root / "large.bin"
    with large.open("wb") as file:
        for _ in range(LARGE_SIZE // (16 * MiB)):
            file.write(os.urandom(16 * MiB))
    small = os.urandom(SMALL_SIZE)
    (root / "small").mkdir()
    for i in range(SMALL_COUNT):
        (root / "small" / f"{i:04d}.bin").write_bytes(small)


def copy_many(fetcher: Fetcher, http: HttpPeer, target: Callable[[int], str]) -> None:
    def one(i: int) -> None:
        fetcher.copy(Transfer(http.url_for(f"small/{i:04d}.bin")), target(i))

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(one, range(SMALL_COUNT)))


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="copy-to-store-"))
    root = work / "http"
    root.mkdir()
    write_sources(root)
    print(
        f"one {LARGE_SIZE // MiB} MiB object; {SMALL_COUNT} x {SMALL_SIZE // 1024} KiB objects "
        f"({THREADS} threads); 8 MiB parts/blocks"
    )
    try:
        with HttpPeer.start(root) as http, MotoPeer.start() as moto, Azurite() as azurite:
            moto.boto3_client().create_bucket(Bucket=BUCKET)
            service = BlobServiceClient.from_connection_string(azurite.connection_string)
            service.create_container(CONTAINER)
            session = boto3.Session(region_name="us-east-1", **moto.admin)
            s3 = S3Client(session, endpoint_url=moto.endpoint_url)
            azure = AzureClient(endpoint_url=azurite.endpoint, account_key=ACCOUNT_KEY)
            fetcher = Fetcher(Resolver([s3, azure]))
            large = Transfer(http.url_for("large.bin"), size=LARGE_SIZE)
            small_bytes = SMALL_COUNT * SMALL_SIZE

            run(
                "HTTP -> local disk, large",
                LARGE_SIZE,
                1,
                lambda: fetcher.copy(large, str(work / "out" / "large.bin")),
            )
            run(
                "HTTP -> S3, large (multipart)",
                LARGE_SIZE,
                1,
                lambda: fetcher.copy(large, f"s3://{BUCKET}/large.bin"),
            )
            run(
                "S3 -> S3, large (server-side copy)",
                LARGE_SIZE,
                1,
                lambda: fetcher.copy(Transfer(f"s3://{BUCKET}/large.bin"), f"s3://{BUCKET}/c.bin"),
            )
            client = moto.boto3_client()
            run(
                "boto3 upload_file (local file, reference)",
                LARGE_SIZE,
                1,
                lambda: client.upload_file(str(root / "large.bin"), BUCKET, "ref.bin"),
            )
            run(
                "boto3 copy_object (one request, reference)",
                LARGE_SIZE,
                1,
                lambda: client.copy_object(
                    CopySource={"Bucket": BUCKET, "Key": "large.bin"}, Bucket=BUCKET, Key="d.bin"
                ),
            )
            run(
                "HTTP -> Azure, large (blocks)",
                LARGE_SIZE,
                1,
                lambda: fetcher.copy(large, f"az://{CONTAINER}/large.bin"),
            )
            run(
                "HTTP -> local disk, small",
                small_bytes,
                SMALL_COUNT,
                lambda: copy_many(fetcher, http, lambda i: str(work / "out" / f"{i:04d}.bin")),
            )
            run(
                "HTTP -> S3, small",
                small_bytes,
                SMALL_COUNT,
                lambda: copy_many(fetcher, http, lambda i: f"s3://{BUCKET}/small/{i:04d}.bin"),
            )
            run(
                "HTTP -> Azure, small",
                small_bytes,
                SMALL_COUNT,
                lambda: copy_many(fetcher, http, lambda i: f"az://{CONTAINER}/small/{i:04d}.bin"),
            )
            s3.close()
            azure.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
