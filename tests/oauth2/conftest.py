"""The OAuth2 peer: authorization server and protected file server, once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.oauth2.peer import OAuth2Peer


@pytest.fixture(scope="session")
def oauth2_peer(http_root: Path, small_cogs: dict[str, Path]) -> Iterator[OAuth2Peer]:
    """The peer serving the HTTP root (the small COGs) behind bearer tokens."""
    with OAuth2Peer.start(http_root) as peer:
        yield peer


@pytest.fixture
def oauth(oauth2_peer: OAuth2Peer) -> OAuth2Peer:
    """The OAuth2 peer with no tokens, empty logs and the default config."""
    oauth2_peer.reset()
    return oauth2_peer
