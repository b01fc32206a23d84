"""stac-asset 0.4's ``Config.oauth2_*`` settings and ``OAUTH2_*`` variables, onto OAuth2Client."""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio

import stac_asset
from stac_asset import Config, HttpClient, OAuth2Client, blocking, compat
from tests.conftest import make_item
from tests.oauth2 import server
from tests.oauth2.conftest import cogs_item
from tests.oauth2.peer import OAuth2Peer
from tests.oauth2.test_oauth2 import resource_requests
from tests.peers.http_peer import HttpPeer


def settings(peer: OAuth2Peer, grant: str) -> dict[str, Any]:
    if grant == "client_credentials":
        return {
            "oauth2_client_id": server.CONFIDENTIAL_ID,
            "oauth2_client_secret": server.CONFIDENTIAL_SECRET,
        }
    return {
        "oauth2_client_id": server.PUBLIC_ID,
        "oauth2_username": server.USERNAME,
        "oauth2_password": server.ALICE_PASSWORD,
    }


def credentials_config(oauth: OAuth2Peer) -> Config:
    """A config for the client credentials grant, its token for the peer's host only."""
    return Config(
        oauth2_grant="client_credentials",
        oauth2_token_url=oauth.token_url,
        oauth2_hosts=[oauth.netloc],
        **settings(oauth, "client_credentials"),
    )


@pytest.mark.parametrize("grant", ["client_credentials", "password"])
def test_config_oauth2_downloads(
    oauth: OAuth2Peer, small_cogs: dict[str, Path], tmp_path: Path, grant: str
) -> None:
    config = Config(
        oauth2_grant=grant,
        oauth2_token_url=oauth.token_url,
        oauth2_hosts=[oauth.netloc],
        **settings(oauth, grant),
    )
    blocking.download_item(cogs_item(oauth), tmp_path, config=config)
    for band, path in small_cogs.items():
        assert (tmp_path / f"{band}.tif").read_bytes() == path.read_bytes()
    assert len(oauth.token_requests(grant)) == 1
    assert server.CONFIDENTIAL_SECRET not in repr(config)
    assert server.ALICE_PASSWORD not in repr(config)


@pytest.fixture
def warn_again() -> None:
    """The every-host warning is shown once per process: forget it was shown."""
    compat._warn_every_host.cache_clear()


def test_config_oauth2_from_048_environment(
    oauth: OAuth2Peer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warn_again: None
) -> None:
    monkeypatch.setenv("OAUTH2_GRANT", "client_credentials")
    monkeypatch.setenv("OAUTH2_TOKEN_URL", oauth.token_url)
    monkeypatch.setenv("OAUTH2_CLIENT_ID", server.CONFIDENTIAL_ID)
    monkeypatch.setenv("OAUTH2_CLIENT_SECRET", server.CONFIDENTIAL_SECRET)
    # No hosts: 0.4's meaning, the token goes to the hosts of the hrefs fetched; said once.
    with pytest.warns(UserWarning, match=r"Config\.oauth2_hosts") as shown:
        item = blocking.download_item(cogs_item(oauth), tmp_path / "a")
    assert (tmp_path / "a" / "B02.tif").is_file() and "B02" in item.assets
    assert all(server.CONFIDENTIAL_SECRET not in str(w.message) for w in shown)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        blocking.download_item(cogs_item(oauth), tmp_path / "b")
    assert {r["auth"] for r in resource_requests(oauth)} == {"ok"}
    # Named hosts: the token goes to those only, without a warning.
    monkeypatch.setenv("STAC_ASSET_OAUTH2_HOSTS", "elsewhere.example")
    compat._warn_every_host.cache_clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(stac_asset.DownloadError, match="401"):
            blocking.download_item(cogs_item(oauth), tmp_path / "c")
    monkeypatch.setenv("STAC_ASSET_OAUTH2_HOSTS", oauth.netloc)
    item = blocking.download_item(cogs_item(oauth), tmp_path / "d")
    assert (tmp_path / "d" / "B02.tif").is_file() and "B02" in item.assets


def test_config_oauth2_without_hosts_never_follows_a_redirect(
    oauth: OAuth2Peer, http: HttpPeer, small_cogs: dict[str, Path], tmp_path: Path, warn_again: None
) -> None:
    config = Config(
        oauth2_grant="client_credentials",
        oauth2_token_url=oauth.token_url,
        **settings(oauth, "client_credentials"),
    )
    target = f"http://localhost:{http.port}/s2/B02.tif"
    oauth.configure(redirects={"/s2/moved.tif": target})
    item = make_item("MOVED", {"B02": oauth.url_for("s2/moved.tif")})
    with pytest.warns(UserWarning, match="oauth2_hosts"):
        blocking.download_item(item, tmp_path, config=config)
    assert (tmp_path / "moved.tif").read_bytes() == small_cogs["B02"].read_bytes()

    async def main() -> None:
        async with await HttpClient.from_config(config) as client:
            opened = stac_asset.open(item, "B02", clients=[client])
            with opened as ds, rasterio.open(small_cogs["B02"]) as src:
                assert np.array_equal(ds.read(), src.read())

    asyncio.run(main())
    assert {r["auth"] for r in resource_requests(oauth)} == {"ok"}
    arrived = http.log()
    assert arrived, "the redirect target was not reached"
    assert all("Authorization" not in r["headers"] for r in arrived), arrived


def test_http_client_from_config_sends_the_token(
    oauth: OAuth2Peer, small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    config = credentials_config(oauth)

    async def main() -> None:
        async with await HttpClient.from_config(config) as client:
            await client.download_href(oauth.url_for("s2/B03.tif"), tmp_path / "B03.tif")

    asyncio.run(main())
    assert (tmp_path / "B03.tif").read_bytes() == small_cogs["B03"].read_bytes()
    assert len(oauth.token_requests("client_credentials")) == 1
    assert {r["auth"] for r in resource_requests(oauth)} == {"ok"}


def test_device_code_grant_by_its_urn(oauth: OAuth2Peer) -> None:
    config = Config(
        oauth2_grant=server.DEVICE_GRANT,
        oauth2_token_url=oauth.token_url,
        oauth2_device_authorization_url=oauth.device_authorization_url,
        oauth2_client_id=server.PUBLIC_ID,
        oauth2_hosts=[oauth.netloc],
        oauth2_extra={"scope": "read", "audience": "stac"},
    )
    (client,) = [c for c in compat.configured_clients(config) if isinstance(c, OAuth2Client)]
    assert (client.grant, client.scope, client.params) == (
        "device_code",
        "read",
        {"audience": "stac"},
    )


def test_calls_with_one_config_share_its_clients_and_token(
    oauth: OAuth2Peer, small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    config = credentials_config(oauth)
    for run in ("a", "b", "c"):
        blocking.download_item(cogs_item(oauth), tmp_path / run, config=config)
    assert len(oauth.token_requests("client_credentials")) == 1
    # Other settings are other clients, with a token of their own.
    blocking.download_item(
        cogs_item(oauth), tmp_path / "d", config=config.with_options(http_client_timeout=30)
    )
    assert len(oauth.token_requests("client_credentials")) == 2
    for band, path in small_cogs.items():
        assert (tmp_path / "d" / f"{band}.tif").read_bytes() == path.read_bytes()
