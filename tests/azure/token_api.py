"""A stand-in for the Planetary Computer token API that mints real Azurite SAS tokens.

Run as ``python -m tests.azure.token_api [--port P]``.
Prints ``READY <port>`` once listening.

* ``GET /api/sas/v1/token/{account}/{container}``: a read/list container SAS
  for the account (only Azurite's ``devstoreaccount1``, whose key is public),
  as ``{"msft:expiry": ..., "token": ...}``, like the real API.
* ``GET /_control/log``: JSON list of token requests (path, headers, time).
* ``POST /_control/reset``: clear the log and restore the default config.
* ``POST /_control/config``: replace the config with the JSON body:
  ``lifetime`` (seconds the SAS is valid, default 3600), ``claimed_lifetime``
  (seconds announced in ``msft:expiry``, default: ``lifetime``),
  ``fail_status`` (answer every request with this status), ``tamper_next``
  (this many next tokens get a wrong signature), ``delay`` (seconds to wait
  before answering).
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from azure.storage.blob import ContainerSasPermissions, generate_container_sas

ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
TOKEN_PREFIX = "/api/sas/v1/token/"
DEFAULTS: dict[str, Any] = {
    "lifetime": 3600.0,
    "claimed_lifetime": None,
    "fail_status": None,
    "tamper_next": 0,
    "delay": 0.0,
}


class TokenServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, Handler)
        self.lock = threading.Lock()
        self.config = dict(DEFAULTS)
        self.entries: list[dict[str, Any]] = []

    def mint(self, account: str, container: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            config = dict(self.config)
            tamper = config["tamper_next"] > 0
            if tamper:
                self.config["tamper_next"] -= 1
        if config["delay"]:
            time.sleep(config["delay"])
        if config["fail_status"]:
            return config["fail_status"], {"detail": "token service unavailable"}
        if account != ACCOUNT:
            return 404, {"detail": f"unknown storage account {account}"}
        now = datetime.now(timezone.utc)
        expiry = now + timedelta(seconds=config["lifetime"])
        token = generate_container_sas(
            account,
            container,
            account_key=ACCOUNT_KEY,
            permission=ContainerSasPermissions(read=True, list=True),
            start=now - timedelta(minutes=5),
            expiry=expiry,
        )
        if tamper:
            token = token.replace("sig=", "sig=AAAA", 1)
        claimed = config["claimed_lifetime"]
        if claimed is not None:
            expiry = now + timedelta(seconds=claimed)
        # The real API announces the SAS expiry to the second, as the SAS itself does.
        announced = expiry.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
        return 200, {"msft:expiry": announced, "token": token}


class Handler(BaseHTTPRequestHandler):
    server: TokenServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/_control/log":
            with self.server.lock:
                self._send(200, list(self.server.entries))
            return
        if not path.startswith(TOKEN_PREFIX):
            self._send(404, {"detail": "not found"})
            return
        parts = path[len(TOKEN_PREFIX) :].split("/")
        with self.server.lock:
            self.server.entries.append(
                {"path": path, "headers": dict(self.headers.items()), "time": time.time()}
            )
        if len(parts) != 2 or not all(parts):
            self._send(404, {"detail": "expected /token/{account}/{container}"})
            return
        self._send(*self.server.mint(*parts))

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        with self.server.lock:
            if path == "/_control/reset":
                self.server.entries.clear()
                self.server.config = dict(DEFAULTS)
            elif path == "/_control/config":
                unknown = set(body) - set(DEFAULTS)
                if unknown:
                    self._send(400, {"error": f"unknown config keys {sorted(unknown)}"})
                    return
                self.server.config = {**DEFAULTS, **body}
            else:
                self._send(404, {"error": "not found"})
                return
        self._send(200, {"ok": True})

    def _send(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = TokenServer((args.host, args.port))
    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGINT, _exit)
    print(f"READY {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
