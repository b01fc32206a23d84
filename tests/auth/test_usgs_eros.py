"""USGS EROS: one M2M login for many threads, one re-login per expired key, clear refusals,
and no request made for GDAL's view of an access until something hands it to GDAL."""

from __future__ import annotations

import json
import pickle
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
import rasterio.errors
from click.testing import CliRunner
from rasterio.windows import Window

import stac_asset
from stac_asset import UsgsErosClient, blocking
from stac_asset.cli import cli
from stac_asset.datacube import CubeAccess
from stac_asset.gdal import rasterio_env
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


def test_downloads_and_asset_exists_send_nothing_for_gdal(
    usgs: Usgs, auth_root: Path, tmp_path: Path
) -> None:
    """Only GDAL's view needs to know where an href leads: the byte view asks nothing more."""
    client = client_for(usgs)
    client.resolve(f"{usgs.landsatlook.url}/redirect/granules/B02.tif")
    assert not usgs.landsatlook.log() and not usgs.s3.log()
    for folder in ("direct", "redirect/granules"):
        item = make_item("LC09", {b: f"{usgs.landsatlook.url}/{folder}/{b}.tif" for b in BANDS})
        before = len(usgs.landsatlook.log())
        assert blocking.asset_exists(item.assets["B02"], clients=[client])
        blocking.download_item(item, tmp_path / folder.replace("/", "-"), clients=[client])
        sent = usgs.landsatlook.log()[before:]
        # One GET for asset_exists, then one per file: nothing else reached Landsat Look.
        expected = [f"/{folder}/B02.tif", *(f"/{folder}/{b}.tif" for b in BANDS)]
        assert sorted(r["path"] for r in sent) == sorted(expected)
        assert all(r["method"] == "GET" and r["range"] is None for r in sent)
    assert len(usgs.s3.log()) == len(BANDS) + 1


def test_the_gdal_view_is_finished_only_where_it_is_used(
    usgs: Usgs, auth_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_for(usgs)
    href = f"{usgs.landsatlook.url}/redirect/granules/B04.tif"
    access = client.resolve(href)
    key = access.headers["X-Auth-Token"]
    assert not access.gdal_ready and "gdal_ready=False" in repr(access)
    assert key not in json.dumps([access.vsi_path, access.gdal_options])
    assert pickle.loads(pickle.dumps(access)) == access
    # A consumer that hands the unfinished view to GDAL is refused; no key is sent.
    with (
        pytest.raises(rasterio.errors.RasterioIOError, match="401"),
        rasterio_env(access.gdal_options),
        rasterio.open(access.vsi_path),
    ):
        pass
    assert not seen_by(usgs.peers, key)

    ready = client.gdal_access(access)
    probe = usgs.landsatlook.log()[-1]
    assert probe["range"] == "bytes=0-0" and probe["headers"]["X-Auth-Token"] == key
    assert ready.gdal_ready and client.gdal_access(ready) is ready
    assert ready.vsi_path.startswith(f"/vsicurl/{usgs.s3.url}/bucket/granules/B04.tif?")
    assert key not in json.dumps(ready.gdal_options)
    # The presigned URL lasts an hour, the key two: the access expires with the URL.
    assert ready.expires_at is not None and access.expires_at is not None
    assert ready.expires_at < access.expires_at - timedelta(minutes=50)
    assert stac_asset.resolve(href, clients=[client]).gdal_ready

    # stac_asset.open finishes an unfinished access itself.
    with stac_asset.open(access, clients=[client]) as ds:
        remote = ds.read()
    with rasterio.open(auth_root / "granules" / "B04.tif") as ds:
        assert np.array_equal(remote, ds.read())
    assert seen_by(usgs.peers, key) == {"landsatlook"}
    assert usgs.m2m.logins() == 1  # opened at once, not refused and logged in again

    # And so does `stac-asset vsi`: its path and options read the raster.
    for name, value in (
        ("USGS_EROS_USERNAME", usgs.username),
        ("USGS_EROS_PAT", usgs.pat),
        ("USGS_EROS_API_URL", usgs.api_url),
        ("USGS_EROS_HOSTS", usgs.landsatlook.netloc),
    ):
        monkeypatch.setenv(name, value)
    source = tmp_path / "item.json"
    source.write_text(json.dumps(make_item("LC09", {"B04": href}).to_dict()))
    result = CliRunner().invoke(cli, ["vsi", str(source), "B04", "--json", "--show-secrets"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["vsi_path"].startswith(f"/vsicurl/{usgs.s3.url}/bucket/granules/B04.tif?")
    with rasterio_env(shown["gdal_options"]), rasterio.open(shown["vsi_path"]) as ds:
        assert np.array_equal(ds.read(), remote)


def test_windowed_copies_and_cubes_read_through_the_finished_view(
    usgs: Usgs, auth_root: Path, tmp_path: Path
) -> None:
    client = client_for(usgs)
    item = make_item(
        "LC09", {b: f"{usgs.landsatlook.url}/redirect/granules/{b}.tif" for b in BANDS}
    )
    path = tmp_path / "clip.tif"
    blocking.clip_asset(
        "B03", item.assets["B03"], path, window=((10, 60), (20, 90)), clients=[client]
    )
    with rasterio.open(path) as clip, rasterio.open(auth_root / "granules" / "B03.tif") as src:
        assert np.array_equal(clip.read(), src.read(window=Window(20, 10, 70, 50)))
    with CubeAccess([item], ["B04"], clients=[client]) as cube:
        [access] = cube.accesses
        assert access.gdal_ready and access.vsi_path.startswith(f"/vsicurl/{usgs.s3.url}/")
        with rasterio.open(cube.patch_url(item.assets["B04"].href)) as ds:
            remote = ds.read()
    with rasterio.open(auth_root / "granules" / "B04.tif") as ds:
        assert np.array_equal(remote, ds.read())
    key = client.api_key(item.assets["B04"].href)[0]
    assert seen_by(usgs.peers, key) == {"landsatlook"} and usgs.m2m.logins() == 1


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
