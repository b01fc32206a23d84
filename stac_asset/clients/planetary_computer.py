"""Microsoft's Planetary Computer: Azure Blob assets read with SAS tokens from its token API.

Which hrefs are the Planetary Computer's: given explicitly (``clients=[...]``,
``client=...``, ``PlanetaryComputerClient.download_item``), this client
signs every ``*.blob.core.windows.net`` href (and every href under its
``endpoint_url``). In default routing, :class:`~stac_asset.AzureClient`
takes Azure hrefs and hands them to this client when it has no credentials
of its own for the account and either the account is a known Planetary
Computer account (:data:`KNOWN_ACCOUNTS`, plus ``STAC_ASSET_PC_ACCOUNTS``) or
the asset's item comes from the Planetary Computer STAC API (a link of the
item points at ``planetarycomputer.microsoft.com``); hrefs under
``STAC_ASSET_PC_ENDPOINT`` come here directly.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import pystac
import requests

from .. import gdal
from .._secrets import register
from ..access import Access
from ..errors import AccessError, error_for_status
from ..retry import RetryPolicy, call_with_retries
from .answers import ANSWER_HOOKS
from .azure import AzureClient
from .azure_location import BlobLocation, register_sas
from .base import decided_per_directory
from .defaults import default_client
from .environment import PROXY_AND_CA, home_file
from .failures import mapped_errors
from .tokens import Token, TokenIn, Tokens

logger = logging.getLogger(__name__)

DEFAULT_SAS_URL = "https://planetarycomputer.microsoft.com/api/sas/v1/token"
PC_HOST = "planetarycomputer.microsoft.com"
ACCOUNTS_ENV = "STAC_ASSET_PC_ACCOUNTS"
"""Comma-separated storage accounts to treat as the Planetary Computer's, besides the known ones."""
ENDPOINT_ENV = "STAC_ASSET_PC_ENDPOINT"
"""A blob endpoint whose hrefs are the Planetary Computer's (a stand-in such as Azurite)."""

KNOWN_ACCOUNTS = frozenset(
    {
        "ai4edataeuwest",
        "cpdataeuwest",
        "goeseuwest",
        "landsateuwest",
        "modiseuwest",
        "naipeuwest",
        "pcstacitems",
        "sentinel1euwest",
        "sentinel1euwestrtc",
        "sentinel2l2a01",
    }
)
"""Storage accounts of Planetary Computer datasets (not exhaustive: items from its STAC API are
recognised by their links whatever their account)."""

PUBLIC_ACCOUNTS = frozenset({"ai4edatasetspublicassets"})
"""Planetary Computer accounts that are public (thumbnails): read without a token."""


def is_planetary_computer_item(asset: pystac.Asset | None) -> bool:
    """Whether the asset's item comes from the Planetary Computer STAC API (by its links)."""
    owner = asset.owner if asset is not None else None
    if not isinstance(owner, (pystac.Item, pystac.Collection)):
        return False
    hrefs = [owner.get_self_href()] + [link.get_href(transform_href=False) for link in owner.links]
    return any(urlsplit(href).hostname == PC_HOST for href in hrefs if href)


