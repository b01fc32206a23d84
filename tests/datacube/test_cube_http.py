"""Cubes over HTTP with a required header: odc-stac, stackstac, rioxarray, in process."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.errors

from stac_asset import HttpClient
from stac_asset.datacube import CubeAccess
from tests.datacube.conftest import FILES, OtherHostPeer, cube_items
from tests.datacube.expiring import TokenFileClient
from tests.datacube.loaders import LOADERS, expected, load
from tests.peers.http_peer import HttpPeer


def keys_sent(peer: HttpPeer) -> set[str | None]:
    return {entry["headers"].get("X-Key") for entry in peer.log()}


@pytest.mark.parametrize("loader", list(LOADERS))
def test_cube_over_http_equals_open_reads(
    loader: str, http: HttpPeer, small_cogs: dict[str, Path]
) -> None:
    http.configure(require_headers={"/s2/": {"X-Key": "one"}})
    items = cube_items(http.url_for)
    client = HttpClient(headers={"X-Key": "one"})
    want = expected(items, [client])
    before = len(http.log())
    with CubeAccess(items, clients=[client]) as cube:
        got = load(loader, cube, items)
    assert got.shape == (3, 2, 512, 512)
    np.testing.assert_array_equal(got, want)
    read = {entry["path"] for entry in http.log()[before:]}
    assert read == {f"/s2/{name}.tif" for name in FILES}  # all read again, not from a cache
    assert keys_sent(http) == {"one"}


def test_two_loads_of_two_hosts_leak_nothing(
    http: HttpPeer, other_http: OtherHostPeer, small_cogs: dict[str, Path]
) -> None:
    """stackstac then odc-stac, one host each: each host sees its own key only, and after."""
    http.configure(require_headers={"/s2/": {"X-Key": "one"}})
    other_http.configure(require_headers={"/s2/": {"X-Key": "two"}})
    first, second = cube_items(http.url_for, "A"), cube_items(other_http.url_for, "B")
    with CubeAccess(first, clients=[HttpClient(headers={"X-Key": "one"})]) as cube:
        load("stackstac", cube, first)
    with CubeAccess(second, clients=[HttpClient(headers={"X-Key": "two"})]) as cube:
        load("odc-stac", cube, second)
        # While the second is in force, the first host gets nothing of it.
        with pytest.raises(rasterio.errors.RasterioIOError, match="401"):
            rasterio.open(f"/vsicurl/{http.url_for('s2/B04.tif')}?after=1")
    assert keys_sent(http) == {"one", None}
    assert keys_sent(other_http) == {"two"}
    with pytest.raises(rasterio.errors.RasterioIOError, match="401"):
        rasterio.open(f"/vsicurl/{other_http.url_for('s2/B04.tif')}?after=1")


def test_an_expiring_header_is_renewed_in_process_before_it_expires(
    http: HttpPeer, small_cogs: dict[str, Path]
) -> None:
    token_file = http.root / "token.txt"
    token_file.write_text("first")
    http.configure(require_headers={"/s2/": {"X-Key": "first"}})
    items = cube_items(http.url_for, "P")
    want = expected(items, [HttpClient(headers={"X-Key": "first"})])
    with CubeAccess(items, clients=[TokenFileClient(http.url_for("token.txt"), 2)]) as cube:
        np.testing.assert_array_equal(load("rioxarray", cube, items), want)
        token_file.write_text("second")
        http.configure(require_headers={"/s2/": {"X-Key": "second"}})
        time.sleep(2.5)
        np.testing.assert_array_equal(load("rioxarray", cube, items), want)
    assert {e["headers"].get("X-Key") for e in http.requests_for("/s2/B03.tif")} == {
        "first",
        "second",
    }
