"""Handle on a :mod:`tests.peers.http_server` process.

The server runs in its own process so that blocking network reads in the test
process (GDAL, requests) can never deadlock against a server thread.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from tests.peers.process import START_TIMEOUT, PeerProcess

CONTROL_TIMEOUT = 5.0

# Control calls must never go through a proxy configured in the environment;
# to an HTTPS peer they need not check its (test) certificate.
_OPENER = urllib.request.build_opener(
    urllib.request.ProxyHandler({}),
    urllib.request.HTTPSHandler(context=ssl._create_unverified_context()),  # noqa: S323
)


class HttpPeer:
    """A range-capable HTTP file server running in a child process."""

    def __init__(self, root: Path, tls: tuple[Path, Path] | None = None) -> None:
        self.root = Path(root)
        args = ["--root", str(self.root)]
        if tls is not None:
            args += ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
        self.scheme = "https" if tls else "http"
        self._peer = PeerProcess("tests.peers.http_server", args)

    @classmethod
    def start(
        cls, root: Path, timeout: float = START_TIMEOUT, tls: tuple[Path, Path] | None = None
    ) -> HttpPeer:
        """Launch a server for ``root`` and wait until it is listening.

        With ``tls`` (certificate chain and key files) it serves HTTPS.
        """
        peer = cls(root) if tls is None else cls(root, tls)
        peer._peer.start(timeout)
        return peer

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self._peer.port

    @property
    def url(self) -> str:
        """Base URL, without a trailing slash."""
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def url_for(self, relpath: str) -> str:
        """URL of a path relative to the root (percent-encoded)."""
        return f"{self.url}/{quote(relpath.lstrip('/'))}"

    def log(self) -> list[dict[str, Any]]:
        """All logged requests, oldest first."""
        return self._control("GET", "log")

    def reset(self) -> None:
        """Clear the request log and all faults."""
        self._control("POST", "reset")

    def configure(self, **config: Any) -> None:
        """Replace the fault config; unspecified keys get their defaults.

        Raises ValueError if the server rejects the config.
        """
        self._control("POST", "config", config)

    def requests_for(self, match: str | Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """Logged requests whose decoded path (no query) ends with ``match``,
        or for which the predicate ``match`` returns True."""
        if callable(match):
            return [entry for entry in self.log() if match(entry)]
        return [
            entry for entry in self.log() if unquote(urlsplit(entry["path"]).path).endswith(match)
        ]

    def stop(self) -> None:
        """Terminate the server process (killing it if it does not exit)."""
        self._peer.stop()

    def __enter__(self) -> HttpPeer:
        if not self._peer.port:
            self._peer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _control(self, method: str, name: str, payload: object = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            f"{self.url}/_control/{name}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with _OPENER.open(request, timeout=CONTROL_TIMEOUT) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            message = json.load(error).get("error", error.reason)
            raise ValueError(f"{method} /_control/{name}: {message}") from error
