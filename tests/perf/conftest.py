"""Peers for the fast-path tests: a second plain HTTP origin and a cookie-setting server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers.http_peer import HttpPeer
from tests.peers.process import PeerProcess


@pytest.fixture(scope="session")
def away_peer(http_root: Path) -> Iterator[HttpPeer]:
    """Another HTTP server on the same files: a different origin (its own port)."""
    with HttpPeer.start(http_root) as peer:
        yield peer


@pytest.fixture
def away(away_peer: HttpPeer) -> HttpPeer:
    """The other origin, with an empty log."""
    away_peer.reset()
    return away_peer


@pytest.fixture(scope="session")
def cookie_url() -> Iterator[str]:
    """The origin of :mod:`tests.perf.cookie_server`."""
    with PeerProcess("tests.perf.cookie_server") as peer:
        yield f"http://127.0.0.1:{peer.port}"
