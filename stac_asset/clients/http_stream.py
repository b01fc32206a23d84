"""An HTTP response body as a byte stream: decoded when coded, bounded in rate, errors mapped."""

from __future__ import annotations

import time
from collections.abc import Iterator

from ..errors import AccessError, TransientError, error_for_status
from . import http_transport
from .base import ByteStream
from .failures import map_exception
from .http_answer import Answer, AnswerHead, UndecodableBody, encoded
from .http_curl_errors import CurlError
from .min_rate import MinRate

_CHUNK = 1024 * 1024

DEFAULT_MIN_RATE = 1024.0
"""Bytes per second: a body arriving slower than this (over :data:`DEFAULT_RATE_WINDOW`) fails.

Far below any real link (a 2G modem does ~5 KB/s), so only a server that
trickles bytes on purpose or a connection that has all but died trips it.
"""

DEFAULT_RATE_WINDOW = 30.0
"""Seconds of waiting for a body's bytes over which its rate is measured."""


def raise_for_status(response: AnswerHead, href: str, client: str) -> None:
    """Turn an HTTP error status into the matching :class:`~stac_asset.errors.AccessError`.

    An interim or protocol-switching status (``1xx``, ``101``) is an error too.
    """
    if response.status_code < 200:
        raise AccessError(
            href,
            client,
            f"HTTP {response.status_code} {response.reason or ''}: "
            "the server answered a GET with an interim or protocol-switching status",
            status=response.status_code,
        )
    reason = f"HTTP {response.status_code} {response.reason or ''}".strip()
    error = error_for_status(response.status_code, href, client, reason, response.headers)
    if error is not None:
        raise error


def _total_size(response: AnswerHead) -> int | None:
    content_range = response.headers.get("Content-Range", "")
    if response.status_code == 206 and "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        return int(total) if total.isdigit() else None
    length = response.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def described(head: AnswerHead) -> tuple[int | None, str | None, bool]:
    """The object an answer carries, as its head says: size, version, ranges answered.

    The version is the ETag, or else Last-Modified. Under a content coding
    none is known: lengths and validators describe the coded bytes, not the
    decoded ones.
    """
    if encoded(head):
        return None, None, False
    headers = head.headers
    validator = headers.get("ETag") or headers.get("Last-Modified")
    accepts = headers.get("Accept-Ranges", "").lower() == "bytes"
    return _total_size(head), validator, accepts


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
        response: Answer,
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
        self.size, self.validator, self.accepts_ranges = described(response)
        """The object's size, version, and whether the server answers byte ranges of it."""

    def chunks(self) -> Iterator[bytes]:
        """Yield the body in chunks; a lost connection becomes a TransientError."""
        read1 = self._response.read1
        rate = MinRate(self._min_rate, self._rate_window) if self._min_rate else None
        try:
            while True:
                asked = time.monotonic()
                # read1 hands over what has arrived, so a cut keeps every byte received.
                chunk = read1(_CHUNK)
                if not chunk:
                    return
                if rate is not None:
                    slow = rate.too_slow(len(chunk), time.monotonic() - asked)
                    if slow is not None:
                        raise TransientError(self._href, self._client, slow)
                yield chunk
        except UndecodableBody as error:
            reason = f"the body cannot be decoded ({error})"
            raise AccessError(self._href, self._client, reason) from None
        except CurlError as error:
            if error.transient:
                reason = f"connection lost mid-body ({error.kind}): {error}"
                raise TransientError(self._href, self._client, reason) from None
            mapped = map_exception(error, self._href, self._client, "reading the body")
            raise mapped or error from None
        except http_transport.BODY_ERRORS as error:
            raise TransientError(
                self._href, self._client, f"connection lost mid-body ({type(error).__name__})"
            ) from None

    def close(self) -> None:
        """Close the response: its connection goes back to the pool if the body was read."""
        self._response.close()
