"""stac-asset 0.4's ``Config.oauth2_*`` settings and ``OAUTH2_*`` variables, onto OAuth2Client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stac_asset import Config, ConfigError, OAuth2Client, blocking, compat
from tests.oauth2 import server
from tests.oauth2.conftest import cogs_item
from tests.oauth2.peer import OAuth2Peer


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


@pytest.mark.parametrize("grant", ["client_credentials", "password"])
def test_config_oauth2_downloads(
    oauth: OAuth2Peer, small_cogs: dict[str, Path], tmp_path: Path, grant: str
) -> None:
    config = Config(
        oauth2_grant=grant,
        oauth2_token_url=oauth.token_url,
        oauth2_hosts=[oauth.host],
        **settings(oauth, grant),
    )
    blocking.download_item(cogs_item(oauth), tmp_path, config=config)
    for band, path in small_cogs.items():
        assert (tmp_path / f"{band}.tif").read_bytes() == path.read_bytes()
    assert len(oauth.token_requests(grant)) == 1
    assert server.CONFIDENTIAL_SECRET not in repr(config)
    assert server.ALICE_PASSWORD not in repr(config)


def test_config_oauth2_from_048_environment(
    oauth: OAuth2Peer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTH2_GRANT", "client_credentials")
    monkeypatch.setenv("OAUTH2_TOKEN_URL", oauth.token_url)
    monkeypatch.setenv("OAUTH2_CLIENT_ID", server.CONFIDENTIAL_ID)
    monkeypatch.setenv("OAUTH2_CLIENT_SECRET", server.CONFIDENTIAL_SECRET)
    with pytest.raises(ConfigError, match="oauth2_hosts") as raised:
        blocking.download_item(cogs_item(oauth), tmp_path)
    assert server.CONFIDENTIAL_SECRET not in str(raised.value)
    monkeypatch.setenv("STAC_ASSET_OAUTH2_HOSTS", oauth.host)
    item = blocking.download_item(cogs_item(oauth), tmp_path)
    assert (tmp_path / "B02.tif").is_file() and "B02" in item.assets


def test_device_code_grant_by_its_urn(oauth: OAuth2Peer) -> None:
    config = Config(
        oauth2_grant=server.DEVICE_GRANT,
        oauth2_token_url=oauth.token_url,
        oauth2_device_authorization_url=oauth.device_authorization_url,
        oauth2_client_id=server.PUBLIC_ID,
        oauth2_hosts=[oauth.host],
        oauth2_extra={"scope": "read", "audience": "stac"},
    )
    (client,) = [c for c in compat.configured_clients(config) if isinstance(c, OAuth2Client)]
    assert (client.grant, client.scope, client.params) == (
        "device_code",
        "read",
        {"audience": "stac"},
    )
