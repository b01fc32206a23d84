"""Handle on a :mod:`tests.oauth2.server` process: the file peer's controls plus OAuth2 ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.peers.http_peer import HttpPeer
from tests.peers.process import PeerProcess


class OAuth2Peer(HttpPeer):
    """An OAuth2 authorization server and protected file server in a child process."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self._peer = PeerProcess("tests.oauth2.server", ["--root", str(self.root)])

    @property
    def token_url(self) -> str:
        """The token endpoint."""
        return f"{self.url}/oauth/token"

    @property
    def authorization_url(self) -> str:
        """The authorization endpoint."""
        return f"{self.url}/oauth/authorize"

    @property
    def device_authorization_url(self) -> str:
        """The device authorization endpoint."""
        return f"{self.url}/oauth/device_authorization"

    @property
    def host(self) -> str:
        """``127.0.0.1:<port>``, the host the tokens are for."""
        return f"127.0.0.1:{self.port}"

    def oauth_log(self) -> list[dict[str, Any]]:
        """Calls to the token, authorize and device endpoints, oldest first."""
        return self._control("GET", "oauth/log")

    def token_requests(self, grant_type: str | None = None) -> list[dict[str, Any]]:
        """Calls to the token endpoint, of one grant type if given."""
        return [
            entry
            for entry in self.oauth_log()
            if entry["endpoint"] == "token" and grant_type in (None, entry.get("grant_type"))
        ]

    def oauth_configure(self, **config: Any) -> None:
        """Replace the OAuth config (lifetimes, device behaviour, delays)."""
        self._control("POST", "oauth/config", config)

    def revoke(self, refresh: bool = False) -> None:
        """Revoke every access token (and every refresh token with ``refresh``)."""
        self._control("POST", "oauth/revoke", {"refresh": refresh})

    def reset(self) -> None:
        """Clear both logs, every token and all faults."""
        super().reset()
        self._control("POST", "oauth/reset")
