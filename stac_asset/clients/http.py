"""Plain HTTP(S): any ``http://`` or ``https://`` href no more specific client takes."""

from __future__ import annotations

import base64
import functools
import os
import re
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol
from urllib.parse import parse_qs, urljoin, urlsplit

import pystac
import requests
import requests.adapters
import urllib3
import urllib3.exceptions

from .. import gdal
from .._secrets import is_sensitive, mask_mapping, register
from ..access import Access
from ..errors import AccessError, TransientError, error_for_status
from ..retry import RetryPolicy, call_with_retries
from . import connections
from .base import ByteStream, Client, decided_per_directory
from .failures import map_exception

_CHUNK = 1024 * 1024
_POOL_SIZE = 64
MAX_REDIRECTS = 10
_REDIRECTS = (301, 302, 303, 307, 308)
# GDAL (libcurl) drops only Authorization on a redirect to another origin; it
# sends every other header of GDAL_HTTP_HEADERS on, and GDAL 3.10 even sends
# Cookie straight to an S3-style redirect URL it caches (seen in request logs).
_GDAL_DROPS_ON_REDIRECT = frozenset({"authorization"})
# A URL that requests would send as it is (lower-case host, a path, no
# percent-escapes or characters it re-quotes): its request target is the path.
_PLAIN_URL = re.compile(
    r"(https?)://([a-z0-9.-]+)(?::([0-9]{1,5}))?(/[A-Za-z0-9._~!$&'()*+,;=:@/?-]*)"
)


_DEFAULT_HEADERS = requests.utils.default_headers()


class Body(Protocol):
    """A response body as it arrives (a urllib3 or :mod:`.connections` response)."""

    def read1(self, amount: int) -> bytes:
        """Up to ``amount`` bytes, as soon as some arrive; ``b""`` at the end."""
        ...


class HttpReply:
    """One response of the byte view: status, headers, URL, and the body as a stream.

    ``raw`` is the body, not decoded (read it with ``read1``).
    :meth:`close` hands the connection back to its pool when the body was
    read to its end, and drops it otherwise.
    """

    def __init__(
        self,
        status_code: int,
        reason: str | None,
        headers: Mapping[str, str],
        url: str,
        raw: Body,
        close: Callable[[], None],
    ) -> None:
        self.status_code = status_code
        self.reason = reason
        self.headers = headers
        self.url = url
        self.raw = raw
        self._close = close

    @classmethod
    def of(cls, response: requests.Response) -> HttpReply:
        """Wrap a streamed :class:`requests.Response`."""
        return cls(
            response.status_code,
            response.reason,
            response.headers,
            response.url,
            response.raw,
            response.close,
        )

    def close(self) -> None:
        """Release the connection."""
        self._close()


Response = requests.Response | HttpReply
"""What the status helpers read: a requests response or an :class:`HttpReply`."""


