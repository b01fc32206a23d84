"""Plain HTTP(S): any ``http://`` or ``https://`` href no more specific client takes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

import pystac
import requests
import requests.utils

from .. import gdal
from .._secrets import is_sensitive, mask_mapping, register
from ..access import Access
from ..errors import AccessError
from ..retry import RetryPolicy, call_with_retries
from . import http_curl, http_curl_options, http_send, http_transport
from .base import ByteStream, Client, decided_per_directory
from .failures import map_exception
from .http_answer import Answer, encoded
from .http_curl_errors import CurlError
from .http_stream import (
    DEFAULT_MIN_RATE,
    DEFAULT_RATE_WINDOW,
    HttpStream,
    raise_for_status,
)
from .http_urls import (
    MAX_REDIRECTS,
    gdal_forwards_secrets,
    origin,
    portable_headers,
    redirect_target,
    signed_url_expiry,
)

_DEFAULT_HEADERS = requests.utils.default_headers()


class HttpClient(Client):
    """Any HTTP(S) server, with optional headers for all hosts or per host.

    The headers of an access (the session's own, its basic auth and cookies,
    ``headers`` and ``host_headers``) go to the origin of the href only. On a
    redirect to another origin (scheme, host or port) only the non-secret ones
    follow, in both views: the byte view follows redirects itself, and when
    the headers hold a secret GDAL would pass on (anything but
    ``Authorization``), :meth:`gdal_access` asks the server once where the
    href leads and hands GDAL that URL (downloads never ask). ``user:password@``
    in the href, or the ``~/.netrc`` entry of its host, gives basic auth to
    that origin in both views (see :meth:`resolve`; GDAL's own netrc lookup stays off).

    GETs go through libcurl, or through ``session`` when one is given (see
    :mod:`stac_asset.clients.http_send`), with the same request and settings.

    Args:
        session: A configured :class:`requests.Session`; its custom headers,
            basic auth (``session.auth = (user, password)``), cookies and
            ``verify`` (a CA bundle file, or False) are used for both the byte
            view and GDAL's; the byte view then sends through it (its
            adapters and hooks apply, and another kind of ``session.auth``,
            on the href's origin only). Without one, libcurl sends.
        headers: Headers sent to the host of every href.
        host_headers: Headers per host name, e.g.
            ``{"api.example.com": {"Authorization": "Bearer ..."}}``; sent only
            to that host.
        timeout: Seconds to wait to connect and between bytes.
        retry: How transient failures are retried.
        min_rate: Bytes per second under which a body that keeps arriving
            is given up on (a transient failure, retried): a server that
            trickles bytes cannot hold a download forever. 0 turns it off.
        rate_window: Seconds of waiting for bytes over which ``min_rate`` is measured.
        max_per_host: The most requests in flight to any one host through this
            client (its limit adapts below that: see
            :mod:`stac_asset.host_limits`); None for the download's
            ``max_concurrent_per_host``.

    """

    name = "http"

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        host_headers: Mapping[str, Mapping[str, str]] | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        min_rate: float = DEFAULT_MIN_RATE,
        rate_window: float = DEFAULT_RATE_WINDOW,
        max_per_host: int | None = None,
    ) -> None:
        self.session = session if session is not None else http_transport.new_session()
        # A session of our own holds settings only: libcurl sends (see _send).
        self._pool = http_curl.Pool() if session is None else None
        self.headers = dict(headers or {})
        self.host_headers = {host.lower(): dict(h) for host, h in (host_headers or {}).items()}
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.min_rate = min_rate
        self.rate_window = rate_window
        self.max_per_host = max_per_host
        register(*(str(v) for k, v in self.session.headers.items() if is_sensitive(k)))
        for values in (self.headers, *self.host_headers.values()):
            register(*(v for k, v in values.items() if is_sensitive(k)))

    @decided_per_directory
    def matches(self, href: str) -> bool:
        """Whether ``href`` is an ``http://`` or ``https://`` URL."""
        return urlsplit(href).scheme in ("http", "https")

    def headers_for(self, url: str) -> dict[str, str]:
        """The headers this client sends to ``url``'s host.

        In order: the session's own headers, its basic auth, its cookies for
        ``url``, then ``headers`` and the ``host_headers`` of the host.
        """
        headers = {
            name: str(value)
            for name, value in self.session.headers.items()
            if _DEFAULT_HEADERS.get(name) != value
        }
        basic = http_transport.basic_auth(self.session.auth)
        if basic is not None:
            headers["Authorization"] = basic
        cookie = http_transport.cookie_header(self.session, url)
        if cookie is not None:
            headers["Cookie"] = cookie
        headers.update(self.headers)
        headers.update(self.host_headers.get((urlsplit(url).hostname or "").lower(), {}))
        register(*(value for name, value in headers.items() if is_sensitive(name)))
        return headers

    def gdal_options(self, headers: Mapping[str, str]) -> dict[str, str]:
        """GDAL options for reading over ``/vsicurl/`` with ``headers``."""
        options = gdal.network_options(self.timeout, self.retry.max_attempts)
        options["GDAL_HTTP_NETRC"] = "NO"
        # GDAL 3.10's default, pinned so a global YES cannot send Authorization elsewhere.
        options["CPL_VSIL_CURL_AUTHORIZATION_HEADER_ALLOWED_IF_REDIRECT"] = "IF_SAME_HOST"
        if headers:
            options["GDAL_HTTP_HEADERS"] = gdal.encode_headers(headers)
        # Certificates are checked as the byte view checks them.
        verify = self._verify()
        if isinstance(verify, str) and not http_curl_options.is_ca_directory(verify):
            options["GDAL_CURL_CA_BUNDLE"] = verify
        elif not verify:
            options["GDAL_HTTP_UNSAFESSL"] = "YES"
        return options

    def gdal_view(self, url: str, headers: Mapping[str, str]) -> tuple[str, dict[str, str]]:
        """The GDAL path and options for reading ``url`` with ``headers``."""
        return f"/vsicurl/{url}", self.gdal_options(headers)

    def access_for_url(
        self,
        href: str,
        url: str,
        headers: Mapping[str, str],
        expires_at: datetime | None = None,
    ) -> Access:
        """Build the access for reading ``url`` with ``headers`` (for subclasses that sign).

        When the headers hold a secret GDAL would send on a redirect (see
        :meth:`gdal_target`), the GDAL view is left unfinished, with none of
        the secrets, for :meth:`gdal_access`: resolving sends no request.
        """
        pending = gdal_forwards_secrets(headers)
        if pending:
            path, options = self.gdal_view(url, portable_headers(headers))
        else:
            path, options, expires_at = self._final_gdal_view(href, url, headers, expires_at)
        return Access(
            href=href,
            client=self.name,
            vsi_path=path,
            gdal_options=options,
            url=url,
            headers=dict(headers),
            expires_at=expires_at,
            gdal_ready=not pending,
        )

    def gdal_access(self, access: Access) -> Access:
        """``access`` with the GDAL view of :meth:`gdal_target` (one request, if it takes any)."""
        if access.gdal_ready:
            return access
        assert access.url is not None, "an HTTP access always has a url"
        path, options, expires_at = self._final_gdal_view(
            access.href, access.url, access.headers, access.expires_at
        )
        return replace(
            access, vsi_path=path, gdal_options=options, expires_at=expires_at, gdal_ready=True
        )

    def _final_gdal_view(
        self, href: str, url: str, headers: Mapping[str, str], expires_at: datetime | None
    ) -> tuple[str, dict[str, str], datetime | None]:
        """GDAL's path and options for ``url``, and the expiry: a presigned target's, if sooner."""
        gdal_url, gdal_headers = self.gdal_target(href, url, headers)
        if gdal_url != url:
            signed = signed_url_expiry(gdal_url)
            if signed is not None and (expires_at is None or signed < expires_at):
                expires_at = signed
        path, options = self.gdal_view(gdal_url, gdal_headers)
        return path, options, expires_at

    def gdal_target(
        self, href: str, url: str, headers: Mapping[str, str]
    ) -> tuple[str, Mapping[str, str]]:
        """The URL and headers for GDAL's view of ``url``, so that no secret leaves its origin.

        GDAL drops ``Authorization`` on a redirect to another origin but sends
        every other header on. When ``headers`` hold another secret, ask the
        server where ``url`` leads (one small request; redirects followed on
        the same origin only): GDAL then reads the first URL on another
        origin, without the secrets, or ``url`` itself when it stays.
        """
        if not gdal_forwards_secrets(headers):
            return url, headers
        start = origin(url)
        hop = url
        for _ in range(MAX_REDIRECTS):
            probe = Access(href=href, client=self.name, vsi_path="", url=hop, headers=dict(headers))
            target = self._probe(probe)
            if target is None:
                return hop, headers
            if origin(target) != start:
                return target, portable_headers(headers)
            hop = target
        raise AccessError(href, self.name, f"more than {MAX_REDIRECTS} redirects")

    def _probe(self, access: Access) -> str | None:
        """Where ``access.url`` redirects to (asking for one byte), or None if it does not."""
        assert access.url is not None, "an HTTP access always has a url"
        url = access.url

        def ask() -> Answer:
            response = self._send(access, url, {"Range": "bytes=0-0"})
            response.close()
            if response.status_code in (408, 429) or response.status_code >= 500:
                raise_for_status(response, access.href, self.name)
            return response

        return redirect_target(call_with_retries(ask, self.retry), access.href, self.name)

    def resolve(self, href: str, asset: pystac.Asset | None = None) -> Access:
        """Resolve to ``/vsicurl/`` plus this client's headers for the href's host.

        Basic auth comes, when no header of this client sets
        ``Authorization``, from ``user:password@`` in the href or else (while
        ``session.trust_env``, as requests reads it) from ``~/.netrc`` or the
        file ``NETRC`` names, for the href's host: both views send it, and the
        URL they read carries no user or password.
        """
        headers = self.headers_for(href)
        url = href
        parts = urlsplit(href)
        if parts.username is not None or parts.password is not None:
            url = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        if not any(name.lower() == "authorization" for name in headers):
            user, password = requests.utils.get_auth_from_url(href)
            if not (user or password) and self.session.trust_env:
                user, password = requests.utils.get_netrc_auth(url) or ("", "")
            if user or password:
                headers["Authorization"] = http_transport.basic_auth((user, password)) or ""
        return self.access_for_url(href, url, headers)

    def hop_headers(self, access: Access, url: str) -> dict[str, str]:
        """The headers of one request in the redirect chain that starts at ``access.url``.

        The access's headers go to its own origin; elsewhere only the
        non-secret ones.
        """
        assert access.url is not None, "an HTTP access always has a url"
        if origin(url) == origin(access.url):
            return dict(access.headers)
        return portable_headers(access.headers)

    def _send(self, access: Access, url: str, headers: Mapping[str, str]) -> Answer:
        """Send one streamed GET of the redirect chain, not following redirects.

        As ``session.get`` would send it (the session's headers and cookies,
        its proxies and CA settings), with this client's headers for the hop,
        and no ``session.auth`` or ``~/.netrc`` credentials but those
        :meth:`resolve` put in the access. Through libcurl when this client
        made its session; through a session handed in, so that its adapters,
        hooks and other auth apply (see :mod:`stac_asset.clients.http_send`).
        """
        assert access.url is not None, "an HTTP access always has a url"
        request_headers: dict[str, str | None] = {**self.hop_headers(access, url), **headers}
        hop_origin = origin(url)
        same_origin = hop_origin == origin(access.url)
        session = self.session
        if not same_origin:
            # The session's headers go on every request: keep its secrets home.
            for name in session.headers:
                if is_sensitive(name):
                    request_headers[name] = None
        origin_name = "{}://{}:{}".format(*hop_origin)
        try:
            settings = http_transport.environment(session, url, origin_name)
            if self._pool is not None:
                return http_send.through_curl(
                    self._pool, session, origin_name, url, request_headers, settings, self.timeout
                )
            custom = session.auth if http_transport.basic_auth(session.auth) is None else None
            auth = custom if same_origin and custom is not None else http_transport.no_auth
            return http_send.through_session(
                session, url, request_headers, settings, self.timeout, auth
            )
        except (requests.RequestException, CurlError) as error:
            raise map_exception(error, access.href, self.name) or error from None

    def _verify(self) -> bool | str:
        """What the byte view checks certificates against: a CA file or directory, or whether to."""
        verify = http_transport.ca_setting(self.session)
        return verify if isinstance(verify, str) and verify else bool(verify)

    def get(self, access: Access, headers: Mapping[str, str] | None = None) -> Answer:
        """Send a streamed GET for ``access``, following redirects with :meth:`hop_headers`.

        Connection failures become :class:`~stac_asset.errors.TransientError`;
        an answer that is not HTTP, or that switches protocols (``101``), an
        :class:`~stac_asset.errors.AccessError`.
        """
        assert access.url is not None, "an HTTP access always has a url"
        url = access.url
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(access, url, headers or {})
            if response.status_code < 200:
                response.close()
                raise AccessError(
                    access.href,
                    self.name,
                    f"HTTP {response.status_code} {response.reason or ''}: "
                    "the server answered a GET with an interim or protocol-switching status",
                    status=response.status_code,
                )
            target = redirect_target(response, access.href, self.name)
            if target is None:
                return response
            response.close()
            url = target
        raise AccessError(access.href, self.name, f"more than {MAX_REDIRECTS} redirects")

    def open_stream(
        self, access: Access, start: int = 0, validator: str | None = None
    ) -> ByteStream:
        """GET the object from ``start`` (a Range request guarded by ``If-Range``)."""
        return self._open(access, f"bytes={start}-" if start else None, start, validator)

    def open_range(
        self, access: Access, start: int, end: int, validator: str | None = None
    ) -> ByteStream:
        """GET bytes ``start`` to ``end`` (exclusive) of the object, of version ``validator``.

        A server that ignores the range or whose object changed answers with
        the whole object: the stream's ``start`` is then 0, or its
        ``validator`` another one.
        """
        return self._open(access, f"bytes={start}-{end - 1}", start, validator)

    def _open(
        self, access: Access, byte_range: str | None, start: int, validator: str | None
    ) -> HttpStream:
        headers = {"Accept-Encoding": "identity"}
        if byte_range:
            headers["Range"] = byte_range
            if validator:
                headers["If-Range"] = validator
        response = self.get(access, headers)
        if byte_range and response.status_code == 206 and encoded(response):
            # A range of coded bytes cannot continue decoded ones: start over.
            response.close()
            return self._open(access, None, 0, None)
        try:
            raise_for_status(response, access.href, self.name)
        except AccessError:
            response.close()
            raise
        # A server that ignores the range (or whose object changed) answers 200.
        offset = start if response.status_code == 206 else 0
        return HttpStream(response, offset, access.href, self.name, self.min_rate, self.rate_window)

    def close(self) -> None:
        """Close the connections this client keeps alive."""
        if self._pool is not None:
            self._pool.close()
        self.session.close()

    def __repr__(self) -> str:
        hosts = sorted(self.host_headers)
        return (
            f"{type(self).__name__}(headers={mask_mapping(self.headers)!r}, "
            f"host_headers={hosts!r}, timeout={self.timeout!r})"
        )
