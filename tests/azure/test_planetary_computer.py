"""PlanetaryComputerClient against Azurite and a local token API that mints real SAS tokens."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import pytest
import rasterio
from rasterio.windows import Window

import stac_asset
import stac_asset.clients.defaults
from stac_asset import Access, AzureClient, PlanetaryComputerClient, RetryPolicy, blocking
from tests.azure.conftest import PC, PUBLIC, Blobs
from tests.azure.peers import TokenApi
from tests.azure.token_api import ACCOUNT
from tests.conftest import make_item

BANDS = ("B02", "B03", "B04")
SUBSCRIPTION_KEY = "test-subscription-key-0123456789"
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)


def pixels(path: Path | str, window: Window | None = None) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read(1, window=window)


def pc_item(blobs: Blobs, item_id: str = "S2-PC", *, from_api: bool = True) -> pystac.Item:
    """An item whose assets sit in the ``pcdata`` container, linked to the PC STAC API."""
    item = make_item(item_id, {band: blobs.url(PC, f"s2/{band}.tif") for band in BANDS})
    if from_api:
        item.add_link(
            pystac.Link(
                "collection",
                "https://planetarycomputer.microsoft.com/api/stac/v1/collections/sentinel-2-l2a",
            )
        )
    return item


def client_for(blobs: Blobs, token_api: TokenApi, **kwargs: Any) -> PlanetaryComputerClient:
    return PlanetaryComputerClient(sas_url=token_api.sas_url, endpoint_url=blobs.endpoint, **kwargs)


def tokens_of(*accesses: Access) -> set[str]:
    return {a.url.split("?", 1)[1] for a in accesses if a.url and "?" in a.url}


def test_matches_every_blob_href_and_routes_known_accounts(blobs: Blobs) -> None:
    client = PlanetaryComputerClient(endpoint_url=blobs.endpoint)
    assert client.matches("https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2/x.tif")
    assert client.matches("https://anyaccount.blob.core.windows.net/c/x.tif")
    assert client.matches(blobs.url(PC, "s2/B02.tif"))
    assert not client.matches("az://c/x.tif")
    assert not client.matches("https://example.com/c/x.tif")
    # Default routing: AzureClient takes the href, and hands over PC accounts and PC items.
    azure = AzureClient()
    location = azure.locate("https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2/x.tif")
    assert location is not None and client.serves(location, None)
    other = azure.locate("https://someoneelse.blob.core.windows.net/c/x.tif")
    assert other is not None and not client.serves(other, None)
    assert client.serves(other, pc_item(blobs).assets["B02"])
    thumbnails = azure.locate("https://ai4edatasetspublicassets.blob.core.windows.net/t/x.png")
    assert thumbnails is not None and not client.serves(thumbnails, pc_item(blobs).assets["B02"])


def test_documented_usage_downloads_a_pc_item(
    blobs: Blobs,
    token_api: TokenApi,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("PC_SDK_SAS_URL", token_api.sas_url)
    monkeypatch.setenv("PC_SDK_SUBSCRIPTION_KEY", SUBSCRIPTION_KEY)
    monkeypatch.setenv("STAC_ASSET_PC_ENDPOINT", blobs.endpoint)
    item = pc_item(blobs)

    async def run() -> tuple[pystac.Item, Access]:
        async with await PlanetaryComputerClient.default() as client:
            downloaded = await client.download_item(item, str(tmp_path))
            return downloaded, client.resolve(item.assets["B04"].href)

    with caplog.at_level(logging.DEBUG):
        downloaded, access = asyncio.run(run())

    for band in BANDS:
        assert (tmp_path / f"{band}.tif").read_bytes() == blobs.sources[
            f"s2/{band}.tif"
        ].read_bytes()
    log = token_api.log()
    assert [entry["path"] for entry in log] == [f"/api/sas/v1/token/{ACCOUNT}/{PC}"]
    assert log[0]["headers"]["Ocp-Apim-Subscription-Key"] == SUBSCRIPTION_KEY
    written = (tmp_path / "S2-PC.json").read_text()
    origin = json.loads(written)["assets"]["B04"]["alternate"]["origin"]["href"]
    assert origin == blobs.url(PC, "s2/B04.tif")
    (token,) = tokens_of(access)
    signature = token.split("sig=", 1)[1]
    for text in (written, caplog.text, repr(access), str(access), repr(downloaded)):
        for secret in (token, signature, SUBSCRIPTION_KEY):
            assert secret not in text


def test_open_pc_item_with_no_client_configured(
    blobs: Blobs, token_api: TokenApi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Only where the token API and the blob service are: the routing is by the item's links.
    monkeypatch.setenv("PC_SDK_SAS_URL", token_api.sas_url)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", f"BlobEndpoint={blobs.endpoint};")
    item = pc_item(blobs)
    access = stac_asset.resolve(item, "B04")
    assert access.client == "planetary-computer"
    assert access.vsi_path.startswith("/vsicurl?pc_url_signing=yes&pc_collection=")
    local = blocking.download_item(item, tmp_path)
    with stac_asset.open(item, "B04") as ds:
        remote = ds.read(1)
    assert np.array_equal(remote, pixels(local.assets["B04"].get_absolute_href() or ""))
    assert len(token_api.log()) >= 1

    # The same blobs in an item that is not the Planetary Computer's are read anonymously.
    plain = pc_item(blobs, "PLAIN", from_api=False)
    assert stac_asset.resolve(plain, "B04").client == "azure"
    with pytest.raises(stac_asset.DownloadError, match="is not public"):
        blocking.download_item(plain, tmp_path / "plain")
    # ...unless the account is declared the Planetary Computer's.
    monkeypatch.setenv("STAC_ASSET_PC_ACCOUNTS", ACCOUNT)
    monkeypatch.setattr(stac_asset.clients.defaults, "_defaults", {})
    assert stac_asset.resolve(plain, "B04").client == "planetary-computer"


def test_open_equals_download(blobs: Blobs, token_api: TokenApi, tmp_path: Path) -> None:
    client = client_for(blobs, token_api)
    href = blobs.url(PC, "big/big.tif")
    blocking.download_file(href, tmp_path / "big.tif", clients=[client])
    window = Window(1536, 1536, 512, 512)
    mark = blobs.azurite.mark()
    with stac_asset.open(href, clients=[client]) as ds:
        tile = ds.read(1, window=window)
    requests = blobs.azurite.requests_since(mark)
    assert 1 <= len(requests) <= 3, requests
    assert np.array_equal(tile, pixels(tmp_path / "big.tif", window))


def test_64_concurrent_resolves_fetch_one_token(blobs: Blobs, token_api: TokenApi) -> None:
    token_api.configure(latency_ms=300)
    client = client_for(blobs, token_api)
    names = [f"s2/{band}.tif" for band in BANDS] + ["big/big.tif"]
    barrier = threading.Barrier(64)
    accesses: list[Access] = []
    errors: list[BaseException] = []

    def resolve(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            accesses.append(client.resolve(blobs.url(PC, names[index % len(names)])))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=resolve, args=(i,)) for i in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(accesses) == 64
    assert len(token_api.log()) == 1
    assert len(tokens_of(*accesses)) == 1
    assert len({a.expires_at for a in accesses}) == 1


def test_long_job_renews_short_lived_tokens(
    blobs: Blobs, token_api: TokenApi, tmp_path: Path
) -> None:
    lifetime = 2.0
    token_api.settings(lifetime=lifetime)
    client = client_for(blobs, token_api)
    item = pc_item(blobs)
    finished: list[str] = []

    def progress(message: stac_asset.Message) -> None:
        if isinstance(message, stac_asset.FinishAssetDownload):
            finished.append(message.key)
            if len(finished) < len(BANDS):
                time.sleep(lifetime + 0.2)  # the token of this asset is dead when the next starts

    mark = blobs.azurite.mark()
    blocking.download_item(
        item, tmp_path, clients=[client], messages=progress, max_concurrent_downloads=1
    )
    assert sorted(finished) == list(BANDS)
    # Renewed before expiry, not after a refusal.
    assert [r["status"] for r in blobs.azurite.requests_since(mark)] == ["200"] * len(BANDS)
    for band in BANDS:
        assert (tmp_path / f"{band}.tif").read_bytes() == blobs.sources[
            f"s2/{band}.tif"
        ].read_bytes()
    # One token per asset: each was fetched when the previous one was about to expire.
    assert len(token_api.log()) == len(BANDS)


@pytest.mark.parametrize("failure", ["tampered", "expired early"])
def test_refused_token_is_replaced_once(
    blobs: Blobs, token_api: TokenApi, tmp_path: Path, failure: str
) -> None:
    client = client_for(blobs, token_api)
    if failure == "tampered":
        token_api.settings(tamper_next=1)
    else:
        # The SAS dies after 2 s while msft:expiry says an hour (revoked, or clock skew).
        token_api.settings(lifetime=2, claimed_lifetime=3600)
        blocking.download_file(blobs.url(PC, "s2/B02.tif"), tmp_path / "B02.tif", clients=[client])
        time.sleep(2.2)
    mark = blobs.azurite.mark()
    blocking.download_file(blobs.url(PC, "s2/B03.tif"), tmp_path / "B03.tif", clients=[client])
    assert (tmp_path / "B03.tif").read_bytes() == blobs.sources["s2/B03.tif"].read_bytes()
    statuses = [r["status"] for r in blobs.azurite.requests_since(mark)]
    assert statuses == ["403", "200"]
    assert len(token_api.log()) == 2


def test_token_refused_twice_fails_without_showing_it(
    blobs: Blobs, token_api: TokenApi, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(blobs, token_api)
    token_api.settings(tamper_next=2)
    href = blobs.url(PC, "s2/B02.tif")
    (first,) = tokens_of(client.resolve(href))
    with caplog.at_level(logging.DEBUG), pytest.raises(stac_asset.DownloadError) as error:
        blocking.download_file(href, tmp_path / "B02.tif", clients=[client])
    assert isinstance(error.value.failures[0].error, stac_asset.AccessDeniedError)
    message = str(error.value)
    assert "Planetary Computer SAS token for devstoreaccount1/pcdata was refused" in message
    assert href in message
    for text in (message, repr(error.value), caplog.text):
        assert first not in text and "sig=" not in text
    assert len(token_api.log()) == 2
    assert not (tmp_path / "B02.tif").exists()


# GDAL keeps its own tokens per account/container for the whole process: the next
# two tests use containers of their own, so no token of an earlier test is reused.


def test_open_dataset_outlives_its_token(blobs: Blobs, token_api: TokenApi) -> None:
    blobs.add_container("pc-long-read", ["big/big.tif"])
    token_api.settings(lifetime=2)
    client = client_for(blobs, token_api)
    access = client.resolve(blobs.url("pc-long-read", "big/big.tif"))
    big = blobs.sources["big/big.tif"]
    first, second = Window(1536, 1536, 512, 512), Window(2560, 512, 512, 512)
    mark = blobs.azurite.mark()
    with stac_asset.open(access) as ds:
        assert np.array_equal(ds.read(1, window=first), pixels(big, first))
        time.sleep(2.5)  # every token fetched so far has expired
        assert np.array_equal(ds.read(1, window=second), pixels(big, second))
    assert all(r["status"] in ("200", "206") for r in blobs.azurite.requests_since(mark))
    assert len(token_api.log()) >= 2


def test_gdal_does_not_serve_a_cached_403_after_a_token_refresh(
    blobs: Blobs, token_api: TokenApi
) -> None:
    blobs.add_container("pc-refused", ["s2/B04.tif"])
    # Shorter than GDAL's 60 s margin, so GDAL fetches a token before each request.
    token_api.settings(lifetime=30)
    client = client_for(blobs, token_api)
    access = client.resolve(blobs.url("pc-refused", "s2/B04.tif"))
    token_api.settings(lifetime=30, tamper_next=1)
    with pytest.raises(stac_asset.AccessError, match="GDAL could not open"):
        stac_asset.open(access).__enter__()
    with stac_asset.open(access) as ds:
        assert np.array_equal(ds.read(1), pixels(blobs.sources["s2/B04.tif"]))


def test_token_api_down_is_a_clear_error(blobs: Blobs, token_api: TokenApi, tmp_path: Path) -> None:
    token_api.configure(error_rate=1.0, error_status=503, latency_ms=100)
    client = client_for(blobs, token_api, retry=FAST_RETRY)
    href = blobs.url(PC, "s2/B02.tif")
    errors: list[BaseException] = []

    def resolve() -> None:
        try:
            client.resolve(href)
        except BaseException as error:  # noqa: BLE001 - checked below
            errors.append(error)

    threads = [threading.Thread(target=resolve) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 16
    message = str(errors[0])
    assert isinstance(errors[0], stac_asset.AccessError)
    assert f"account '{ACCOUNT}', container '{PC}'" in message
    assert "HTTP 503" in message and token_api.sas_url in message and href in message
    # Retried as the policy says, and shared by the threads that waited for it.
    assert len(token_api.log()) <= 2 * FAST_RETRY.max_attempts

    # The failure is remembered briefly: the next asset does not ask the endpoint again.
    token_api.reset()
    with pytest.raises(stac_asset.TransientError, match="HTTP 503"):
        client.resolve(href)
    assert token_api.log() == []

    client = client_for(blobs, token_api, retry=FAST_RETRY)
    token_api.configure(error_rate=1.0, error_status=403)
    with pytest.raises(stac_asset.AccessDeniedError, match="HTTP 403"):
        client.resolve(href)
    token_api.reset()
    with pytest.raises(stac_asset.NotFoundError, match="unknown storage account|HTTP 404"):
        client.resolve("https://notpc.blob.core.windows.net/c/x.tif")
    client = client_for(blobs, token_api, retry=FAST_RETRY)
    with pytest.raises(stac_asset.DownloadError, match=f"container '{PC}'"):
        token_api.configure(error_rate=1.0, error_status=500)
        blocking.download_item(pc_item(blobs), tmp_path, clients=[client])


def test_public_and_presigned_hrefs_need_no_token(blobs: Blobs, token_api: TokenApi) -> None:
    client = client_for(blobs, token_api)
    sas = blobs.container_sas(PUBLIC)
    presigned = f"{blobs.url(PUBLIC, 's2/B02.tif')}?{sas}"
    access = client.resolve(presigned)
    assert access.gdal_options["AZURE_STORAGE_SAS_TOKEN"] == sas
    assert blocking.read_href(presigned, clients=[client]) == (
        blobs.sources["s2/B02.tif"].read_bytes()
    )
    assert sas not in repr(access)
    assert token_api.log() == []
