"""Range-capable HTTP file server with a request log and injectable faults.

Run as ``python -m tests.peers.http_server --root DIR [--host H] [--port P]``.
Prints ``READY <port>`` once listening. Control endpoints (never logged):

* ``GET /_control/log``: JSON list of request records.
* ``POST /_control/reset``: clear the log and restore the default config.
* ``POST /_control/config``: replace the fault config with the JSON body
  (see :class:`Config`); fault counters and the random generator restart.

Fault paths (``fail_paths``, ``fail_first_n``, ``cut_first_n``, ``redirects``,
``require_headers`` prefixes) are matched against the URL-decoded path without
the query string. Log records keep the raw request path, query included.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import mimetypes
import random
import re
import select
import signal
import socket
import ssl
import sys
import threading
import time
from dataclasses import dataclass, field, fields
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import unquote, urlsplit

CHUNK_SIZE = 256 * 1024
CONTROL_PREFIX = "/_control/"
_RANGE_RE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")

_SCALAR_TYPES: dict[str, tuple[type, ...]] = {
    "latency_ms": (int, float),
    "error_rate": (int, float),
    "error_status": (int,),
    "retry_after": (int, type(None)),
    "cut_rate": (int, float),
    "drop_rate": (int, float),
    "seed": (int,),
    "ignore_range": (bool,),
    "idle_close_s": (int, float, type(None)),
    "framing": (str,),
    "rate_cap_bps": (int, float, type(None)),
    "max_in_flight": (int, type(None)),
}
_MAPPING_VALUE_TYPES: dict[str, type] = {
    "fail_paths": int,
    "require_headers": dict,
    "fail_first_n": int,
    "cut_first_n": int,
    "drop_first_n": int,
    "redirects": str,
}


@dataclass(frozen=True)
class Config:
    """Fault and behaviour configuration; defaults mean a well-behaved server."""

    latency_ms: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    retry_after: int | None = None
    cut_rate: float = 0.0
    drop_rate: float = 0.0
    seed: int = 0
    ignore_range: bool = False
    # Close a keep-alive connection left idle this long (as nginx's keepalive_timeout).
    idle_close_s: float | None = None
    # How a file's body is delimited: "length" (Content-Length), "chunked", or
    # "close" (no length: the body ends when the server closes the connection).
    framing: str = "length"
    # Send each response body no faster than this many bytes per second (as an
    # object store caps each connection).
    rate_cap_bps: float | None = None
    # Answer 503 (with Retry-After: retry_after, if set) to a request that
    # arrives while this many are already being answered (a polite host's throttle).
    max_in_flight: int | None = None
    fail_paths: dict[str, int] = field(default_factory=dict)
    require_headers: dict[str, dict[str, str]] = field(default_factory=dict)
    fail_first_n: dict[str, int] = field(default_factory=dict)
    cut_first_n: dict[str, int] = field(default_factory=dict)
    # Close the connection without answering the first n requests of a path.
    drop_first_n: dict[str, int] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: object) -> Config:
        """Validate a decoded JSON object and build a config from it."""
        if not isinstance(data, dict):
            raise ValueError("config must be a JSON object")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        for key, value in data.items():
            if key in _SCALAR_TYPES:
                if not isinstance(value, _SCALAR_TYPES[key]):
                    raise ValueError(f"{key} has the wrong type: {value!r}")
            elif not isinstance(value, dict) or not all(
                isinstance(v, _MAPPING_VALUE_TYPES[key]) for v in value.values()
            ):
                kind = _MAPPING_VALUE_TYPES[key].__name__
                raise ValueError(f"{key} must map paths to {kind} values")
        config = cls(**data)
        for name in ("error_rate", "cut_rate", "drop_rate"):
            if not 0.0 <= getattr(config, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
        if config.latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        if config.rate_cap_bps is not None and config.rate_cap_bps <= 0:
            raise ValueError("rate_cap_bps must be positive")
        if config.max_in_flight is not None and config.max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        if config.framing not in ("length", "chunked", "close"):
            raise ValueError("framing must be length, chunked or close")
        return config


class PeerServer(ThreadingHTTPServer):
    """Threaded server holding the root, the request log and the fault state."""

    daemon_threads = True
    # The default backlog of 5 makes a 6th simultaneous client wait ~1 s for a SYN retry.
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], root: Path) -> None:
        super().__init__(address, Handler)
        self.root = root.resolve()
        self.lock = threading.Lock()
        self.records: list[dict[str, Any]] = []
        self.in_flight = 0
        self.apply(Config())

    def apply(self, config: Config) -> None:
        """Install a config, restarting its random generator and counters."""
        with self.lock:
            self.config = config
            self.rng = random.Random(config.seed)
            self.counts: dict[tuple[str, str], int] = {}

    def reset(self) -> None:
        """Clear the log and restore the default config."""
        with self.lock:
            self.records.clear()
        self.apply(Config())

    def record(self, entry: dict[str, Any]) -> None:
        """Append a request record to the log."""
        with self.lock:
            self.records.append(entry)

    def snapshot(self) -> list[dict[str, Any]]:
        """Return a copy of the log."""
        with self.lock:
            return [dict(entry) for entry in self.records]

    def roll(self, rate: float) -> bool:
        """Return True with probability ``rate`` (no draw when the rate is 0)."""
        if rate <= 0:
            return False
        with self.lock:
            return self.rng.random() < rate

    def take(self, kind: str, path: str, limit: int) -> bool:
        """Count one event of ``kind`` for ``path``; True while within ``limit``."""
        with self.lock:
            used = self.counts.get((kind, path), 0)
            if used >= limit:
                return False
            self.counts[(kind, path)] = used + 1
            return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore client disconnects; report anything else."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    """Serves files under the server root, applying the configured faults."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: PeerServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def handle(self) -> None:
        """Serve requests on the connection until it closes, or stays idle for too long."""
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection:
            idle = self.server.config.idle_close_s
            if idle is not None and not select.select([self.connection], [], [], idle)[0]:
                return
            self.handle_one_request()

    def do_GET(self) -> None:
        """Handle GET."""
        self._dispatch()

    def do_HEAD(self) -> None:
        """Handle HEAD."""
        self._dispatch()

    def do_POST(self) -> None:
        """Handle POST (control endpoints)."""
        self._dispatch()

    def do_PUT(self) -> None:
        """Handle PUT (file upload)."""
        self._dispatch()

    def _dispatch(self) -> None:
        path = unquote(urlsplit(self.path).path)
        entry: dict[str, Any] = {
            "method": self.command,
            "path": self.path,
            "headers": dict(self.headers.items()),
            "range": self.headers.get("Range"),
            "status": None,
            "bytes_sent": 0,
            "client_port": self.client_address[1],
            "time": time.time(),
        }
        control = path.startswith(CONTROL_PREFIX)
        if not control:
            self.server.record(entry)
        try:
            body = self._read_body(entry)
            if body is None:
                return
            if control:
                self._control(path, body)
            else:
                self._handle(path, body, entry)
        except ConnectionError:
            self.close_connection = True

    def _read_body(self, entry: dict[str, Any]) -> bytes | None:
        """Read the request body so errors keep the connection usable."""
        if "Transfer-Encoding" in self.headers:
            self.close_connection = True
            self._send(411, entry)
            return None
        length = self.headers.get("Content-Length")
        if length is None:
            if self.command == "PUT":
                self._send(411, entry)
                return None
            return b""
        if not length.isdigit():
            self.close_connection = True
            self._send(400, entry)
            return None
        return self.rfile.read(int(length))

    def _control(self, path: str, body: bytes) -> None:
        name = path[len(CONTROL_PREFIX) :]
        expected = {"log": "GET", "reset": "POST", "config": "POST"}
        if name not in expected:
            self._send_json(404, {"error": f"unknown control endpoint {name!r}"})
        elif self.command != expected[name]:
            self._send_json(405, {"error": f"{name} requires {expected[name]}"})
        elif name == "log":
            self._send_json(200, self.server.snapshot())
        elif name == "reset":
            self.server.reset()
            self._send_json(200, {"ok": True})
        else:
            try:
                config = Config.from_json(json.loads(body or b"{}"))
            except (ValueError, TypeError) as error:
                self._send_json(400, {"error": str(error)})
                return
            self.server.apply(config)
            self._send_json(200, {"ok": True})

    def _handle(self, path: str, body: bytes, entry: dict[str, Any]) -> None:
        server = self.server
        with server.lock:
            server.in_flight += 1
            busy = server.in_flight
        try:
            self._answer(path, body, entry, busy)
        finally:
            with server.lock:
                server.in_flight -= 1

    def _answer(self, path: str, body: bytes, entry: dict[str, Any], busy: int) -> None:
        server = self.server
        config = server.config
        if config.latency_ms:
            time.sleep(config.latency_ms / 1000)
        if config.max_in_flight is not None and busy > config.max_in_flight:
            retry = config.retry_after
            self._send(503, entry, {} if retry is None else {"Retry-After": str(retry)})
            return
        if server.take("drop", path, config.drop_first_n.get(path, 0)) or server.roll(
            config.drop_rate
        ):
            self._close_abruptly()
            return
        if path in config.redirects:
            self._send(302, entry, {"Location": config.redirects[path]})
            return
        for prefix, required in config.require_headers.items():
            if path.startswith(prefix) and any(
                self.headers.get(name) != value for name, value in required.items()
            ):
                self._send(401, entry)
                return
        if path in config.fail_paths:
            self._send(config.fail_paths[path], entry)
            return
        if server.take("fail", path, config.fail_first_n.get(path, 0)) or server.roll(
            config.error_rate
        ):
            retry = config.retry_after
            extra = {} if retry is None else {"Retry-After": str(retry)}
            self._send(config.error_status, entry, extra)
            return
        if self.command == "PUT":
            self._put(path, body, entry)
        elif self.command == "POST":
            self._send(405, entry, {"Allow": "GET, HEAD, PUT"})
        else:
            self._serve_file(path, entry, config)

    def _resolve(self, path: str) -> Path | None:
        """Map a decoded URL path to a location inside the root, or None."""
        return _inside(self.server.root, path)

    def _put(self, path: str, body: bytes, entry: dict[str, Any]) -> None:
        target = self._resolve(path)
        if target is None:
            self._send(403, entry)
            return
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
        except OSError:
            self._send(409, entry)
            return
        self._send(201, entry)

    def _serve_file(self, path: str, entry: dict[str, Any], config: Config) -> None:
        target = self._resolve(path)
        try:
            stat = target.stat() if target is not None and target.is_file() else None
        except (OSError, ValueError):
            stat = None
        if target is None or stat is None:
            self._send(404, entry)
            return
        size = stat.st_size
        etag = f'"{size:x}-{stat.st_mtime_ns:x}"'
        last_modified = formatdate(stat.st_mtime, usegmt=True)
        headers = {
            "Content-Type": mimetypes.guess_type(target.name)[0] or "application/octet-stream",
            "Accept-Ranges": "bytes",
            "ETag": etag,
            "Last-Modified": last_modified,
        }
        range_header = None if config.ignore_range else self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if if_range is not None and if_range.strip() not in (etag, last_modified):
            range_header = None
        span = _parse_range(range_header, size) if range_header else None
        if span == "unsatisfiable":
            self._send(416, entry, {"Accept-Ranges": "bytes", "Content-Range": f"bytes */{size}"})
            return
        if span is None:
            status, start, end = 200, 0, size - 1
        else:
            status, (start, end) = 206, span
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = end - start + 1
        entry["status"] = status
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if config.framing == "length":
            self.send_header("Content-Length", str(length))
        elif config.framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.close_connection = True
        self.end_headers()
        if self.command == "HEAD":
            return
        cut = length > 0 and (
            self.server.take("cut", path, config.cut_first_n.get(path, 0))
            or self.server.roll(config.cut_rate)
        )
        chunked = config.framing == "chunked"
        count = length // 2 if cut else length
        self._stream(target, start, count, entry, chunked, config.rate_cap_bps)
        if cut:
            self._close_abruptly()
        elif chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _stream(
        self,
        target: Path,
        start: int,
        count: int,
        entry: dict[str, Any],
        chunked: bool = False,
        rate_cap_bps: float | None = None,
    ) -> None:
        """Write ``count`` bytes of ``target`` from ``start`` in chunks (of chunked coding).

        With ``rate_cap_bps``, no faster than that many bytes per second.
        """
        began = time.monotonic()
        with target.open("rb") as handle:
            handle.seek(start)
            piece = (
                CHUNK_SIZE
                if not rate_cap_bps
                else max(1024, min(CHUNK_SIZE, int(rate_cap_bps / 20)))
            )
            while count > 0:
                chunk = handle.read(min(piece, count))
                if not chunk:
                    break
                if rate_cap_bps:  # a chunk goes out when the cap allows its last byte
                    due = (entry["bytes_sent"] + len(chunk)) / rate_cap_bps
                    time.sleep(max(0.0, due - (time.monotonic() - began)))
                # Count before writing so a client that has the bytes sees them logged.
                entry["bytes_sent"] += len(chunk)
                try:
                    if chunked:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    else:
                        self.wfile.write(chunk)
                except ConnectionError:
                    entry["bytes_sent"] -= len(chunk)
                    raise
                count -= len(chunk)

    def _close_abruptly(self) -> None:
        """Stop sending: the client sees end-of-stream wherever it is."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_WR)

    def _send(
        self, status: int, entry: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        """Send a short plain-text response (headers only for HEAD)."""
        entry["status"] = status
        reason = self.responses.get(status, ("",))[0]
        body = f"{status} {reason}\n".encode()
        self.send_response(status)
        for name, value in {"Content-Type": "text/plain", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            entry["bytes_sent"] = len(body)
            self.wfile.write(body)

    def _send_json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@functools.lru_cache(maxsize=65536)
def _inside(root: Path, path: str) -> Path | None:
    """``path`` under ``root`` with links resolved, or None if that leaves the root.

    Remembered: resolving costs an lstat per component, half of this
    server's CPU per request for small files, and the tests never replace
    a served path with a link.
    """
    try:
        candidate = (root / path.lstrip("/")).resolve()
    except (OSError, ValueError):
        return None
    if candidate == root or not candidate.is_relative_to(root):
        return None
    return candidate


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """Parse the first range of a ``bytes=`` header.

    Returns ``(start, end)`` inclusive, ``"unsatisfiable"``, or None when the
    header is malformed (and must be ignored).
    """
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    match = _RANGE_RE.match(spec.split(",")[0])
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            return "unsatisfiable"
        return max(size - suffix, 0), size - 1
    start = int(first)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, size - 1 if last == "" else min(int(last), size - 1)


def _exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, serve until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tls-cert", type=Path, help="serve HTTPS with this certificate chain")
    parser.add_argument("--tls-key", type=Path, help="the certificate's private key")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"--root {args.root} is not a directory")
    server = PeerServer((args.host, args.port), args.root)
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGINT, _exit)
    print(f"READY {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
