"""OAuth2Client against the loopback authorization and resource servers."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio
import requests
from click.testing import CliRunner

import stac_asset
from stac_asset import AccessDeniedError, AccessError, OAuth2Client, blocking
from stac_asset.cli import cli
from stac_asset.clients import defaults, get_client_classes, oauth2
from tests.oauth2 import server
from tests.oauth2.conftest import GRANTS, cogs_item, files_item
from tests.oauth2.peer import OAuth2Peer
from tests.peers.http_peer import HttpPeer

MakeClient = Callable[..., OAuth2Client]


def bearer(access: stac_asset.Access) -> str:
    return access.headers["Authorization"].removeprefix("Bearer ")


def resource_requests(peer: OAuth2Peer) -> list[dict[str, object]]:
    return [r for r in peer.log() if not r["path"].startswith("/oauth/")]


@pytest.mark.parametrize("grant", GRANTS)
def test_every_grant_downloads_and_opens(
    grant: str,
    oauth: OAuth2Peer,
    make_client: MakeClient,
    small_cogs: dict[str, Path],
    tmp_path: Path,
) -> None:
    client = make_client(grant)
    item = cogs_item(oauth)
    local = blocking.download_item(item, tmp_path, clients=[client])
    for band, source in small_cogs.items():
        assert Path(local.assets[band].get_absolute_href()).read_bytes() == source.read_bytes()
        with stac_asset.open(item, band, clients=[client]) as ds:
            remote = ds.read()
        with rasterio.open(source) as ds:
            assert np.array_equal(remote, ds.read())
    # One grant for everything, and the resource server saw only good tokens.
    grants = oauth.token_requests()
    assert [r["status"] for r in grants if r.get("error") is None] == [200]
    assert {r["auth"] for r in resource_requests(oauth)} == {"ok"}
    access = stac_asset.resolve(item, "B04", clients=[client])
    assert access.client == "oauth2"
    assert f"Authorization: Bearer {bearer(access)}" in access.gdal_options["GDAL_HTTP_HEADERS"]
    assert access.expires_at is not None


def test_a_plain_http_client_is_refused(oauth: OAuth2Peer, small_cogs: dict[str, Path]) -> None:
    with pytest.raises(AccessDeniedError, match="401"):
        blocking.read_href(oauth.url_for("s2/B02.tif"), client=stac_asset.HttpClient())


def test_one_token_for_all_threads(
    oauth: OAuth2Peer, make_client: MakeClient, many_files: dict[str, bytes], tmp_path: Path
) -> None:
    client = make_client("password")
    item = files_item(oauth, list(many_files))
    local = blocking.download_item(item, tmp_path, clients=[client], max_concurrent_downloads=8)
    for key, asset in local.assets.items():
        assert Path(asset.get_absolute_href()).read_bytes() == many_files[f"{key}.bin"]
    assert len(oauth.token_requests()) == 1
    assert len(resource_requests(oauth)) == len(many_files)


@pytest.mark.parametrize(
    ("grant", "renewal"),
    [("password", "refresh_token"), ("client_credentials", "client_credentials")],
)
def test_token_expiring_mid_job_is_renewed_once(
    grant: str,
    renewal: str,
    oauth: OAuth2Peer,
    make_client: MakeClient,
    many_files: dict[str, bytes],
    tmp_path: Path,
) -> None:
    # Tokens live 2 s; the first file takes 2.5 s, the others come after it.
    oauth.settings(access_token_lifetime=2.0, delay_first={"/protected/f00.bin": 2.5})
    client = make_client(grant)
    item = files_item(oauth, list(many_files))
    local = blocking.download_item(item, tmp_path, clients=[client], max_concurrent_downloads=1)
    for key, asset in local.assets.items():
        assert Path(asset.get_absolute_href()).read_bytes() == many_files[f"{key}.bin"]
    assert [r["grant_type"] for r in oauth.token_requests()] == [grant, renewal]
    assert {r["auth"] for r in resource_requests(oauth)} == {"ok"}


def test_rejected_token_is_renewed_once_for_all_threads(
    oauth: OAuth2Peer, make_client: MakeClient, many_files: dict[str, bytes], tmp_path: Path
) -> None:
    client = make_client("password")
    item = files_item(oauth, list(many_files))
    blocking.download_item(item, tmp_path / "first", clients=[client])
    oauth.revoke()  # the server forgets the token the client still believes in
    local = blocking.download_item(
        item, tmp_path / "second", clients=[client], max_concurrent_downloads=8
    )
    for key, asset in local.assets.items():
        assert Path(asset.get_absolute_href()).read_bytes() == many_files[f"{key}.bin"]
    assert [r["grant_type"] for r in oauth.token_requests()] == ["password", "refresh_token"]
    assert "invalid" in {r["auth"] for r in resource_requests(oauth)}


def test_refused_refresh_falls_back_to_a_new_grant(
    oauth: OAuth2Peer, make_client: MakeClient, many_files: dict[str, bytes], tmp_path: Path
) -> None:
    client = make_client("password")
    names = list(many_files)[:2]
    blocking.download_item(files_item(oauth, names), tmp_path / "a", clients=[client])
    oauth.revoke(refresh=True)
    blocking.download_item(files_item(oauth, names), tmp_path / "b", clients=[client])
    assert [(r["grant_type"], r.get("error")) for r in oauth.token_requests()] == [
        ("password", None),
        ("refresh_token", "invalid_grant"),
        ("password", None),
    ]


def test_gdal_view_is_renewed_with_the_token(
    oauth: OAuth2Peer, make_client: MakeClient, small_cogs: dict[str, Path]
) -> None:
    oauth.settings(access_token_lifetime=1.5)
    client = make_client("client_credentials")
    href = oauth.url_for("s2/B03.tif") + "?fresh=gdal"  # not in GDAL's cache
    first = client.resolve(href)
    assert first.expires_at is not None and first.expires_within()
    time.sleep(1.6)  # past the expiry of the first token
    with pytest.raises(AccessError, match="GDAL could not open"), stac_asset.open(first):
        pass
    second = client.resolve(href)
    assert bearer(second) != bearer(first)
    assert bearer(second) in second.gdal_options["GDAL_HTTP_HEADERS"]
    assert second.expires_at is not None and second.expires_at > first.expires_at
    with stac_asset.open(second) as ds, rasterio.open(small_cogs["B03"]) as local:
        assert np.array_equal(ds.read(), local.read())
    verdicts = [r["auth"] for r in resource_requests(oauth)]
    renewed = verdicts.index("ok")
    assert set(verdicts[:renewed]) == {"expired"} and set(verdicts[renewed:]) == {"ok"}


def test_token_goes_only_to_its_hosts(
    oauth: OAuth2Peer, http: HttpPeer, make_client: MakeClient, small_cogs: dict[str, Path]
) -> None:
    client = make_client("client_credentials", hosts=[oauth.netloc, "*.example.com", "data.test"])
    assert client.matches(oauth.url_for("s2/B02.tif"))
    assert client.matches("https://a.b.example.com/x.tif")
    assert client.matches("http://data.test/x.tif")
    for other in (
        http.url_for("s2/B02.tif"),  # same address, another port
        f"http://localhost:{oauth.port}/s2/B02.tif",
        "https://example.com.evil.org/x.tif",
        "https://notexample.com/x.tif",
        "s3://bucket/key",
        "/local/file.tif",
    ):
        assert not client.matches(other), other
    # Even when forced onto another host, the client sends no token there.
    forced = stac_asset.resolve(http.url_for("s2/B02.tif"), client=client)
    assert "Authorization" not in forced.headers
    assert "Authorization" not in forced.gdal_options.get("GDAL_HTTP_HEADERS", "")
    assert oauth.token_requests() == []
    # A protected href that redirects elsewhere: the bytes and GDAL follow, the token stays.
    target = f"http://localhost:{http.port}/s2/B02.tif"
    oauth.configure(redirects={"/s2/moved.tif": target})
    moved = oauth.url_for("s2/moved.tif")
    assert blocking.read_href(moved, [client]) == small_cogs["B02"].read_bytes()
    with stac_asset.open(moved, clients=[client]) as ds, rasterio.open(small_cogs["B02"]) as src:
        assert np.array_equal(ds.read(), src.read())
    assert {r["auth"] for r in resource_requests(oauth)} == {"ok"}
    arrived = http.log()
    assert arrived, "the redirect target was not reached"
    assert all("Authorization" not in r["headers"] for r in arrived), arrived


def test_wrong_secret_names_the_token_url_and_hides_the_secret(
    oauth: OAuth2Peer, make_client: MakeClient, tmp_path: Path
) -> None:
    secret = "wr0ng-client-secret-value"
    client = make_client("client_credentials", client_secret=secret)
    item = cogs_item(oauth)
    with pytest.raises(stac_asset.DownloadError) as caught:
        blocking.download_item(item, tmp_path, clients=[client])
    text = str(caught.value)
    assert oauth.token_url in text and "invalid_client" in text
    with pytest.raises(AccessDeniedError) as denied, stac_asset.open(item, "B02", clients=[client]):
        pass
    assert f"request to {oauth.token_url} failed: invalid_client" in str(denied.value)
    for error in (caught.value, denied.value):
        assert secret not in str(error) and secret not in repr(error)
    assert secret not in repr(client)
    # A refusal is not retried, and is remembered for the other assets.
    assert len(oauth.token_requests()) == 1


def test_wrong_password_is_invalid_grant(
    oauth: OAuth2Peer, make_client: MakeClient, small_cogs: dict[str, Path]
) -> None:
    password = "n0t-alices-password"
    client = make_client("password", password=password)
    with pytest.raises(AccessDeniedError, match="invalid_grant") as caught:
        blocking.read_href(oauth.url_for("s2/B02.tif"), [client])
    assert password not in str(caught.value)


def test_unreachable_token_url_is_retried_then_named(oauth: OAuth2Peer) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/token"  # refused once closed
    client = OAuth2Client(
        dead,
        hosts=[oauth.netloc],
        client_id=server.CONFIDENTIAL_ID,
        client_secret=server.CONFIDENTIAL_SECRET,
        retry=stac_asset.RetryPolicy(max_attempts=2, base_delay=0.01),
    )
    with pytest.raises(stac_asset.TransientError, match=f"request to {dead} failed"):
        client.resolve(oauth.url_for("s2/B02.tif"))


def test_no_secret_in_json_logs_errors_or_repr(
    oauth: OAuth2Peer,
    make_client: MakeClient,
    many_files: dict[str, bytes],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(
        "password", client_id=server.CONFIDENTIAL_ID, client_secret=server.CONFIDENTIAL_SECRET
    )
    item = files_item(oauth, list(many_files)[:3])
    blocking.download_item(item, tmp_path / "a", clients=[client])
    first = client.resolve(item.assets["f00"].href)
    oauth.revoke()
    blocking.download_item(item, tmp_path / "b", clients=[client])  # a 401, then a refresh
    second = client.resolve(item.assets["f00"].href)
    oauth.configure(fail_paths={"/protected/f01.bin": 403})
    with pytest.raises(stac_asset.DownloadError) as caught:
        blocking.download_item(item, tmp_path / "c", clients=[client], overwrite=True)
    assert client._refresh_token is not None
    secrets = {
        bearer(first),
        bearer(second),
        client._refresh_token,
        server.CONFIDENTIAL_SECRET,
        server.ALICE_PASSWORD,
    }
    assert len(secrets) == 5
    written = "".join(p.read_text() for p in tmp_path.rglob("*.json"))
    assert written
    texts = {
        "json": written,
        "logs": caplog.text,
        "error": str(caught.value) + repr(caught.value),
        "repr": repr(client) + repr(first) + str(second),
    }
    assert "oauth2: token from" in caplog.text
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, where


def test_configured_from_the_environment(
    oauth: OAuth2Peer,
    many_files: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    assert get_client_classes().index(OAuth2Client) < get_client_classes().index(
        stac_asset.HttpClient
    )
    bare = OAuth2Client()
    assert not bare.matches(oauth.url_for("protected/f00.bin"))
    environment = {
        "TOKEN_URL": oauth.token_url,
        "HOSTS": f"{oauth.netloc}, data.test",
        "CLIENT_ID": server.CONFIDENTIAL_ID,
        "CLIENT_SECRET": server.CONFIDENTIAL_SECRET,
        "SCOPE": "read write",
        "PARAMS": "audience=stac&resource=files",
    }
    for name, value in environment.items():
        monkeypatch.setenv(f"STAC_ASSET_OAUTH2_{name}", value)
    oauth.settings(required_params={"audience": "stac", "resource": "files"})
    # The resolver's default instances are created from the environment on first use.
    monkeypatch.setattr(defaults, "_defaults", {})
    href = oauth.url_for("protected/f00.bin")
    assert stac_asset.resolve(href).client == "oauth2"
    assert blocking.read_href(href) == many_files["f00.bin"]
    [token] = oauth.token_requests()
    assert token["grant_type"] == "client_credentials" and token["status"] == 200
    client = OAuth2Client()
    assert client.hosts == [oauth.netloc, "data.test"] and client.scope == "read write"
    monkeypatch.delenv("STAC_ASSET_OAUTH2_HOSTS")
    with pytest.raises(ValueError, match="STAC_ASSET_OAUTH2_HOSTS"):
        OAuth2Client()
    monkeypatch.setenv("STAC_ASSET_OAUTH2_HOSTS", oauth.netloc)
    monkeypatch.setenv("STAC_ASSET_OAUTH2_GRANT", "password")
    with pytest.raises(ValueError, match="username.*STAC_ASSET_OAUTH2_PASSWORD"):
        OAuth2Client()


def test_command_line_flags(
    oauth: OAuth2Peer,
    many_files: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    item = files_item(oauth, list(many_files)[:2])
    item_file = tmp_path / "item.json"
    item_file.write_text(json.dumps(item.to_dict()))
    flags = [
        "--oauth2-token-url",
        oauth.token_url,
        "--oauth2-host",
        oauth.netloc,
        "--oauth2-client-id",
        server.PUBLIC_ID,
        "--oauth2-username",
        server.USERNAME,
        "--oauth2-scope",
        "read",
        "--oauth2-param",
        "audience=stac",
    ]
    monkeypatch.setenv("STAC_ASSET_OAUTH2_PASSWORD", server.ALICE_PASSWORD)
    oauth.settings(required_params={"audience": "stac"})
    result = CliRunner().invoke(cli, ["download", str(item_file), str(tmp_path / "out"), *flags])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "f00.bin").read_bytes() == many_files["f00.bin"]
    assert [r["grant_type"] for r in oauth.token_requests()] == ["password"]
    # A wrong secret: exit 1, one line naming the token URL, no secret.
    secret = "b4d-secret-on-the-command-line"
    bad = [
        "--oauth2-token-url",
        oauth.token_url,
        "--oauth2-host",
        oauth.netloc,
        "--oauth2-client-id",
        server.CONFIDENTIAL_ID,
        "--oauth2-client-secret",
        secret,
    ]
    result = CliRunner().invoke(cli, ["download", str(item_file), str(tmp_path / "bad"), *bad])
    assert result.exit_code == 1
    assert oauth.token_url in result.output and "invalid_client" in result.output
    assert secret not in result.output
    # Incomplete settings are a usage error.
    result = CliRunner().invoke(cli, ["download", str(item_file), "--oauth2-host", oauth.netloc])
    assert result.exit_code == 2 and "no token URL" in result.output


def test_device_code_honours_pending_and_slow_down(
    oauth: OAuth2Peer,
    make_client: MakeClient,
    many_files: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(oauth2, "SLOW_DOWN_INCREMENT", 0.3)
    oauth.settings(
        device_interval=0.1, slow_down_step=0.3, device_pending_polls=2, device_slow_down_polls=1
    )
    shown: list[oauth2.DeviceCode] = []

    def show(device: oauth2.DeviceCode) -> None:
        shown.append(device)
        requests.get(device.verification_uri_complete or "", timeout=10)

    client = make_client("device_code", show_device_code=show)
    assert blocking.read_href(oauth.url_for("protected/f01.bin"), [client]) == many_files["f01.bin"]
    [device] = shown
    assert device.verification_uri == f"{oauth.url}/oauth/device" and len(device.user_code) == 9
    polls = [r for r in oauth.token_requests() if r["grant_type"] == oauth2.DEVICE_GRANT]
    assert [p.get("error") for p in polls] == [
        "slow_down",
        "authorization_pending",
        "authorization_pending",
        None,
    ]
    # After slow_down every poll waits the longer interval (0.1 s + 0.3 s).
    assert all(p["since_last_poll"] >= 0.4 for p in polls[1:])


def test_device_code_denied(oauth: OAuth2Peer, make_client: MakeClient) -> None:
    oauth.settings(deny=True)
    client = make_client("device_code")
    with pytest.raises(AccessDeniedError, match="access_denied"):
        client.resolve(oauth.url_for("protected/f00.bin"))


def test_authorization_code_with_a_redirect_callback(
    oauth: OAuth2Peer, make_client: MakeClient, many_files: dict[str, bytes]
) -> None:
    seen: list[str] = []

    def authorize(url: str) -> str:
        """The user pastes the URL the browser was sent to (it need not load)."""
        seen.append(url)
        response = requests.get(url, allow_redirects=False, timeout=10)
        return response.headers["Location"]

    client = make_client(
        "authorization_code", authorize=authorize, redirect_uri=server.EXTRA_REDIRECT_URI
    )
    assert blocking.read_href(oauth.url_for("protected/f02.bin"), [client]) == many_files["f02.bin"]
    [url] = seen
    assert "code_challenge_method=S256" in url and "code_challenge=" in url


def test_authorization_code_refused_or_forged(oauth: OAuth2Peer, make_client: MakeClient) -> None:
    href = oauth.url_for("protected/f00.bin")
    oauth.settings(deny=True)
    with pytest.raises(AccessDeniedError, match="failed: access_denied"):
        make_client("authorization_code").resolve(href)
    oauth.settings()

    def forged(url: str) -> str:
        location = requests.get(url, allow_redirects=False, timeout=10).headers["Location"]
        return location.replace("state=", "state=x")

    client = make_client(
        "authorization_code", authorize=forged, redirect_uri=server.EXTRA_REDIRECT_URI
    )
    with pytest.raises(AccessDeniedError, match="wrong state"):
        client.resolve(href)
    assert oauth.token_requests() == []


def test_incomplete_settings_are_refused_without_network() -> None:
    with pytest.raises(ValueError, match="hosts"):
        OAuth2Client("http://127.0.0.1:9/token", client_id="a", client_secret="b")
    with pytest.raises(ValueError, match="unknown grant"):
        OAuth2Client("http://127.0.0.1:9/token", hosts=["x"], client_id="a", grant="implicit")
    with pytest.raises(ValueError, match="authorization_url"):
        OAuth2Client(
            "http://127.0.0.1:9/token", hosts=["x"], client_id="a", grant="authorization_code"
        )
    client = OAuth2Client("http://127.0.0.1:9/token", hosts=["x"], client_id="a", client_secret="b")
    assert client.grant == "client_credentials" and client.matches("https://x/y")


def test_default_prompts_go_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    oauth2.print_device_code(
        oauth2.DeviceCode("https://auth.test/device", "BCDF-GHJK", None, 600.0)
    )
    oauth2.print_authorization_url("https://auth.test/authorize?client_id=x")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "https://auth.test/device" in captured.err and "BCDF-GHJK" in captured.err
    assert "https://auth.test/authorize?client_id=x" in captured.err


def test_open_renews_a_refused_token_once(
    oauth: OAuth2Peer, make_client: MakeClient, small_cogs: dict[str, Path]
) -> None:
    client = make_client("client_credentials")
    item = cogs_item(oauth)
    with stac_asset.open(item, "B02", clients=[client]) as ds:
        ds.read(1, window=((0, 16), (0, 16)))
    oauth.revoke()  # the server forgets the token the client still holds
    with (
        stac_asset.open(item, "B04", clients=[client]) as ds,
        rasterio.open(small_cogs["B04"]) as local,
    ):
        assert np.array_equal(ds.read(), local.read())
    assert [r["grant_type"] for r in oauth.token_requests()] == ["client_credentials"] * 2
    verdicts = [r["auth"] for r in resource_requests(oauth) if "B04" in r["path"]]
    assert verdicts[0] != "ok" and verdicts[-1] == "ok"


def test_windowed_copy_renews_a_refused_token_once(
    oauth: OAuth2Peer, make_client: MakeClient, small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    client = make_client("client_credentials")
    item = cogs_item(oauth)
    blocking.clip_asset(
        "B02", item.assets["B02"], tmp_path / "a.tif", window=((0, 64), (0, 64)), clients=[client]
    )
    oauth.revoke()  # the server forgets the token the client still holds
    blocking.clip_asset(
        "B03", item.assets["B03"], tmp_path / "b.tif", window=((0, 64), (0, 64)), clients=[client]
    )
    with rasterio.open(tmp_path / "b.tif") as clip, rasterio.open(small_cogs["B03"]) as src:
        assert np.array_equal(clip.read(), src.read(window=((0, 64), (0, 64))))
    assert [r["grant_type"] for r in oauth.token_requests()] == ["client_credentials"] * 2
