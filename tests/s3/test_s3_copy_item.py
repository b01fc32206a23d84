"""copy_item into S3: HTTP and S3 sources, layout, item JSON beside the assets."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import boto3
import pystac
import pytest

import stac_asset
from stac_asset import HttpClient, S3Client, blocking
from tests.conftest import make_item
from tests.peers.http_peer import HttpPeer
from tests.s3.conftest import PUBLIC
from tests.s3.moto_peer import REGION, MotoPeer

BUCKET = "copies"


@pytest.fixture
def store(moto: MotoPeer) -> S3Client:
    s3 = moto.boto3_client()
    if BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=BUCKET)
    return S3Client(boto3.Session(region_name=REGION, **moto.admin), endpoint_url=moto.endpoint_url)


def get(moto: MotoPeer, key: str) -> bytes:
    return moto.boto3_client().get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_http_and_s3_sources_into_s3(
    http: HttpPeer, moto: MotoPeer, store: S3Client, small_cogs: dict[str, Path]
) -> None:
    item = make_item(
        "MIXED", {"B02": http.url_for("s2/B02.tif"), "B03": f"s3://{PUBLIC}/s2/B03.tif"}
    )
    item.assets["B02"].extra_fields["file:checksum"] = (
        "1220" + hashlib.sha256(small_cogs["B02"].read_bytes()).hexdigest()
    )
    copied = blocking.copy_item(item, f"s3://{BUCKET}/run1/", clients=[store])
    assert get(moto, "run1/B02.tif") == small_cogs["B02"].read_bytes()
    assert get(moto, "run1/B03.tif") == small_cogs["B03"].read_bytes()
    written = json.loads(get(moto, "run1/MIXED.json"))
    assert written["assets"]["B02"]["href"] == "B02.tif"
    assert written["assets"]["B03"]["alternate"]["origin"]["href"] == f"s3://{PUBLIC}/s2/B03.tif"
    assert copied.get_self_href() == f"s3://{BUCKET}/run1/MIXED.json"
    assert copied.assets["B03"].href == f"s3://{BUCKET}/run1/B03.tif"
    assert copied.assets["B02"].href == f"s3://{BUCKET}/run1/B02.tif"
    # The S3 source was copied by the store itself: no GET of its bytes.
    assert not [r for r in moto.gets(f"s3://{PUBLIC}/s2/B03.tif") if r["method"] == "GET"]
    assert [r for r in moto.log() if r.get("copy_source")]


def test_rerun_skips_complete_objects(
    http: HttpPeer, moto: MotoPeer, store: S3Client, small_cogs: dict[str, Path]
) -> None:
    item = make_item("AGAIN", {"B04": http.url_for("s2/B04.tif")})
    blocking.copy_item(item, f"s3://{BUCKET}/run2", clients=[store])
    http.reset()
    blocking.copy_item(item, f"s3://{BUCKET}/run2", clients=[store])
    assert http.log() == []
    assert get(moto, "run2/B04.tif") == small_cogs["B04"].read_bytes()


def test_collection_layout_and_untrusted_names(
    http: HttpPeer, moto: MotoPeer, store: S3Client, small_cogs: dict[str, Path]
) -> None:
    one = make_item("one", {"B02": http.url_for("s2/B02.tif")})
    blocking.download_item_collection([one], f"s3://{BUCKET}/run3", clients=[store])
    assert get(moto, "run3/one/B02.tif") == small_cogs["B02"].read_bytes()
    collection = json.loads(get(moto, "run3/item-collection.json"))
    assert collection["features"] == [json.loads(get(moto, "run3/one/one.json"))]
    feature = pystac.ItemCollection.from_dict(collection).items[0]
    assert feature.assets["B02"].get_absolute_href() == f"s3://{BUCKET}/run3/one/B02.tif"
    evil = make_item("evil", {"../../escape": http.url_for("s2/B02.tif")})
    with pytest.raises(stac_asset.UnsafePathError):
        blocking.copy_item(evil, f"s3://{BUCKET}/run4", clients=[store], file_name_strategy="key")


def test_windowed_copies_stay_local(http: HttpPeer, store: S3Client) -> None:
    item = make_item("CLIP", {"B02": http.url_for("s2/B02.tif")})
    with pytest.raises(stac_asset.StacAssetError, match="local directories only"):
        blocking.copy_item(item, f"s3://{BUCKET}/x", clients=[store], bbox=(9, 45, 9.1, 45.1))


def test_async_copy_item(http: HttpPeer, moto: MotoPeer, store: S3Client) -> None:
    import asyncio

    item = make_item("ASYNC", {"B02": http.url_for("s2/B02.tif")})
    asyncio.run(stac_asset.copy_item(item, f"s3://{BUCKET}/run5/", clients=[store, HttpClient()]))
    assert json.loads(get(moto, "run5/ASYNC.json"))["id"] == "ASYNC"
