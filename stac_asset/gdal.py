"""GDAL configuration options shared by the clients' GDAL views."""

from __future__ import annotations

from collections.abc import Mapping

import rasterio
import rasterio.session

# Options that keep GDAL's network reads to what a cloud-optimized file needs:
# no directory listing and no sidecar probes (.aux.xml, .ovr, .msk) on open,
# neighbouring ranges merged into one request, and an in-process block cache.
REQUEST_MINIMAL: dict[str, str] = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MULTIPLEX": "YES",
    "VSI_CACHE": "TRUE",
}


def network_options(timeout: float, max_retries: int) -> dict[str, str]:
    """Timeouts and retries for GDAL's HTTP layer, matching the byte view's."""
    return {
        **REQUEST_MINIMAL,
        "GDAL_HTTP_TIMEOUT": str(max(1, round(timeout))),
        "GDAL_HTTP_CONNECTTIMEOUT": str(max(1, round(min(timeout, 30)))),
        "GDAL_HTTP_MAX_RETRY": str(max(0, max_retries - 1)),
        "GDAL_HTTP_RETRY_DELAY": "0.5",
    }


def encode_headers(headers: Mapping[str, str]) -> str:
    r"""Encode headers for ``GDAL_HTTP_HEADERS`` (GDAL >= 3.6): one ``Name: value\r\n`` line each.

    GDAL takes the lines of a value holding ``\r\n`` verbatim, so every line
    ends with one: a single header is then not parsed as a comma-separated
    list with quotes (which would mangle ``say "hi"`` into ``say hi``).
    Checked against GDAL 3.10's requests for values with commas, quotes and
    backslashes. An empty value is sent as an empty header.
    """
    lines = []
    for name, value in headers.items():
        if any(c in f"{name}{value}" for c in "\r\n"):
            raise ValueError(f"header {name!r} holds a line break")
        # curl drops "Name:" with nothing after the colon; "Name;" sends it empty.
        lines.append(f"{name}: {value}\r\n" if value else f"{name};\r\n")
    return "".join(lines)


# GDAL's AWS credential options, which rasterio.Env refuses as keyword options.
_AWS_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


class _GivenCredentials(rasterio.session.Session):  # type: ignore[misc]
    """A rasterio session that hands GDAL the credentials an access resolved, and nothing else.

    Giving rasterio a session also stops it from creating its own from the
    environment's AWS variables, which would override the access's options.
    """

    def __init__(self, options: Mapping[str, str]) -> None:
        self._options = dict(options)

    def get_credential_options(self) -> dict[str, str]:
        return dict(self._options)


def rasterio_env(options: Mapping[str, str]) -> rasterio.Env:
    """A ``rasterio.Env`` with these GDAL options, AWS credentials included.

    ``rasterio.Env(**options)`` refuses ``AWS_ACCESS_KEY_ID`` and
    ``AWS_SECRET_ACCESS_KEY``; use this for an access's ``gdal_options``.
    """
    credentials = {k: v for k, v in options.items() if k in _AWS_CREDENTIALS}
    rest = {k: v for k, v in options.items() if k not in _AWS_CREDENTIALS}
    return rasterio.Env(session=_GivenCredentials(credentials), **rest)
