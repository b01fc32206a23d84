"""A loopback server whose files need a cookie set by a redirect on the way to them.

Run as ``python -m tests.perf.cookie_server``; a :mod:`tests.peers.base` peer.
``GET /set/<name>`` answers 302 to ``/get/<name>`` with ``Set-Cookie: visit=<name>``;
``GET /get/<name>`` answers 200 with ``BODY`` when that cookie comes back, else 401.
"""

from __future__ import annotations

from typing import Any

from tests.peers.base import PeerHandler, PeerServer, arguments, serve

BODY = b"cookie-guarded bytes\n" * 100


class Handler(PeerHandler):
    """Serves the routes above."""

    def respond(self, path: str, body: bytes, entry: dict[str, Any]) -> None:
        """Set the cookie, or check it."""
        kind, _, name = path.lstrip("/").partition("/")
        if kind == "set":
            cookie = f"visit={name}; Path=/"
            self.send(302, entry, {"Location": f"/get/{name}", "Set-Cookie": cookie}, b"")
        elif kind == "get" and f"visit={name}" in self.headers.get("Cookie", ""):
            self.send(200, entry, {}, BODY)
        else:
            self.send(401, entry, {}, b"no cookie\n")


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, serve until SIGTERM/SIGINT."""
    args = arguments(__doc__).parse_args(argv)
    serve(PeerServer((args.host, args.port), Handler))


if __name__ == "__main__":
    main()
