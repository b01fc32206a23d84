"""A minimal STAC API (landing page, conformance, /search) for piping stac-client into us.

Run as ``python -m tests.peers.stac_api --items FILE``; a :mod:`tests.peers.base`
peer serving the features of the FeatureCollection in FILE from ``/search``
(GET or POST, one page).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.peers.base import PeerHandler, PeerServer, arguments, serve

CONFORMS_TO = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/item-search",
]


class Handler(PeerHandler):
    """The landing page, conformance classes and one page of search results."""

    def respond(self, path: str, body: bytes, entry: dict[str, Any]) -> None:
        """Answer the three routes."""
        root = f"http://{self.headers['Host']}"
        if path == "/search" and self.command in ("GET", "POST"):
            features = self.server.settings["features"]
            page = {"type": "FeatureCollection", "features": features, "links": []}
            self.send_json(200, page, entry, {"Content-Type": "application/geo+json"})
        elif self.command != "GET":
            self.send(405, entry)
        elif path in ("", "/"):
            links = [
                {"rel": "self", "href": f"{root}/"},
                {"rel": "root", "href": f"{root}/"},
                {"rel": "search", "href": f"{root}/search", "method": "GET"},
                {"rel": "search", "href": f"{root}/search", "method": "POST"},
            ]
            landing = {
                "type": "Catalog",
                "id": "test-api",
                "description": "test STAC API",
                "stac_version": "1.0.0",
                "conformsTo": CONFORMS_TO,
                "links": links,
            }
            self.send_json(200, landing, entry)
        elif path == "/conformance":
            self.send_json(200, {"conformsTo": CONFORMS_TO}, entry)
        else:
            self.send(404, entry)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, serve until SIGTERM/SIGINT."""
    parser = arguments(__doc__)
    parser.add_argument("--items", type=Path, required=True)
    args = parser.parse_args(argv)
    features = json.loads(args.items.read_text())["features"]
    serve(PeerServer((args.host, args.port), Handler, settings={"features": features}))


if __name__ == "__main__":
    main()
