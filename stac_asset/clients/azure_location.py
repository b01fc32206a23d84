"""Where an Azure blob lives, and the Azure settings that say so (hrefs, connection strings)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol
from urllib.parse import parse_qs, quote, urlsplit

import pystac

from .._secrets import register
from ..access import Access
from ..errors import AccessDeniedError
from .base import ByteStream

# Public-cloud and sovereign-cloud blob hosts: <account>.blob.<suffix>.
BLOB_HOST = re.compile(
    r"^(?P<account>[a-z0-9]{3,24})\.blob\."
    r"(?P<suffix>core\.windows\.net|core\.chinacloudapi\.cn|core\.usgovcloudapi\.net)$"
)
_PUBLIC_SUFFIX = "core.windows.net"


@dataclass(frozen=True)
class BlobLocation:
    """Where a blob lives: its account, the account's endpoint, container and blob name."""

    account: str
    endpoint: str
    """The account's blob endpoint, e.g. ``https://acct.blob.core.windows.net`` or an
    Azurite-style ``http://127.0.0.1:10000/devstoreaccount1``."""
    container: str
    blob: str
    """The blob name, not percent-encoded."""
    sas: str | None = None
    """A SAS that came with the href itself (a pre-signed URL)."""

    @property
    def url(self) -> str:
        """The blob's URL, without any SAS."""
        return f"{self.endpoint}/{self.container}/{quote(self.blob, safe='/~')}"

    @property
    def is_public_cloud(self) -> bool:
        """Whether the endpoint is the default one of the public Azure cloud."""
        return self.endpoint == public_endpoint(self.account)


def public_endpoint(account: str) -> str:
    """The public-cloud blob endpoint of ``account``."""
    return f"https://{account}.blob.{_PUBLIC_SUFFIX}"


def parse_connection_string(value: str) -> dict[str, str]:
    """Split an Azure Storage connection string into its ``Key=Value`` parts."""
    parts: dict[str, str] = {}
    for item in value.split(";"):
        name, sep, setting = item.strip().partition("=")
        if sep and name:
            parts[name.strip()] = setting.strip()
    return parts


def sas_expiry(sas: str) -> datetime | None:
    """The ``se`` (expiry) of a SAS, when it has one that parses."""
    values = parse_qs(sas).get("se")
    if not values:
        return None
    try:
        expiry = datetime.fromisoformat(values[0].replace("Z", "+00:00"))
    except ValueError:
        return None
    return expiry if expiry.tzinfo else expiry.replace(tzinfo=timezone.utc)


def register_sas(sas: str) -> None:
    """Register a SAS, and its signature in both encodings, as secrets."""
    signatures = parse_qs(sas).get("sig", [])
    register(sas, *signatures, *(quote(s, safe="") for s in signatures))


def account_of_endpoint(endpoint: str | None) -> str | None:
    """The account an endpoint serves: Azurite-style path, else the host's first label."""
    if not endpoint:
        return None
    parts = urlsplit(endpoint)
    segment = parts.path.strip("/").split("/")[-1]
    if segment:
        return segment
    host = BLOB_HOST.match(parts.hostname or "")
    return host["account"] if host else None


def settings_from_env(environ: Mapping[str, str]) -> dict[str, str]:
    """Account, endpoint and credentials from the ``AZURE_STORAGE_*`` variables.

    As in GDAL, a connection string, when set, is the whole configuration.
    """
    raw = environ.get("AZURE_STORAGE_CONNECTION_STRING", "")
    if raw:
        register(raw)
        connection = parse_connection_string(raw)
        settings = {
            "account": connection.get("AccountName"),
            "endpoint": connection.get("BlobEndpoint"),
            "sas": connection.get("SharedAccessSignature"),
            "key": connection.get("AccountKey"),
        }
        suffix = connection.get("EndpointSuffix")
        if not settings["endpoint"] and suffix and settings["account"]:
            protocol = connection.get("DefaultEndpointsProtocol", "https")
            settings["endpoint"] = f"{protocol}://{settings['account']}.blob.{suffix}"
    else:
        settings = {
            "account": environ.get("AZURE_STORAGE_ACCOUNT"),
            "sas": environ.get("AZURE_STORAGE_SAS_TOKEN"),
            "key": environ.get("AZURE_STORAGE_ACCESS_KEY") or environ.get("AZURE_STORAGE_KEY"),
        }
    return {name: value for name, value in settings.items() if value}


@dataclass(frozen=True)
class BlobCredential:
    """An account's own credential for the blobs of that account."""

    kind: str  # "key" or "sas"
    secret: str


class BlobSigner(Protocol):
    """A client that signs some anonymous blobs itself (the Planetary Computer's)."""

    @property
    def name(self) -> str:
        """The client's name, which the accesses it resolves carry."""

    def serves(self, location: BlobLocation, asset: pystac.Asset | None) -> bool:
        """Whether default routing should sign this blob."""

    def resolve_location(self, href: str, location: BlobLocation) -> Access:
        """The access to the blob, signed."""

    def open_stream(
        self, access: Access, start: int = 0, validator: str | None = None
    ) -> ByteStream:
        """Read a blob this signer resolved."""

    def refused(self, access: Access, error: AccessDeniedError) -> None:
        """Forget a token of an access it resolved that was refused."""
