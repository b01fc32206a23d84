"""Earthdata: token and login paths give the right bytes in both views, and nothing leaks."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio

import stac_asset
from stac_asset import EarthdataClient, blocking
from tests.auth.conftest import BANDS, Earthdata, seen_by
from tests.conftest import make_item


def item_on(earthdata: Earthdata, folder: str = "granules") -> pystac.Item:
    return make_item("EDL", {band: f"{earthdata.data.url}/{folder}/{band}.tif" for band in BANDS})


def token_client(earthdata: Earthdata) -> EarthdataClient:
    return EarthdataClient(
        token=earthdata.token, hosts=[earthdata.data.netloc], login_url=earthdata.login.url
    )


def login_client(earthdata: Earthdata, **kwargs: object) -> EarthdataClient:
    options: dict[str, object] = {"username": earthdata.username, "password": earthdata.password}
    options.update(kwargs)
    return EarthdataClient(
        hosts=[earthdata.data.netloc],
        login_url=earthdata.login.url,
        **options,  # type: ignore[arg-type]
    )


def assert_same_pixels(item: pystac.Item, root: Path, folder: str, client: EarthdataClient) -> None:
    for band in BANDS:
        with stac_asset.open(item, band, clients=[client]) as ds:
            remote = ds.read()
        with rasterio.open(root / folder / f"{band}.tif") as ds:
            assert np.array_equal(remote, ds.read())


def basic(earthdata: Earthdata) -> str:
    return base64.b64encode(f"{earthdata.username}:{earthdata.password}".encode()).decode()


@pytest.mark.parametrize("folder", ["granules", "direct"])
def test_token_reaches_the_data_host_only(
    earthdata: Earthdata, auth_root: Path, tmp_path: Path, folder: str
) -> None:
    item = item_on(earthdata, folder)
    client = token_client(earthdata)
    assert stac_asset.resolve(item, "B04", clients=[client]).client == "earthdata"

    blocking.download_item(item, tmp_path, clients=[client])
    for band in BANDS:
        assert (tmp_path / f"{band}.tif").read_bytes() == (
            auth_root / folder / f"{band}.tif"
        ).read_bytes()
    assert_same_pixels(item, auth_root, folder, client)

    assert seen_by(earthdata.peers, earthdata.token) == {"data"}
    if folder == "granules":
        # Both views were sent on to the store, which never saw an Authorization header.
        store = earthdata.s3.log()
        assert {r["headers"].get("User-Agent", "")[:4] for r in store} >= {"GDAL", "pyth"}
        assert all("Authorization" not in r["headers"] for r in store)
        assert all(r["status"] in (200, 206) for r in store)
    assert not earthdata.login.log()


def test_login_flow_once_then_cookie(earthdata: Earthdata, auth_root: Path, tmp_path: Path) -> None:
    item = item_on(earthdata)
    client = login_client(earthdata)
    blocking.download_item(item, tmp_path, clients=[client])
    for band in BANDS:
        assert (tmp_path / f"{band}.tif").read_bytes() == (
            auth_root / "granules" / f"{band}.tif"
        ).read_bytes()
    assert_same_pixels(item, auth_root, "granules", client)

    # One login for three concurrent downloads and three opens.
    authorize = [r for r in earthdata.login.log() if r["path"].startswith("/oauth/authorize")]
    assert len(authorize) == 1 and authorize[0]["status"] == 302
    cookies = [f"{c.name}={c.value}" for c in client.session.cookies]
    assert cookies and all(seen_by(earthdata.peers, c) == {"data"} for c in cookies)
    # The password went to the login host, and the login host only.
    assert seen_by(earthdata.peers, basic(earthdata)) == {"login"}
    assert seen_by(earthdata.peers, earthdata.password) == set()
    assert all(
        "Cookie" not in r["headers"] and "Authorization" not in r["headers"]
        for r in earthdata.s3.log()
    )
    # GDAL was handed the presigned URL: it never saw the data host.
    assert not [r for r in earthdata.data.log() if r["headers"].get("User-Agent", "")[:4] == "GDAL"]


def test_a_download_with_a_login_session_asks_nothing_for_gdal(
    earthdata: Earthdata, tmp_path: Path
) -> None:
    """Where a cookie leads is asked for GDAL's view only, which a download does not use."""
    client = login_client(earthdata)
    blocking.download_item(item_on(earthdata), tmp_path, clients=[client])
    with_cookie = [r for r in earthdata.data.log() if "Cookie" in r["headers"]]
    # The login's last step (one byte asked with the new cookie), then one GET per file.
    assert [r["range"] for r in with_cookie].count("bytes=0-0") == 1
    whole = sorted(r["path"] for r in with_cookie if r["range"] is None)
    assert whole == [f"/granules/{b}.tif" for b in BANDS] and len(with_cookie) == len(BANDS) + 1


