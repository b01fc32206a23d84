"""What a download returns points at the written files from anywhere; what it writes travels.

The returned item (as stac-asset 0.4.8's and pystac's in-memory items) has
absolute asset hrefs; the written JSON keeps them relative to itself, carries
the same links as the returned item, and a ``derived_from`` link to the item
it was made from.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pystac
import pytest
import rasterio

import stac_asset
from stac_asset import blocking
from tests.conftest import make_item
from tests.peers.http_peer import HttpPeer


def links(data: dict[str, object]) -> list[tuple[str, str]]:
    return sorted((link["rel"], link["href"]) for link in data["links"])  # type: ignore[attr-defined]


def test_returned_item_opens_from_any_directory(
    remote_item: pystac.Item,
    small_cogs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "out"
    item = blocking.download_item(remote_item, out)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert item.assets["B04"].href == str(out / "B04.tif")
    with rasterio.open(item.assets["B04"].href) as dataset:
        assert dataset.read(1).shape == (512, 512)
    written = json.loads((out / "S2-TEST.json").read_text())
    assert {key: asset["href"] for key, asset in written["assets"].items()} == {
        "B02": "B02.tif",
        "B03": "B03.tif",
        "B04": "B04.tif",
    }
    # The written file, read back with pystac, leads to the same files.
    again = pystac.Item.from_file(str(out / "S2-TEST.json"))
    assert again.assets["B04"].get_absolute_href() == item.assets["B04"].href


def test_written_item_has_the_returned_links_and_derived_from(
    http: HttpPeer, remote_item: pystac.Item, tmp_path: Path
) -> None:
    item = blocking.download_item(remote_item, tmp_path)
    written = json.loads((tmp_path / "S2-TEST.json").read_text())
    assert links(written) == links(item.to_dict(transform_hrefs=False))
    assert ("derived_from", http.url_for("s2/item.json")) in links(written)
    assert ("self", str(tmp_path / "S2-TEST.json")) in links(written)
    # A download of the written item derives from it too: the lineage grows.
    again = blocking.download_item(
        pystac.Item.from_file(str(tmp_path / "S2-TEST.json")), tmp_path / "2"
    )
    derived = [link.href for link in again.links if link.rel == "derived_from"]
    assert derived == [http.url_for("s2/item.json"), str(tmp_path / "S2-TEST.json")]


def test_no_derived_from_without_a_self_href(
    http: HttpPeer, small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    item = make_item("NOSELF", {"B02": http.url_for("s2/B02.tif")})
    result = blocking.download_item(item, tmp_path)
    assert [link.rel for link in result.links if link.rel == "derived_from"] == []


def test_cli_prints_the_links_it_writes(
    http: HttpPeer, remote_item: pystac.Item, tmp_path: Path
) -> None:
    printed = subprocess.run(
        [
            sys.executable,
            "-m",
            "stac_asset",
            "download",
            http.url_for("s2/item.json"),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    shown = json.loads(printed.stdout)
    written = json.loads((tmp_path / "S2-TEST.json").read_text())
    assert links(shown) == links(written)
    assert shown["assets"]["B02"]["href"] == str(tmp_path / "B02.tif")


def test_item_collection_file_resolves_with_pystac(
    http: HttpPeer, small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    items = [
        make_item("one", {"B02": http.url_for("s2/B02.tif")}),
        make_item("two", {"B03": http.url_for("s2/B03.tif"), "B04": http.url_for("s2/B04.tif")}),
    ]
    result = blocking.download_item_collection(items, tmp_path / "out")
    written = pystac.ItemCollection.from_file(str(tmp_path / "out" / "item-collection.json"))
    hrefs = {}
    for item in written:
        for key, asset in item.assets.items():
            href = asset.get_absolute_href()
            assert href is not None
            with rasterio.open(href) as dataset:
                dataset.read(1, window=((0, 16), (0, 16)))
            assert Path(href).read_bytes() == small_cogs[key].read_bytes()
            hrefs[key] = href
    assert hrefs == {
        "B02": str(tmp_path / "out" / "one" / "B02.tif"),
        "B03": str(tmp_path / "out" / "two" / "B03.tif"),
        "B04": str(tmp_path / "out" / "two" / "B04.tif"),
    }
    assert {k: a.href for i in result for k, a in i.assets.items()} == hrefs


def test_async_face_returns_absolute_hrefs(remote_item: pystac.Item, tmp_path: Path) -> None:
    import asyncio

    item = asyncio.run(stac_asset.download_item(remote_item, tmp_path))
    assert item.assets["B03"].href == str(tmp_path / "B03.tif")
