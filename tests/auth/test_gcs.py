"""GCS: ``gs://`` and storage.googleapis.com hrefs, anonymous and with a service account."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

import stac_asset
from stac_asset import GcsClient, blocking
from tests.auth.conftest import BANDS, Gcs
from tests.conftest import make_item


def same_pixels(vsi_item: object, band: str, client: GcsClient, expected: Path) -> None:
    with stac_asset.open(vsi_item, band, clients=[client]) as ds:  # type: ignore[arg-type]
        remote = ds.read()
    with rasterio.open(expected) as ds:
        assert np.array_equal(remote, ds.read())


def test_anonymous_public_bucket_in_both_views(gcs: Gcs, auth_root: Path, tmp_path: Path) -> None:
    client = GcsClient(endpoint=gcs.peer.url, anonymous=True)
    item = make_item("GCS", {b: f"gs://public/{b}.tif" for b in BANDS})
    access = stac_asset.resolve(item, "B04", clients=[client])
    assert access.client == "gcs" and access.vsi_path == "/vsigs/public/B04.tif"
    assert access.gdal_options["GS_NO_SIGN_REQUEST"] == "YES"
    assert access.gdal_options["CPL_GS_ENDPOINT"] == f"{gcs.peer.url}/"
    assert access.url == f"{gcs.peer.url}/public/B04.tif" and not access.headers

    blocking.download_item(item, tmp_path, clients=[client])
    for band in BANDS:
        expected = auth_root / "public" / f"{band}.tif"
        assert (tmp_path / f"{band}.tif").read_bytes() == expected.read_bytes()
        same_pixels(item, band, client, expected)
    log = gcs.peer.log()
    assert {r["headers"].get("User-Agent", "")[:4] for r in log} == {"GDAL", "pyth"}
    assert all("Authorization" not in r["headers"] for r in log)

    # The https form of the same object resolves to the same place.
    https = stac_asset.resolve("https://storage.googleapis.com/public/B02.tif", clients=[client])
    assert (
        https.vsi_path == "/vsigs/public/B02.tif" and https.url == f"{gcs.peer.url}/public/B02.tif"
    )


def test_private_bucket_refuses_anonymous_reads(gcs: Gcs, tmp_path: Path) -> None:
    client = GcsClient(endpoint=gcs.peer.url, anonymous=True)
    with pytest.raises(stac_asset.AccessDeniedError, match=r"gcs: gs://private/B02\.tif: HTTP 403"):
        blocking.read_href("gs://private/B02.tif", clients=[client])
    with pytest.raises(stac_asset.DownloadError, match="HTTP 403"):
        blocking.download_file("gs://private/B02.tif", tmp_path / "B02.tif", clients=[client])
    assert not list(tmp_path.iterdir())


def test_service_account_token_in_both_views(
    gcs: Gcs, auth_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("google.auth")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(gcs.credentials_file))
    monkeypatch.delenv("GS_NO_SIGN_REQUEST", raising=False)
    client = GcsClient(endpoint=gcs.peer.url)
    assert not client.anonymous
    item = make_item("GCS", {b: f"gs://private/{b}.tif" for b in BANDS})
    blocking.download_item(item, tmp_path, clients=[client])
    for band in BANDS:
        expected = auth_root / "private" / f"{band}.tif"
        assert (tmp_path / f"{band}.tif").read_bytes() == expected.read_bytes()
        same_pixels(item, band, client, expected)
    assert gcs.peer.logins() == 1  # one token for three downloads and three opens
    reads = [r for r in gcs.peer.log() if r["path"].startswith("/private/")]
    assert {r["status"] for r in reads} <= {200, 206}
    assert {r["headers"].get("User-Agent", "")[:4] for r in reads} == {"GDAL", "pyth"}
    token = reads[0]["headers"]["Authorization"].removeprefix("Bearer ")
    access = stac_asset.resolve(item, "B02", clients=[client])
    assert access.expires_at is not None and token not in repr(access)
    assert "BEGIN PRIVATE KEY" not in repr(client)


def test_matches_gcs_hrefs_only() -> None:
    client = GcsClient(anonymous=True)
    assert client.matches("gs://bucket/a/b.tif")
    assert client.matches("https://storage.googleapis.com/bucket/a/b.tif")
    assert client.matches("https://bucket.storage.googleapis.com/a/b.tif")
    assert not client.matches("https://example.com/bucket/a.tif")
    assert not client.matches("s3://bucket/a.tif")
    access = client.resolve("https://bucket.storage.googleapis.com/a%20b/c.tif")
    assert access.vsi_path == "/vsigs/bucket/a b/c.tif"
    assert access.url == "https://storage.googleapis.com/bucket/a%20b/c.tif"
    assert "CPL_GS_ENDPOINT" not in access.gdal_options