def _parse_expiry(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("no msft:expiry")
    expiry = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return expiry if expiry.tzinfo else expiry.replace(tzinfo=timezone.utc)


class PlanetaryComputerClient(AzureClient):
    """The Planetary Computer: Azure Blob hrefs signed with SAS tokens from its token API.

    Tokens live in the token layer (:mod:`stac_asset.clients.tokens`): fetched
    once per (account, container) and shared by every thread; one is replaced
    ``refresh_margin`` (or a quarter of its life, if shorter) before its
    ``msft:expiry``, and once when storage refuses it. Each
    :class:`~stac_asset.Access` carries the token's expiry, so long jobs
    re-resolve. The GDAL view lets GDAL fetch and renew its own tokens
    from the same API (``/vsicurl?pc_url_signing=yes``), so a dataset kept
    open longer than a token's life keeps working.

    The token API URL and subscription key come from the arguments, else
    from the planetary-computer package's settings (``PC_SDK_SAS_URL``,
    ``PC_SDK_SUBSCRIPTION_KEY``, ``~/.planetarycomputer/settings.env``,
    ``planetary_computer.set_subscription_key``), read when the first token
    is needed. Extra accounts (``STAC_ASSET_PC_ACCOUNTS``) and a custom
    endpoint (``STAC_ASSET_PC_ENDPOINT``) are read when the client is created.

    Args:
        session: A configured :class:`requests.Session` (token API and blobs).
        sas_url: The token API, e.g. ``https://planetarycomputer.microsoft.com/api/sas/v1/token``.
        subscription_key: Sent as ``Ocp-Apim-Subscription-Key`` to the token API.
        accounts: The storage accounts default routing sends here
            (default: :data:`KNOWN_ACCOUNTS` and ``STAC_ASSET_PC_ACCOUNTS``).
        endpoint_url: A custom blob endpoint whose hrefs this client takes
            (a stand-in for the Planetary Computer's storage, such as Azurite);
            default ``STAC_ASSET_PC_ENDPOINT``.
        refresh_margin: How long before expiry a token is replaced.
        timeout: Seconds to wait to connect and between bytes.
        retry: How transient failures (of the token API too) are retried.

    """

    name = "planetary-computer"
    environment = (*PROXY_AND_CA, "PC_SDK_*", "STAC_ASSET_PC_*")

    @classmethod
    def environment_files(cls) -> list[str]:
        """The planetary-computer package's settings file."""
        return [home_file(None, ".planetarycomputer", "settings.env")]

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        sas_url: str | None = None,
        subscription_key: str | None = None,
        accounts: Iterable[str] | None = None,
        endpoint_url: str | None = None,
        refresh_margin: timedelta = timedelta(minutes=5),
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(
            session,
            endpoint_url=endpoint_url or os.environ.get(ENDPOINT_ENV),
            anonymous=True,
            timeout=timeout,
            retry=retry,
        )
        self._sas_url = sas_url
        self._subscription_key = subscription_key
        register(subscription_key)
        if accounts is None:
            extra = os.environ.get(ACCOUNTS_ENV, "")
            accounts = KNOWN_ACCOUNTS | {a.strip() for a in extra.split(",") if a.strip()}
        self.accounts = frozenset(accounts)
        self._settings_lock = threading.Lock()
        self._settings: tuple[str, str | None] | None = None
        # A token API that refuses one container may still serve others.
        self._tokens: Tokens[tuple[str, str], str] = Tokens(
            self._fetch_token, margin=refresh_margin, shared_refusal=False
        )

    def _shipped_state(self) -> dict[str, object]:
        # The worker reads its own settings (and environment); locks stay here.
        state = super()._shipped_state()
        return {k: v for k, v in state.items() if k not in ("_settings_lock", "_settings")}

    def _arrived(self) -> None:
        super()._arrived()
        self._settings_lock = threading.Lock()
        self._settings = None

    def settings(self) -> tuple[str, str | None]:
        """The token API URL and the subscription key (or ``None``), read on first use."""
        with self._settings_lock:
            if self._settings is None:
                from planetary_computer.settings import Settings

                fresh, configured = Settings(), Settings.get()
                sas_url = self._sas_url or fresh.sas_url or DEFAULT_SAS_URL
                key = (
                    self._subscription_key
                    or fresh.subscription_key
                    or configured.subscription_key
                    or None
                )
                register(key)
                self._settings = (sas_url.rstrip("/"), key)
            return self._settings

    @decided_per_directory
    def matches(self, href: str) -> bool:
        """Whether ``href`` is an Azure Blob URL (any account) or under this client's endpoint."""
        return urlsplit(href).scheme != "az" and super().matches(href)

    def serves(self, location: BlobLocation, asset: pystac.Asset | None) -> bool:
        """Whether default routing should sign this blob with a Planetary Computer token."""
        if location.account in PUBLIC_ACCOUNTS:
            return False
        return location.account in self.accounts or is_planetary_computer_item(asset)

    def resolve(self, href: str, asset: pystac.Asset | None = None) -> Access:
        """Resolve a blob href with a token (public and pre-signed hrefs need none)."""
        location = self.locate(href)
        if location is None:
            return super().resolve(href, asset)
        if location.account in PUBLIC_ACCOUNTS or location.sas is not None:
            return self.blob_access(href, location, None)
        return self.resolve_location(href, location)

    def resolve_location(self, href: str, location: BlobLocation) -> Access:
        """The access to a located blob, signed with the container's current token."""
        token = self._token(href, location)
        sas_url, _ = self.settings()
        collection = f"{location.account}/{location.container}"
        gdal_prefix = f"/vsicurl?pc_url_signing=yes&pc_collection={collection}&url="
        options = gdal.network_options(self.timeout, self.retry.max_attempts)
        options.update(
            {
                # GDAL appends the "collection" (here account/container) to this URL
                # and renews its token 60 s before msft:expiry, even mid-read.
                "VSICURL_PC_SAS_TOKEN_URL": f"{sas_url}/",
                # GDAL caches a 403 per URL, whatever token comes next: don't cache.
                "CPL_VSIL_CURL_NON_CACHED": gdal_prefix,
            }
        )
        vsi_path = f"{gdal_prefix}{location.url}"
        return self.located_access(href, location, token.value, vsi_path, options, token.expires_at)

    def _token(self, href: str, location: BlobLocation) -> Token[str]:
        return self._tokens.get((location.account, location.container), href)

    def _fetch_token(self, key: tuple[str, str], href: str) -> Token[str]:
        account, container = key
        sas_url, subscription_key = self.settings()
        url = f"{sas_url}/{account}/{container}"
        headers = {"Ocp-Apim-Subscription-Key": subscription_key} if subscription_key else {}
        where = (
            f"no SAS token for account {account!r}, container {container!r} from the "
            f"Planetary Computer token API ({sas_url})"
        )

        def fetch() -> Any:
            with mapped_errors(href, self.name, where):
                response = self.session.get(
                    url, headers=headers, timeout=self.timeout, hooks=ANSWER_HOOKS
                )
            with response:
                status = response.status_code
                error = error_for_status(
                    status, href, self.name, f"{where}: HTTP {status}", response.headers
                )
                if error is not None:
                    raise error
                return response.json()

        try:
            data = call_with_retries(fetch, self.retry)
        except ValueError:
            raise AccessError(href, self.name, f"{where}: the answer is not JSON") from None
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise AccessError(href, self.name, f"{where}: the answer has no token")
        register_sas(token)
        try:
            expiry = _parse_expiry(data.get("msft:expiry"))
        except ValueError:
            raise AccessError(
                href, self.name, f"{where}: the answer has no valid msft:expiry"
            ) from None
        logger.debug("SAS token for %s/%s, expires %s", account, container, expiry.isoformat())
        return Token(token, expiry)

    def token_in(self, access: Access) -> TokenIn | None:
        """The (account, container) and the token an access of this client carries, if any."""
        if access.bucket is None or access.url is None or "?" not in access.url:
            return None
        if "VSICURL_PC_SAS_TOKEN_URL" not in access.gdal_options:
            return None  # a public or pre-signed blob: no token of ours
        key = (access.extra["account"], access.bucket)
        return TokenIn(self._tokens, key, access.url.split("?", 1)[1])

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(sas_url={self._sas_url!r}, endpoint_url={self.endpoint_url!r}, "
            f"timeout={self.timeout!r})"
        )


def _default_client() -> PlanetaryComputerClient:
    """The default Planetary Computer client, which signs the blobs it serves."""
    client = default_client(PlanetaryComputerClient)
    assert isinstance(client, PlanetaryComputerClient)
    return client


# The Azure client hands the Planetary Computer's anonymous blobs to the default client here.
AzureClient.signer = _default_client
