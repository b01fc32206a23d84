"""A stand-in for the Planetary Computer token API that mints real Azurite SAS tokens.

Run as ``python -m tests.azure.token_api [--host H] [--port P]``; a
:mod:`tests.peers.base` peer (its log, faults and controls).

* ``GET /api/sas/v1/token/{account}/{container}``: a read/list container SAS
  for the account (only Azurite's ``devstoreaccount1``, whose key is public),
  as ``{"msft:expiry": ..., "token": ...}``, like the real API.

Settings (``POST /_control/settings``): ``lifetime`` (seconds the SAS is
valid, default 3600), ``claimed_lifetime`` (seconds announced in
``msft:expiry``, default: ``lifetime``), ``tamper_next`` (this many next
tokens get a wrong signature). A slow or failing API is the base's
``latency_ms`` and ``error_rate``/``error_status``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from azure.storage.blob import ContainerSasPermissions, generate_container_sas

from tests.peers.base import PeerHandler, PeerServer, arguments, serve

ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
TOKEN_PREFIX = "/api/sas/v1/token/"
SETTINGS: dict[str, Any] = {"lifetime": 3600.0, "claimed_lifetime": None, "tamper_next": 0}


class Handler(PeerHandler):
    """Mints a SAS for ``/api/sas/v1/token/{account}/{container}``."""

    def respond(self, path: str, body: bytes, entry: dict[str, Any]) -> None:
        """Answer a token request."""
        parts = path.removeprefix(TOKEN_PREFIX).split("/")
        if not path.startswith(TOKEN_PREFIX) or len(parts) != 2 or not all(parts):
            self.send_json(404, {"detail": "expected /token/{account}/{container}"}, entry)
        elif parts[0] != ACCOUNT:
            self.send_json(404, {"detail": f"unknown storage account {parts[0]}"}, entry)
        else:
            self.send_json(200, self._mint(parts[1]), entry)

    def _mint(self, container: str) -> dict[str, Any]:
        server = self.server
        with server.lock:
            settings = dict(server.settings)
            tamper = settings["tamper_next"] > 0
            if tamper:
                server.settings["tamper_next"] -= 1
        now = datetime.now(timezone.utc)
        expiry = now + timedelta(seconds=settings["lifetime"])
        token = generate_container_sas(
            ACCOUNT,
            container,
            account_key=ACCOUNT_KEY,
            permission=ContainerSasPermissions(read=True, list=True),
            start=now - timedelta(minutes=5),
            expiry=expiry,
        )
        if tamper:
            token = token.replace("sig=", "sig=AAAA", 1)
        claimed = settings["claimed_lifetime"]
        if claimed is not None:
            expiry = now + timedelta(seconds=claimed)
        # The real API announces the SAS expiry to the second, as the SAS itself does.
        announced = expiry.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"msft:expiry": announced, "token": token}


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, serve until SIGTERM/SIGINT."""
    args = arguments(__doc__).parse_args(argv)
    serve(PeerServer((args.host, args.port), Handler, settings=SETTINGS))


if __name__ == "__main__":
    main()
