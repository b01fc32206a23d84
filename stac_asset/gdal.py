"""GDAL configuration options shared by the clients' GDAL views."""

from __future__ import annotations

from collections.abc import Mapping

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
    backslashes.
    """
    lines = []
    for name, value in headers.items():
        if any(c in f"{name}{value}" for c in "\r\n"):
            raise ValueError(f"header {name!r} holds a line break")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines)
