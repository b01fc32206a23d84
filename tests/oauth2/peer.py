"""Handle on a :mod:`tests.oauth2.server` process: a peer plus OAuth2 controls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.peers.peer import Peer
from tests.peers.process import START_TIMEOUT


class OAuth2Peer(Peer):
    """An OAuth2 authorization server and protected file server in a child process.

    Its settings (:meth:`settings`) are :class:`tests.oauth2.server.OAuthConfig`:
    lifetimes, device behaviour, delays; :meth:`reset` also forgets every token.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        super().__init__("tests.oauth2.server", ["--root", str(self.root)])

    @classmethod
    def start(cls, root: Path, timeout: float = START_TIMEOUT) -> OAuth2Peer:
        """Launch a server for ``root`` and wait until it is listening."""
        return cls(root).launch(timeout)

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

    def oauth_log(self) -> list[dict[str, Any]]:
        """Calls to the token, authorize and device endpoints, oldest first."""
        return list(self._control("GET", "oauth/log"))

    def token_requests(self, grant_type: str | None = None) -> list[dict[str, Any]]:
        """Calls to the token endpoint, of one grant type if given."""
        return [
            entry
            for entry in self.oauth_log()
            if entry["endpoint"] == "token" and grant_type in (None, entry.get("grant_type"))
        ]

    def revoke(self, refresh: bool = False) -> None:
        """Revoke every access token (and every refresh token with ``refresh``)."""
        self._control("POST", "oauth/revoke", {"refresh": refresh})