def test_login_from_netrc_and_environment(
    earthdata: Earthdata, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(
        f"machine {earthdata.login.host} login {earthdata.username} password {earthdata.password}\n"
    )
    netrc.chmod(0o600)
    for name in ("EARTHDATA_TOKEN", "EARTHDATA_PAT", "EARTHDATA_USERNAME", "EARTHDATA_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("EARTHDATA_HOSTS", earthdata.data.netloc)
    monkeypatch.setenv("EARTHDATA_LOGIN_URL", earthdata.login.url)
    client = EarthdataClient()
    data = blocking.read_href(f"{earthdata.data.url}/granules/B02.tif", clients=[client])
    assert data[:2] in (b"II", b"MM")
    assert len([r for r in earthdata.login.log() if r["status"] == 302]) == 1

    monkeypatch.delenv("NETRC")
    monkeypatch.setenv("EARTHDATA_TOKEN", earthdata.token)
    access = stac_asset.resolve(
        f"{earthdata.data.url}/granules/B03.tif", clients=[EarthdataClient()]
    )
    assert access.headers["Authorization"] == f"Bearer {earthdata.token}"


def test_expired_session_logs_in_once_more(earthdata: Earthdata, tmp_path: Path) -> None:
    item = item_on(earthdata)
    client = login_client(earthdata)
    blocking.download_item(item, tmp_path / "first", clients=[client])
    earthdata.data.expire_sessions()
    blocking.download_item(item, tmp_path / "again", clients=[client], overwrite=True)
    assert (tmp_path / "again" / "B04.tif").read_bytes() == (
        tmp_path / "first" / "B04.tif"
    ).read_bytes()
    assert earthdata.login.logins() == 2


def test_open_after_the_session_was_dropped_logs_in_once_more(
    earthdata: Earthdata, auth_root: Path
) -> None:
    client = login_client(earthdata)
    item = item_on(earthdata)
    access = client.resolve(item.assets["B02"].href)  # logs in; GDAL's view left unfinished
    assert not access.gdal_ready and earthdata.login.logins() == 1
    earthdata.data.expire_sessions()
    assert_same_pixels(item, auth_root, "granules", client)
    assert earthdata.login.logins() == 2


def test_wrong_password_is_a_clear_error(earthdata: Earthdata, tmp_path: Path) -> None:
    client = login_client(earthdata, password="not-the-password")
    with pytest.raises(stac_asset.DownloadError) as info:
        blocking.download_item(item_on(earthdata), tmp_path / "out", clients=[client])
    assert "Earthdata Login refused the credentials of 'jovyan' (HTTP 401)" in str(info.value)
    assert "not-the-password" not in str(info.value)
    assert not [
        p for p in (tmp_path / "out").rglob("*") if p.suffix == ".tif" or p.name.startswith(".")
    ]
    # Every asset failed, but the password was tried once, not once per asset.
    assert len(info.value.failures) == 3
    attempts = [r for r in earthdata.login.log() if "Authorization" in r.get("headers", {})]
    assert len(attempts) == 1


def test_no_credentials_says_how_to_log_in(
    earthdata: Earthdata, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("EARTHDATA_TOKEN", "EARTHDATA_PAT", "EARTHDATA_USERNAME", "EARTHDATA_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    client = EarthdataClient(hosts=[earthdata.data.netloc], login_url=earthdata.login.url)
    with pytest.raises(stac_asset.AccessDeniedError, match="set EARTHDATA_TOKEN"):
        blocking.read_href(f"{earthdata.data.url}/granules/B02.tif", clients=[client])
    assert not earthdata.login.log()


def test_matches_earthdata_hosts_only() -> None:
    client = EarthdataClient(hosts=["127.0.0.1:9"], token="t0ken-value")
    assert client.matches("https://data.lpdaac.earthdatacloud.nasa.gov/x/y.tif")
    assert client.matches("https://archive.podaac.earthdata.nasa.gov/a.nc")
    assert client.matches("https://e4ftl01.cr.usgs.gov/MOLT/x.hdf")
    assert client.matches("http://127.0.0.1:9/x.tif")
    assert not client.matches("http://127.0.0.1:10/x.tif")
    assert not client.matches("https://earthdata.nasa.gov.evil.example/x.tif")
    assert not client.matches("https://example.com/x.tif")
    assert not client.matches("s3://bucket/key")
    # Forced onto another host, it sends no token there.
    assert "Authorization" not in client.resolve("http://127.0.0.1:10/x.tif").headers
