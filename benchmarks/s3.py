"""S3 download throughput and GDAL request counts against moto on loopback.

Starts moto in its own process (tests/s3/moto_server.py), uploads many small
objects and one large one, and prints how fast stac-asset downloads them
(the byte view: boto3 get_object streamed to disk), next to bare boto3 GETs
for the small ones (moto's own ceiling: one Python process serves them) and
boto3's TransferManager for the large one. Then counts the requests moto
sees for open + one interior 512x512 tile of a >= 20 MB COG over /vsis3/,
with stac-asset's GDAL options and with rasterio's defaults.
Run from the repository root: ``python3 benchmarks/s3.py``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import rasterio
from rasterio.windows import Window

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import stac_asset  # noqa: E402
from stac_asset import S3Client, blocking  # noqa: E402
from tests.cogs import write_cog  # noqa: E402
from tests.conftest import make_item  # noqa: E402
from tests.s3.moto_peer import MotoPeer  # noqa: E402

BUCKET = "bench"
SMALL_COUNT = 500
SMALL_SIZE = 10 * 1024
LARGE_SIZE = 256 * 1024 * 1024


def timed(label: str, nbytes: int, count: int, func: object) -> None:
    start = time.perf_counter()
    func()  # type: ignore[operator]
    elapsed = time.perf_counter() - start
    print(
        f"{label:>52}: {elapsed:6.2f} s, {nbytes / elapsed / 1e6:7.1f} MB/s, "
        f"{count / elapsed:7.1f} objects/s"
    )


def upload(peer: MotoPeer, root: Path) -> None:
    s3 = peer.boto3_client()
    s3.create_bucket(Bucket=BUCKET)
    small = os.urandom(SMALL_SIZE)

    def put(i: int) -> None:
        s3.put_object(Bucket=BUCKET, Key=f"small/{i:04d}.bin", Body=small, ACL="public-read")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(SMALL_COUNT)))
    large = root / "large.bin"
    with large.open("wb") as file:
        for _ in range(LARGE_SIZE // (16 * 1024 * 1024)):
            file.write(os.urandom(16 * 1024 * 1024))
    s3.upload_file(str(large), BUCKET, "large.bin", ExtraArgs={"ACL": "public-read"})
    cog = write_cog(root / "cog.tif", 3300, 3300, noise=True, blocksize=512)
    for name in ("ours.tif", "defaults.tif"):
        s3.upload_file(str(cog), BUCKET, f"cog/{name}", ExtraArgs={"ACL": "public-read"})
    print(f"COG: {cog.stat().st_size / 1e6:.1f} MB, 512x512 tiles")


def throughput(peer: MotoPeer, root: Path) -> None:
    client = S3Client(endpoint_url=peer.endpoint_url)
    item = make_item(
        "bench", {f"o{i:04d}": f"s3://{BUCKET}/small/{i:04d}.bin" for i in range(SMALL_COUNT)}
    )
    out = root / "out"
    timed(
        f"stac-asset, {SMALL_COUNT} x {SMALL_SIZE // 1024} KiB",
        SMALL_COUNT * SMALL_SIZE,
        SMALL_COUNT,
        lambda: blocking.download_item(item, out / "small", clients=[client]),
    )
    timed(
        f"stac-asset, 1 x {LARGE_SIZE // 2**20} MiB",
        LARGE_SIZE,
        1,
        lambda: blocking.download_file(
            f"s3://{BUCKET}/large.bin", out / "large.bin", clients=[client]
        ),
    )
    s3 = peer.boto3_client()

    def raw_gets() -> None:
        def get(i: int) -> None:
            s3.get_object(Bucket=BUCKET, Key=f"small/{i:04d}.bin")["Body"].read()

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(get, range(SMALL_COUNT)))

    timed(
        f"bare boto3 get_object x 16 threads, {SMALL_COUNT} x {SMALL_SIZE // 1024} KiB",
        SMALL_COUNT * SMALL_SIZE,
        SMALL_COUNT,
        raw_gets,
    )
    timed(
        f"boto3 download_file (multipart), 1 x {LARGE_SIZE // 2**20} MiB",
        LARGE_SIZE,
        1,
        lambda: s3.download_file(BUCKET, "large.bin", str(out / "large-boto3.bin")),
    )


def requests_per_read(peer: MotoPeer) -> None:
    window = Window(1536, 1536, 512, 512)
    endpoint = {
        "AWS_S3_ENDPOINT": f"127.0.0.1:{peer.port}",
        "AWS_HTTPS": "NO",
        "AWS_VIRTUAL_HOSTING": "FALSE",
        "AWS_REGION": "us-east-1",
        "AWS_NO_SIGN_REQUEST": "YES",
    }
    client = S3Client(endpoint_url=peer.endpoint_url)
    for label, name in (("stac-asset", "ours.tif"), ("rasterio defaults", "defaults.tif")):
        peer.reset()
        if label == "stac-asset":
            with stac_asset.open(f"s3://{BUCKET}/cog/{name}", client=client) as ds:
                ds.read(1, window=window)
        else:
            with rasterio.Env(**endpoint), rasterio.open(f"/vsis3/{BUCKET}/cog/{name}") as ds:
                ds.read(1, window=window)
        log = peer.log()
        print(f"{label:>20}: {len(log):2d} requests for open + one tile on /vsis3/")
        for entry in log:
            query = f"?{entry['query']}" if entry["query"] else ""
            print(
                f"{'':>22}{entry['method']} {entry['path']}{query} {entry['range'] or ''}"
                f" -> {entry['status']}"
            )


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="stac-asset-s3-bench-"))
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    try:
        with MotoPeer.start() as peer:
            upload(peer, root)
            throughput(peer, root)
            requests_per_read(peer)
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
