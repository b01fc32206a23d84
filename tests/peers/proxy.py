"""A reverse proxy that puts the base's faults in front of a server we cannot fault.

Run as ``python -m tests.peers.proxy --upstream http://127.0.0.1:PORT``; a
:mod:`tests.peers.base` peer that forwards every request to the upstream origin
through urllib3 and relays the answer, with the faults configured on it (e.g.
``cut_first_n`` to cut an Azurite body half-way, as on a flaky network).
"""

from __future__ import annotations

from typing import Any

import urllib3

from tests.peers.base import PeerHandler, PeerServer, arguments, serve

# Hop-by-hop headers (RFC 9110 section 7.6.1), and what the base writes itself.
_NOT_FORWARDED = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "date",
    "server",
}
_POOL = urllib3.PoolManager(maxsize=16, timeout=urllib3.Timeout(connect=5, read=30))


class Handler(PeerHandler):
    """Forwards the request, relays the answer."""

    def respond(self, path: str, body: bytes, entry: dict[str, Any]) -> None:
        """Forward to the upstream origin; the body goes back through the base's framing
        and cuts."""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _NOT_FORWARDED}
        response = _POOL.urlopen(
            self.command,
            self.server.settings["upstream"] + self.path,
            body=body or None,
            headers=headers,
            preload_content=False,
            decode_content=False,
            redirect=False,
            retries=False,
        )
        try:
            relayed = {k: v for k, v in response.headers.items() if k.lower() not in _NOT_FORWARDED}
            length = response.headers.get("Content-Length")
            if length is None and (self.command == "HEAD" or response.status in (204, 304)):
                length = "0"
            size = None if length is None else int(length)
            self.send_body(response.status, relayed, response, size, path, entry)
        finally:
            if not response.isclosed():
                response.close()  # cut, or not read to the end: the connection is spent
            response.release_conn()


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, serve until SIGTERM/SIGINT."""
    parser = arguments(__doc__)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args(argv)
    upstream = args.upstream.rstrip("/")
    serve(PeerServer((args.host, args.port), Handler, settings={"upstream": upstream}))


if __name__ == "__main__":
    main()
