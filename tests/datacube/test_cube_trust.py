"""CubeAccess keeps the trust rule: items from the network reach nothing local; no secret shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from stac_asset import HttpClient, LocalHrefError
from stac_asset.datacube import CubeAccess
from tests.conftest import make_item
from tests.datacube.conftest import cube_items
from tests.peers.http_peer import HttpPeer


def test_a_remote_item_naming_a_local_file_is_refused_before_anything_is_set(
    http: HttpPeer, small_cogs: dict[str, Path]
) -> None:
    local = str(small_cogs["B02"])
    item = make_item("REMOTE", {"B02": f"file://{local}"}, self_href=http.url_for("s2/item.json"))
    with pytest.raises(LocalHrefError):
        CubeAccess([item])
    with pytest.raises(LocalHrefError):
        CubeAccess([item], assets=["B02"])
    cube = CubeAccess([item], allow_local=True)
    assert cube.patch_url(f"file://{local}") == local
    assert http.log() == []


def test_hrefs_of_other_items_are_not_patched_and_nothing_shows_a_secret(
    http: HttpPeer, small_cogs: dict[str, Path]
) -> None:
    items = cube_items(http.url_for)
    cube = CubeAccess(items, clients=[HttpClient(headers={"Authorization": "Bearer s3cr3t-t0ken"})])
    with pytest.raises(KeyError, match="not an asset"):
        cube.patch_url(http.url_for("s2/other.tif"))
    shown = [repr(cube), str(cube.gdal_options), *(repr(a) for a in cube.accesses)]
    shown += [str(item.to_dict()) for item in cube.items]
    assert not any("s3cr3t" in text for text in shown)
    assert cube.items[0].assets["B02"].href == f"/vsicurl/{http.url_for('s2/B02.tif')}"
