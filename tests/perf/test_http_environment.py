"""One behaviour whatever HttpClient's session: the environment as requests reads it, in both views.

Proxies and CA bundles set after the client was made, ``~/.netrc`` and
``user:password@`` hrefs, and HTTP mocks that patch requests.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
import requests
import responses

import stac_asset
from stac_asset import HttpClient, blocking
from tests.cogs import write_cog
from tests.peers.http_peer import HttpPeer

USER, PASSWORD = "reader", "netrc-" + "p" * 16
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


@pytest.fixture
def blob(http: HttpPeer) -> tuple[str, bytes]:
    (http.root / "env").mkdir(exist_ok=True)
    data = os.urandom(20_000)
    (http.root / "env" / "blob.bin").write_bytes(data)
    return http.url_for("env/blob.bin"), data


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def test_a_proxy_set_after_the_client_was_made_is_used(
    http: HttpPeer,
    away: HttpPeer,
    blob: tuple[str, bytes],
    tmp_path: Path,
    no_proxy_env: pytest.MonkeyPatch,
) -> None:
    href, data = blob
    client = HttpClient()
    blocking.download_file(href, tmp_path / "direct.bin", clients=[client])
    # The other peer serves the same files; as a proxy it is asked for the absolute URL.
    no_proxy_env.setenv("HTTP_PROXY", away.url)
    blocking.download_file(href, tmp_path / "proxied.bin", clients=[client])
    assert (tmp_path / "proxied.bin").read_bytes() == data
    assert [entry["path"] for entry in away.log()] == [href]
    no_proxy_env.setenv("NO_PROXY", "127.0.0.1")
    blocking.download_file(href, tmp_path / "bypassed.bin", clients=[client])
    assert len(away.log()) == 1
    assert len(http.requests_for("env/blob.bin")) == 2


def _guarded_cog(http: HttpPeer, name: str) -> str:
    folder = http.root / "guarded"
    folder.mkdir(exist_ok=True)
    write_cog(folder / name, 256, 256)
    http.configure(require_headers={"/guarded/": {"Authorization": BASIC}})
    return http.url_for(f"guarded/{name}")


def _both_views(href: str, tmp_path: Path, client: HttpClient) -> None:
    blocking.download_file(href, tmp_path / "copy.tif", clients=[client])
    with stac_asset.open(href, clients=[client]) as dataset:
        assert dataset.read(1).shape == (256, 256)
    access = stac_asset.resolve(href, clients=[client])
    assert PASSWORD not in repr(access) and PASSWORD not in access.vsi_path


def test_netrc_gives_basic_auth_in_both_views(
    http: HttpPeer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    href = _guarded_cog(http, "netrc.tif")
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {USER} password {PASSWORD}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    _both_views(href, tmp_path, HttpClient())
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    with pytest.raises(stac_asset.DownloadError, match="401"):
        blocking.download_file(href, tmp_path / "refused.tif", clients=[HttpClient()])


def test_user_and_password_in_the_href_give_basic_auth_in_both_views(
    http: HttpPeer, tmp_path: Path
) -> None:
    href = _guarded_cog(http, "userinfo.tif").replace("://", f"://{USER}:{PASSWORD}@")
    _both_views(href, tmp_path, HttpClient())


@responses.activate
def test_responses_intercepts_a_session_handed_in_with_or_without_cookies(tmp_path: Path) -> None:
    responses.get("http://assets.example.test/a.bin", body=b"mocked bytes")
    client = HttpClient(requests.Session())
    blocking.download_file("http://assets.example.test/a.bin", tmp_path / "a.bin", clients=[client])
    client.session.cookies.set("visit", "1", domain="assets.example.test")
    blocking.download_file("http://assets.example.test/a.bin", tmp_path / "b.bin", clients=[client])
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes() == b"mocked bytes"
    assert responses.calls[-1].request.headers["Cookie"] == "visit=1"


@responses.activate(assert_all_requests_are_fired=False)
def test_a_default_client_sends_through_libcurl_with_or_without_cookies(
    http: HttpPeer, blob: tuple[str, bytes], tmp_path: Path
) -> None:
    url, data = blob
    responses.get(url, body=b"mocked bytes")
    client = HttpClient()
    blocking.download_file(url, tmp_path / "a.bin", clients=[client])
    host = http.url_for("").split("//")[1].split(":")[0]
    client.session.cookies.set("visit", "1", domain=host)
    http.reset()
    blocking.download_file(url, tmp_path / "b.bin", clients=[client])
    # Neither went to the mock of requests: a cookie does not change the path.
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes() == data
    assert not responses.calls
    assert [entry["headers"].get("Cookie") for entry in http.log()] == ["visit=1"]
