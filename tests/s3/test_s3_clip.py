"""Windowed copies through S3: the same clip, read through /vsis3/ from moto."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pystac
import rasterio
from rasterio.windows import from_bounds

from stac_asset import S3Client, blocking
from tests.s3.conftest import PUBLIC
from tests.s3.moto_peer import MotoPeer

UTM = "EPSG:32632"
BBOX = (505000.0, 4980000.0, 506000.0, 4981000.0)  # 1 km2 of the big COG


def range_bytes(header: str) -> int:
    start, _, stop = header.removeprefix("bytes=").partition("-")
    return int(stop) - int(start) + 1


def test_clip_through_s3_reads_only_intersecting_tiles(
    moto: MotoPeer, unsigned_client: S3Client, big_cog: Path, tmp_path: Path
) -> None:
    asset = pystac.Asset(f"s3://{PUBLIC}/big/big.tif")
    out = blocking.clip_asset(
        "big", asset, tmp_path / "km2.tif", bbox=BBOX, bbox_crs=UTM, clients=[unsigned_client]
    )
    with rasterio.open(big_cog) as src, rasterio.open(tmp_path / "km2.tif") as clip:
        window = from_bounds(*BBOX, transform=src.transform)
        assert np.array_equal(clip.read(), src.read(window=window))
        cols = range(int(window.col_off) // 512, int(window.col_off + window.width - 1) // 512 + 1)
        rows = range(int(window.row_off) // 512, int(window.row_off + window.height - 1) // 512 + 1)
        tiles = sum(
            int(src.get_tag_item(f"BLOCK_SIZE_{c}_{r}", "TIFF", bidx=1)) for c in cols for r in rows
        )
    assert out.extra_fields["proj:shape"] == [100, 100]
    gets = moto.gets(f"/{PUBLIC}/big/big.tif")
    assert gets and all(entry["range"] for entry in gets)  # never the whole object
    fetched = sum(range_bytes(entry["range"]) for entry in gets)
    assert fetched <= 1.5 * tiles + 64 * 1024, (fetched, tiles)
