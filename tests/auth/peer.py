"""Handle on a :mod:`tests.auth.servers` process (one role, one loopback address)."""

from __future__ import annotations

import json
from typing import Any

from tests.peers.peer import Peer


class AuthPeer(Peer):
    """One auth stand-in (Earthdata login or data host, S3, M2M, Landsat Look, GCS)."""

    def __init__(self, role: str, host: str, settings: dict[str, Any]) -> None:
        self.role = role
        super().__init__("tests.auth.servers", [role, "--settings", json.dumps(settings)], host)
        self.launch()

    def expire_keys(self) -> None:
        """Forget every API key or token issued."""
        self._control("POST", "expire", {"keys": True})

    def expire_sessions(self) -> None:
        """Forget every session issued."""
        self._control("POST", "expire", {"sessions": True})

    def logins(self) -> int:
        """How many logins the peer has answered since the last reset."""
        return int(self._control("GET", "state")["logins"])
