"""Azure peers for the session: Azurite with test blobs, and the local token API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from azure.storage.blob import (
    BlobSasPermissions,
    BlobServiceClient,
    ContainerSasPermissions,
    generate_blob_sas,
    generate_container_sas,
)
from planetary_computer.settings import Settings

from stac_asset.clients import defaults
from tests.azure.peers import Azurite, TokenApi
from tests.azure.token_api import ACCOUNT, ACCOUNT_KEY

PUBLIC = "public"
PRIVATE = "private"
PC = "pcdata"

_ENV = [
    "AZURE_STORAGE_ACCOUNT",
    "AZURE_STORAGE_ACCESS_KEY",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_STORAGE_CONNECTION_STRING",
    "PC_SDK_SAS_URL",
    "PC_SDK_SUBSCRIPTION_KEY",
    "STAC_ASSET_PC_ACCOUNTS",
    "STAC_ASSET_PC_ENDPOINT",
]


@dataclass
class Blobs:
    """The blobs uploaded to Azurite, and ways to mint SAS tokens for them."""

    azurite: Azurite
    service: BlobServiceClient
    sources: dict[str, Path]
    """Local file of each uploaded blob name (same names in every container)."""

    @property
    def endpoint(self) -> str:
        return self.azurite.endpoint

    def add_container(self, container: str, names: list[str]) -> None:
        """A private container with some of the test blobs."""
        self.service.create_container(container)
        for name in names:
            with self.sources[name].open("rb") as data:
                self.service.get_blob_client(container, name).upload_blob(data)

    def url(self, container: str, name: str) -> str:
        return f"{self.endpoint}/{container}/{name}"

    def container_sas(self, container: str, lifetime: float = 3600, *, read: bool = True) -> str:
        now = datetime.now(timezone.utc)
        return generate_container_sas(
            ACCOUNT,
            container,
            account_key=ACCOUNT_KEY,
            permission=ContainerSasPermissions(read=read, list=not read),
            start=now - timedelta(minutes=5),
            expiry=now + timedelta(seconds=lifetime),
        )

    def blob_sas(self, container: str, name: str, lifetime: float = 3600) -> str:
        now = datetime.now(timezone.utc)
        return generate_blob_sas(
            ACCOUNT,
            container,
            name,
            account_key=ACCOUNT_KEY,
            permission=BlobSasPermissions(read=True),
            start=now - timedelta(minutes=5),
            expiry=now + timedelta(seconds=lifetime),
        )


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """Azurite's blob service, for the whole session."""
    with Azurite() as peer:
        yield peer


@pytest.fixture(scope="session")
def blobs(azurite: Azurite, small_cogs: dict[str, Path], big_cog: Path) -> Blobs:
    """Containers ``public`` (anonymous read), ``private`` and ``pc``, each with the test COGs."""
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    sources = {f"s2/{band}.tif": path for band, path in small_cogs.items()}
    sources["big/big.tif"] = big_cog
    blobs = Blobs(azurite, service, sources)
    service.create_container(PUBLIC, public_access="blob")
    for name, path in sources.items():
        with path.open("rb") as data:
            service.get_blob_client(PUBLIC, name).upload_blob(data)
    blobs.add_container(PRIVATE, list(sources))
    blobs.add_container(PC, list(sources))
    return blobs


@pytest.fixture(scope="session")
def token_api_peer() -> Iterator[TokenApi]:
    """The local Planetary Computer token API, for the whole session."""
    with TokenApi() as peer:
        yield peer


@pytest.fixture
def token_api(token_api_peer: TokenApi) -> TokenApi:
    """The token API with an empty log and the default config (one-hour tokens)."""
    token_api_peer.reset()
    return token_api_peer


@pytest.fixture(autouse=True)
def clean_azure_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Azure or Planetary Computer settings from the outside, and fresh default clients."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(defaults, "_defaults", {})
    Settings.get.cache_clear()
