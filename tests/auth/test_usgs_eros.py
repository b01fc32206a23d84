"""USGS EROS: one M2M login for many threads, one re-login per expired key, clear refusals."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio

import stac_asset
from stac_asset import UsgsErosClient, blocking
from tests.auth.conftest import BANDS, Usgs, seen_by
from tests.conftest import make_item


def client_for(usgs: Usgs, **kwargs: object) -> UsgsErosClient:
    options: dict[str, object] = {"username": usgs.username, "token": usgs.pat}
    options.update(kwargs)
    return UsgsErosClient(
        api_url=usgs.api_url,
        hosts=[usgs.landsatlook.netloc],
        **options,  # type: ignore[arg-type]
    )


def many(usgs: Usgs) -> pystac.Item:
    return make_item(
        "LC09-MANY", {f"f{i:02d}": f"{usgs.landsatlook.url}/many/f{i:02d}.bin" for i in range(32)}
    )


def test_one_login_for_32_concurrent_downloads_then_one_relogin(
    usgs: Usgs, auth_root: Path, tmp_path: Path
) -> None:
    usgs.m2m.configure(latency_ms=200)  # a slow login: every thread asks for a key at once
    client = client_for(usgs)
    item = many(usgs)
    blocking.download_item(item, tmp_path / "a", clients=[client], max_concurrent_downloads=32)
    for i in range(32):
        name = f"f{i:02d}.bin"
        assert (tmp_path / "a" / name).read_bytes() == (auth_root / "many" / name).read_bytes()
    assert usgs.m2m.logins() == 1
    login = [r for r in usgs.m2m.log() if r["path"].endswith("/login-token")]
    assert login[0]["method"] == "POST" and usgs.pat in login[0]["body"]

    # The server forgets the key: each of 32 downloads gets a 401, one logs in again.
    usgs.m2m.expire_keys()
    blocking.download_item(item, tmp_path / "b", clients=[client], max_concurrent_downloads=32)
    assert usgs.m2m.logins() == 2
    assert len(list((tmp_path / "b").glob("*.bin"))) == 32
    refused = [r for r in usgs.landsatlook.log() if r["status"] == 401]
    assert refused  # the old key was tried, and refused
    # The PAT went to the M2M API only; the keys to Landsat Look only.
    assert seen_by(usgs.peers, usgs.pat) == {"m2m"}
    keys = {r["headers"]["X-Auth-Token"] for r in usgs.landsatlook.log()}
    assert len(keys) == 2
    assert all(seen_by(usgs.peers, key) == {"landsatlook"} for key in keys)


def test_key_lifetime_brings_a_new_login(usgs: Usgs) -> None:
    client = client_for(usgs)
    access = client.resolve(f"{usgs.landsatlook.url}/direct/B02.tif")
    assert access.expires_at is not None
    lifetime = access.expires_at - datetime.now(timezone.utc)
    assert timedelta(hours=1, minutes=59) < lifetime <= timedelta(hours=2)
    client.resolve(f"{usgs.landsatlook.url}/direct/B03.tif")
    assert usgs.m2m.logins() == 1
    short = client_for(usgs, key_lifetime=timedelta(0))  # expired as soon as it is issued
    short.resolve(f"{usgs.landsatlook.url}/direct/B02.tif")
    short.resolve(f"{usgs.landsatlook.url}/direct/B03.tif")
    assert usgs.m2m.logins() == 3


def test_both_views_and_redirects_keep_the_key_home(
    usgs: Usgs, auth_root: Path, tmp_path: Path
) -> None:
    client = client_for(usgs)
    for folder in ("direct", "redirect/granules"):
        item = make_item("LC09", {b: f"{usgs.landsatlook.url}/{folder}/{b}.tif" for b in BANDS})
        out = tmp_path / folder.replace("/", "-")
        blocking.download_item(item, out, clients=[client])
        for band in BANDS:
            expected = auth_root / folder.removeprefix("redirect/") / f"{band}.tif"
            assert (out / f"{band}.tif").read_bytes() == expected.read_bytes()
            with stac_asset.open(item, band, clients=[client]) as ds:
                remote = ds.read()
            with rasterio.open(expected) as ds:
                assert np.array_equal(remote, ds.read())
    keys = {r["headers"].get("X-Auth-Token") for r in usgs.landsatlook.log()}
    assert len(keys) == 1 and None not in keys
    assert seen_by(usgs.peers, keys.pop() or "") == {"landsatlook"}
    store = usgs.s3.log()
    assert {r["headers"].get("User-Agent", "")[:4] for r in store} >= {"GDAL", "pyth"}
    assert all(r["status"] in (200, 206) for r in store)


def test_wrong_credentials_are_a_clear_error_and_nothing_is_written(
    usgs: Usgs, tmp_path: Path
) -> None:
    wrong = "pat-wrong-" + "x" * 20
    client = client_for(usgs, token=wrong)
    item = make_item("LC09", {b: f"{usgs.landsatlook.url}/direct/{b}.tif" for b in BANDS})
    with pytest.raises(stac_asset.DownloadError) as info:
        blocking.download_item(item, tmp_path / "out", clients=[client])
    message = str(info.value)
    assert "usgs_eros" in message and "AUTH_INVALID: User credential denied" in message
    assert "login-token" in message and wrong not in message and wrong not in repr(info.value)
    assert all(isinstance(f.error, stac_asset.AccessDeniedError) for f in info.value.failures)
    assert not list((tmp_path / "out").rglob("*"))
    assert usgs.m2m.logins() == 1  # refused once, not once per asset
    assert not usgs.landsatlook.log()


def test_missing_credentials_name_the_variables(
    usgs: Usgs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("USGS_EROS_USERNAME", raising=False)
    monkeypatch.delenv("USGS_EROS_PAT", raising=False)
    client = UsgsErosClient(api_url=usgs.api_url, hosts=[usgs.landsatlook.netloc])
    with pytest.raises(stac_asset.AccessDeniedError, match="USGS_EROS_USERNAME and USGS_EROS_PAT"):
        client.resolve(f"{usgs.landsatlook.url}/direct/B02.tif")
    monkeypatch.setenv("USGS_EROS_USERNAME", usgs.username)
    monkeypatch.setenv("USGS_EROS_PAT", usgs.pat)
    monkeypatch.setenv("USGS_EROS_API_URL", usgs.api_url)
    monkeypatch.setenv("USGS_EROS_HOSTS", usgs.landsatlook.netloc)
    from_env = UsgsErosClient()
    assert from_env.matches(f"{usgs.landsatlook.url}/x.tif")
    assert from_env.matches("https://landsatlook.usgs.gov/data/collection02/x_B4.TIF")
    assert not from_env.matches("https://landsatlook.usgs.gov.example.org/x.tif")
    assert "X-Auth-Token" in from_env.resolve(f"{usgs.landsatlook.url}/direct/B02.tif").headers
