"""HTTP URLs: the origins credentials are scoped to, where redirects lead, host lists."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urljoin, urlsplit

from .._secrets import is_sensitive
from ..errors import AccessError
from .http_answer import AnswerHead

_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_REDIRECTS = 10
_REDIRECTS = (301, 302, 303, 307, 308)
# GDAL (libcurl) drops only Authorization on a redirect to another origin; it
# sends every other header of GDAL_HTTP_HEADERS on, and GDAL 3.10 even sends
# Cookie straight to an S3-style redirect URL it caches (seen in request logs).
_GDAL_DROPS_ON_REDIRECT = frozenset({"authorization"})


@functools.lru_cache(maxsize=256)
def origin(url: str) -> tuple[str, str, int | None]:
    """The scheme, host and port of ``url``: what a credential is scoped to."""
    parts = urlsplit(url)
    port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def portable_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers that may follow a redirect to another origin: the non-secret ones."""
    return {name: value for name, value in headers.items() if not is_sensitive(name)}


def gdal_forwards_secrets(headers: Mapping[str, str]) -> bool:
    """Whether GDAL would send a secret of ``headers`` on a redirect to another origin."""
    return any(
        is_sensitive(name) and name.lower() not in _GDAL_DROPS_ON_REDIRECT for name in headers
    )


def redirect_target(response: AnswerHead, href: str, client: str) -> str | None:
    """Where a redirect response points (absolute), or None if it is not a redirect.

    A ``Location`` in UTF-8 is read as requests reads it (http.client decodes
    header values as latin-1). A redirect may only lead to http(s): any other
    scheme (``file:``, ``s3:``...) is refused with an
    :class:`~stac_asset.errors.AccessError` naming ``href``.
    """
    location = response.headers.get("Location")
    if response.status_code not in _REDIRECTS or not location:
        return None
    with contextlib.suppress(UnicodeError):  # not UTF-8 after all: keep it as it came
        location = location.encode("latin-1").decode("utf-8")
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
