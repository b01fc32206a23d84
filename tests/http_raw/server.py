"""A raw-socket HTTP server that answers each path with bytes no well-behaved server sends.

Run as ``python -m tests.http_raw.server``; prints ``READY <port>``. It reads
requests off each connection (request line and headers, no body) and answers
by path (see :data:`ANSWERS`), keeping the connection open for the next
request unless the answer says otherwise. ``GET /_log`` answers the JSON
list of paths asked for so far (not logged itself); ``GET /_reset`` clears it.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import signal
import socket
import sys
import threading
import time
import zlib
from collections.abc import Callable
from types import FrameType

BODY = b"the real answer\n" * 64
"""What every answer that gets through carries (the file downloads must hold)."""

UTF8_NAME = "d\u00e9j\u00e0.bin"
BOMB_EXPANDED = 1024**3
"""Bytes the gzip bomb expands to (it is about a thousandth of that on the wire)."""

TRICKLE_BYTES = 100_000

LONG_JSON = 16 * 1024 * 1024
"""The size of the JSON answers under :data:`PREFIX_ANSWERS` (decoded)."""


def body_for(path: str) -> bytes:
    """The body served for ``path``: distinct per path, so a mixed-up body shows."""
    return path.encode() + b"\n" + BODY


def sha256_multihash(data: bytes) -> str:
    """``file:checksum`` of ``data``."""
    return "1220" + hashlib.sha256(data).hexdigest()


def _head(status: str, *lines: str, end: bytes = b"\r\n") -> bytes:
    return end.join([f"HTTP/1.1 {status}".encode(), *(line.encode() for line in lines), b""]) + end


def _ok(path: str, *extra: str) -> bytes:
    body = body_for(path)
    return _head("200 OK", f"Content-Length: {len(body)}", *extra) + body


@functools.lru_cache(maxsize=1)
def _bomb() -> bytes:
    """A gzip stream of :data:`BOMB_EXPANDED` zero bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(16 * 1024 * 1024)
    parts = [compressor.compress(zeros) for _ in range(BOMB_EXPANDED // len(zeros))]
    return b"".join([*parts, compressor.flush()])


def _gzipped(path: str) -> bytes:
    body = gzip.compress(body_for(path))
    return (
        _head("200 OK", f"Content-Length: {len(body)}", "Content-Encoding: gzip", 'ETag: "z"')
        + body
    )


def _long_json(path: str) -> bytes:
    """A JSON object of :data:`LONG_JSON` bytes, its end marked only by closing the connection."""
    padding = "x" * (LONG_JSON - 40)
    return (
        _head("200 OK", "Content-Type: application/json")
        + json.dumps({"token": "t", "padding": padding}).encode()
    )


@functools.lru_cache(maxsize=1)
def _json_bomb() -> bytes:
    """A gzip stream of a JSON object padded with :data:`LONG_JSON` spaces (a few KiB)."""
    return gzip.compress(b'{"token": "t"' + b" " * LONG_JSON + b"}", 9)


def _json_bomb_answer(path: str) -> bytes:
    body = _json_bomb()
    return (
        _head(
            "200 OK",
            f"Content-Length: {len(body)}",
            "Content-Type: application/json",
            "Content-Encoding: gzip",
        )
        + body
    )


def _bomb_answer(path: str) -> bytes:
    body = _bomb()
    return _head("200 OK", f"Content-Length: {len(body)}", "Content-Encoding: gzip") + body


Answer = Callable[[str], bytes]

ANSWERS: dict[str, Answer] = {
    # A header line of 1 MB, and 400,000 short ones (3.2 MB).
    "/huge-header.bin": lambda p: _head("200 OK", "X-Big: " + "a" * 1_000_000, "Content-Length: 0"),
    "/many-headers.bin": lambda p: _head("200 OK", *["X-A: 1"] * 400_000, "Content-Length: 0"),
    # Interim answers before the real one, unasked for.
    "/continue-a.bin": lambda p: _head("100 Continue") + _ok(p),
    "/continue-b.bin": lambda p: _head("100 Continue") + _ok(p),
    "/hints-a.bin": lambda p: _head("103 Early Hints", "Link: </style.css>; rel=preload") + _ok(p),
    "/hints-b.bin": lambda p: _head("103 Early Hints", "Link: </style.css>; rel=preload") + _ok(p),
    # Framing that strict parsers refuse and requests accepts.
    "/extra-after-body.bin": lambda p: _ok(p) + b"trailing garbage",
    "/length-and-chunked.bin": lambda p: (
        _head("200 OK", "Content-Length: 5", "Transfer-Encoding: chunked")
        + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body_for(p)), body_for(p))
    ),
    "/obs-fold.bin": lambda p: _ok(p, "X-Folded: first", " second line"),
    "/bare-lf.bin": lambda p: (
        _head("200 OK", f"Content-Length: {len(body_for(p))}", end=b"\n") + body_for(p)
    ),
    # Not an answer to a GET at all.
    "/switch.bin": lambda p: _head("101 Switching Protocols", "Upgrade: websocket"),
    "/not-http.bin": lambda p: b"HTTX/9.9 200 OK\r\nContent-Length: 3\r\n\r\nabc",
    # Content codings, unasked for.
    "/gzipped.bin": _gzipped,
    "/bomb.bin": _bomb_answer,
    # A Location in raw UTF-8 bytes (http.client reads them as latin-1).
    "/utf8-redirect.bin": lambda p: (
        b"HTTP/1.1 302 Found\r\nLocation: /" + UTF8_NAME.encode() + b"\r\nContent-Length: 0\r\n\r\n"
    ),
    "/" + UTF8_NAME: _ok,
}