@functools.lru_cache(maxsize=256)
def origin(url: str) -> tuple[str, str, int | None]:
    """The scheme, host and port of ``url``: what a credential is scoped to."""
    parts = urlsplit(url)
    port = parts.port or connections.DEFAULT_PORTS.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def portable_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers that may follow a redirect to another origin: the non-secret ones."""
    return {name: value for name, value in headers.items() if not is_sensitive(name)}


def redirect_target(response: Response, href: str, client: str) -> str | None:
    """Where a redirect response points (absolute), or None if it is not a redirect.

    A redirect may only lead to http(s): any other scheme (``file:``, ``s3:``...)
    is refused with an :class:`~stac_asset.errors.AccessError` naming ``href``.
    """
    location = response.headers.get("Location")
    if response.status_code not in _REDIRECTS or not location:
        return None
    target = urljoin(response.url, location)
    scheme = urlsplit(target).scheme.lower()
    if scheme not in ("http", "https"):
        response.close()
        raise AccessError(
            href, client, f"redirected to a {scheme}: URL; redirects may only lead to http(s)"
        )
    return target


def signed_url_expiry(url: str) -> datetime | None:
    """When a presigned URL stops working, if it says so.

    Reads S3's ``X-Amz-Date`` + ``X-Amz-Expires``, or ``Expires`` in epoch seconds.
    """
    query = {k.lower(): v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    try:
        if "x-amz-date" in query and "x-amz-expires" in query:
            start = datetime.strptime(query["x-amz-date"], "%Y%m%dT%H%M%SZ")
            lifetime = timedelta(seconds=int(query["x-amz-expires"]))
            return start.replace(tzinfo=timezone.utc) + lifetime
        if "expires" in query:
            return datetime.fromtimestamp(int(query["expires"]), timezone.utc)
    except (ValueError, OverflowError):
        return None
    return None


def host_matches(url: str, hosts: Iterable[str]) -> bool:
    """Whether ``url``'s host is one of ``hosts``.

    An entry is a host name, ``*.domain`` for any sub-domain, or ``host:port``.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    for entry in hosts:
        name, _, port = entry.lower().partition(":")
        if port and str(parts.port) != port:
            continue
        if name == host or (name.startswith("*.") and host.endswith(name[1:])):
            return True
    return False


def no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """An ``auth=`` that keeps requests from adding ``session.auth`` or ~/.netrc credentials."""
    return request


