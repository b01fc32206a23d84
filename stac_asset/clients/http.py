"""Plain HTTP(S): any ``http://`` or ``https://`` href no more specific client takes."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

import pystac
import requests
import requests.utils

from .._secrets import is_sensitive, mask_mapping, register
from ..access import Access
from ..errors import AccessError
from ..retry import RetryPolicy
from . import http_curl, http_curl_batch, http_send, http_transport
from .base import ByteStream, Client, decided_per_directory
from .failures import map_exception
from .http_answer import Answer, encoded
from .http_curl_errors import CurlError
from .http_gdal import GdalView
from .http_stream import (
    DEFAULT_MIN_RATE,
    DEFAULT_RATE_WINDOW,
    HttpStream,
    raise_for_status,
)
from .http_urls import (
    MAX_REDIRECTS,
    origin,
    portable_headers,
    redirect_target,
)
from .netrc_auth import netrc_auth

_DEFAULT_HEADERS = requests.utils.default_headers()

_IDENTITY = {"Accept-Encoding": "identity"}
"""Bytes as stored: a body under a content coding is decoded by us, a bounded chunk at a time."""


def opens_plainly(klass: type[HttpClient]) -> bool:
    """Whether ``klass`` opens streams as :class:`HttpClient` does (a batch sends the same GET)."""
    return all(
        getattr(klass, name) is getattr(HttpClient, name)
        for name in ("open_stream", "get", "_send", "_open")
    )


class HttpClient(GdalView, Client):
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
        self._batches = http_curl_batch.Batches() if session is None else None
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
                user, password = netrc_auth(url) or ("", "")
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
        session = self.session
        request_headers, origin_name, same_origin = self._hop(access, url, headers)
        try:
            settings = http_transport.environment(session, url, origin_name)
            if self._pool is not None:
                request = http_send.curl_request(
                    session, url, request_headers, settings, self.timeout
                )
                return http_send.through_curl(self._pool, session, origin_name, request)
            custom = session.auth if http_transport.basic_auth(session.auth) is None else None
            auth = custom if same_origin and custom is not None else http_transport.no_auth
            return http_send.through_session(
                session, url, request_headers, settings, self.timeout, auth
            )
        except (requests.RequestException, CurlError) as error:
            raise map_exception(error, access.href, self.name) or error from None

    def _hop(
        self, access: Access, url: str, headers: Mapping[str, str]
    ) -> tuple[dict[str, str | None], str, bool]:
        """The headers of one hop (None drops a session header), its origin, and if it is home."""
        assert access.url is not None, "an HTTP access always has a url"
        request_headers: dict[str, str | None] = {**self.hop_headers(access, url), **headers}
        hop_origin = origin(url)
        same_origin = hop_origin == origin(access.url)
        if not same_origin:
            # The session's headers go on every request: keep its secrets home.
            for name in self.session.headers:
                if is_sensitive(name):
                    request_headers[name] = None
        return request_headers, "{}://{}:{}".format(*hop_origin), same_origin

    @property
    def batches(self) -> bool:
        """Whether :meth:`batch_request` gives requests (see there)."""
        return self._batches is not None and opens_plainly(type(self))

    def take_batch(self) -> http_curl_batch.Batch:
        """A batch to send :meth:`batch_request`'s GETs on, with this client's kept connections."""
        assert self._batches is not None, "a client that batches has batches"
        return self._batches.take()

    def give_batch(self, batch: http_curl_batch.Batch) -> None:
        """Give back a batch from :meth:`take_batch` once its download is over."""
        assert self._batches is not None, "a client that batches has batches"
        self._batches.give(batch)

    def batch_request(self, access: Access, url: str | None = None) -> http_send.CurlRequest | None:
        """The GET of ``access`` (or of ``url``, a hop of its redirects) for a libcurl batch.

        What :meth:`open_stream` would send from byte 0, for
        :mod:`stac_asset.express` to send many at once on one thread. None
        when this client sends through a session handed in, or when its class
        changes how streams are opened (to renew a refused token, say).
        """
        if not self.batches:
            return None
        url = url or access.url
        assert url is not None, "an HTTP access always has a url"
        request_headers, origin_name, _ = self._hop(access, url, _IDENTITY)
        try:
            settings = http_transport.environment(self.session, url, origin_name)
        except requests.RequestException as error:
            raise map_exception(error, access.href, self.name) or error from None
        return http_send.curl_request(self.session, url, request_headers, settings, self.timeout)

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
                raise_for_status(response, access.href, self.name)
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
        headers = dict(_IDENTITY)
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
        if self._batches is not None:
            self._batches.close()
        self.session.close()

    def __repr__(self) -> str:
        hosts = sorted(self.host_headers)
        return (
            f"{type(self).__name__}(headers={mask_mapping(self.headers)!r}, "
            f"host_headers={hosts!r}, timeout={self.timeout!r})"
        )
