"""A loopback server whose files need a cookie set by a redirect on the way to them.

Run as ``python -m tests.perf.cookie_server``; prints ``READY <port>``.
``GET /set/<name>`` answers 302 to ``/get/<name>`` with ``Set-Cookie: visit=<name>``;
``GET /get/<name>`` answers 200 with ``BODY`` when that cookie comes back, else 401.
``GET /_control/log`` lists the headers of every other request, oldest first.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any

BODY = b"cookie-guarded bytes\n" * 100


class Handler(BaseHTTPRequestHandler):
    """Serves the routes above."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: Server

    def do_GET(self) -> None:
        if self.path == "/_control/log":
            with self.server.lock:
                self._answer(200, json.dumps(self.server.log).encode())
            return
        with self.server.lock:
            self.server.log.append({"path": self.path, "headers": list(self.headers.items())})
        kind, _, name = self.path.lstrip("/").partition("/")
        if kind == "set":
            cookie = f"visit={name}; Path=/"
            self._answer(302, b"", {"Location": f"/get/{name}", "Set-Cookie": cookie})
        elif kind == "get" and f"visit={name}" in self.headers.get("Cookie", ""):
            self._answer(200, BODY)
        else:
            self._answer(401, b"no cookie\n")

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Server(ThreadingHTTPServer):
    """Holds the request log."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.log: list[dict[str, Any]] = []


def main() -> None:
    """Serve until terminated."""
    server = Server()

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
