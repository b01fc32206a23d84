"""Opening assets in place: the GDAL view gives the same pixels as the byte view, cheaply."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
from rasterio.windows import Window

import stac_asset
from stac_asset import Access, FilesystemClient, HttpClient, blocking
from tests.conftest import make_item
from tests.peers.http_peer import HttpPeer
from tests.threads import read_at_once


def test_open_equals_download_over_http(remote_item: pystac.Item, tmp_path: Path) -> None:
    local = blocking.download_item(remote_item, tmp_path)
    for key in ("B02", "B04"):
        with stac_asset.open(remote_item, key) as ds:
            remote = ds.read()
        with rasterio.open(local.assets[key].get_absolute_href()) as ds:
            assert np.array_equal(remote, ds.read())


def test_open_equals_download_on_filesystem(small_cogs: dict[str, Path], tmp_path: Path) -> None:
    item = make_item("LOCAL", {"B03": str(small_cogs["B03"])})
    access = stac_asset.resolve(item, "B03")
    assert access.client == "filesystem" and access.vsi_path == str(small_cogs["B03"])
    local = blocking.download_item(item, tmp_path)
    with stac_asset.open(item, "B03") as ds:
        remote = ds.read()
    with rasterio.open(local.assets["B03"].get_absolute_href()) as ds:
        assert np.array_equal(remote, ds.read())


def test_resolve_picks_clients_and_relative_hrefs(http: HttpPeer, remote_item: pystac.Item) -> None:
    access = stac_asset.resolve(remote_item, "B04")
    # A relative href of a remote item resolves against the item's URL.
    assert access.href == http.url_for("s2/B04.tif")
    assert access.client == "http"
    assert access.vsi_path == f"/vsicurl/{http.url_for('s2/B04.tif')}"
    assert access.gdal_options["GDAL_DISABLE_READDIR_ON_OPEN"] == "EMPTY_DIR"
    assert stac_asset.resolve("/data/x.tif").client == "filesystem"
    assert stac_asset.resolve("file:///data/x.tif").path == "/data/x.tif"
    forced = stac_asset.resolve(remote_item, "B04", client=HttpClient(headers={"X-A": "1"}))
    assert forced.headers == {"X-A": "1"}
    with pytest.raises(stac_asset.ResolveError, match="filesystem: not a local path"):
        stac_asset.resolve(remote_item, "B04", client=FilesystemClient)


def test_missing_asset_key_lists_keys(remote_item: pystac.Item) -> None:
    with pytest.raises(stac_asset.AssetKeyError, match=r"no asset 'B08'.*B02, B03, B04"):
        stac_asset.resolve(remote_item, "B08")
    with pytest.raises(LookupError):
        stac_asset.open(remote_item, "B08").__enter__()


def test_relative_href_without_self_href_is_explained() -> None:
    item = make_item("NOSELF", {"B04": "./B04.tif"})
    with pytest.raises(stac_asset.ResolveError, match="no self href"):
        stac_asset.resolve(item, "B04")


def test_open_missing_names_href_and_client(http: HttpPeer) -> None:
    with (
        pytest.raises(stac_asset.AccessError, match=r"http: http://127.*/s2/none\.tif"),
        stac_asset.open(http.url_for("s2/none.tif")),
    ):
        pass


def test_access_repr_hides_secrets_and_pickles(http: HttpPeer) -> None:
    token = "s3cr3t-t0ken-value"
    client = HttpClient(headers={"Authorization": f"Bearer {token}"})
    url = http.url_for("s2/B04.tif") + "?sig=abcdefsignature"
    access = client.resolve(url)
    assert access.headers["Authorization"] == f"Bearer {token}"
    assert token in access.gdal_options["GDAL_HTTP_HEADERS"]
    for text in (repr(access), str(access), repr(client)):
        assert token not in text
        assert "abcdefsignature" not in text
    assert "Authorization" in repr(access)
    clone = pickle.loads(pickle.dumps(access))
    assert isinstance(clone, Access) and clone == access


def test_http_open_is_request_minimal(http: HttpPeer, big_cog: Path) -> None:
    assert big_cog.stat().st_size >= 20_000_000
    with stac_asset.open(http.url_for("big/big.tif")) as ds:
        tile = ds.read(1, window=Window(1536, 1536, 512, 512))
    log = http.log()
    assert len(log) <= 3, [(r["method"], r["range"]) for r in log]
    with rasterio.open(big_cog) as ds:
        assert np.array_equal(tile, ds.read(1, window=Window(1536, 1536, 512, 512)))


def test_headers_do_not_leak_between_threads(http: HttpPeer, small_cogs: dict[str, Path]) -> None:
    http.configure(
        require_headers={"/s2/B02.tif": {"X-Key": "alpha"}, "/s2/B03.tif": {"X-Key": "beta"}}
    )
    results = read_at_once(
        {
            "alpha": (http.url_for("s2/B02.tif"), HttpClient(headers={"X-Key": "alpha"})),
            "beta": (http.url_for("s2/B03.tif"), HttpClient(headers={"X-Key": "beta"})),
        }
    )
    assert not [r for r in http.log() if r["status"] == 401]
    for name, band in (("alpha", "B02"), ("beta", "B03")):
        with rasterio.open(small_cogs[band]) as ds:
            assert np.array_equal(results[name], ds.read())
