"""Handle on a :mod:`tests.auth.servers` process (one role, one loopback address)."""

from __future__ import annotations

import json
import urllib.request
from types import TracebackType
from typing import Any

from tests.peers.process import PeerProcess

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class AuthPeer:
    """One auth stand-in (Earthdata login or data host, S3, M2M, Landsat Look, GCS)."""

    def __init__(self, role: str, host: str, settings: dict[str, Any]) -> None:
        self.role = role
        self.host = host
        args = [role, "--host", host, "--settings", json.dumps(settings)]
        self._peer = PeerProcess("tests.auth.servers", args).start()
        self.port = self._peer.port

    @property
    def url(self) -> str:
        """The peer's origin, ``http://host:port``."""
        return f"http://{self.host}:{self.port}"

    @property
    def netloc(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    def _control(self, name: str, payload: object = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            f"{self.url}/_control/{name}",
            data=data,
            method="POST" if data or name != "log" else "GET",
        )
        with _OPENER.open(request, timeout=5) as response:
            return json.load(response)

    def log(self) -> list[dict[str, Any]]:
        """Every request seen since the last reset, oldest first."""
        return list(self._control("log"))

    def reset(self) -> None:
        """Clear the log and the login counter; restore the start settings."""
        self._control("reset", {})

    def configure(self, **settings: Any) -> None:
        """Merge ``settings`` (``expire_keys=True`` forgets every API key issued)."""
        self._control("config", settings)

    def logins(self) -> int:
        """How many logins the peer has answered since the last reset."""
        return int(self._control("state", {})["logins"])

    def stop(self) -> None:
        """Terminate the child."""
        self._peer.stop()

    def __enter__(self) -> AuthPeer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
