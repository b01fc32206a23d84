"""The base of every test server: one process, one port, one log, one set of faults.

A peer is a module run as ``python -m tests.<peer> [--host H] [--port P] ...``
that builds a :class:`PeerServer` with its own :class:`PeerHandler` subclass
and calls :func:`serve`, which prints ``READY <port>`` once listening (see
:mod:`tests.peers.process`). A peer adds only its protocol: it overrides
:meth:`PeerHandler.respond` (and, where it needs them, the ``admit`` hook
that runs before the faults, its start ``settings``, ``reset_state`` and
``control``). Everything else is here, once:

* TCP_NODELAY and a listen backlog of 128, as real servers have;
* the request log: every request but control calls, with method, raw path
  (query included), headers, ``Range``, status, body bytes sent, client port
  and arrival time (and the request body, for peers that set ``log_bodies``);
* control endpoints (never logged, never faulted), under ``/_control/``:

  - ``GET log``: the log, oldest first;
  - ``POST reset``: empty log, default faults, the peer's start settings and state;
  - ``POST config``: replace the faults and latency with the JSON body (see
    :class:`tests.peers.faults.Config`; unspecified keys get their defaults),
    for every peer alike;
  - ``POST settings``: replace the peer's own protocol settings with the JSON
    body (unspecified keys get their start values);
  - anything else the peer's :meth:`PeerHandler.control` answers;

* faults, applied after :meth:`PeerHandler.admit` and before
  :meth:`PeerHandler.respond`, in this order: latency, the in-flight limit,
  dropped connections, redirects, required headers, fixed failures, counted
  and random failures; and, on the body the peer sends, the rate cap and cuts;
* file serving with single byte ranges, ``If-Range``, ``ETag`` and
  ``Last-Modified`` (:meth:`PeerHandler.serve_file`).

Fault paths are matched against the URL-decoded path without the query string.
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
import sys
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

from tests.peers.faults import Config

CHUNK_SIZE = 256 * 1024
CONTROL_PREFIX = "/_control/"
_RANGE_RE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


class PeerServer(ThreadingHTTPServer):
    """Threaded server holding the request log, the faults and the peer's settings.

    ``root`` (optional) is the directory :meth:`PeerHandler.serve_file` serves;
    ``settings`` are the peer's own start settings (``POST /_control/settings``
    replaces them, ``reset`` restores them).
    """

    daemon_threads = True
    # The default backlog of 5 makes a 6th simultaneous client wait ~1 s for a SYN retry.
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[PeerHandler],
        root: Path | None = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(address, handler)
        self.root = root.resolve() if root is not None else None
        self.initial = dict(settings or {})
        self.settings = dict(self.initial)
        self.lock = threading.Lock()
        self.records: list[dict[str, Any]] = []
        self.in_flight = 0
        self.apply(Config())
        self.reset_state()

    def apply(self, config: Config) -> None:
        """Install a fault config, restarting its random generator and counters."""
        with self.lock:
            self.config = config
            self.rng = random.Random(config.seed)
            self.counts: dict[tuple[str, str], int] = {}

    def configure_settings(self, settings: dict[str, Any]) -> None:
        """Replace the peer's settings; unspecified keys get their start values.

        Raises ValueError for keys the peer did not start with.
        """
        unknown = set(settings) - set(self.initial)
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        with self.lock:
            self.settings = {**self.initial, **settings}

    def reset(self) -> None:
        """Clear the log; restore the default faults, the start settings and state."""
        with self.lock:
            self.records.clear()
            self.settings = dict(self.initial)
        self.apply(Config())
        self.reset_state()

    def reset_state(self) -> None:
        """Hook: forget the peer's protocol state on reset (nothing here)."""

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
        if limit <= 0:
            return False
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


