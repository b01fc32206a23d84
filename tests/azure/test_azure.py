"""AzureClient against Azurite: anonymous, SAS and account key, through both views."""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

import stac_asset
from stac_asset import AzureClient, blocking
from stac_asset.clients.azure_blob import sign_blob_sas
from stac_asset.clients.azure_location import BlobLocation
from tests.azure.conftest import PRIVATE, PUBLIC, Blobs
from tests.azure.token_api import ACCOUNT, ACCOUNT_KEY
from tests.conftest import make_item

WRONG_KEY = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVoxMjM0NTY3ODkwYWJjZGVmZ2hpams="


def pixels(path: Path | str) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read()


def test_matches_azure_hrefs(blobs: Blobs) -> None:
    client = AzureClient(endpoint_url=blobs.endpoint)
    assert client.matches("https://acct.blob.core.windows.net/c/b.tif")
    assert client.matches("https://acct.blob.core.usgovcloudapi.net/c/b.tif")
    assert client.matches("az://container/blob.tif")
    assert client.matches(blobs.url(PUBLIC, "s2/B02.tif"))
    assert not client.matches("https://example.com/c/b.tif")
    assert not client.matches("https://acct.dfs.core.windows.net/c/b.tif")
    assert not AzureClient().matches(blobs.url(PUBLIC, "s2/B02.tif"))
    location = client.locate("https://acct.blob.core.windows.net/c/dir/a%20b.tif")
    assert location == BlobLocation(
        "acct", "https://acct.blob.core.windows.net", "c", "dir/a b.tif"
    )
    assert location.url == "https://acct.blob.core.windows.net/c/dir/a%20b.tif"
    with pytest.raises(stac_asset.ResolveError, match="no container and blob"):
        client.resolve("https://acct.blob.core.windows.net/onlycontainer")
    with pytest.raises(stac_asset.ResolveError, match="AZURE_STORAGE_ACCOUNT"):
        AzureClient(anonymous=True).resolve("az://c/b.tif")


def test_public_container_anonymous(blobs: Blobs, tmp_path: Path) -> None:
    href = blobs.url(PUBLIC, "s2/B02.tif")
    client = AzureClient(endpoint_url=blobs.endpoint, entra_id=False)  # never signs in
    access = client.resolve(href)
    assert access.vsi_path == f"/vsiaz/{PUBLIC}/s2/B02.tif"
    assert access.gdal_options["AZURE_NO_SIGN_REQUEST"] == "YES"
    assert access.gdal_options["CPL_AZURE_ENDPOINT"] == blobs.endpoint
    assert access.gdal_options["CPL_AZURE_VM_API_ROOT_URL"] == "disabled"
    assert access.url == href and access.expires_at is None
    blocking.download_file(href, tmp_path / "B02.tif", clients=[client])
    assert (tmp_path / "B02.tif").read_bytes() == blobs.sources["s2/B02.tif"].read_bytes()
    with stac_asset.open(access) as ds:
        assert np.array_equal(ds.read(), pixels(blobs.sources["s2/B02.tif"]))

    private = blobs.url(PRIVATE, "s2/B02.tif")
    with pytest.raises(stac_asset.AccessDeniedError, match="is not public") as denied:
        blocking.read_href(private, clients=[client])
    assert f"azure: {private}" in str(denied.value)
    with pytest.raises(stac_asset.AccessError, match="GDAL could not open"):
        stac_asset.open(private, clients=[client]).__enter__()


