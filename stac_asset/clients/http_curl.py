"""How the default HTTP byte view sends: libcurl (pycurl), GDAL's own HTTP engine.

A client that made its own session sends its GETs here; one handed a
:class:`requests.Session` sends through it (see
:mod:`stac_asset.clients.http_send`). The rules of both are the same
because they are computed once, by requests' own functions, and handed to
libcurl explicitly: the proxy (``HTTP(S)_PROXY``, ``ALL_PROXY``,
``NO_PROXY``, read per request), the CA bundle (``REQUESTS_CA_BUNDLE``,
``CURL_CA_BUNDLE``, ``SSL_CERT_FILE``, else certifi, as requests), the
client certificate; libcurl's own reading of the environment is off.

Why libcurl: it costs about a seventh of requests' CPU per small file (figures
in ``docs/clients/http.rst``), and it already does what a downloader needs of
a transport: interim ``1xx`` answers skipped, header sizes bounded, dead
keep-alive connections retried. (A body under a content coding, which an
identity request should not get, is decoded by urllib3, a bounded chunk at a
time: see :mod:`stac_asset.clients.http_send`.)

Each transfer takes a libcurl easy handle on a multi handle of its own from a
pool, and is read as it arrives: :meth:`Answer.read1` drives the transfer
until bytes are in, so nothing is read that the caller has not asked for
(memory stays bounded) and a stream may be opened on one thread and read on
another. The pair goes back to the pool when the answer is closed, with the
connections its multi handle keeps alive.
"""

from __future__ import annotations

import collections
import http.client
import io
import threading
import time
from collections.abc import Callable

import pycurl
import urllib3

from ..kept import Kept
from .http_curl_errors import CurlError, timed_out
from .http_curl_options import Settings, perform, prepare

POOL_SIZE = 64
"""Idle transfer handles (each with its keep-alive connections) kept per origin."""

ORIGINS = 16
"""Origins whose idle transfer handles are kept (the least recently used go first)."""

HIGH_WATER = 256 * 1024
"""Bytes received and not yet read at which the transfer pauses.

Kept small on purpose: libcurl hands bytes over 16 KiB at a time, each a new
bytes object; with 2 MiB let in between two reads, the allocator gave the
heap back and took it again over and over (32 x 16 MiB: 136,000 page faults,
a third more CPU than with requests); with 256 KiB, 16,000 (requests: 31,000)."""


class _Pair:
    """An easy handle on a multi handle of its own; the multi keeps the connections."""

    __slots__ = ("configured", "curl", "multi")

    def __init__(self) -> None:
        self.multi = pycurl.CurlMulti()
        self.curl = pycurl.Curl()
        self.configured: Settings | None = None
        """The settings the easy handle holds, if a transfer ended cleanly with them."""

    def close(self) -> None:
        self.curl.close()
        self.multi.close()


class Pool:
    """The transfer handles of one client, and through them its keep-alive connections.

    Idle pairs are kept per origin (the multi handle of a pair keeps the
    connections it made): a transfer takes a pair that last talked to its
    origin, so a host gets no more connections than transfers at once, as
    with urllib3's pool per origin. At most :data:`POOL_SIZE` idle pairs per
    origin, for the :data:`ORIGINS` origins last used.
    """

    def __init__(self) -> None:
        # Guards the lists of idle pairs; the Kept lets go of the least recently used origin.
        self._lock = threading.Lock()
        self._idle: Kept[str, list[_Pair]] = Kept(ORIGINS, drop=_close_all)

    def take(self, origin: str) -> _Pair:
        """An idle pair that last talked to ``origin`` (the last given back), or a new one."""
        with self._lock:
            idle = self._idle.get(origin, list)
            if idle:
                return idle.pop()
        return _Pair()

    def give(self, origin: str, pair: _Pair) -> None:
        """Take back a pair whose transfer to ``origin`` has ended."""
        with self._lock:
            idle = self._idle.get(origin, list)
            if len(idle) < POOL_SIZE:
                idle.append(pair)
                return
        pair.close()

    def __reduce__(self) -> tuple[type[Pool], tuple[()]]:
        # Handles and connections stay in their process: another gets a pool of its own.
        return Pool, ()

    def close(self) -> None:
        """Close the idle pairs and their connections (pairs in use close when given back)."""
        with self._lock:
            idle = self._idle.take_all()
        for pairs in idle:
            _close_all(pairs)