class ControlError(Exception):
    """A control call the peer refuses: answered with ``status`` and ``{"error": ...}``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class PeerHandler(BaseHTTPRequestHandler):
    """Logs, controls and faults; :meth:`respond` is the peer's protocol."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    # Keep request bodies in the log (as text), so tests can look for secrets in them.
    log_bodies = False
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
        """Handle POST."""
        self._dispatch()

    def do_PUT(self) -> None:
        """Handle PUT."""
        self._dispatch()

    def do_DELETE(self) -> None:
        """Handle DELETE."""
        self._dispatch()

    # -- the peer's protocol ---------------------------------------------------------------

    def respond(self, path: str, body: bytes, entry: dict[str, Any]) -> None:
        """Answer a request that passed the faults; by default, serve files (GET, HEAD).

        ``path`` is the URL-decoded path without the query; ``entry`` is its
        log record (the ``send*`` methods fill in the status).
        """
        if self.command in ("GET", "HEAD"):
            self.serve_file(path, entry)
        else:
            self.send(405, entry, {"Allow": "GET, HEAD"})

    def admit(self, path: str, entry: dict[str, Any]) -> bool:
        """Hook run before the faults: False when the peer has refused the request
        itself (an authentication check, say); by default, everything is admitted."""
        return True

    def control(self, name: str, body: bytes) -> Any:
        """Answer ``/_control/<name>`` beyond log, reset, config and settings.

        Returns the JSON payload; raises :class:`ControlError` to refuse.
        """
        raise ControlError(f"unknown control endpoint {name!r}", 404)

    # -- plumbing ----------------------------------------------------------------------------

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
                self._control(path[len(CONTROL_PREFIX) :], body)
                return
            if self.log_bodies:
                entry["body"] = body.decode("utf-8", "replace")
            self._answer(path, body, entry)
        except ConnectionError:
            self.close_connection = True

    def _answer(self, path: str, body: bytes, entry: dict[str, Any]) -> None:
        """Admit, fault, respond, counting the requests in flight."""
        server = self.server
        with server.lock:
            server.in_flight += 1
            busy = server.in_flight
        try:
            if self.admit(path, entry) and not self._fault(path, entry, busy):
                self.respond(path, body, entry)
        finally:
            with server.lock:
                server.in_flight -= 1

    def _read_body(self, entry: dict[str, Any]) -> bytes | None:
        """Read the request body so errors keep the connection usable."""
        if "Transfer-Encoding" in self.headers:
            self.close_connection = True
            self.send(411, entry)
            return None
        length = self.headers.get("Content-Length")
        if length is None:
            if self.command == "PUT":
                self.send(411, entry)
                return None
            return b""
        if not length.isdigit():
            self.close_connection = True
            self.send(400, entry)
            return None
        return self.rfile.read(int(length))

    def _control(self, name: str, body: bytes) -> None:
        server = self.server
        standard = {"log": "GET", "reset": "POST", "config": "POST", "settings": "POST"}
        try:
            if name in standard and self.command != standard[name]:
                raise ControlError(f"{name} requires {standard[name]}", 405)
            if name == "log":
                payload = server.snapshot()
            elif name == "reset":
                server.reset()
                payload = {"ok": True}
            elif name in ("config", "settings"):
                try:
                    data = json.loads(body or b"{}")
                    if name == "config":
                        server.apply(Config.from_json(data))
                    elif isinstance(data, dict):
                        server.configure_settings(data)
                    else:
                        raise ValueError("settings must be a JSON object")
                except (ValueError, TypeError) as error:
                    raise ControlError(str(error)) from error
                payload = {"ok": True}
            else:
                payload = self.control(name, body)
        except ControlError as error:
            self.send_json(error.status, {"error": str(error)})
            return
        self.send_json(200, payload)

    def _fault(self, path: str, entry: dict[str, Any], busy: int) -> bool:
        """Apply the configured faults; True when one of them answered the request.

        ``busy`` is how many requests are being answered, this one included.
        """
        server = self.server
        config = server.config
        if config.latency_ms:
            time.sleep(config.latency_ms / 1000)
        if config.max_in_flight is not None and busy > config.max_in_flight:
            retry = config.retry_after
            self.send(503, entry, {} if retry is None else {"Retry-After": str(retry)})
            return True
        if server.take("drop", path, config.drop_first_n.get(path, 0)) or server.roll(
            config.drop_rate
        ):
            self.close_abruptly()
            return True
        if path in config.redirects:
            self.send(302, entry, {"Location": config.redirects[path]})
            return True
        for prefix, required in config.require_headers.items():
            if path.startswith(prefix) and any(
                self.headers.get(name) != value for name, value in required.items()
            ):
                self.send(401, entry)
                return True
        if path in config.fail_paths:
            self.send(config.fail_paths[path], entry)
            return True
        if server.take("fail", path, config.fail_first_n.get(path, 0)) or server.roll(
            config.error_rate
        ):
            retry = config.retry_after
            extra = {} if retry is None else {"Retry-After": str(retry)}
            self.send(config.error_status, entry, extra)
            return True
        return False

    # -- answers -----------------------------------------------------------------------------

    def serve_file(self, path: str, entry: dict[str, Any], root: Path | None = None) -> None:
        """Serve ``path`` under ``root`` (default: the server's), honouring one byte range."""
        target = inside(root or self.server.root, path)
        try:
            stat = target.stat() if target is not None and target.is_file() else None
        except (OSError, ValueError):
            stat = None
        if target is None or stat is None:
            self.send(404, entry)
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
        range_header = None if self.server.config.ignore_range else self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if if_range is not None and if_range.strip() not in (etag, last_modified):
            range_header = None
        span = _parse_range(range_header, size) if range_header else None
        if span == "unsatisfiable":
            self.send(416, entry, {"Accept-Ranges": "bytes", "Content-Range": f"bytes */{size}"})
            return
        if span is None:
            status, start, end = 200, 0, size - 1
        else:
            status, (start, end) = 206, span
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        with target.open("rb") as handle:
            handle.seek(start)
            self.send_body(status, headers, handle, end - start + 1, path, entry)

    def send_body(
        self,
        status: int,
        headers: dict[str, str],
        source: BinaryIO,
        length: int | None,
        path: str,
        entry: dict[str, Any],
    ) -> None:
        """Send ``length`` bytes read from ``source`` (to its end when None), framed and
        cut as configured."""
        config = self.server.config
        entry["status"] = status
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        framing = config.framing if length is not None else "chunked"
        if framing == "length":
            self.send_header("Content-Length", str(length))
        elif framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.close_connection = True
        self.end_headers()
        if self.command == "HEAD":
            return
        cut = length is not None and length > 0
        cut = cut and (
            self.server.take("cut", path, config.cut_first_n.get(path, 0))
            or self.server.roll(config.cut_rate)
        )
        count = length // 2 if cut and length is not None else length
        self._stream(source, count, entry, framing == "chunked", config.rate_cap_bps)
        if cut:
            self.close_abruptly()
        elif framing == "chunked":
            self.wfile.write(b"0\r\n\r\n")

    def _stream(
        self,
        source: BinaryIO,
        count: int | None,
        entry: dict[str, Any],
        chunked: bool,
        rate_cap_bps: float | None,
    ) -> None:
        """Write ``count`` bytes (all, when None) of ``source`` in chunks (of chunked coding).

        With ``rate_cap_bps``, no faster than that many bytes per second.
        """
        began = time.monotonic()
        piece = (
            CHUNK_SIZE if not rate_cap_bps else max(1024, min(CHUNK_SIZE, int(rate_cap_bps / 20)))
        )
        while count is None or count > 0:
            chunk = source.read(piece if count is None else min(piece, count))
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
            if count is not None:
                count -= len(chunk)

    def close_abruptly(self) -> None:
        """Stop sending: the client sees end-of-stream wherever it is."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_WR)

    def send(
        self,
        status: int,
        entry: dict[str, Any],
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> None:
        """Send a short response (``"<status> <reason>"`` as text unless ``body`` is given;
        headers only for HEAD)."""
        entry["status"] = status
        if body is None:
            reason = self.responses.get(status, ("",))[0]
            body = f"{status} {reason}\n".encode()
            headers = {"Content-Type": "text/plain", **(headers or {})}
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            entry["bytes_sent"] = len(body)
            self.wfile.write(body)

    def send_json(
        self,
        status: int,
        payload: Any,
        entry: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Send ``payload`` as JSON (``entry``, when given, records the status)."""
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
        self.send(status, {} if entry is None else entry, headers, body)


@functools.lru_cache(maxsize=65536)
def inside(root: Path | None, path: str) -> Path | None:
    """``path`` under ``root`` with links resolved, or None if that leaves the root.

    Remembered: resolving costs an lstat per component, half of a file
    server's CPU per request for small files, and the tests never replace
    a served path with a link.
    """
    if root is None:
        return None
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


def arguments(description: str | None) -> argparse.ArgumentParser:
    """A parser with the options every peer takes: ``--host`` and ``--port``."""
    parser = argparse.ArgumentParser(description=(description or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    return parser


def serve(server: PeerServer, wrap: Callable[[socket.socket], socket.socket] | None = None) -> None:
    """Print ``READY <port>``, then serve until SIGTERM or SIGINT.

    ``wrap`` replaces the listening socket (e.g. with a TLS one) before that.
    """
    if wrap is not None:
        server.socket = wrap(server.socket)
    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGINT, _exit)
    print(f"READY {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


def _exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)
