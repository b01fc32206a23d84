"""Google Cloud Storage: ``gs://bucket/key`` and ``https://storage.googleapis.com/bucket/key``.

GDAL reads ``/vsigs/bucket/key``; the byte view GETs the XML API URL
``{endpoint}{bucket}/{key}``. Public data needs no credentials
(``GS_NO_SIGN_REQUEST=YES``). With credentials — a service account key file
(``GOOGLE_APPLICATION_CREDENTIALS``), Application Default Credentials, or an
OAuth2 access token given to the client — the client obtains one access token
(with the optional ``google-auth`` package: ``pip install stac-asset[gcs]``)
and both views send it as ``Authorization: Bearer``, GDAL through
``GDAL_HTTP_HEADERS`` (which ``/vsigs/`` uses instead of signing).
"""

from __future__ import annotations

import functools
import os
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pystac
import requests

from .._secrets import register
from ..access import Access
from ..errors import AccessDeniedError, AccessError, ResolveError
from ..retry import RetryPolicy, call_with_retries
from .answers import ANSWER_HOOKS
from .base import decided_per_directory
from .environment import PROXY_AND_CA, home_file
from .failures import mapped_errors
from .http import HttpClient
from .tokens import RenewsOnRefusal, Token, TokenIn, Tokens

DEFAULT_ENDPOINT = "https://storage.googleapis.com/"
READ_ONLY_SCOPE = "https://www.googleapis.com/auth/devstorage.read_only"
_RENEW_MARGIN = timedelta(minutes=2)


