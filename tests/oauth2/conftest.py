"""The OAuth2 peer (authorization server and protected file server), clients for each grant."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pystac
import pytest
import requests

from stac_asset import OAuth2Client, RetryPolicy
from stac_asset.clients.oauth2 import DeviceCode
from tests.conftest import make_item
from tests.oauth2 import server
from tests.oauth2.peer import OAuth2Peer

GRANTS = ["client_credentials", "password", "device_code", "authorization_code"]
FILES = 12


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


@pytest.fixture(autouse=True)
def _no_oauth2_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("STAC_ASSET_OAUTH2_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def many_files(http_root: Path) -> dict[str, bytes]:
    """``FILES`` small files under ``protected/`` of the HTTP root, by name."""
    files = {}
    for index in range(FILES):
        name = f"f{index:02d}.bin"
        data = os.urandom(32 * 1024 + index)
        (http_root / "protected").mkdir(exist_ok=True)
        (http_root / "protected" / name).write_bytes(data)
        files[name] = data
    return files


def files_item(peer: OAuth2Peer, names: list[str]) -> pystac.Item:
    """An item with one asset per file under ``protected/`` of the peer."""
    return make_item(
        "FILES", {name.split(".")[0]: peer.url_for(f"protected/{name}") for name in names}
    )


def cogs_item(peer: OAuth2Peer) -> pystac.Item:
    """An item with the small COGs, on the peer."""
    return make_item("S2-OAUTH", {b: peer.url_for(f"s2/{b}.tif") for b in ("B02", "B03", "B04")})


def approve_device(device: DeviceCode) -> None:
    """The user: opens the verification page, which approves."""
    assert device.verification_uri_complete is not None
    requests.get(device.verification_uri_complete, timeout=10).raise_for_status()


def browser(url: str) -> None:
    """The user's browser: follows the authorization URL to the loopback redirect."""
    threading.Thread(target=requests.get, args=(url,), kwargs={"timeout": 10}).start()


def grant_client(peer: OAuth2Peer, grant: str, **options: Any) -> OAuth2Client:
    """A client for ``grant`` against the peer, with quick retries."""
    settings: dict[str, Any] = {
        "hosts": [peer.netloc],
        "retry": RetryPolicy(max_attempts=2, base_delay=0.05),
    }
    if grant == "client_credentials":
        settings.update(client_id=server.CONFIDENTIAL_ID, client_secret=server.CONFIDENTIAL_SECRET)
    elif grant == "password":
        settings.update(
            client_id=server.PUBLIC_ID, username=server.USERNAME, password=server.ALICE_PASSWORD
        )
    elif grant == "device_code":
        settings.update(
            client_id=server.PUBLIC_ID,
            device_authorization_url=peer.device_authorization_url,
            show_device_code=approve_device,
        )
    else:
        settings.update(
            client_id=server.PUBLIC_ID, authorization_url=peer.authorization_url, authorize=browser
        )
    settings.update(options)
    return OAuth2Client(peer.token_url, **settings)


@pytest.fixture
def make_client(oauth: OAuth2Peer) -> Iterator[Callable[..., OAuth2Client]]:
    """``make_client(grant, **options)``: a client against the reset peer, closed after."""
    made: list[OAuth2Client] = []

    def make(grant: str, **options: Any) -> OAuth2Client:
        client = grant_client(oauth, grant, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
