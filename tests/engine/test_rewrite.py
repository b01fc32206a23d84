"""The written item: kept relative hrefs still lead to their files, asset order is kept."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pystac
import pytest

from stac_asset import DownloadWarning, blocking
from stac_asset.plan import prepare
from tests.conftest import make_item


def local_item(tmp_path: Path) -> pystac.Item:
    """An item at ``src/items/item.json`` whose assets have relative hrefs."""
    src = tmp_path / "src" / "items"
    (src / "sub").mkdir(parents=True)
    for name in ("a.bin", "sub/b.bin", "../c.bin", "d.bin"):
        (src / name).write_bytes(name.encode())
    item = make_item(
        "REL",
        {"d": "./d.bin", "a": "a.bin", "b": "sub/b.bin", "c": "../c.bin"},
        str(src / "item.json"),
    )
    return item


def test_kept_relative_hrefs_follow_the_item(tmp_path: Path) -> None:
    item = local_item(tmp_path)
    dest = tmp_path / "dest" / "deeper"
    out = blocking.download_item(item, dest, include=["a", "d"], keep_non_downloaded=True)
    written = json.loads((dest / "REL.json").read_text())
    assert list(written["assets"]) == ["d", "a", "b", "c"]
    assert written["assets"]["a"]["href"] == "a.bin"
    assert written["assets"]["d"]["href"] == "d.bin"
    for key, name in (("b", "sub/b.bin"), ("c", "../c.bin")):
        href = written["assets"][key]["href"]
        assert not os.path.isabs(href)
        assert (dest / href).resolve() == (tmp_path / "src" / "items" / name).resolve()
        assert out.assets[key].get_absolute_href() == str(
            (tmp_path / "src" / "items" / name).resolve()
        )
    # The same hrefs as pystac gives when the item moves.
    moved = item.clone()
    moved.set_self_href(str(dest / "REL.json"))
    assert written["assets"]["b"]["href"] == moved.assets["b"].href
    assert written["assets"]["c"]["href"] == moved.assets["c"].href


def test_dropped_and_failed_assets(tmp_path: Path) -> None:
    item = local_item(tmp_path)
    item.assets["gone"] = pystac.Asset("missing.bin")
    item.assets["gone"].set_owner(item)
    dest = tmp_path / "dest"
    with pytest.warns(DownloadWarning, match="missing.bin"):
        out = blocking.download_item(item, dest, exclude=["b"], error_strategy="keep", warn=True)
    assert list(out.assets) == ["d", "a", "c", "gone"]
    written = json.loads((dest / "REL.json").read_text())
    assert (dest / written["assets"]["gone"]["href"]).resolve() == (
        tmp_path / "src" / "items" / "missing.bin"
    )
    assert written["assets"]["c"]["href"] == "c.bin"


def test_item_collection_rewrites_each_item(tmp_path: Path) -> None:
    items = []
    for index in range(3):
        item = local_item(tmp_path / f"i{index}")
        item.id = f"REL{index}"
        items.append(item)
    blocking.download_item_collection(items, tmp_path / "dest", include=["a"])
    for index in range(3):
        written = json.loads((tmp_path / "dest" / f"REL{index}" / f"REL{index}.json").read_text())
        assert written["assets"] == {
            "a": {**written["assets"]["a"], "href": "a.bin"},
        }
        assert (tmp_path / "dest" / f"REL{index}" / "a.bin").read_bytes() == b"a.bin"


HREFS = {
    "abs": "/data/a.tif",
    "rel": "a.tif",
    "dot": "./sub/../a.tif",
    "up": "../b.tif",
    "url": "https://example.com/c.tif",
    "file": "file:///data/d.tif",
    "host": "//host/e.tif",
    "s3": "s3://bucket/f.tif",
}


@pytest.mark.parametrize(
    "self_href",
    ["/data/items/item.json", "https://example.com/items/item.json", "file:///data/item.json"],
)
def test_prepare_gives_pystacs_hrefs(self_href: str) -> None:
    item = make_item("P", HREFS, self_href)
    for key, href in HREFS.items():
        item.assets[key].href = href  # as written, before pystac re-expresses them
    expected = item.clone()
    expected.set_self_href(self_href)
    prepared = prepare(item)
    # Hrefs stay as written (the trust rule judges them so) and resolve as pystac's do.
    assert {k: a.href for k, a in prepared.assets.items()} == HREFS
    assert {k: a.get_absolute_href() for k, a in prepared.assets.items()} == {
        k: a.get_absolute_href() for k, a in expected.assets.items()
    }
    assert list(prepared.assets) == list(HREFS)
    assert prepared.get_self_href() == expected.get_self_href()
