"""Options that cannot both hold are refused; without path-specific options, one set or none."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stac_asset import Access, HttpClient, gdal_paths
from stac_asset.datacube import CubeAccess, OptionsConflictError
from stac_asset.datacube.prefixes import group_prefix, path_table
from tests.datacube.conftest import OtherHostPeer, cube_items
from tests.datacube.loaders import expected, load
from tests.peers.http_peer import HttpPeer


def access(href: str, vsi_path: str, **options: str) -> Access:
    return Access(href=href, client="s3", vsi_path=vsi_path, gdal_options=options)


def test_group_prefixes_end_where_a_host_or_bucket_ends() -> None:
    assert group_prefix("/vsicurl/http://h:80/a/b.tif") == "/vsicurl/http://h:80/"
    assert group_prefix("/vsis3/bucket/k/x.tif") == "/vsis3/bucket/"
    assert group_prefix("/vsiaz/container/x.tif") == "/vsiaz/container/"
    pc = "/vsicurl?pc_url_signing=yes&pc_collection=a/c&url=http://h:1/a/c/x.tif"
    assert group_prefix(pc) == "/vsicurl?pc_url_signing=yes&pc_collection=a/c&url=http://h:1/"


def test_one_path_needing_two_sets_of_options_is_refused_naming_both() -> None:
    one = access("s3://b/k.tif", "/vsis3/b/k.tif", AWS_S3_ENDPOINT="one:9000")
    two = access("https://two.example/b/k.tif", "/vsis3/b/k.tif", AWS_S3_ENDPOINT="two:9000")
    with pytest.raises(OptionsConflictError, match=r"s3://b/k.tif .* https://two.example/b/k.tif"):
        path_table([one, two])
    # Same bucket, other keys: each path gets its own entry, the longest prefix wins.
    other = access("s3://b/j.tif", "/vsis3/b/j.tif", AWS_S3_ENDPOINT="two:9000")
    assert set(path_table([one, other])) == {"/vsis3/b/k.tif", "/vsis3/b/j.tif"}
    same = access("s3://b/j.tif", "/vsis3/b/j.tif", AWS_S3_ENDPOINT="one:9000")
    assert set(path_table([one, same])) == {"/vsis3/b/"}


def test_without_path_specific_options_one_regime_loads_and_two_are_refused(
    http: HttpPeer,
    other_http: OtherHostPeer,
    small_cogs: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gdal_paths, "available", lambda: False)
    http.configure(require_headers={"/s2/": {"X-Key": "one"}})
    items = cube_items(http.url_for)
    client = HttpClient(headers={"X-Key": "one"})
    want = expected(items, [client])
    with CubeAccess(items, clients=[client]) as cube:
        assert "X-Key: one" in cube.gdal_options["GDAL_HTTP_HEADERS"]
        np.testing.assert_array_equal(load("odc-stac", cube, items), want)
        # A second set of options cannot be in force process-wide at the same time.
        other = CubeAccess(cube_items(other_http.url_for), clients=[HttpClient()])
        with pytest.raises(OptionsConflictError, match="clear it first"):
            other.apply()
    mixed = cube_items(http.url_for)[:1] + cube_items(other_http.url_for)[1:]
    with pytest.raises(OptionsConflictError, match=rf"{http.url}/s2/.* {other_http.url}/s2/"):
        CubeAccess(mixed, clients=[HttpClient(host_headers={"127.0.0.1": {"X-Key": "one"}})])
    assert other_http.log() == []
