"""The HTTP peer: a range-capable file server that also takes uploads.

Run as ``python -m tests.peers.http_server --root DIR [--host H] [--port P]
[--tls-cert CHAIN --tls-key KEY]``. A :mod:`tests.peers.base` peer: its log,
controls, faults and file serving are the base's; this module adds ``PUT``
(write the body to that path under the root) and HTTPS.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from tests.peers.base import PeerHandler, PeerServer, arguments, inside, serve


class Handler(PeerHandler):
    """Serves files under the root (GET, HEAD) and writes uploads there (PUT)."""

    def respond(self, path: str, body: bytes, entry: dict[str, Any]) -> None:
        """GET and HEAD serve files, PUT writes one."""
        if self.command in ("GET", "HEAD"):
            self.serve_file(path, entry)
        elif self.command == "PUT":
            self._put(path, body, entry)
        else:
            self.send(405, entry, {"Allow": "GET, HEAD, PUT"})

    def _put(self, path: str, body: bytes, entry: dict[str, Any]) -> None:
        target = inside(self.server.root, path)
        if target is None:
            self.send(403, entry)
            return
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
        except OSError:
            self.send(409, entry)
            return
        self.send(201, entry)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, serve until SIGTERM/SIGINT."""
    parser = arguments(__doc__)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--tls-cert", type=Path, help="serve HTTPS with this certificate chain")
    parser.add_argument("--tls-key", type=Path, help="the certificate's private key")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"--root {args.root} is not a directory")
    server = PeerServer((args.host, args.port), Handler, args.root)
    if not args.tls_cert:
        serve(server)
        return
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.tls_cert, args.tls_key)
    serve(server, lambda sock: context.wrap_socket(sock, server_side=True))


if __name__ == "__main__":
    main()
