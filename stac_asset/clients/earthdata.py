"""NASA Earthdata: a bearer token, or an Earthdata Login session, for the DAACs' data hosts.

Two ways in, tried in this order:

* a **token** (``token=``, ``EARTHDATA_TOKEN``, or stac-asset 0.4's
  ``EARTHDATA_PAT``), sent as ``Authorization:
  Bearer`` to Earthdata hosts only;
* an **Earthdata Login session**: with a username and password
  (``username=``/``password=``, ``EARTHDATA_USERNAME``/``EARTHDATA_PASSWORD``,
  or the ``~/.netrc`` entry for ``urs.earthdata.nasa.gov``), the client walks
  the real flow once per data host — data host → 302 to the login host →
  Basic credentials, to the login host only → 302 back with ``?code=`` → the
  data host sets its session cookie — and then sends that cookie to that host.

Nothing of it ever reaches another host: a data host usually answers with a
redirect to a presigned URL on an object store, which both views follow
without ``Authorization`` or cookies (GDAL is handed the presigned URL when it
would otherwise forward the cookie). The password goes to the login host and
nowhere else; GDAL never sees it.
"""

from __future__ import annotations

import logging
import netrc
import os
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pystac
import requests

from .._secrets import register
from ..access import Access
from ..errors import AccessDeniedError, AccessError
from ..retry import RetryPolicy, call_with_retries
from .base import decided_per_directory
from .environment import PROXY_AND_CA, home_file
from .failures import mapped_errors
from .http import HttpClient
from .http_stream import raise_for_status
from .http_transport import no_auth
from .http_urls import MAX_REDIRECTS, host_matches, origin, redirect_target
from .tokens import RenewsOnRefusal, Token, Tokens

logger = logging.getLogger(__name__)

Origin = tuple[str, str, int | None]

DEFAULT_HOSTS: tuple[str, ...] = (
    "*.earthdata.nasa.gov",
    "*.earthdatacloud.nasa.gov",
    "e4ftl01.cr.usgs.gov",
    "n5eil01u.ecs.nsidc.org",
    "daacdata.apps.nsidc.org",
    "data.asf.alaska.edu",
    "datapool.asf.alaska.edu",
    "ladsweb.modaps.eosdis.nasa.gov",
    "*.gesdisc.eosdis.nasa.gov",
    "opendap.cr.usgs.gov",
)
"""Hosts that take Earthdata Login (wildcards match any sub-domain).

Among them ``data.lpdaac.earthdatacloud.nasa.gov``, ``archive.podaac.earthdata.nasa.gov``,
``data.ornldaac.earthdata.nasa.gov``, ``data.gesdisc.earthdata.nasa.gov``,
``cmr.earthdata.nasa.gov`` and ``urs.earthdata.nasa.gov``. Add more with
``EarthdataClient(hosts=[...])`` or ``EARTHDATA_HOSTS`` (comma-separated); an
entry may carry a port (``host:port``).
"""

DEFAULT_LOGIN_URL = "https://urs.earthdata.nasa.gov"
SESSION_LIFETIME = timedelta(hours=1)
"""How long a login session is trusted when its cookie does not say."""


class _SessionExpired(AccessDeniedError):
    """The data host sent a request with a session cookie to the login host again."""