def _close_all(pairs: list[_Pair]) -> None:
    for pair in pairs:
        pair.close()


class Answer:
    """One GET's final answer: status, reason and headers, and a body read as it arrives.

    ``headers`` join repeated names with ``", "``, as requests does.
    """

    def __init__(
        self,
        pool: Pool,
        origin: str,
        url: str,
        headers: list[str],
        settings: Settings,
    ) -> None:
        self.url = url
        self.status_code = 0
        self.reason = ""
        self.headers: urllib3.HTTPHeaderDict = urllib3.HTTPHeaderDict()
        self._timeout = settings.timeout
        self._lines: list[bytes] = []
        self._head = False
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._paused = False
        self._done = False
        self._error: CurlError | None = None
        self._pool = pool
        self._origin = origin
        self._pair: _Pair | None = pool.take(origin)
        pair = self._pair
        # Called from within libcurl once per line or 16 KiB: no Python frame for the lines.
        lines, body = self._lines.append, self._body_bytes
        prepare(pair.curl, pair.configured, settings, url, headers, lines, body)
        pair.configured = settings
        pair.multi.add_handle(pair.curl)
        try:
            self._drive(self._head_in, "the answer's head")
            if not self._head:
                raise CurlError(8, "the answer ended before its head", url)
        except BaseException:
            self.close()
            raise

    def _head_in(self) -> bool:
        """Whether the final answer's head is in; if so, read its status and headers."""
        if not self._head:
            head = final_head(self._lines)
            if head is not None:
                self.status_code, self.reason, self.headers = head
                self._head = True
        return self._head

    def _body_bytes(self, data: bytes) -> int | None:
        if self._buffered >= HIGH_WATER:
            # Not taken: libcurl hands the same bytes again once resumed (read1).
            self._paused = True
            return int(pycurl.WRITEFUNC_PAUSE)
        self._chunks.append(data)
        self._buffered += len(data)
        return None

    def _drive(self, ready: Callable[[], bool], waiting_for: str) -> None:
        """Run the transfer until ``ready()`` or its end; no byte for ``timeout`` s fails it."""
        pair = self._pair
        assert pair is not None, "a closed answer is not read"
        multi = pair.multi
        deadline = time.monotonic() + self._timeout
        while not ready() and not self._done:
            received = len(self._chunks)
            perform(multi)
            _, finished, failed = multi.info_read()
            if failed:
                _, code, message = failed[0]
                self._error = CurlError(code, message, self.url)
                self._done = True
            elif finished:
                self._done = True
            if ready() or self._done:
                break
            now = time.monotonic()
            if len(self._chunks) != received:
                deadline = now + self._timeout
            elif now >= deadline:
                self._error = timed_out(waiting_for, self._timeout, self.url)
                self._done = True
                break
            # Until a socket is ready, or libcurl's own next timer (connect, retry), or ours.
            timer = multi.timeout()
            multi.select(min(deadline - now, timer / 1000) if timer >= 0 else deadline - now)
        if self._error is not None and not ready():
            raise self._error

    def read1(self, size: int = -1) -> bytes:
        """The bytes of the body that have arrived, about ``size`` at most (``b""`` at its end).

        The bytes as sent: a body under a content coding is not decoded here.
        """
        if not self._chunks:
            if self._done and self._error is None:
                return b""
            if self._paused and self._pair is not None:
                self._paused = False
                try:
                    self._pair.curl.pause(pycurl.PAUSE_CONT)
                except pycurl.error as error:
                    code = error.args[0] if isinstance(error.args[0], int) else 0
                    raise CurlError(code, "resuming the transfer failed", self.url) from None
            self._drive(lambda: bool(self._chunks), "the body's next bytes")
            if not self._chunks:
                return b""
        # libcurl hands bytes over 16 KiB at a time: what has arrived goes out
        # in one piece (up to size), so a large body is not written 16 KiB per call.
        chunks = self._chunks
        first = chunks.popleft()
        if not chunks or len(first) >= size > 0:
            self._buffered -= len(first)
            return first
        parts = [first]
        taken = len(first)
        while chunks and (size < 0 or taken + len(chunks[0]) <= size):
            part = chunks.popleft()
            parts.append(part)
            taken += len(part)
        self._buffered -= taken
        return b"".join(parts)

    def read(self, size: int = -1) -> bytes:
        """``size`` bytes of the body (all that is left if -1), fewer only at its end."""
        parts = []
        wanted = size if size >= 0 else float("inf")
        got = 0
        while got < wanted and (chunk := self.read1(-1)):
            parts.append(chunk)
            got += len(chunk)
        data = b"".join(parts)
        if size >= 0 and len(data) > size:
            self._chunks.appendleft(data[size:])
            self._buffered += len(data) - size
            data = data[:size]
        return data

    @property
    def closed(self) -> bool:
        """Whether the whole body has been read, or the answer closed (as a file says)."""
        return self._pair is None or (self._done and not self._chunks)

    def close(self) -> None:
        """End the transfer (an unread body's connection is not reused) and free the handle."""
        pair, self._pair = self._pair, None
        if pair is None:
            return
        pair.multi.remove_handle(pair.curl)
        if self._paused or self._error is not None or not self._done:
            pair.configured = None  # cut short: the next transfer starts from a reset handle
        self._chunks.clear()
        self._pool.give(self._origin, pair)


