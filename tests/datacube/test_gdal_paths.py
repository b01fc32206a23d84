"""GDAL's path-specific options through ctypes: per prefix, longest wins, owned, cleared."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest
import rasterio
import rasterio.errors

from stac_asset import gdal_paths
from tests.datacube.conftest import OtherHostPeer
from tests.peers.http_peer import HttpPeer

pytestmark = pytest.mark.skipif(not gdal_paths.available(), reason="GDAL < 3.6")

MINIMAL = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR"}


def headers(value: str) -> dict[str, str]:
    return {**MINIMAL, "GDAL_HTTP_HEADERS": f"X-Key: {value}\r\n"}


def read(url: str) -> int:
    """Open ``url`` with rasterio, no rasterio.Env at all, and sum one block."""
    with rasterio.open(f"/vsicurl/{url}") as ds:
        return int(ds.read(1, window=((0, 16), (0, 16))).sum())


def sent(peer: HttpPeer) -> set[str | None]:
    return {entry["headers"].get("X-Key") for entry in peer.log()}


def test_each_host_gets_its_own_header_and_no_other(
    http: HttpPeer, other_http: OtherHostPeer, small_cogs: dict[str, Path]
) -> None:
    http.configure(require_headers={"/s2/": {"X-Key": "one"}})
    other_http.configure(require_headers={"/s2/": {"X-Key": "two"}})
    options = {
        f"/vsicurl/{http.url}/": headers("one"),
        f"/vsicurl/{other_http.url}/": headers("two"),
    }
    with gdal_paths.path_options(options):
        assert read(http.url_for("s2/B02.tif") + "?a=1") == read(
            other_http.url_for("s2/B02.tif") + "?a=1"
        )
    assert sent(http) == {"one"}
    assert sent(other_http) == {"two"}
    # Cleared: the same host is refused (a new URL, so nothing comes from GDAL's cache).
    with pytest.raises(rasterio.errors.RasterioIOError, match="401"):
        read(http.url_for("s2/B02.tif") + "?a=2")
    assert gdal_paths.in_force(f"/vsicurl/{http.url}/") == {}


def test_a_port_is_not_a_prefix_of_another(http: HttpPeer, small_cogs: dict[str, Path]) -> None:
    http.configure(require_headers={"/s2/": {"X-Key": "one"}})
    shorter = http.url[:-1]  # 127.0.0.1:4567 -> 127.0.0.1:456, a prefix of the string
    with (
        gdal_paths.path_options({f"/vsicurl/{shorter}": headers("wrong")}),
        gdal_paths.path_options({f"/vsicurl/{http.url}/": headers("one")}),
    ):
        read(http.url_for("s2/B03.tif") + "?b=1")
    assert sent(http) == {"one"}


def test_longest_prefix_wins(http: HttpPeer, small_cogs: dict[str, Path]) -> None:
    http.configure(require_headers={"/s2/B04": {"X-Key": "file"}, "/s2/B03": {"X-Key": "host"}})
    options = {
        f"/vsicurl/{http.url}/": headers("host"),
        f"/vsicurl/{http.url}/s2/B04.tif": headers("file"),
    }
    with gdal_paths.path_options(options):
        read(http.url_for("s2/B04.tif"))
        read(http.url_for("s2/B03.tif") + "?c=1")
    assert {e["path"]: e["headers"]["X-Key"] for e in http.log()} == {
        "/s2/B04.tif": "file",
        "/s2/B03.tif?c=1": "host",
    }


def test_an_owner_clearing_puts_back_the_options_of_another() -> None:
    prefix = "/vsicurl/http://owners.invalid/"
    first = gdal_paths.PathOptions({prefix: {"GDAL_HTTP_HEADERS": "X-A: 1\r\n"}})
    second = gdal_paths.PathOptions({prefix: {"GDAL_HTTP_HEADERS": "X-A: 2\r\n"}})
    with first:
        with second:
            assert gdal_paths.in_force(prefix) == {"GDAL_HTTP_HEADERS": "X-A: 2\r\n"}
        assert gdal_paths.in_force(prefix) == {"GDAL_HTTP_HEADERS": "X-A: 1\r\n"}
    assert gdal_paths.in_force(prefix) == {}
    assert "X-A" not in repr(first)
    first.set()
    gdal_paths.clear()
    assert gdal_paths.in_force(prefix) == {}


def gdal_value(path: str, key: str) -> str | None:
    """What GDAL itself answers for ``key`` under ``path`` (VSIGetPathSpecificOption)."""
    library = gdal_paths._library()
    assert library is not None
    get = library.VSIGetPathSpecificOption
    get.argtypes, get.restype = [ctypes.c_char_p] * 3, ctypes.c_char_p
    value = get(path.encode(), key.encode(), None)
    return None if value is None else value.decode()


def test_replacing_changes_values_in_place_and_unsets_dropped_keys() -> None:
    prefix, path = "/vsis3/replaced/", "/vsis3/replaced/k.tif"
    owner = gdal_paths.PathOptions({prefix: {"AWS_S3_ENDPOINT": "one:9000", "AWS_HTTPS": "NO"}})
    with owner:
        assert gdal_value(path, "AWS_S3_ENDPOINT") == "one:9000"
        owner.set({prefix: {"AWS_S3_ENDPOINT": "two:9000"}})
        assert gdal_value(path, "AWS_S3_ENDPOINT") == "two:9000"
        assert gdal_value(path, "AWS_HTTPS") is None
        owner.set({"/vsis3/other/": {"AWS_HTTPS": "NO"}})
        assert gdal_value(path, "AWS_S3_ENDPOINT") is None
    assert gdal_value("/vsis3/other/k.tif", "AWS_HTTPS") is None
