"""Default Azure and Planetary Computer clients follow the environment, in one process."""

from __future__ import annotations

from pathlib import Path

import pytest

import stac_asset
from stac_asset import AzureClient, blocking
from stac_asset.clients import defaults
from tests.azure.conftest import PRIVATE, Blobs
from tests.azure.peers import TokenApi
from tests.azure.test_planetary_computer import pc_item


def test_key_then_sas_then_tampered_sas(blobs: Blobs, monkeypatch: pytest.MonkeyPatch) -> None:
    href = blobs.url(PRIVATE, "s2/B02.tif")
    expected = blobs.sources["s2/B02.tif"].read_bytes()
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", blobs.azurite.connection_string)
    assert blocking.read_href(href) == expected
    keyed = defaults.default_client(AzureClient)
    assert defaults.default_client(AzureClient) is keyed  # reused while nothing changes

    sas = blobs.container_sas(PRIVATE)
    with_sas = f"BlobEndpoint={blobs.endpoint};SharedAccessSignature={sas}"
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", with_sas)
    access = stac_asset.resolve(href)
    assert access.gdal_options["AZURE_STORAGE_SAS_TOKEN"] == sas
    assert "AZURE_STORAGE_ACCESS_KEY" not in {k for k, v in access.gdal_options.items() if v}
    assert blocking.read_href(href) == expected

    tampered = sas.replace("sig=", "sig=AAAA")
    monkeypatch.setenv(
        "AZURE_STORAGE_CONNECTION_STRING",
        f"BlobEndpoint={blobs.endpoint};SharedAccessSignature={tampered}",
    )
    with pytest.raises(stac_asset.AccessDeniedError, match="SAS token was refused"):
        blocking.read_href(href)


def test_subscription_key_set_later_is_sent(
    blobs: Blobs, token_api: TokenApi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PC_SDK_SAS_URL", token_api.sas_url)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", f"BlobEndpoint={blobs.endpoint};")
    item = pc_item(blobs)
    blocking.download_item(item, tmp_path / "without")
    assert all("Ocp-Apim-Subscription-Key" not in entry["headers"] for entry in token_api.log())
    token_api.reset()
    monkeypatch.setenv("PC_SDK_SUBSCRIPTION_KEY", "later-subscription-key")
    blocking.download_item(item, tmp_path / "with")
    log = token_api.log()
    assert log
    assert all(
        entry["headers"].get("Ocp-Apim-Subscription-Key") == "later-subscription-key"
        for entry in log
    )
