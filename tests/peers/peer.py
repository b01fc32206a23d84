"""The test side of a :mod:`tests.peers.base` server: start it, reach it, control it."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

from tests.peers.process import START_TIMEOUT, PeerProcess

CONTROL_TIMEOUT = 5.0
_P = TypeVar("_P", bound="Peer")

# Control calls must never go through a proxy configured in the environment;
# to an HTTPS peer they need not check its (test) certificate.
_OPENER = urllib.request.build_opener(
    urllib.request.ProxyHandler({}),
    urllib.request.HTTPSHandler(context=ssl._create_unverified_context()),  # noqa: S323
)


class Peer:
    """A peer process running ``python -m <module> <args>``, listening on ``host``."""

    def __init__(
        self, module: str, args: Sequence[str] = (), host: str = "127.0.0.1", scheme: str = "http"
    ) -> None:
        self.host = host
        self.scheme = scheme
        self._process = PeerProcess(module, ["--host", host, *args])

    def launch(self: _P, timeout: float = START_TIMEOUT) -> _P:
        """Launch the process and wait until it listens."""
        self._process.start(timeout)
        return self

    @property
    def port(self) -> int:
        """The port the peer listens on."""
        return self._process.port

    @property
    def netloc(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The peer's origin, without a trailing slash."""
        return f"{self.scheme}://{self.netloc}"

    def url_for(self, relpath: str) -> str:
        """URL of a path relative to the origin (percent-encoded)."""
        return f"{self.url}/{quote(relpath.lstrip('/'))}"

    def log(self) -> list[dict[str, Any]]:
        """Every request seen since the last reset, oldest first."""
        return list(self._control("GET", "log"))

    def requests_for(self, match: str | Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """Logged requests whose decoded path (no query) ends with ``match``,
        or for which the predicate ``match`` returns True."""
        if callable(match):
            return [entry for entry in self.log() if match(entry)]
        return [
            entry for entry in self.log() if unquote(urlsplit(entry["path"]).path).endswith(match)
        ]

    def reset(self) -> None:
        """Empty the log; default faults; the peer's start settings and state."""
        self._control("POST", "reset")

    def configure(self, **config: Any) -> None:
        """Replace the faults and latency (:class:`tests.peers.faults.Config`);
        unspecified keys get their defaults.

        Raises ValueError if the peer rejects the config.
        """
        self._control("POST", "config", config)

    def settings(self, **settings: Any) -> None:
        """Replace the peer's own protocol settings; unspecified keys get their start values."""
        self._control("POST", "settings", settings)

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

    def stop(self) -> None:
        """Terminate the process (killing it if it does not exit)."""
        self._process.stop()

    def __enter__(self: _P) -> _P:
        if not self._process.port:
            self._process.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
