"""A minimal STAC API (landing page, conformance, /search) for piping stac-client into us.

Run as ``python -m tests.peers.stac_api --items FILE``: serves the features of
the FeatureCollection in FILE from ``/search`` (GET or POST, one page), prints
``READY <port>`` once listening.
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CONFORMS_TO = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/item-search",
]


def make_handler(features: list[dict[str, Any]]) -> type[BaseHTTPRequestHandler]:
    """A handler class serving ``features``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, body: dict[str, Any], content_type: str = "application/json") -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _root(self) -> str:
            return f"http://{self.headers['Host']}"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            root = self._root()
            if path in ("", "/"):
                self._send(
                    {
                        "type": "Catalog",
                        "id": "test-api",
                        "description": "test STAC API",
                        "stac_version": "1.0.0",
                        "conformsTo": CONFORMS_TO,
                        "links": [
                            {"rel": "self", "href": f"{root}/"},
                            {"rel": "root", "href": f"{root}/"},
                            {"rel": "search", "href": f"{root}/search", "method": "GET"},
                            {"rel": "search", "href": f"{root}/search", "method": "POST"},
                        ],
                    }
                )
            elif path == "/conformance":
                self._send({"conformsTo": CONFORMS_TO})
            elif path == "/search":
                self._search()
            else:
                self.send_error(404)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            self.rfile.read(length)
            if self.path.split("?", 1)[0] == "/search":
                self._search()
            else:
                self.send_error(404)

        def _search(self) -> None:
            self._send(
                {"type": "FeatureCollection", "features": features, "links": []},
                "application/geo+json",
            )

    return Handler


def main() -> None:
    """Serve until terminated."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with open(args.items) as file:
        features = json.load(file)["features"]
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(features))
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
