"""OAuth2 bearer tokens for the HTTP(S) hosts they are meant for.

The protocol (client authentication, token requests and responses, refresh,
PKCE) is Authlib's (``pip install 'stac-asset[oauth2]'``); this module fetches
a token once, shares it between threads, renews it before it expires, and
sends it only to the configured hosts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pystac
import requests

from .._secrets import mask_url, register
from ..access import Access
from ..errors import AccessDeniedError, AccessError
from ..retry import RetryPolicy, call_with_retries
from .answers import cap_answer
from .base import decided_per_directory
from .environment import PROXY_AND_CA
from .failures import mapped_errors
from .http import HttpClient
from .oauth2_grants import AUTHORIZATION_TIMEOUT as AUTHORIZATION_TIMEOUT
from .oauth2_grants import DEVICE_GRANT as DEVICE_GRANT
from .oauth2_grants import GRANTS as GRANTS
from .oauth2_grants import SLOW_DOWN_INCREMENT as SLOW_DOWN_INCREMENT
from .oauth2_grants import DeviceCode as DeviceCode
from .oauth2_grants import authorization_code, device_code
from .oauth2_grants import print_authorization_url as print_authorization_url
from .oauth2_grants import print_device_code as print_device_code
from .tokens import RenewsOnRefusal, Token, TokenIn, Tokens

logger = logging.getLogger(__name__)

ENV_PREFIX = "STAC_ASSET_OAUTH2_"
"""Every setting can come from ``STAC_ASSET_OAUTH2_<NAME>`` (e.g. ``..._TOKEN_URL``)."""


_NO_EXPIRY_NOMINAL = timedelta(hours=1)


def _env(name: str) -> str | None:
    return os.environ.get(ENV_PREFIX + name) or None


def _split(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return value.replace(",", " ").split()
    return [v for v in value if v]


def _host_pattern(pattern: str) -> tuple[str, int | None]:
    parts = urlsplit(pattern if "://" in pattern else f"//{pattern}")
    if not parts.hostname:
        raise ValueError(f"OAuth2: not a host: {pattern!r}")
    return parts.hostname.lower(), parts.port


class OAuth2Client(RenewsOnRefusal, HttpClient):
    """HTTP(S) with an OAuth2 bearer token, sent only to the configured hosts.

    Each argument left as ``None`` is read from the environment variable
    ``STAC_ASSET_OAUTH2_<NAME>`` (``TOKEN_URL``, ``HOSTS``, ``GRANT``,
    ``CLIENT_ID``, ``CLIENT_SECRET``, ``SCOPE``, ``PARAMS`` as
    ``name=value&...``, ``USERNAME``, ``PASSWORD``,
    ``DEVICE_AUTHORIZATION_URL``, ``AUTHORIZATION_URL``, ``REDIRECT_URI``,
    ``AUTH_METHOD``). Without a token URL the client takes no href, so it is
    harmless among the default clients. Creating it does no network I/O: the
    token lives in the token layer (:mod:`stac_asset.clients.tokens`): it is
    fetched on the first :meth:`resolve` of a matching href, once for all
    threads, and renewed (with the refresh token if there is one, else with a
    new grant) ``refresh_margin`` before it expires, or once when a server
    rejects it with 401; a refused grant is not asked (or prompted) again.
    ``Access.expires_at`` is the token's expiry, and the GDAL view carries the
    same token.

    Args:
        token_url: The token endpoint.
        hosts: Hosts the token is sent to: ``example.com``, ``*.example.com``
            (any subdomain), or ``example.com:8443``. Other hosts (including
            redirect targets) never see it. ``*`` is the host of every href
            this client is given (stac-asset 0.4's meaning), still never a
            host reached only through a redirect.
        grant: ``client_credentials``, ``password``, ``device_code`` or
            ``authorization_code`` (with PKCE). By default: ``password`` with a
            username, else ``device_code`` with a device authorization URL, else
            ``authorization_code`` with an authorization URL, else
            ``client_credentials``.
        client_id: The client id.
        client_secret: The client secret (none for public clients).
        scope: Scopes, as a space-separated string or a sequence.
        params: Extra parameters for the grant's requests (e.g. ``audience``).
        username: The resource owner's name (password grant).
        password: The resource owner's password (password grant).
        device_authorization_url: The device authorization endpoint.
        authorization_url: The authorization endpoint.
        redirect_uri: Where the authorization server sends the browser. By
            default a loopback listener on a free port, which receives the
            code; a loopback URI with a port uses that port.
        authorize: Called with the authorization URL; returns the URL the
            browser was redirected to, or ``None`` to wait (up to
            :data:`AUTHORIZATION_TIMEOUT`) for the redirect on the loopback
            listener. By default the URL is printed to standard error.
        show_device_code: Called with the :class:`DeviceCode` to show the
            user before polling; by default printed to standard error.
        auth_method: How the client authenticates at the token endpoint:
            ``client_secret_basic`` (the default with a secret),
            ``client_secret_post`` or ``none``.
        refresh_margin: Renew the token this long before it expires (at most
            a quarter of its lifetime); a number is taken as seconds.
        session: The :class:`requests.Session` for the asset bytes.
        headers: More headers for every host; see :class:`HttpClient`.
        host_headers: More headers per host; see :class:`HttpClient`.
        timeout: Seconds to wait for a connection or the next bytes.
        retry: How transient failures (of token requests too) are retried.

    """

    name = "oauth2"
    environment = (*PROXY_AND_CA, "STAC_ASSET_OAUTH2_*")

    def __init__(
        self,
        token_url: str | None = None,
        *,
        hosts: Sequence[str] | None = None,
        grant: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        scope: str | Sequence[str] | None = None,
        params: Mapping[str, str] | None = None,
        username: str | None = None,
        password: str | None = None,
        device_authorization_url: str | None = None,
        authorization_url: str | None = None,
        redirect_uri: str | None = None,
        authorize: Callable[[str], str | None] | None = None,
        show_device_code: Callable[[DeviceCode], None] | None = None,
        auth_method: str | None = None,
        refresh_margin: timedelta | float = timedelta(minutes=1),
        session: requests.Session | None = None,
        headers: Mapping[str, str] | None = None,
        host_headers: Mapping[str, Mapping[str, str]] | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(
            session, headers=headers, host_headers=host_headers, timeout=timeout, retry=retry
        )
        self.token_url = token_url or _env("TOKEN_URL")
        self.hosts = _split(hosts if hosts is not None else _env("HOSTS"))
        self.client_id = client_id or _env("CLIENT_ID")
        self._client_secret = client_secret or _env("CLIENT_SECRET")
        self.scope = " ".join(_split(scope if scope is not None else _env("SCOPE"))) or None
        env_params = dict(parse_qsl(_env("PARAMS") or ""))
        self.params = dict(params if params is not None else env_params)
        self.username = username or _env("USERNAME")
        self._password = password or _env("PASSWORD")
        self.device_authorization_url = device_authorization_url or _env("DEVICE_AUTHORIZATION_URL")
        self.authorization_url = authorization_url or _env("AUTHORIZATION_URL")
        self.redirect_uri = redirect_uri or _env("REDIRECT_URI")
        self.authorize = authorize or print_authorization_url
        self.show_device_code = show_device_code or print_device_code
        if not isinstance(refresh_margin, timedelta):
            refresh_margin = timedelta(seconds=refresh_margin)
        self.refresh_margin = refresh_margin
        self.grant = grant or _env("GRANT") or self._default_grant()
        register(self._client_secret, self._password)
        self._patterns = [_host_pattern(host) for host in self.hosts]
        self._tokens: Tokens[str, str] = Tokens(self._renew, margin=refresh_margin)
        self._refresh_token: str | None = None  # kept by the token layer's single flight
        self.oauth_session: Any = None
        self._auth_method = auth_method or _env("AUTH_METHOD")
        if self.token_url is not None:
            self._check()
            self.oauth_session = self._new_oauth_session()
        elif self.hosts:
            raise ValueError("OAuth2: hosts are set but no token URL (STAC_ASSET_OAUTH2_TOKEN_URL)")

    def _new_oauth_session(self) -> Any:
        return _authlib_session(
            client_id=self.client_id,
            client_secret=self._client_secret,
            scope=self.scope,
            token_endpoint_auth_method=self._auth_method,
            code_challenge_method="S256",
            default_timeout=self.timeout,
        )

    def _shipped_state(self) -> dict[str, object]:
        # To another process without the grant's refresh token or Authlib's session.
        state = {k: v for k, v in super()._shipped_state().items() if k != "oauth_session"}
        return {**state, "_refresh_token": None}

    def _arrived(self) -> None:
        super()._arrived()
        self.oauth_session = self._new_oauth_session() if self.token_url is not None else None

    def _default_grant(self) -> str:
        if self.username:
            return "password"
        if self.device_authorization_url:
            return "device_code"
        if self.authorization_url:
            return "authorization_code"
        return "client_credentials"

    def _check(self) -> None:
        """Refuse incomplete settings early, naming what is missing."""
        needs: dict[str, list[tuple[str, object]]] = {
            "client_credentials": [("client_secret", self._client_secret)],
            "password": [("username", self.username), ("password", self._password)],
            "device_code": [("device_authorization_url", self.device_authorization_url)],
            "authorization_code": [("authorization_url", self.authorization_url)],
        }
        if self.grant not in needs:
            raise ValueError(f"OAuth2: unknown grant {self.grant!r}; use one of {GRANTS}")
        missing = [
            name for name, value in [("client_id", self.client_id), *needs[self.grant]] if not value
        ]
        if not self.hosts:
            missing.append("hosts")
        if missing:
            names = ", ".join(f"{m} ({ENV_PREFIX}{m.upper()})" for m in missing)
            raise ValueError(f"OAuth2 {self.grant} grant with {self.token_url} needs {names}")

    # -- which hrefs ------------------------------------------------------------

    @decided_per_directory
    def matches(self, href: str) -> bool:
        """Whether ``href`` is an http(s) URL on one of the configured hosts."""
        if self.token_url is None:
            return False
        parts = urlsplit(href)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
        host = parts.hostname.lower()
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return False
        return any(
            (name in ("*", host) or (name.startswith("*.") and host.endswith(name[1:])))
            and (wanted is None or wanted == port)
            for name, wanted in self._patterns
        )

    def resolve(self, href: str, asset: pystac.Asset | None = None) -> Access:
        """Resolve to ``/vsicurl/`` with the bearer token (only on a configured host)."""
        if not self.matches(href):
            return super().resolve(href, asset)
        token = self._tokens.get(str(self.token_url), href)
        headers = {**self.headers_for(href), "Authorization": f"Bearer {token.value}"}
        # Unknown lifetime: an expiry makes the engine re-resolve once on a 401.
        expires_at = token.expires_at or datetime.now(timezone.utc) + _NO_EXPIRY_NOMINAL
        return self.access_for_url(href, href, headers, expires_at)

    def gdal_view(self, url: str, headers: Mapping[str, str]) -> tuple[str, dict[str, str]]:
        """As :meth:`HttpClient.gdal_view`; GDAL keeps nothing of a file read with a token."""
        path, options = super().gdal_view(url, headers)
        if headers.get("Authorization", "").startswith("Bearer "):
            # GDAL caches a file's state per URL, whatever the headers: a 401 seen with an
            # expired token would outlive it. Keep nothing of this file once it is closed.
            options["CPL_VSIL_CURL_NON_CACHED"] = path
        return path, options

    def token_in(self, access: Access) -> TokenIn | None:
        """The bearer token ``access`` sends, if any."""
        sent = access.headers.get("Authorization", "")
        if self.token_url is None or not sent.startswith("Bearer "):
            return None
        return TokenIn(self._tokens, self.token_url, sent.removeprefix("Bearer "))

    def refused(self, access: Access, error: AccessDeniedError) -> None:
        """A 401 forgets the token, so the next resolve renews it (a 403 is about scope)."""
        if error.status == 401:
            super().refused(access, error)

    # -- the token ----------------------------------------------------------------

    def _renew(self, token_url: str, href: str) -> Token[str]:
        """A new token: with the refresh token if there is one, else with a new grant."""
        if self._refresh_token is not None:
            refresh = self._refresh_token
            try:
                data = self.call_token_endpoint(
                    href,
                    lambda: self.oauth_session.refresh_token(token_url, refresh_token=refresh),
                )
                return self._store(href, data, "refresh_token", keep_refresh=refresh)
            except AccessDeniedError as error:
                logger.info("oauth2: refresh refused (%s); new %s grant", error.reason, self.grant)
                self._refresh_token = None
        grants: dict[str, Callable[[str], dict[str, Any]]] = {
            "client_credentials": self._client_credentials,
            "password": self._password_grant,
            "device_code": lambda href: device_code(self, href),
            "authorization_code": lambda href: authorization_code(self, href),
        }
        return self._store(href, grants[self.grant](href), self.grant)

    def _store(
        self, href: str, data: Mapping[str, Any], how: str, keep_refresh: str | None = None
    ) -> Token[str]:
        access = data.get("access_token")
        token_type = str(data.get("token_type", "bearer"))
        if not isinstance(access, str) or not access or token_type.lower() != "bearer":
            where = mask_url(str(self.token_url))
            raise AccessError(href, self.name, f"no bearer token from {where} ({how})")
        self._refresh_token = data.get("refresh_token") or keep_refresh
        register(access, self._refresh_token)
        lifetime = data.get("expires_in")
        try:
            seconds = float(lifetime) if lifetime is not None else None
        except (TypeError, ValueError):
            seconds = None
        now = datetime.now(timezone.utc)
        expires_at = now + timedelta(seconds=seconds) if seconds is not None else None
        logger.info("oauth2: token from %s (%s), expires in %s s", self.token_url, how, seconds)
        return Token(access, expires_at, now)

    def call_token_endpoint(
        self, href: str, request: Callable[[], Any], endpoint: str | None = None
    ) -> Any:
        """Run one protocol request with retries; errors name the endpoint, never a secret."""
        prefix = f"request to {mask_url(endpoint or str(self.token_url))}"

        def attempt() -> Any:
            try:
                with mapped_errors(href, self.name, prefix):
                    return request()
            except ValueError as error:  # a response that is not a JSON object
                raise AccessError(href, self.name, f"{prefix} failed: {error}") from None

        return call_with_retries(attempt, self.retry)

    # -- the grants -------------------------------------------------------------------

    def _client_credentials(self, href: str) -> dict[str, Any]:
        grant = "client_credentials"
        return dict(
            self.call_token_endpoint(
                href,
                lambda: self.oauth_session.fetch_token(
                    self.token_url, grant_type=grant, **self.params
                ),
            )
        )

    def _password_grant(self, href: str) -> dict[str, Any]:
        return dict(
            self.call_token_endpoint(
                href,
                lambda: self.oauth_session.fetch_token(
                    self.token_url,
                    grant_type="password",
                    username=self.username,
                    password=self._password,
                    **self.params,
                ),
            )
        )

    def close(self) -> None:
        """Close the sessions of the asset bytes and of the token endpoint."""
        if self.oauth_session is not None:
            self.oauth_session.close()
        super().close()

    def __repr__(self) -> str:
        token_url = mask_url(self.token_url) if self.token_url else None
        return (
            f"OAuth2Client(token_url={token_url!r}, grant={self.grant!r}, "
            f"client_id={self.client_id!r}, hosts={self.hosts!r})"
        )


def _authlib_session(**kwargs: Any) -> Any:
    try:
        from authlib.integrations.requests_client import OAuth2Session
    except ImportError:
        raise ImportError(
            "OAuth2 needs Authlib: pip install 'stac-asset[oauth2]' (or pip install authlib)"
        ) from None
    session = OAuth2Session(**kwargs)
    # Every answer of this session is a token (or a device code): capped.
    session.hooks["response"].append(cap_answer)
    return session
