"""What a libcurl handle is set to for one client's settings: timeouts, protocols, proxy, trust.

The settings come from requests' reading of the environment (see
:func:`stac_asset.clients.http_transport.environment`); here they become
libcurl options, and libcurl's own reading of the environment is overridden.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass

import pycurl

BUFFER_SIZE = 512 * 1024
"""The most bytes libcurl reads from a connection at once (it hands them over 16 KiB at a time)."""


@dataclass(frozen=True)
class Settings:
    """What one GET is sent with, besides URL and headers."""

    timeout: float
    proxy: str | None
    verify: bool | str
    """A CA bundle file or directory, False not to check, True for libcurl's own bundle."""
    cert: str | tuple[str, str] | None


@functools.lru_cache(maxsize=16)
def is_ca_directory(path: str) -> bool:
    """Whether the CA setting ``path`` names a directory of certificates (else a bundle file).

    Asked once per path: it is read for every request.
    """
    return os.path.isdir(path)


def configure(curl: pycurl.Curl, settings: Settings) -> None:
    """Set what every transfer with ``settings`` shares (kept while the next has the same)."""
    curl.setopt(pycurl.NOSIGNAL, 1)
    curl.setopt(pycurl.BUFFERSIZE, BUFFER_SIZE)
    curl.setopt(pycurl.CONNECTTIMEOUT_MS, int(settings.timeout * 1000))
    # http(s) only, whatever a URL says (hrefs come from untrusted items);
    # redirects are followed by the client, not here.
    curl.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
    # The proxy requests' rules chose, or none; and no exceptions of libcurl's
    # own (NO_PROXY was read by those rules): libcurl's reading of the
    # environment differs (it ignores HTTP_PROXY in capitals, for one).
    curl.setopt(pycurl.PROXY, settings.proxy or "")
    curl.setopt(pycurl.NOPROXY, "")
    _set_trust(curl, settings.verify)
    _set_cert(curl, settings.cert)


def prepare(
    curl: pycurl.Curl,
    configured: Settings | None,
    settings: Settings,
    url: str,
    headers: list[str],
    on_line: Callable[[bytes], object],
    on_bytes: Callable[[bytes], int | None],
) -> None:
    """Set ``curl`` up for one GET of ``url`` with these header lines.

    ``configured`` is what its last transfer had: kept if the same as
    ``settings``, else the handle starts reset. ``on_line`` takes each line of
    the answer's head (interim answers' too), ``on_bytes`` the body.
    """
    if configured != settings:
        curl.reset()
        configure(curl, settings)
    curl.setopt(pycurl.URL, url)
    curl.setopt(pycurl.HTTPHEADER, headers)
    curl.setopt(pycurl.HEADERFUNCTION, on_line)
    curl.setopt(pycurl.WRITEFUNCTION, on_bytes)


def perform(multi: pycurl.CurlMulti) -> None:
    """Let libcurl move ``multi``'s transfers on as far as it can now, without waiting."""
    while multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
        pass


def _set_trust(curl: pycurl.Curl, verify: bool | str) -> None:
    """Which certificates a server's must chain to: as requests reads ``verify``."""
    if verify is False:
        curl.setopt(pycurl.SSL_VERIFYPEER, 0)
        curl.setopt(pycurl.SSL_VERIFYHOST, 0)
    elif isinstance(verify, str) and is_ca_directory(verify):
        curl.setopt(pycurl.CAPATH, verify)
        curl.unsetopt(pycurl.CAINFO)  # only these certificates, as requests
    elif isinstance(verify, str):
        curl.setopt(pycurl.CAINFO, verify)
        curl.unsetopt(pycurl.CAPATH)  # (not also the directory libcurl was built with)


def _set_cert(curl: pycurl.Curl, cert: str | tuple[str, str] | None) -> None:
    """The client certificate: one file, or certificate and key, as requests takes them."""
    if isinstance(cert, tuple):
        curl.setopt(pycurl.SSLCERT, cert[0])
        curl.setopt(pycurl.SSLKEY, cert[1])
    elif cert:
        curl.setopt(pycurl.SSLCERT, cert)
