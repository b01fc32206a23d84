"""Every test peer is one framework: the same controls, faults and log on each."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.auth.peer import AuthPeer
from tests.azure.peers import TokenApi
from tests.oauth2.peer import OAuth2Peer
from tests.peers.http_peer import HttpPeer
from tests.peers.peer import Peer


def _stac_api(root: Path) -> Peer:
    items = root / "items.json"
    items.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    return Peer("tests.peers.stac_api", ["--items", str(items)]).launch()


PEERS: dict[str, Callable[[Path], Peer]] = {
    "http": HttpPeer.start,
    "oauth2": OAuth2Peer.start,
    "auth-files": lambda root: AuthPeer("files", "127.0.0.1", {"root": str(root)}),
    "token-api": lambda root: TokenApi(),
    "stac-api": _stac_api,
    "cookies": lambda root: Peer("tests.perf.cookie_server").launch(),
}


@pytest.fixture(scope="module", params=sorted(PEERS))
def peer(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Peer]:
    """Each kind of peer, started once."""
    with PEERS[request.param](tmp_path_factory.mktemp("peer-base")) as started:
        yield started


def test_config_means_the_same_faults_on_every_peer(peer: Peer) -> None:
    # Under /oauth/, which the OAuth2 peer admits without a token (faults come after that).
    broken, moved = "/oauth/broken", "/oauth/moved"
    peer.reset()
    peer.configure(fail_paths={broken: 418}, redirects={moved: "http://elsewhere.test/"})
    with requests.Session() as session:
        session.trust_env = False
        assert session.get(peer.url_for(broken), timeout=5).status_code == 418
        answer = session.get(peer.url_for(moved), timeout=5, allow_redirects=False)
    assert answer.status_code == 302 and answer.headers["Location"] == "http://elsewhere.test/"
    assert [(e["path"], e["status"]) for e in peer.log()] == [(broken, 418), (moved, 302)]
    with pytest.raises(ValueError, match="unknown config keys"):
        peer.configure(eror_rate=1.0)
    with pytest.raises(ValueError, match="unknown settings"):
        peer.settings(no_such_setting=1)
    peer.reset()
    assert peer.log() == []