class EarthdataClient(RenewsOnRefusal, HttpClient):
    """NASA Earthdata hosts, with a bearer token or an Earthdata Login session.

    Args:
        session: A :class:`requests.Session` to use (its cookie jar keeps the
            login sessions).
        token: An Earthdata Login user token; default ``EARTHDATA_TOKEN``, else
            ``EARTHDATA_PAT`` (stac-asset 0.4's name).
        username: Earthdata Login user; default ``EARTHDATA_USERNAME``, else
            the netrc entry for the login host.
        password: Its password; default ``EARTHDATA_PASSWORD``, else netrc.
        hosts: Hosts to treat as Earthdata hosts, besides :data:`DEFAULT_HOSTS`
            and ``EARTHDATA_HOSTS``.
        login_url: The Earthdata Login server; default ``EARTHDATA_LOGIN_URL``
            or ``https://urs.earthdata.nasa.gov``.
        netrc_file: The netrc file to read; default ``NETRC`` or ``~/.netrc``.
        headers: Extra headers for Earthdata hosts.
        timeout: Seconds to wait to connect and between bytes.
        retry: How transient failures are retried.

    """

    name = "earthdata"
    environment = (*PROXY_AND_CA, "EARTHDATA_*", "NETRC")

    @classmethod
    def environment_files(cls) -> list[str]:
        """The netrc file (``NETRC``, else ``~/.netrc``)."""
        return [home_file("NETRC", ".netrc")]

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        hosts: Iterable[str] = (),
        login_url: str | None = None,
        netrc_file: str | os.PathLike[str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(session, headers=headers, timeout=timeout, retry=retry)
        self.token = (
            token or os.environ.get("EARTHDATA_TOKEN") or os.environ.get("EARTHDATA_PAT") or None
        )
        self._username = username or os.environ.get("EARTHDATA_USERNAME") or None
        self._password = password or os.environ.get("EARTHDATA_PASSWORD") or None
        extra = [h.strip() for h in os.environ.get("EARTHDATA_HOSTS", "").split(",") if h.strip()]
        self.hosts = tuple(h.lower() for h in (*DEFAULT_HOSTS, *extra, *hosts))
        self.login_url = (
            login_url or os.environ.get("EARTHDATA_LOGIN_URL") or DEFAULT_LOGIN_URL
        ).rstrip("/")
        self._netrc_file = netrc_file or os.environ.get("NETRC") or None
        # A login session per data host; a refused password is refused for every host.
        self._sessions: Tokens[Origin, frozenset[str]] = Tokens(self._log_in)
        register(self.token, self._password)

    @decided_per_directory
    def matches(self, href: str) -> bool:
        """Whether ``href`` is on an Earthdata host."""
        parts = urlsplit(href)
        return parts.scheme in ("http", "https") and self.is_earthdata_host(href)

    def is_earthdata_host(self, url: str) -> bool:
        """Whether ``url``'s host is one of :attr:`hosts`."""
        return host_matches(url, self.hosts)

    def resolve(self, href: str, asset: pystac.Asset | None = None) -> Access:
        """Resolve ``href`` with the token, or with a login session (logging in once)."""
        if not self.is_earthdata_host(href):
            return super().resolve(href, asset)
        if self.token:
            headers = {**self.headers_for(href), "Authorization": f"Bearer {self.token}"}
            return self.access_for_url(href, href, headers)
        expires_at = self._ensure_session(href)
        return self.access_for_url(href, href, self.headers_for(href), expires_at=expires_at)

    def gdal_access(self, access: Access) -> Access:
        """As :meth:`HttpClient.gdal_access`; a session the data host dropped is renewed once."""
        try:
            return super().gdal_access(access)
        except _SessionExpired:
            pass  # the server dropped the session since: log in again, once
        try:
            return super().gdal_access(self.resolve(access.href))
        except _SessionExpired:
            raise AccessDeniedError(
                access.href, self.name, "the Earthdata Login session keeps expiring"
            ) from None

    def gdal_target(
        self, href: str, url: str, headers: Mapping[str, str]
    ) -> tuple[str, Mapping[str, str]]:
        """As :meth:`HttpClient.gdal_target`, but never GDAL to the login host."""
        target, gdal_headers = super().gdal_target(href, url, headers)
        if origin(target) == origin(self.login_url):
            self._session_rejected(url, headers)
            raise _SessionExpired(href, self.name, "the Earthdata Login session has expired")
        return target, gdal_headers

    def hop_headers(self, access: Access, url: str) -> dict[str, str]:
        """As :meth:`HttpClient.hop_headers`; a redirect to the login host ends the request.

        It means the session cookie is missing or expired: the session is
        forgotten and :class:`~stac_asset.errors.AccessDeniedError` raised, so
        the engine resolves again, which logs in once for all threads.
        """
        if origin(url) == origin(self.login_url) and access.url is not None:
            self._session_rejected(access.url, access.headers)
            raise AccessDeniedError(access.href, self.name, self._login_hint())
        return super().hop_headers(access, url)

    def refused(self, access: Access, error: AccessDeniedError) -> None:
        """Forget the refused session cookie: the next resolve logs in again (once)."""
        if access.url is not None:
            self._session_rejected(access.url, access.headers)

    def accepted(self, access: Access) -> None:
        """The data host took the session: a later refusal brings one new login again."""
        if access.url is not None and "Cookie" in access.headers:
            self._sessions.accepted(origin(access.url))

    # -- login sessions ---------------------------------------------------------------------------

    def _credentials(self) -> tuple[str, str] | None:
        if self._username and self._password:
            return self._username, self._password
        path = Path(self._netrc_file) if self._netrc_file else Path.home() / ".netrc"
        if not path.is_file():
            return None
        try:
            entry = netrc.netrc(path).authenticators(urlsplit(self.login_url).hostname or "")
        except (netrc.NetrcParseError, OSError) as error:
            raise AccessError(self.login_url, self.name, f"cannot read {path}: {error}") from None
        if entry is None or not entry[0] or not entry[2]:
            return None
        register(entry[2])
        return entry[0], entry[2]

    def _login_hint(self) -> str:
        host = urlsplit(self.login_url).hostname
        return (
            "Earthdata Login required: set EARTHDATA_TOKEN, or EARTHDATA_USERNAME and "
            f"EARTHDATA_PASSWORD, or add 'machine {host}' to ~/.netrc"
        )

    def _ensure_session(self, href: str) -> datetime | None:
        """Log in to ``href``'s host unless a live session exists; return when it ends."""
        return self._sessions.get(origin(href), href).expires_at

    def _log_in(self, home: Origin, href: str) -> Token[frozenset[str]]:
        """A new login session on ``home`` (none, without credentials: public data only)."""
        credentials = self._credentials()
        if credentials is None:
            return Token(frozenset(), None)  # anonymous: public data works, protected says why
        # An expired session's cookie is worth nothing: log in afresh, not with it.
        for cookie in [c for c in self.session.cookies if home[1].endswith(c.domain.lstrip("."))]:
            self.session.cookies.clear(cookie.domain, cookie.path, cookie.name)
        started = datetime.now(timezone.utc)
        expires = call_with_retries(lambda: self._login(href, credentials), self.retry)
        cookies = frozenset(
            f"{cookie.name}={cookie.value}"
            for cookie in self.session.cookies
            if home[1].endswith(cookie.domain.lstrip("."))
        )
        return Token(cookies, expires, started)

    def _login(self, href: str, credentials: tuple[str, str]) -> datetime:
        """Walk the Earthdata Login redirect flow from ``href`` until the session cookie is set."""
        login = origin(self.login_url)
        home = origin(href)
        url = href
        started = datetime.now(timezone.utc)
        for _ in range(MAX_REDIRECTS):
            headers = {"Range": "bytes=0-0"}
            auth = requests.auth.HTTPBasicAuth(*credentials) if origin(url) == login else no_auth
            with mapped_errors(href, self.name, f"login request to {url}"):
                response = self.session.get(
                    url,
                    headers=headers,
                    auth=auth,
                    stream=True,
                    allow_redirects=False,
                    timeout=self.timeout,
                )
            response.close()
            if origin(url) == login and response.status_code in (401, 403):
                raise AccessDeniedError(
                    href,
                    self.name,
                    f"Earthdata Login refused the credentials of {credentials[0]!r} "
                    f"(HTTP {response.status_code})",
                    status=response.status_code,
                )
            target = redirect_target(response, href, self.name)
            if target is None:
                raise_for_status(response, href, self.name)
                break
            if origin(target) not in (login, home):
                break  # sent on to the object itself: the session is set up
            url = target
        else:
            raise AccessError(href, self.name, f"more than {MAX_REDIRECTS} redirects at login")
        logger.info("earthdata: logged in to %s as %s", home[1], credentials[0])
        expiries = [
            datetime.fromtimestamp(cookie.expires, timezone.utc)
            for cookie in self.session.cookies
            if cookie.expires and home[1].endswith(cookie.domain.lstrip("."))
        ]
        return min([started + SESSION_LIFETIME, *expiries])

    def _session_rejected(self, url: str, headers: Mapping[str, str]) -> None:
        """Forget the session whose cookie ``headers`` carried, unless a newer one replaced it."""
        sent = {part.strip() for part in headers.get("Cookie", "").split(";") if part.strip()}
        home = origin(url)
        session = self._sessions.current(home)
        if not sent or session is None or not session.value & sent:
            return
        for cookie in [c for c in self.session.cookies if f"{c.name}={c.value}" in sent]:
            self.session.cookies.clear(cookie.domain, cookie.path, cookie.name)
        error = AccessDeniedError(url, self.name, "the Earthdata Login session was refused")
        self._sessions.refused(home, session.value, error)

    def __repr__(self) -> str:
        mode = "token" if self.token else "login"
        return f"EarthdataClient(mode={mode!r}, login_url={self.login_url!r})"