def final_head(lines: list[bytes]) -> tuple[int, str, urllib3.HTTPHeaderDict] | None:
    """The status, reason and headers of the final answer, if its head is all in ``lines``.

    libcurl hands every header line over (interim ``1xx`` answers too): the
    head is in when the lines end with a blank one after a status line of
    200 or more, or 101.
    """
    if not lines or lines[-1].strip():
        return None
    start = len(lines) - 1
    while start > 0 and not lines[start].startswith(b"HTTP/"):
        start -= 1
    status = lines[start].split(None, 2)
    code = int(status[1]) if len(status) > 1 and status[1].isdigit() else 0
    if code < 200 and code != 101:
        return None
    reason = status[2].decode("latin-1").strip() if len(status) > 2 else ""
    headers = urllib3.HTTPHeaderDict()
    _read_headers(lines[start + 1 : -1], headers)
    return code, reason, headers


def _read_headers(lines: list[bytes], into: urllib3.HTTPHeaderDict) -> None:
    """Add the header lines of an answer to ``into``, read as http.client reads them.

    Plain ``Name: value`` lines are split here (what http.client's email
    parser does with them, at a tenth of its cost); an answer with folded
    lines or a line without a colon goes to that parser.
    """
    plain = all(line[:1] not in (b" ", b"\t") and b":" in line for line in lines)
    if plain:
        for line in lines:
            name, _, value = line.decode("latin-1").partition(":")
            into.add(name, value.lstrip(" \t").rstrip("\r\n"))
        return
    for name, value in http.client.parse_headers(io.BytesIO(b"".join(lines))).items():
        into.add(name, value)


def get(
    pool: Pool,
    origin: str,
    url: str,
    headers: list[str],
    settings: Settings,
) -> Answer:
    """Send a GET with these header lines and wait for the final answer's head.

    The body is read from the answer. ``origin`` names where the request
    goes (for reusing connections). Raises :class:`CurlError` when no answer
    came (refused, timed out, not HTTP).
    """
    return Answer(pool, origin, url, headers, settings)
