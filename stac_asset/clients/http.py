"""Plain HTTP(S): any ``http://`` or ``https://`` href no more specific client takes."""

from __future__ import annotations

import email.utils
import os
import urllib.request
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pystac
import requests
import requests.adapters
import urllib3.exceptions

from .. import gdal
from .._secrets import is_sensitive, mask_mapping, register
from ..access import Access
from ..errors import AccessDeniedError, AccessError, NotFoundError, TransientError
from ..retry import RetryPolicy
from .base import ByteStream, Client

_CHUNK = 1024 * 1024
_POOL_SIZE = 64


def _environment_matters() -> bool:
    """Whether requests' per-request look at the environment could change anything."""
    proxies = urllib.request.getproxies()
    netrc = os.environ.get("NETRC") or os.path.expanduser("~/.netrc")
    return bool(proxies) or os.path.exists(netrc)


def new_session() -> requests.Session:
    """A session whose connection pool suits many concurrent downloads."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=16, pool_maxsize=_POOL_SIZE)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    # requests re-reads proxy variables and ~/.netrc on every request (about
    # 0.5 ms each); with neither present, read the CA bundle setting once instead.
    if not _environment_matters():
        session.trust_env = False
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get(
            "CURL_CA_BUNDLE", True
        )
    return session


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def raise_for_status(response: requests.Response, href: str, client: str) -> None:
    """Turn an HTTP error status into the matching :class:`~stac_asset.errors.AccessError`."""
    status = response.status_code
    if status < 400:
        return
    reason = f"HTTP {status} {response.reason or ''}".strip()
    if status == 404 or status == 410:
        raise NotFoundError(href, client, reason, status=status)
    if status in (401, 403):
        raise AccessDeniedError(href, client, reason, status=status)
    if status in (408, 429) or status >= 500:
        raise TransientError(
            href, client, reason, status=status, retry_after=_retry_after(response)
        )
    raise AccessError(href, client, reason, status=status)


def _total_size(response: requests.Response) -> int | None:
    content_range = response.headers.get("Content-Range", "")
    if response.status_code == 206 and "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        return int(total) if total.isdigit() else None
    length = response.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


class HttpStream(ByteStream):
    """A streamed HTTP response body."""

    def __init__(self, response: requests.Response, start: int, href: str, client: str) -> None:
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

    Args:
        session: A configured :class:`requests.Session` (its custom headers
            and auth are used for both the byte view and GDAL's).
        headers: Headers sent to every host.
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
        self.headers = dict(headers or {})
        self.host_headers = {host.lower(): dict(h) for host, h in (host_headers or {}).items()}
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        register(*(str(v) for k, v in self.session.headers.items() if is_sensitive(k)))
        for values in (self.headers, *self.host_headers.values()):
            register(*(v for k, v in values.items() if is_sensitive(k)))

    def matches(self, href: str) -> bool:
        """Whether ``href`` is an ``http://`` or ``https://`` URL."""
        return urlsplit(href).scheme in ("http", "https")

    def headers_for(self, url: str) -> dict[str, str]:
        """The headers this client sends to ``url``'s host: the session's own, then its extras."""
        defaults = requests.utils.default_headers()
        headers = {
            name: str(value)
            for name, value in self.session.headers.items()
            if defaults.get(name) != value
        }
        headers.update(self.headers)
        headers.update(self.host_headers.get((urlsplit(url).hostname or "").lower(), {}))
        return headers

    def gdal_options(self, headers: Mapping[str, str]) -> dict[str, str]:
        """GDAL options for reading over ``/vsicurl/`` with ``headers``."""
        options = gdal.network_options(self.timeout, self.retry.max_attempts)
        if headers:
            options["GDAL_HTTP_HEADERS"] = gdal.encode_headers(headers)
        return options

    def access_for_url(
        self,
        href: str,
        url: str,
        headers: Mapping[str, str],
        expires_at: datetime | None = None,
    ) -> Access:
        """Build the access for reading ``url`` with ``headers`` (for subclasses that sign)."""
        return Access(
            href=href,
            client=self.name,
            vsi_path=f"/vsicurl/{url}",
            gdal_options=self.gdal_options(headers),
            url=url,
            headers=dict(headers),
            expires_at=expires_at,
        )

    def resolve(self, href: str, asset: pystac.Asset | None = None) -> Access:
        """Resolve to ``/vsicurl/`` plus this client's headers for the href's host."""
        return self.access_for_url(href, href, self.headers_for(href))

    def get(self, access: Access, headers: Mapping[str, str] | None = None) -> requests.Response:
        """Send a streamed GET for ``access``; connection failures become TransientError."""
        request_headers = {**access.headers, **(headers or {})}
        assert access.url is not None, "an HTTP access always has a url"
        try:
            response = self.session.get(
                access.url, headers=request_headers, stream=True, timeout=self.timeout
            )
        except (requests.ConnectionError, requests.Timeout) as error:
            raise TransientError(
                access.href, self.name, f"request failed ({type(error).__name__})"
            ) from None
        except requests.RequestException as error:
            raise AccessError(access.href, self.name, f"request failed: {error}") from None
        return response

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

    def __repr__(self) -> str:
        hosts = sorted(self.host_headers)
        return (
            f"{type(self).__name__}(headers={mask_mapping(self.headers)!r}, "
            f"host_headers={hosts!r}, timeout={self.timeout!r})"
        )