# Any path under these (a token endpoint pointed here) gets this answer, then a close.
PREFIX_ANSWERS: dict[str, Answer] = {
    "/long-json/": _long_json,
    "/json-bomb/": _json_bomb_answer,
}

_CLOSE_AFTER = {"/switch.bin", "/not-http.bin", "/huge-header.bin", "/many-headers.bin"}


class _Log:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.paths: list[str] = []


LOG = _Log()


def _unquote(target: bytes) -> str:
    from urllib.parse import unquote_to_bytes

    return unquote_to_bytes(target.split(b"?")[0]).decode("utf-8", "replace")


def _trickle(connection: socket.socket) -> None:
    """A 200 that sends its body one byte every tenth of a second."""
    connection.sendall(_head("200 OK", f"Content-Length: {TRICKLE_BYTES}"))
    for _ in range(TRICKLE_BYTES):
        connection.sendall(b"x")
        time.sleep(0.1)


def _trickle_head(connection: socket.socket) -> None:
    """A status line, then a header one byte every tenth of a second (for 30 s at most)."""
    connection.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    for _ in range(300):
        connection.sendall(b"x")
        time.sleep(0.1)


def _serve(connection: socket.socket) -> None:
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = connection.makefile("rb")
    while True:
        line = reader.readline(65536)
        if not line:
            return
        while reader.readline(65536) not in (b"\r\n", b"\n", b""):
            pass
        path = _unquote(line.split()[1])
        if path in ("/_log", "/_reset"):
            with LOG.lock:
                payload = json.dumps(LOG.paths).encode()
                if path == "/_reset":
                    LOG.paths.clear()
            connection.sendall(_head("200 OK", f"Content-Length: {len(payload)}") + payload)
            continue
        with LOG.lock:
            LOG.paths.append(path)
        if path == "/trickle.bin":
            _trickle(connection)
            return
        if path == "/trickle-head.bin":
            _trickle_head(connection)
            return
        prefix = next((p for p in PREFIX_ANSWERS if path.startswith(p)), None)
        if prefix is not None:
            connection.sendall(PREFIX_ANSWERS[prefix](path))
            return
        answer = ANSWERS.get(path)
        if answer is None:
            connection.sendall(_head("404 Not Found", "Content-Length: 0"))
            continue
        connection.sendall(answer(path))
        if path in _CLOSE_AFTER:
            return


def _handle(connection: socket.socket) -> None:
    try:
        _serve(connection)
    except OSError:
        pass  # the client hung up: nothing to tell anyone
    finally:
        connection.close()


def _exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main() -> None:
    """Listen on a free loopback port and serve until SIGTERM."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGINT, _exit)
    print(f"READY {listener.getsockname()[1]}", flush=True)
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=_handle, args=(connection,), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