class GcsClient(RenewsOnRefusal, HttpClient):
    """Google Cloud Storage, anonymous or with an OAuth2 access token.

    Args:
        session: A :class:`requests.Session` to use.
        anonymous: Read without credentials. Default: yes when
            ``GS_NO_SIGN_REQUEST=YES``, or when no credentials are configured
            (no ``token``, ``credentials``, ``credentials_file`` nor
            ``GOOGLE_APPLICATION_CREDENTIALS``).
        token: An OAuth2 access token to send as is.
        credentials: A ``google.auth`` credentials object.
        credentials_file: A service account key file; default
            ``GOOGLE_APPLICATION_CREDENTIALS``.
        endpoint: The storage endpoint; default ``CPL_GS_ENDPOINT`` or
            ``https://storage.googleapis.com/``.
        timeout: Seconds to wait to connect and between bytes.
        retry: How transient failures are retried.

    """

    name = "gcs"
    environment = (*PROXY_AND_CA, "GOOGLE_*", "GS_*", "CPL_GS_*", "CLOUDSDK_*")

    @classmethod
    def environment_files(cls) -> list[str]:
        """The service account key file and the gcloud application default credentials."""
        adc = home_file(None, ".config", "gcloud", "application_default_credentials.json")
        key = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
        return [adc, key] if key else [adc]

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        anonymous: bool | None = None,
        token: str | None = None,
        credentials: Any = None,
        credentials_file: str | os.PathLike[str] | None = None,
        endpoint: str | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(session, timeout=timeout, retry=retry)
        base = endpoint or os.environ.get("CPL_GS_ENDPOINT") or DEFAULT_ENDPOINT
        self.endpoint = base if base.endswith("/") else f"{base}/"
        self._credentials_file = credentials_file or os.environ.get(
            "GOOGLE_APPLICATION_CREDENTIALS"
        )
        self._credentials = credentials
        self._token = token
        self._tokens: Tokens[str, str] = Tokens(self._fetch_token)
        if anonymous is None:
            unsigned = os.environ.get("GS_NO_SIGN_REQUEST", "").upper() in ("YES", "TRUE", "ON")
            configured = token or credentials or self._credentials_file
            anonymous = unsigned or not configured
        self.anonymous = anonymous
        register(token)

    @decided_per_directory
    def matches(self, href: str) -> bool:
        """Whether ``href`` is ``gs://``, on ``storage.googleapis.com`` or on the endpoint."""
        return self._bucket_key(href) is not None

    def _bucket_key(self, href: str) -> tuple[str, str] | None:
        parts = urlsplit(href)
        host = (parts.hostname or "").lower()
        if parts.scheme == "gs":
            return parts.netloc, unquote(parts.path.lstrip("/"))
        if parts.scheme not in ("http", "https"):
            return None
        if host.endswith(".storage.googleapis.com"):
            return host.removesuffix(".storage.googleapis.com"), unquote(parts.path.lstrip("/"))
        if href.startswith(self.endpoint):
            path = href[len(self.endpoint) :].split("?", 1)[0]
        elif host == "storage.googleapis.com":
            path = parts.path.lstrip("/")
        else:
            return None
        bucket, _, key = unquote(path).partition("/")
        return bucket, key

    def resolve(self, href: str, asset: pystac.Asset | None = None) -> Access:
        """Resolve to ``/vsigs/bucket/key`` and the XML API URL, with a token unless anonymous."""
        found = self._bucket_key(href)
        if found is None or not all(found):
            raise ResolveError(f"gcs: not a gs:// or storage.googleapis.com object href: {href!r}")
        bucket, key = found
        headers: dict[str, str] = {}
        expires_at = None
        if not self.anonymous:
            token, expires_at = self.access_token(href)
            headers["Authorization"] = f"Bearer {token}"
        options = self.gdal_options(headers)
        options["GS_NO_SIGN_REQUEST"] = "YES"  # never sign: anonymous, or the header above
        if self.endpoint != DEFAULT_ENDPOINT:
            options["CPL_GS_ENDPOINT"] = self.endpoint
        return Access(
            href=href,
            client=self.name,
            vsi_path=f"/vsigs/{bucket}/{key}",
            gdal_options=options,
            url=f"{self.endpoint}{bucket}/{quote(key)}",
            headers=headers,
            bucket=bucket,
            key=key,
            expires_at=expires_at,
        )

    def token_in(self, access: Access) -> TokenIn | None:
        """The bearer token ``access`` sends, if any."""
        sent = access.headers.get("Authorization", "")
        if not sent.startswith("Bearer "):
            return None
        return TokenIn(self._tokens, self.endpoint, sent.removeprefix("Bearer "))

    def access_token(self, href: str) -> tuple[str, datetime | None]:
        """The OAuth2 access token and its expiry, refreshed once for all threads."""
        token = self._tokens.get(self.endpoint, href)
        return token.value, token.expires_at

    def _fetch_token(self, endpoint: str, href: str) -> Token[str]:
        if self._token and self._credentials is None and not self._credentials_file:
            return Token(self._token, None)  # given as is: nothing to renew it with
        if self._credentials is None:
            self._credentials = self._load_credentials(href)
        call_with_retries(lambda: self._refresh(href), self.retry)
        token = str(self._credentials.token)
        register(token)
        expiry = self._credentials.expiry
        return Token(token, expiry.replace(tzinfo=timezone.utc) if expiry else None)

    def _load_credentials(self, href: str) -> Any:
        try:
            import google.auth
            from google.oauth2 import service_account
        except ImportError:
            raise AccessError(
                href,
                self.name,
                "credentialed GCS reads need google-auth: pip install 'stac-asset[gcs]' "
                "(or GcsClient(anonymous=True) for public data)",
            ) from None
        try:
            with mapped_errors(href, self.name, "loading GCS credentials"):
                if self._credentials_file:
                    return service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                        os.fspath(self._credentials_file), scopes=[READ_ONLY_SCOPE]
                    )
                credentials, _ = google.auth.default(scopes=[READ_ONLY_SCOPE])
        except (ValueError, OSError) as error:  # an unreadable or malformed key file
            raise AccessDeniedError(
                href, self.name, f"no usable GCS credentials: {error}"
            ) from None
        return credentials

    def _refresh(self, href: str) -> None:
        import google.auth.transport.requests

        credentials = self._credentials
        endpoint = getattr(credentials, "token_uri", None) or getattr(credentials, "_token_uri", "")
        with mapped_errors(href, self.name, f"GCS token request to {endpoint}".rstrip(" to")):
            transport = google.auth.transport.requests.Request(self.session)
            self._credentials.refresh(functools.partial(transport, hooks=ANSWER_HOOKS))

    def __repr__(self) -> str:
        mode = "anonymous" if self.anonymous else "credentialed"
        return f"GcsClient(mode={mode!r}, endpoint={self.endpoint!r})"
