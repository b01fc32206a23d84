"""An HTTP response body as a byte stream: decoded when coded, bounded in rate, errors mapped."""

from __future__ import annotations

import time
from collections.abc import Iterator

import requests
import urllib3.exceptions

from ..errors import AccessError, TransientError, error_for_status
from . import http_transport
from .base import ByteStream

_CHUNK = 1024 * 1024

DEFAULT_MIN_RATE = 1024.0
"""Bytes per second: a body arriving slower than this (over :data:`DEFAULT_RATE_WINDOW`) fails.

Far below any real link (a 2G modem does ~5 KB/s), so only a server that
trickles bytes on purpose or a connection that has all but died trips it.
"""

DEFAULT_RATE_WINDOW = 30.0
"""Seconds of waiting for a body's bytes over which its rate is measured."""


def raise_for_status(response: requests.Response, href: str, client: str) -> None:
    """Turn an HTTP error status into the matching :class:`~stac_asset.errors.AccessError`."""
    reason = f"HTTP {response.status_code} {response.reason or ''}".strip()
    error = error_for_status(response.status_code, href, client, reason, response.headers)
    if error is not None:
        raise error


def _total_size(response: requests.Response) -> int | None:
    content_range = response.headers.get("Content-Range", "")
    if response.status_code == 206 and "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        return int(total) if total.isdigit() else None
    length = response.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def encoded(response: requests.Response) -> bool:
    """Whether the body comes with a content coding (gzip...) though identity was asked for."""
    return response.headers.get("Content-Encoding", "identity").strip().lower() not in (
        "",
        "identity",
    )


class HttpStream(ByteStream):
    """A streamed HTTP response body, decoded if the server sent it with a content coding.

    A body under a content coding (``Content-Encoding: gzip`` to a request
    for identity) is decoded as it arrives, a chunk at a time, so a small
    body that expands to gigabytes never sits in memory; its length is then
    unknown and a resumed read starts over. A body that arrives slower than
    ``min_rate`` bytes per second over ``rate_window`` seconds of waiting
    ends as a transient failure.
    """

    def __init__(
        self,
        response: requests.Response,
        start: int,
        href: str,
        client: str,
        min_rate: float = 0.0,
        rate_window: float = 30.0,
    ) -> None:
        self._response = response
        self._href = href
        self._client = client
        self._min_rate = min_rate
        self._rate_window = rate_window
        self.start = start
        coded = encoded(response)
        self._decode = coded
        # Lengths and validators describe the coded bytes, not the decoded ones.
        self.size = None if coded else _total_size(response)
        headers = response.headers
        self.validator = None if coded else headers.get("ETag") or headers.get("Last-Modified")
        self.accepts_ranges = not coded and headers.get("Accept-Ranges", "").lower() == "bytes"
        """Whether the server says it answers byte ranges of this object."""

    def chunks(self) -> Iterator[bytes]:
        """Yield the body in chunks; a lost connection becomes a TransientError."""
        raw = self._response.raw
        waited = 0.0
        received = 0
        try:
            while True:
                asked = time.monotonic()
                # read1 hands over what has arrived, so a cut keeps every byte received.
                # Decoding only a coded body: urllib3 would copy every chunk once more.
                chunk = raw.read1(_CHUNK, decode_content=self._decode)
                if not chunk:
                    return
                if self._min_rate:
                    waited += time.monotonic() - asked
                    received += len(chunk)
                    if waited >= self._rate_window:
                        if received < self._min_rate * waited:
                            raise TransientError(
                                self._href,
                                self._client,
                                f"the body arrives at {received / waited:.0f} bytes/s, "
                                f"under the minimum of {self._min_rate:.0f}",
                            )
                        waited, received = 0.0, 0
                yield chunk
        except http_transport.BODY_ERRORS as error:
            if isinstance(error, urllib3.exceptions.DecodeError):
                raise AccessError(
                    self._href, self._client, "the body cannot be decoded (DecodeError)"
                ) from None
            raise TransientError(
                self._href, self._client, f"connection lost mid-body ({type(error).__name__})"
            ) from None

    def close(self) -> None:
        """Close the response: its connection goes back to the pool if the body was read."""
        self._response.close()
