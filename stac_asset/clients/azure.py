"""Azure Blob Storage: ``https://<account>.blob.core.windows.net/...`` and ``az://`` hrefs.

Credentials follow the Azure conventions (``AZURE_STORAGE_CONNECTION_STRING``,
``AZURE_STORAGE_ACCOUNT`` with ``AZURE_STORAGE_SAS_TOKEN`` or
``AZURE_STORAGE_ACCESS_KEY``), or none for public containers. The GDAL view
is ``/vsiaz/<container>/<blob>``; the byte view is the blob URL plus a SAS
(the given one, or a short-lived read-only one signed with the account key).

As a destination, a blob is written block by block (one block in memory at a
time) and copied server-side inside one account, by the azure-storage-blob
SDK (:mod:`.azure_blob`), which also signs with the account key. Reading
anonymously, with a SAS or with a Planetary Computer token needs no SDK.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

import pystac
import requests

from .._secrets import mask_url, register
from ..access import Access
from ..errors import AccessDeniedError, NotFoundError, ResolveError
from ..retry import RetryPolicy
from . import azure_blob
from .azure_blob import AzureWriter, sdk_version, sign_blob_sas
from .azure_entra import SETTING, STORAGE_SCOPE, EntraTokens, can_sign_in, default_credential
from .azure_hints import denial_hint
from .azure_location import (
    BLOB_HOST,
    BlobCredential,
    BlobLocation,
    BlobSigner,
    account_of_endpoint,
    public_endpoint,
    register_sas,
    sas_expiry,
    settings_from_env,
)
from .base import ByteStream, ByteWriter, Client, decided_per_directory
from .environment import PROXY_AND_CA
from .http import HttpClient
from .tokens import RenewsOnRefusal, TokenIn

logger = logging.getLogger(__name__)


API_VERSION = "2022-11-02"
"""The Blob service version our byte-view requests and SAS tokens are made for."""

_KEY_SAS_LIFETIME = timedelta(hours=1)
_CLOCK_SKEW = timedelta(minutes=5)
DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024
"""Bytes per block when uploading (and what a writer holds in memory)."""


class AzureClient(RenewsOnRefusal, HttpClient):
    """Azure Blob Storage, with Microsoft Entra ID, an account key, a SAS, or anonymously.

    Arguments left out are read from the environment when the client is
    created: ``AZURE_STORAGE_CONNECTION_STRING`` when set (its ``AccountName``,
    ``AccountKey``, ``SharedAccessSignature``, ``BlobEndpoint``), else
    ``AZURE_STORAGE_ACCOUNT``, ``AZURE_STORAGE_SAS_TOKEN``,
    ``AZURE_STORAGE_ACCESS_KEY`` (or ``AZURE_STORAGE_KEY``). Credentials
    apply to the configured account; blobs of other accounts are read
    anonymously, except that blobs the Planetary Computer serves (see
    :class:`~stac_asset.PlanetaryComputerClient`) are signed with its tokens.

    Microsoft Entra ID: with ``credential`` (any ``azure.core`` ``TokenCredential``),
    or, with neither key nor SAS, ``DefaultAzureCredential`` (``azure-identity``)
    when the environment names an Entra identity (``AZURE_CLIENT_ID``,
    ``AZURE_TENANT_ID``, ``AZURE_FEDERATED_TOKEN_FILE``...) or asks for it
    (``STAC_ASSET_AZURE_ENTRA_ID=YES``, ``entra_id=True``), or once an anonymous
    read was refused (unless ``entra_id=False``). Nothing is asked of it before
    the first href is resolved; its tokens live in the token layer
    and go to the byte view as ``Authorization: Bearer`` and to GDAL as
    ``AZURE_STORAGE_ACCESS_TOKEN``. They apply to the configured account (every
    account, if none is).

    Args:
        session: A configured :class:`requests.Session` for the byte view.
        account: The storage account (needed for ``az://`` hrefs).
        account_key: The account's shared key (base64).
        sas_token: A SAS token (container or account SAS), with or without ``?``.
        endpoint_url: A custom blob endpoint (Azurite, sovereign clouds), e.g.
            ``http://127.0.0.1:10000/devstoreaccount1``; hrefs under it are taken.
        anonymous: Ignore credentials from the environment.
        timeout: Seconds to wait to connect and between bytes.
        retry: How transient failures are retried.
        block_size: Bytes per block when uploading: what a writer holds in memory.
        credential: An ``azure.core`` ``TokenCredential`` to sign in with Entra ID.
        entra_id: Sign in with ``DefaultAzureCredential`` (True), never (False),
            or as the environment says (None).

    """

    name = "azure"
    environment: ClassVar[tuple[str, ...]] = (*PROXY_AND_CA, "AZURE_*", SETTING)
    signer: ClassVar[Callable[[], BlobSigner] | None] = None
    """Who signs the anonymous blobs it serves: the default Planetary Computer
    client, registered by :mod:`stac_asset.clients.planetary_computer`."""

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        account: str | None = None,
        account_key: str | None = None,
        sas_token: str | None = None,
        endpoint_url: str | None = None,
        anonymous: bool = False,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        block_size: int = DEFAULT_BLOCK_SIZE,
        credential: Any = None,
        entra_id: bool | None = None,
    ) -> None:
        super().__init__(session, timeout=timeout, retry=retry)
        if block_size <= 0:
            raise ValueError("block_size must be positive")
        self.block_size = block_size
        env = {} if anonymous else settings_from_env(os.environ)
        self.endpoint_url = (endpoint_url or env.get("endpoint") or "").rstrip("/") or None
        self.account = account or env.get("account") or account_of_endpoint(self.endpoint_url)
        if account_key is None and sas_token is None:
            account_key, sas_token = env.get("key"), env.get("sas")
        self._credential: BlobCredential | None = None
        if sas_token:
            sas_token = sas_token.lstrip("?")
            register_sas(sas_token)
            self._credential = BlobCredential("sas", sas_token)
        elif account_key:
            register(account_key)
            self._credential = BlobCredential("key", account_key)
        unsigned = credential is None and self._credential is None and not anonymous
        if unsigned and entra_id is not False:
            credential = default_credential({SETTING: "YES"} if entra_id else os.environ)
        self._entra = EntraTokens(credential, self.name) if credential is not None else None
        # Still unsigned: an anonymous read refused brings a sign-in, if one is possible.
        self._sign_in_on_refusal = unsigned and entra_id is None and can_sign_in()
        self._signed_in_on_refusal = False

    @decided_per_directory
    def matches(self, href: str) -> bool:
        """Whether ``href`` is an ``az://`` URL, a blob URL, or under this client's endpoint."""
        parts = urlsplit(href)
        if parts.scheme == "az":
            return True
        if parts.scheme not in ("http", "https"):
            return False
        return self._under_endpoint(href) or bool(BLOB_HOST.match(parts.hostname or ""))

    def _under_endpoint(self, href: str) -> bool:
        return self.endpoint_url is not None and href.startswith(self.endpoint_url + "/")

    def locate(self, href: str) -> BlobLocation | None:
        """The blob an href names, or ``None`` if it is not an Azure Blob href."""
        parts = urlsplit(href)
        if parts.scheme == "az":
            if not self.account:
                raise ResolveError(
                    f"{self.name}: {href}: az:// hrefs need a storage account; set "
                    "AZURE_STORAGE_ACCOUNT or use AzureClient(account=...)"
                )
            endpoint = self.endpoint_url or public_endpoint(self.account)
            account, path = self.account, f"{parts.netloc}{parts.path}"
        elif self._under_endpoint(href):
            assert self.endpoint_url is not None
            if not self.account:
                raise ResolveError(
                    f"{self.name}: {mask_url(href)}: no storage account for endpoint "
                    f"{self.endpoint_url}; give AzureClient(account=...)"
                )
            endpoint, account = self.endpoint_url, self.account
            path = urlsplit(href[len(self.endpoint_url) :]).path
        else:
            host = BLOB_HOST.match(parts.hostname or "")
            if host is None or parts.scheme not in ("http", "https"):
                return None
            endpoint, account = f"{parts.scheme}://{parts.netloc}", host["account"]
            path = parts.path
        container, _, blob = path.lstrip("/").partition("/")
        if not container or not blob:
            raise ResolveError(f"{self.name}: {mask_url(href)}: no container and blob name in it")
        sas = parts.query if "sig" in parse_qs(parts.query) else None
        if sas:
            register_sas(sas)
        return BlobLocation(account, endpoint, container, unquote(blob), sas)

    def resolve(self, href: str, asset: pystac.Asset | None = None) -> Access:
        """Resolve to ``/vsiaz/`` and the blob URL, signed as the credentials allow."""
        location = self.locate(href)
        if location is None:
            return super().resolve(href, asset)
        credential = self._credential if location.account == self.account else None
        if credential is None and location.sas is None:
            planetary_computer = self._planetary_computer()
            if planetary_computer.serves(location, asset):
                return planetary_computer.resolve_location(href, location)
            if self._entra is not None and self.account in (None, location.account):
                return self.entra_access(href, location, self._entra)
        return self.blob_access(href, location, credential)

    def entra_access(self, href: str, location: BlobLocation, entra: EntraTokens) -> Access:
        """The access to a blob with a Microsoft Entra ID token, in both views."""
        try:
            token = entra.get(href)
        except AccessDeniedError as error:
            if not self._signed_in_on_refusal:
                raise
            reason = (
                f"container {location.container!r} of account {location.account!r} is not "
                f"public, and signing in with Microsoft Entra ID failed ({error.reason}); give a "
                "SAS or a key (AZURE_STORAGE_SAS_TOKEN, AZURE_STORAGE_CONNECTION_STRING)"
            )
            raise AccessDeniedError(href, self.name, reason, status=error.status) from None
        options = self._gdal_options(location)
        options["AZURE_STORAGE_ACCESS_TOKEN"] = token.value
        vsi_path = f"/vsiaz/{location.container}/{location.blob}"
        return self.located_access(
            href, location, None, vsi_path, options, token.expires_at, bearer=token.value
        )

    def blob_access(
        self, href: str, location: BlobLocation, credential: BlobCredential | None
    ) -> Access:
        """The access to a blob with a credential (or anonymously, or with the href's SAS)."""
        gdal_options = self._gdal_options(location)
        sas = location.sas
        expires_at = None
        if sas is None and credential is not None and credential.kind == "sas":
            sas = credential.secret
        if sas is not None:
            gdal_options["AZURE_STORAGE_SAS_TOKEN"] = sas
            expires_at = sas_expiry(sas)
        elif credential is not None:
            gdal_options["AZURE_STORAGE_ACCESS_KEY"] = credential.secret
            now = datetime.now(timezone.utc)
            expires_at = now + _KEY_SAS_LIFETIME
            sas = sign_blob_sas(location, credential.secret, expires_at, now - _CLOCK_SKEW)
            register_sas(sas)
        else:
            gdal_options["AZURE_NO_SIGN_REQUEST"] = "YES"
            if self._sign_in_on_refusal and self._entra is None:
                # Nominal: a refusal makes the engine resolve once more, signed in.
                expires_at = datetime.now(timezone.utc) + _KEY_SAS_LIFETIME
        vsi_path = f"/vsiaz/{location.container}/{location.blob}"
        return self.located_access(href, location, sas, vsi_path, gdal_options, expires_at)

    def located_access(
        self,
        href: str,
        location: BlobLocation,
        sas: str | None,
        vsi_path: str,
        gdal_options: dict[str, str],
        expires_at: datetime | None,
        bearer: str | None = None,
    ) -> Access:
        """The access to a blob: this GDAL view, and the blob URL with ``sas`` (or ``bearer``)."""
        url = f"{location.url}?{sas}" if sas else location.url
        headers = {**self.headers_for(url), "x-ms-version": API_VERSION}
        if bearer is not None:
            headers.update({"Authorization": f"Bearer {bearer}", "x-ms-version": sdk_version()})
        return Access(
            href=href,
            client=self.name,
            vsi_path=vsi_path,
            gdal_options=gdal_options,
            url=url,
            headers=headers,
            bucket=location.container,
            key=location.blob,
            extra={"account": location.account, "endpoint": location.endpoint},
            expires_at=expires_at,
        )

    def _gdal_options(self, location: BlobLocation) -> dict[str, str]:
        options = self.gdal_options({})  # with the session's certificate checks
        options.update(
            {
                "AZURE_STORAGE_ACCOUNT": location.account,
                # Set, even empty: no AZURE_* variable mixes other credentials in.
                "AZURE_STORAGE_CONNECTION_STRING": "",
                "AZURE_STORAGE_SAS_TOKEN": "",
                "AZURE_STORAGE_ACCESS_KEY": "",
                "AZURE_STORAGE_ACCESS_TOKEN": "",
                "AZURE_NO_SIGN_REQUEST": "NO",
                # Never wait on the Azure VM metadata service for a managed identity.
                "CPL_AZURE_VM_API_ROOT_URL": "disabled",
                # GDAL caches a 403 per path, whatever credentials come next: don't cache.
                "CPL_VSIL_CURL_NON_CACHED": f"/vsiaz/{location.container}/",
            }
        )
        if not location.is_public_cloud:
            options["CPL_AZURE_ENDPOINT"] = location.endpoint
        return options

    def _planetary_computer(self) -> BlobSigner:
        if AzureClient.signer is None:
            raise ResolveError(f"{self.name}: no client signs Planetary Computer blobs")
        return AzureClient.signer()

    def open_stream(
        self, access: Access, start: int = 0, validator: str | None = None
    ) -> ByteStream:
        """GET the blob from ``start``; a refusal says which credential was refused."""
        if access.client != self.name:
            # Resolved on our behalf by the Planetary Computer client: it owns the token.
            return self._planetary_computer().open_stream(access, start, validator)
        try:
            return super().open_stream(access, start, validator)
        except AccessDeniedError as error:
            reason = f"{error.reason}: {denial_hint(access)}"
            raise AccessDeniedError(access.href, self.name, reason, status=error.status) from None

    def token_in(self, access: Access) -> TokenIn | None:
        """The Entra ID token ``access`` carries, if any."""
        token = access.gdal_options.get("AZURE_STORAGE_ACCESS_TOKEN")
        if self._entra is None or not token:
            return None
        return TokenIn(self._entra.tokens, STORAGE_SCOPE, token)

    def made(self, access: Access) -> bool:
        """Its own accesses, and those its signer resolved for it (it renews them through it)."""
        signer = AzureClient.signer
        return access.client == self.name or (signer is not None and access.client == signer().name)

    def refused(self, access: Access, error: AccessDeniedError) -> None:
        """Forget a refused token (or tell the Planetary Computer client); maybe sign in."""
        if access.client != self.name:
            self._planetary_computer().refused(access, error)
        elif self._sign_in_on_refusal and access.gdal_options.get("AZURE_NO_SIGN_REQUEST") == "YES":
            self._sign_in_on_refusal = False
            credential = default_credential({SETTING: "YES"})
            if credential is not None:
                logger.info("azure: anonymous read refused; signing in with Microsoft Entra ID")
                self._entra = EntraTokens(credential, self.name)
                self._signed_in_on_refusal = True
        else:
            super().refused(access, error)

    @property
    def entra_credential(self) -> Any:
        """The ``TokenCredential`` this client signs in with (Microsoft Entra ID), if any."""
        return self._entra.credential if self._entra is not None else None

    def _check_target(self, access: Access) -> str:
        if access.url is None or access.bucket is None or access.key is None:
            raise ResolveError(f"{self.name}: {access.href} was not resolved to an Azure blob")
        return access.url

    def open_writer(self, access: Access, content_type: str | None = None) -> ByteWriter:
        """Start writing the blob at ``access``: see :class:`~.azure_blob.AzureWriter`."""
        self._check_target(access)
        return AzureWriter(self, access, content_type)

    def size_of(self, access: Access) -> int | None:
        """The blob's size (Get Blob Properties), or None if there is no such blob."""
        self._check_target(access)
        return azure_blob.size_of(self, access)

    def copy_from(self, source: Access, source_client: Client, target: Access) -> bool:
        """Copy server-side (Copy Blob) when ``source`` is a blob of the same account.

        The service reads the source with the source's own SAS (if any).
        When the copy is refused, finds no source or does not succeed,
        returns False so that the bytes are streamed instead (a blob the
        failed copy left is then replaced).
        """
        self._check_target(target)
        where = ("account", "endpoint")
        if (
            not isinstance(source_client, AzureClient)
            or source.url is None
            or source.bucket is None
            or [source.extra.get(name) for name in where]
            != [target.extra.get(name) for name in where]
        ):
            return False
        try:
            return azure_blob.copy_blob(self, source.url, target)
        except (AccessDeniedError, NotFoundError) as error:
            logger.info("server-side copy refused (%s); streaming instead", error)
            return False

    def __repr__(self) -> str:
        kind = self._credential.kind if self._credential else "anonymous"
        kind = "entra-id" if self._entra is not None and self._credential is None else kind
        return (
            f"{type(self).__name__}(account={self.account!r}, endpoint_url={self.endpoint_url!r}, "
            f"credential={kind!r}, timeout={self.timeout!r})"
        )
