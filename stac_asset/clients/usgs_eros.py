"""USGS EROS (Landsat Look): an M2M API key, sent as ``X-Auth-Token``.

The client logs in once through the M2M API (``POST {api_url}login-token``
with ``{"username", "token"}``, the token being an M2M application token) and
sends the API key it gets to Landsat Look only, in both views. One login
serves every thread; a key that expires (after 2 hours) or is refused (401)
brings exactly one new login.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import pystac
import requests

from .._secrets import register
from ..access import Access
from ..errors import AccessDeniedError, AccessError, TransientError, error_for_status
from ..retry import RetryPolicy, call_with_retries
from .answers import ANSWER_HOOKS
from .base import decided_per_directory
from .environment import PROXY_AND_CA
from .failures import mapped_errors
from .http import HttpClient
from .http_transport import no_auth
from .http_urls import host_matches
from .tokens import RenewsOnRefusal, Token, TokenIn, Tokens

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://m2m.cr.usgs.gov/api/api/json/stable/"
DEFAULT_HOSTS: tuple[str, ...] = ("landsatlook.usgs.gov",)
KEY_LIFETIME = timedelta(hours=2)
"""How long an M2M API key lasts."""


class UsgsErosClient(RenewsOnRefusal, HttpClient):
    """Landsat Look, with an API key from the USGS M2M API.

    Args:
        session: A :class:`requests.Session` to use.
        username: The ERS user name; default ``USGS_EROS_USERNAME``.
        token: An M2M application token; default ``USGS_EROS_PAT``.
        api_url: The M2M API base; default ``USGS_EROS_API_URL`` or
            :data:`DEFAULT_API_URL`.
        hosts: Hosts that take the key, besides ``landsatlook.usgs.gov`` and
            ``USGS_EROS_HOSTS`` (comma-separated; ``host:port`` allowed).
        key_lifetime: How long a key is used before logging in again.
        headers: Extra headers for those hosts.
        timeout: Seconds to wait to connect and between bytes.
        retry: How transient failures are retried.

    """

    name = "usgs_eros"
    environment = (*PROXY_AND_CA, "USGS_EROS_*")

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        username: str | None = None,
        token: str | None = None,
        api_url: str | None = None,
        hosts: Iterable[str] = (),
        key_lifetime: timedelta = KEY_LIFETIME,
        headers: Mapping[str, str] | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(session, headers=headers, timeout=timeout, retry=retry)
        self.username = username or os.environ.get("USGS_EROS_USERNAME") or None
        self._token = token or os.environ.get("USGS_EROS_PAT") or None
        base = api_url or os.environ.get("USGS_EROS_API_URL") or DEFAULT_API_URL
        self.api_url = base if base.endswith("/") else f"{base}/"
        extra = [h.strip() for h in os.environ.get("USGS_EROS_HOSTS", "").split(",") if h.strip()]
        self.hosts = (*DEFAULT_HOSTS, *extra, *hosts)
        self.key_lifetime = key_lifetime
        self._keys: Tokens[str, str] = Tokens(self._login)
        register(self._token)

    @decided_per_directory
    def matches(self, href: str) -> bool:
        """Whether ``href`` is on Landsat Look (or another of :attr:`hosts`)."""
        return host_matches(href, self.hosts)

    def resolve(self, href: str, asset: pystac.Asset | None = None) -> Access:
        """Resolve with the shared API key (logging in first if there is none, or it expired)."""
        if not self.matches(href):
            return super().resolve(href, asset)
        key, expires_at = self.api_key(href)
        headers = {**self.headers_for(href), "X-Auth-Token": key}
        return self.access_for_url(href, href, headers, expires_at=expires_at)

    def token_in(self, access: Access) -> TokenIn | None:
        """The API key ``access`` sends to Landsat Look, if any."""
        key = access.headers.get("X-Auth-Token")
        return TokenIn(self._keys, self.api_url, key) if key is not None else None

    def api_key(self, href: str) -> tuple[str, datetime | None]:
        """The current API key and when it expires; one login at a time, shared by all threads."""
        token = self._keys.get(self.api_url, href)
        return token.value, token.expires_at

    def _login(self, api_url: str, href: str) -> Token[str]:
        """Log in (retried) and return the API key; wrong credentials are asked once."""
        started = datetime.now(timezone.utc)
        key = call_with_retries(lambda: self._login_once(href), self.retry)
        return Token(key, started + self.key_lifetime, started)

    def _login_once(self, href: str) -> str:
        """``POST login-token`` and return the API key, or raise a clear error."""
        if not (self.username and self._token):
            raise AccessDeniedError(
                href,
                self.name,
                "USGS EROS needs a user name and an M2M application token: set "
                "USGS_EROS_USERNAME and USGS_EROS_PAT, or pass username= and token=",
            )
        url = f"{self.api_url}login-token"
        with mapped_errors(href, self.name, f"M2M login at {url}"):
            response = self.session.post(
                url,
                json={"username": self.username, "token": self._token},
                timeout=self.timeout,
                auth=no_auth,
                allow_redirects=False,
                hooks=ANSWER_HOOKS,
            )
        status = response.status_code
        error = error_for_status(status, href, self.name, f"M2M login at {url}: HTTP {status}")
        if isinstance(error, TransientError):
            raise error
        try:
            payload: Any = response.json()
        except ValueError:
            raise AccessError(
                href, self.name, f"M2M login at {url}: HTTP {status}, not a JSON answer"
            ) from None
        if not isinstance(payload, dict):
            raise AccessError(href, self.name, f"M2M login at {url}: unexpected answer")
        code, message = payload.get("errorCode"), payload.get("errorMessage")
        if code or status >= 400:
            reason = f"M2M login at {url} failed: {code or f'HTTP {status}'}: {message or ''}"
            if str(code).startswith("AUTH_") or status in (401, 403):
                raise AccessDeniedError(href, self.name, reason.rstrip(": "), status=status)
            if "RATE_LIMIT" in str(code):
                raise TransientError(href, self.name, reason, status=status)
            raise AccessError(href, self.name, reason, status=status)
        key = payload.get("data")
        if not isinstance(key, str) or not key:
            raise AccessError(href, self.name, f"M2M login at {url}: no API key in the answer")
        register(key)
        logger.info("usgs_eros: logged in to M2M as %s", self.username)
        return key

    def __repr__(self) -> str:
        return f"UsgsErosClient(username={self.username!r}, api_url={self.api_url!r})"