def test_sas_token(blobs: Blobs, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sas = blobs.container_sas(PRIVATE)
    client = AzureClient(endpoint_url=blobs.endpoint, sas_token="?" + sas)
    item = make_item("SAS", {"B03": blobs.url(PRIVATE, "s2/B03.tif")})
    with caplog.at_level(logging.DEBUG):
        local = blocking.download_item(item, tmp_path, clients=[client])
        with stac_asset.open(item, "B03", clients=[client]) as ds:
            remote = ds.read()
    assert np.array_equal(remote, pixels(tmp_path / "B03.tif"))
    access = client.resolve(item.assets["B03"].href)
    assert access.gdal_options["AZURE_STORAGE_SAS_TOKEN"] == sas
    assert access.expires_at is not None
    written = (tmp_path / "SAS.json").read_text()
    assert json.loads(written)["assets"]["B03"]["alternate"]["origin"]["href"] == (
        item.assets["B03"].href
    )
    signature = dict(p.split("=", 1) for p in sas.split("&"))["sig"]
    for text in (written, caplog.text, repr(access), repr(client), repr(local)):
        assert sas not in text and signature not in text

    # A tampered signature and a SAS for another container are refused, and said so.
    tampered = sas.replace("sig=", "sig=AAAA")
    for wrong in (tampered, blobs.container_sas(PUBLIC)):
        bad = AzureClient(endpoint_url=blobs.endpoint, sas_token=wrong)
        with pytest.raises(stac_asset.AccessDeniedError, match="SAS token was refused") as error:
            blocking.read_href(blobs.url(PRIVATE, "s2/B03.tif"), clients=[bad])
        assert wrong not in str(error.value)


def test_expired_sas_is_named(blobs: Blobs) -> None:
    expired = blobs.container_sas(PRIVATE, lifetime=-60)
    client = AzureClient(endpoint_url=blobs.endpoint, sas_token=expired)
    with pytest.raises(stac_asset.AccessDeniedError, match="SAS token expired at"):
        blocking.read_href(blobs.url(PRIVATE, "s2/B02.tif"), clients=[client])


def test_account_key(blobs: Blobs, tmp_path: Path) -> None:
    client = AzureClient(endpoint_url=blobs.endpoint, account_key=ACCOUNT_KEY)
    href = blobs.url(PRIVATE, "s2/B04.tif")
    access = client.resolve(href)
    # The byte view is a blob-scoped, read-only SAS signed with the key; GDAL signs itself.
    assert access.url is not None and "sr=b" in access.url and "sp=r" in access.url
    assert access.gdal_options["AZURE_STORAGE_ACCESS_KEY"] == ACCOUNT_KEY
    assert access.expires_at is not None
    blocking.download_file(href, tmp_path / "B04.tif", clients=[client])
    assert (tmp_path / "B04.tif").read_bytes() == blobs.sources["s2/B04.tif"].read_bytes()
    with stac_asset.open(href, clients=[client]) as ds:
        assert np.array_equal(ds.read(), pixels(tmp_path / "B04.tif"))
    for text in (repr(access), repr(client), str(pickle.loads(pickle.dumps(access)))):
        assert ACCOUNT_KEY not in text and access.url not in text

    wrong = AzureClient(endpoint_url=blobs.endpoint, account_key=WRONG_KEY)
    with pytest.raises(stac_asset.AccessDeniedError, match="key of account 'devstoreaccount1'"):
        blocking.read_href(href, clients=[wrong])
    with pytest.raises(stac_asset.AccessError, match="GDAL could not open"):
        stac_asset.open(href, clients=[wrong]).__enter__()


def test_key_signed_sas_covers_one_blob(blobs: Blobs) -> None:
    client = AzureClient(endpoint_url=blobs.endpoint, account_key=ACCOUNT_KEY)
    access = client.resolve(blobs.url(PRIVATE, "s2/B04.tif"))
    assert access.url is not None
    sas = access.url.split("?", 1)[1]
    other = AzureClient(endpoint_url=blobs.endpoint, sas_token=sas)
    assert blocking.read_href(blobs.url(PRIVATE, "s2/B04.tif"), clients=[other])
    with pytest.raises(stac_asset.AccessDeniedError):
        blocking.read_href(blobs.url(PRIVATE, "s2/B02.tif"), clients=[other])
    location = client.locate(blobs.url(PRIVATE, "s2/B04.tif"))
    assert location is not None
    # Signing is deterministic: same inputs, same signature; another key, another one.
    moment = access.expires_at
    assert moment is not None
    assert sign_blob_sas(location, ACCOUNT_KEY, moment, moment) == sign_blob_sas(
        location, ACCOUNT_KEY, moment, moment
    )
    assert sign_blob_sas(location, ACCOUNT_KEY, moment, moment) != sign_blob_sas(
        location, WRONG_KEY, moment, moment
    )


def test_credentials_from_environment(
    blobs: Blobs, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    href = blobs.url(PRIVATE, "s2/B02.tif")
    expected = blobs.sources["s2/B02.tif"].read_bytes()

    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", blobs.azurite.connection_string)
    assert stac_asset.resolve(href).client == "azure"
    assert blocking.read_href(href) == expected
    assert blocking.read_href(f"az://{PRIVATE}/s2/B02.tif") == expected
    with stac_asset.open(f"az://{PRIVATE}/s2/B02.tif") as ds:
        assert np.array_equal(ds.read(), pixels(blobs.sources["s2/B02.tif"]))

    sas = blobs.container_sas(PRIVATE)
    monkeypatch.setenv(
        "AZURE_STORAGE_CONNECTION_STRING",
        f"BlobEndpoint={blobs.endpoint};SharedAccessSignature={sas}",
    )
    client = AzureClient()
    assert client.account == ACCOUNT
    assert client.resolve(href).gdal_options["AZURE_STORAGE_SAS_TOKEN"] == sas
    assert blocking.read_href(href, clients=[client]) == expected

    # Separate variables, with the endpoint given to the client.
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING")
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT", ACCOUNT)
    monkeypatch.setenv("AZURE_STORAGE_ACCESS_KEY", ACCOUNT_KEY)
    client = AzureClient(endpoint_url=blobs.endpoint)
    assert blocking.read_href(href, clients=[client]) == expected
    # Credentials of the environment are ignored when asked to.
    with pytest.raises(stac_asset.AccessDeniedError):
        blocking.read_href(href, clients=[AzureClient(endpoint_url=blobs.endpoint, anonymous=True)])


def test_gdal_ignores_other_azure_variables(blobs: Blobs, monkeypatch: pytest.MonkeyPatch) -> None:
    # GDAL reads AZURE_* variables of the environment too: the access overrides them all.
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", "AccountName=other;AccountKey=QUJD")
    monkeypatch.setenv("AZURE_STORAGE_SAS_TOKEN", "se=2000-01-01&sig=bad")
    client = AzureClient(endpoint_url=blobs.endpoint, anonymous=True)
    with stac_asset.open(blobs.url(PUBLIC, "s2/B03.tif"), clients=[client]) as ds:
        assert np.array_equal(ds.read(), pixels(blobs.sources["s2/B03.tif"]))


def test_open_and_one_tile_costs_three_requests(blobs: Blobs) -> None:
    big = blobs.sources["big/big.tif"]
    assert big.stat().st_size >= 20_000_000
    client = AzureClient(endpoint_url=blobs.endpoint, sas_token=blobs.container_sas(PRIVATE))
    access = client.resolve(blobs.url(PRIVATE, "big/big.tif"))
    assert access.vsi_path == f"/vsiaz/{PRIVATE}/big/big.tif"
    mark = blobs.azurite.mark()
    with stac_asset.open(access) as ds:
        tile = ds.read(1, window=Window(1536, 1536, 512, 512))
    requests = blobs.azurite.requests_since(mark)
    assert 1 <= len(requests) <= 3, requests
    assert all(r["path"].startswith(f"/{ACCOUNT}/{PRIVATE}/big/big.tif?") for r in requests)
    with rasterio.open(big) as ds:
        assert np.array_equal(tile, ds.read(1, window=Window(1536, 1536, 512, 512)))


def test_gdal_does_not_serve_a_cached_403_after_new_credentials(blobs: Blobs) -> None:
    href = blobs.url(PRIVATE, "s2/B04.tif")
    sas = blobs.container_sas(PRIVATE)
    bad = AzureClient(endpoint_url=blobs.endpoint, sas_token=sas.replace("sig=", "sig=AAAA"))
    with pytest.raises(stac_asset.AccessError, match="GDAL could not open"):
        stac_asset.open(href, clients=[bad]).__enter__()
    # Same /vsiaz/ path, good SAS: GDAL must ask again rather than answer from its cache.
    mark = blobs.azurite.mark()
    good = AzureClient(endpoint_url=blobs.endpoint, sas_token=sas)
    with stac_asset.open(href, clients=[good]) as ds:
        assert np.array_equal(ds.read(), pixels(blobs.sources["s2/B04.tif"]))
    assert any(r["status"] == "206" for r in blobs.azurite.requests_since(mark))
