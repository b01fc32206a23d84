"""The per-host limit holds when the pool has more threads than one host has slots."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from stac_asset import blocking
from tests.conftest import make_item
from tests.peers.http_peer import HttpPeer


@pytest.fixture(scope="module")
def second_peer(http_root: Path) -> Iterator[HttpPeer]:
    """Another HTTP server on the same files: another host for the limit."""
    with HttpPeer.start(http_root) as peer:
        yield peer


def test_per_host_limit_with_two_hosts(
    http: HttpPeer, second_peer: HttpPeer, http_root: Path, tmp_path: Path
) -> None:
    second_peer.reset()
    (http_root / "slots").mkdir(exist_ok=True)
    hrefs = {}
    for index in range(16):
        (http_root / "slots" / f"s{index:02d}.bin").write_bytes(os.urandom(4096))
        # All of one host's files first: free threads would all go to it.
        peer = http if index < 8 else second_peer
        hrefs[f"s{index:02d}"] = peer.url_for(f"slots/s{index:02d}.bin")
    for peer in (http, second_peer):
        peer.configure(latency_ms=50)
    blocking.download_item(
        make_item("SLOTS", hrefs), tmp_path, max_concurrent_per_host=2, max_concurrent_downloads=8
    )
    for peer in (http, second_peer):
        log = peer.log()
        assert len(log) == 8
        assert len({r["client_port"] for r in log}) <= 2
    assert len(list(tmp_path.glob("s*.bin"))) == 16