def new_session() -> requests.Session:
    """A session whose connection pool suits many concurrent downloads."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=16, pool_maxsize=_POOL_SIZE)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    # requests re-reads the proxy variables on every request (about 0.5 ms);
    # with none set, read the CA bundle setting once instead. (~/.netrc is
    # never used: requests go out with auth=no_auth.)
    if not urllib.request.getproxies():
        session.trust_env = False
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get(
            "CURL_CA_BUNDLE", True
        )
    return session


def raise_for_status(response: Response, href: str, client: str) -> None:
    """Turn an HTTP error status into the matching :class:`~stac_asset.errors.AccessError`."""
    reason = f"HTTP {response.status_code} {response.reason or ''}".strip()
    error = error_for_status(response.status_code, href, client, reason, response.headers)
    if error is not None:
        raise error


def _total_size(response: Response) -> int | None:
    content_range = response.headers.get("Content-Range", "")
    if response.status_code == 206 and "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        return int(total) if total.isdigit() else None
    length = response.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


class HttpStream(ByteStream):
    """A streamed HTTP response body."""

    def __init__(self, response: HttpReply, start: int, href: str, client: str) -> None:
        self._response = response
        self._href = href
        self._client = client
        self.start = start
        self.size = _total_size(response)
        self.validator = response.headers.get("ETag") or response.headers.get("Last-Modified")

    def chunks(self) -> Iterator[bytes]:
        """Yield the body in chunks; a lost connection becomes a TransientError."""
        raw = self._response.raw
        try:
            # read1 hands over what has arrived, so a cut keeps every byte received.
            while chunk := raw.read1(_CHUNK):
                yield chunk
        except (
            urllib3.exceptions.HTTPError,
            requests.RequestException,
            ConnectionError,
            TimeoutError,
        ) as error:
            raise TransientError(
                self._href, self._client, f"connection lost mid-body ({type(error).__name__})"
            ) from None

    def close(self) -> None:
        """Close the response and return its connection to the pool."""
        self._response.close()


class HttpClient(Client):
    """Any HTTP(S) server, with optional headers for all hosts or per host.

    The headers of an access (the session's own, its basic auth and cookies,
    ``headers`` and ``host_headers``) go to the origin of the href only. On a
    redirect to another origin (scheme, host or port) only the non-secret ones
    follow, in both views: the byte view follows redirects itself, and when
    the headers hold a secret GDAL would pass on (anything but
    ``Authorization``), :meth:`resolve` asks the server once where the href
    leads and hands GDAL that URL. Credentials from ``~/.netrc`` are never
    added implicitly (the GDAL view sets ``GDAL_HTTP_NETRC=NO``).

    Args:
        session: A configured :class:`requests.Session`; its custom headers,
            basic auth (``session.auth = (user, password)``), cookies and
            ``verify`` (a CA bundle file, or False) are used for both the byte
            view and GDAL's. Another kind of
            ``session.auth`` applies to the byte view only, on the href's origin.
        headers: Headers sent to the host of every href.
        host_headers: Headers per host name, e.g.
            ``{"api.example.com": {"Authorization": "Bearer ..."}}``; sent only
            to that host.
        timeout: Seconds to wait to connect and between bytes.
        retry: How transient failures are retried.

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
    ) -> None:
        self.session = session if session is not None else new_session()
        # Requests go out on our own connections while the session is our own and
        # plain (see _direct); a session handed in always goes through requests.
        self._own_session = session is None
        self._connections = connections.Pools(_POOL_SIZE)
        self.headers = dict(headers or {})
        self.host_headers = {host.lower(): dict(h) for host, h in (host_headers or {}).items()}
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
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
        basic = _basic_auth(self.session.auth)
        if basic is not None:
            headers["Authorization"] = basic
        cookie = _cookie_header(self.session, url)
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
        if isinstance(verify, str) and os.path.isfile(verify):
            options["GDAL_CURL_CA_BUNDLE"] = verify
        elif not verify:
            options["GDAL_HTTP_UNSAFESSL"] = "YES"
        return options

    def access_for_url(
        self,
        href: str,
        url: str,
        headers: Mapping[str, str],
        expires_at: datetime | None = None,
    ) -> Access:
        """Build the access for reading ``url`` with ``headers`` (for subclasses that sign).

        The GDAL view is :meth:`gdal_target`'s; when that is a presigned URL
        on another origin, ``expires_at`` is brought forward to its expiry.
        """
        gdal_url, gdal_headers = self.gdal_target(href, url, headers)
        if gdal_url != url:
            signed = signed_url_expiry(gdal_url)
            if signed is not None and (expires_at is None or signed < expires_at):
                expires_at = signed
        return Access(
            href=href,
            client=self.name,
            vsi_path=f"/vsicurl/{gdal_url}",
            gdal_options=self.gdal_options(gdal_headers),
            url=url,
            headers=dict(headers),
            expires_at=expires_at,
        )

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
        if not any(
            is_sensitive(name) and name.lower() not in _GDAL_DROPS_ON_REDIRECT for name in headers
        ):
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

        def ask() -> HttpReply:
            response = self._send(access, url, {"Range": "bytes=0-0"})
            response.close()
            if response.status_code in (408, 429) or response.status_code >= 500:
                raise_for_status(response, access.href, self.name)
            return response

        return redirect_target(call_with_retries(ask, self.retry), access.href, self.name)

    def resolve(self, href: str, asset: pystac.Asset | None = None) -> Access:
        """Resolve to ``/vsicurl/`` plus this client's headers for the href's host."""
        return self.access_for_url(href, href, self.headers_for(href))

    def hop_headers(self, access: Access, url: str) -> dict[str, str]:
        """The headers of one request in the redirect chain that starts at ``access.url``.

        The access's headers go to its own origin; elsewhere only the
        non-secret ones.
        """
        assert access.url is not None, "an HTTP access always has a url"
        if origin(url) == origin(access.url):
            return dict(access.headers)
        return portable_headers(access.headers)

    def _send(self, access: Access, url: str, headers: Mapping[str, str]) -> HttpReply:
        """Send one streamed GET of the redirect chain, without following redirects."""
        assert access.url is not None, "an HTTP access always has a url"
        request_headers: dict[str, str | None] = {**self.hop_headers(access, url), **headers}
        same_origin = origin(url) == origin(access.url)
        if not same_origin:
            # requests adds the session's headers to every request: keep its secrets home.
            for name in self.session.headers:
                if is_sensitive(name):
                    request_headers[name] = None
        try:
            if self._direct(url):
                return self._send_direct(url, request_headers)
            custom = self.session.auth if _basic_auth(self.session.auth) is None else None
            response = self.session.get(
                url,
                headers=request_headers,
                stream=True,
                timeout=self.timeout,
                allow_redirects=False,
                auth=custom if same_origin and custom is not None else no_auth,
            )
            return HttpReply.of(response)
        except (requests.ConnectionError, requests.Timeout) as error:
            raise TransientError(
                access.href, self.name, f"request failed ({_connection_failure(error, url)})"
            ) from None
        except requests.RequestException as error:
            raise map_exception(error, access.href, self.name) or error from None
        except _DirectFailure as failure:
            if failure.transient:
                raise TransientError(
                    access.href, self.name, f"request failed ({failure})"
                ) from None
            raise AccessError(access.href, self.name, f"request failed: {failure}") from None

    def _direct(self, url: str) -> bool:
        """Whether a GET of ``url`` can skip requests and go out on :mod:`.connections`.

        Only for this client's own session, while it holds nothing requests
        would add to a request (auth, cookies, proxies, parameters, hooks, a
        custom adapter...): then requests and urllib3 cost about 0.8 ms of CPU
        per request and buy nothing; the same request goes out for a third of that.
        """
        session = self.session
        if (
            not self._own_session
            or session.trust_env
            or session.auth is not None
            or session.cookies
            or session.proxies
            or session.params
            or session.cert is not None
            or any(session.hooks.values())
            or not url.startswith(("http://", "https://"))
        ):
            return False
        return type(session.get_adapter(url)) is requests.adapters.HTTPAdapter

    def _send_direct(self, url: str, request_headers: Mapping[str, str | None]) -> HttpReply:
        """Send a GET as requests would, on this client's own keep-alive connections.

        The same headers (the session's, then ``request_headers``, where None
        drops one), URL, TLS settings and timeout; a response's cookies go to
        the session's jar, as requests keeps them.
        """
        plain = _PLAIN_URL.fullmatch(url)
        if plain is not None:
            scheme, host, port_text, target = plain.groups()
            port = int(port_text) if port_text else None
            prepared_url = url
        else:
            # Anything else is normalised (IDNA, re-quoting) the way requests does it.
            prepared = requests.PreparedRequest()
            prepared.prepare_url(url, None)
            assert prepared.url is not None
            prepared_url = prepared.url
            parts = urlsplit(prepared_url)
            scheme, host, port, target = parts.scheme, parts.hostname, parts.port, prepared.path_url
        # Merged as requests merges them: case-insensitive, a later value keeps the
        # earlier position, None removes.
        merged: dict[str, tuple[str, str | bytes]] = {}
        for given in (self.session.headers, request_headers):
            for name, value in given.items():
                if value is None:
                    merged.pop(name.lower(), None)
                else:
                    _check_header(name, value)
                    merged[name.lower()] = (name, value)
        headers = dict(merged.values())
        try:
            raw = self._connections.get(
                scheme, host or "", port, target, headers, self.timeout, self._verify()
            )
        except connections.ConnectTimeout:
            raise _DirectFailure("ConnectTimeout") from None
        except connections.TlsFailed:
            raise _DirectFailure("SSLError") from None
        except connections.ConnectRefused as error:
            raise _DirectFailure(str(error)) from None
        except connections.ReadTimeout:
            raise _DirectFailure("ReadTimeout") from None
        except ConnectionError:
            raise _DirectFailure("ConnectionError") from None
        except ValueError as error:  # a header value that is not latin-1
            raise _DirectFailure(str(error), transient=False) from None
        if "Set-Cookie" in raw.headers:
            cookie_request = requests.PreparedRequest()
            cookie_request.prepare(method="GET", url=prepared_url, headers=headers)
            self.session.cookies.extract_cookies(
                requests.cookies.MockResponse(raw.headers),  # type: ignore[arg-type]
                requests.cookies.MockRequest(cookie_request),  # type: ignore[arg-type]
            )
        return HttpReply(raw.status, raw.reason, raw.headers, prepared_url, raw, raw.close)

    def _verify(self) -> bool | str:
        """``session.verify`` as requests reads it: a CA file or directory, or whether to check."""
        verify = self.session.verify
        return verify if isinstance(verify, str) and verify else bool(verify)

    def get(self, access: Access, headers: Mapping[str, str] | None = None) -> HttpReply:
        """Send a streamed GET for ``access``, following redirects with :meth:`hop_headers`.

        Connection failures become :class:`~stac_asset.errors.TransientError`.
        """
        assert access.url is not None, "an HTTP access always has a url"
        url = access.url
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(access, url, headers or {})
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
        headers = {"Accept-Encoding": "identity"}
        if start:
            headers["Range"] = f"bytes={start}-"
            if validator:
                headers["If-Range"] = validator
        response = self.get(access, headers)
        try:
            raise_for_status(response, access.href, self.name)
        except AccessError:
            response.close()
            raise
        # A server that ignores the range (or whose object changed) answers 200.
        offset = start if response.status_code == 206 else 0
        return HttpStream(response, offset, access.href, self.name)

    def close(self) -> None:
        """Close the session's connection pools."""
        self.session.close()
        self._connections.close()

    def __getstate__(self) -> dict[str, Any]:
        # Connections stay behind; the session's pickle rebuilds its own pools.
        state = dict(self.__dict__)
        del state["_connections"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._connections = connections.Pools(_POOL_SIZE)

    def __repr__(self) -> str:
        hosts = sorted(self.host_headers)
        return (
            f"{type(self).__name__}(headers={mask_mapping(self.headers)!r}, "
            f"host_headers={hosts!r}, timeout={self.timeout!r})"
        )


@functools.lru_cache(maxsize=1024)
def _check_header(name: str, value: str | bytes) -> None:
    """Refuse a header requests would refuse (remembering the good ones: most repeat)."""
    requests.utils.check_header_validity((name, value))  # type: ignore[type-var]


class _DirectFailure(Exception):
    """A request sent on our own connections failed; named as requests would name it."""

    def __init__(self, name: str, *, transient: bool = True) -> None:
        super().__init__(name)
        self.transient = transient


def _connection_failure(error: requests.RequestException, url: str) -> str:
    """``connection refused by host:port`` when it was that, else requests' name for it."""
    cause: object = error
    seen: set[int] = set()
    while isinstance(cause, BaseException) and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ConnectionRefusedError):
            parts = urlsplit(url)
            port = parts.port or connections.DEFAULT_PORTS.get(parts.scheme, 0)
            return connections.refused(parts.hostname or "", port)
        # requests wraps urllib3's MaxRetryError, whose reason wraps the socket's error.
        inner = getattr(cause, "reason", None) or (cause.args[0] if cause.args else None)
        cause = cause.__cause__ or cause.__context__ or inner
    return type(error).__name__


def _basic_auth(auth: object) -> str | None:
    """The ``Authorization`` value of a session's basic auth, or None for other kinds."""
    if type(auth) is requests.auth.HTTPBasicAuth:
        auth = (auth.username, auth.password)
    if not (isinstance(auth, tuple) and len(auth) == 2 and all(isinstance(a, str) for a in auth)):
        return None
    user, password = auth
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    register(password, token)
    return f"Basic {token}"


def _cookie_header(session: requests.Session, url: str) -> str | None:
    """The ``Cookie`` header the session's cookie jar holds for ``url``."""
    if not session.cookies:
        return None
    request = requests.Request("GET", url).prepare()
    header: str | None = requests.cookies.get_cookie_header(  # type: ignore[no-untyped-call]
        session.cookies, request
    )
    return header
