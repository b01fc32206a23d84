"""A one-request-per-connection HTTP proxy that can cut responses mid-body.

Run as ``python -m tests.peers.cut_proxy --upstream http://127.0.0.1:PORT``;
prints ``READY <port>``. Requests are forwarded to the upstream origin with
``Connection: close``; ``POST /_cut`` with ``{"path": "...", "count": N,
"after": BYTES}`` makes the next N responses to GETs whose path contains
``path`` stop after BYTES bytes of body (then the connection closes), so a
client sees a body cut short, as on a flaky network.
"""

from __future__ import annotations

import argparse
import json
import socket
import socketserver
import threading
from typing import Any
from urllib.parse import urlsplit

_rules: list[dict[str, Any]] = []
_lock = threading.Lock()


def _take_rule(method: str, path: str) -> int | None:
    """Bytes of body to pass before cutting this response, if a rule applies."""
    with _lock:
        for rule in _rules:
            if method == "GET" and rule["path"] in path and rule["count"] > 0:
                rule["count"] -= 1
                return int(rule["after"])
    return None


def _read_head(stream: Any) -> bytes:
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = stream.readline()
        if not line:
            break
        head += line
    return head


class Handler(socketserver.StreamRequestHandler):
    """Forwards one request, then closes the connection."""

    disable_nagle_algorithm = True
    upstream: tuple[str, int] = ("127.0.0.1", 0)

    def handle(self) -> None:
        head = _read_head(self.rfile)
        if not head:
            return
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, path, _ = request_line.split(" ", 2)
        headers = [h for h in header_lines if h and not h.lower().startswith("connection:")]
        length = next(
            (int(h.split(":", 1)[1]) for h in headers if h.lower().startswith("content-length:")), 0
        )
        body = self.rfile.read(length) if length else b""
        if path == "/_cut":
            with _lock:
                _rules.append(json.loads(body))
            self.wfile.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            return
        cut = _take_rule(method, path)
        forwarded = "\r\n".join([request_line, *headers, "Connection: close", "", ""])
        with socket.create_connection(self.upstream, timeout=30) as upstream:
            upstream.sendall(forwarded.encode("latin-1") + body)
            response = upstream.makefile("rb")
            response_head = _read_head(response)
            self.wfile.write(response_head)
            passed = 0
            while chunk := response.read1(64 * 1024):
                if cut is not None and passed + len(chunk) >= cut:
                    self.wfile.write(chunk[: max(cut - passed, 0)])
                    return  # the connection closes mid-body
                self.wfile.write(chunk)
                passed += len(chunk)


def main() -> None:
    """Serve until terminated."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    parts = urlsplit(args.upstream)
    Handler.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
