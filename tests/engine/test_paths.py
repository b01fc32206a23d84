"""Destination paths: symlinks already on disk cannot lead a file out; hrefs made absolute."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pystac
import pytest

import stac_asset
from stac_asset import blocking
from stac_asset.paths import href_file_name, safe_join
from stac_asset.resolver import absolute_href
from tests.conftest import make_item


def realpath_verdict(directory: Path, relative: str) -> bool:
    """Whether the plain ``realpath`` check lets ``relative`` through (the reference)."""
    root = os.path.realpath(directory)
    return os.path.commonpath([root, os.path.realpath(directory / relative)]) == root


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A destination holding symlinks that lead out, lead inside, dangle, or loop."""
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    dest = tmp_path / "dest"
    (dest / "real" / "deeper").mkdir(parents=True)
    (dest / "real" / "file.bin").write_bytes(b"x")
    (dest / "out").symlink_to(outside)
    (dest / "out-file.bin").symlink_to(outside / "file.bin")
    (dest / "inside").symlink_to(dest / "real")
    (dest / "real" / "up").symlink_to("../../outside/sub")
    (dest / "dangling-out.bin").symlink_to(outside / "nothing" / "here.bin")
    (dest / "dangling-in.bin").symlink_to("real/nothing.bin")
    (dest / "loop").symlink_to("loop")
    return dest


RELATIVES = [
    "new.bin",
    "new/deeper/file.bin",
    "real/file.bin",
    "real/deeper/new.bin",
    "real/file.bin/below",
    "out",
    "out/file.bin",
    "out/sub/new.bin",
    "out-file.bin",
    "inside/file.bin",
    "inside/deeper/x.bin",
    "real/up/x.bin",
    "inside/up/x.bin",
    "dangling-out.bin",
    "dangling-in.bin",
    "loop/x.bin",
]


@pytest.mark.parametrize("relative", RELATIVES)
def test_safe_join_agrees_with_realpath(tree: Path, relative: str) -> None:
    if realpath_verdict(tree, relative):
        assert safe_join(tree, relative, "asset") == tree / relative
        assert safe_join(tree, relative, "asset", os.path.realpath(tree)) == tree / relative
    else:
        with pytest.raises(stac_asset.UnsafePathError, match="resolves outside"):
            safe_join(tree, relative, "asset")


def test_the_tree_has_both_verdicts(tree: Path) -> None:
    verdicts = {realpath_verdict(tree, relative) for relative in RELATIVES}
    assert verdicts == {True, False}


def test_safe_join_through_a_symlinked_destination(tree: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked-dest"
    linked.symlink_to(tree)
    assert safe_join(linked, "real/new.bin", "asset") == linked / "real" / "new.bin"
    with pytest.raises(stac_asset.UnsafePathError):
        safe_join(linked, "out/new.bin", "asset")


def test_download_refuses_a_symlink_out_of_the_destination(tree: Path) -> None:
    source = tree.parent / "source"
    source.mkdir()
    (source / "out-file.bin").write_bytes(b"secret overwrite")
    (source / "ok.bin").write_bytes(b"fine")
    item = make_item("S", {"a": str(source / "ok.bin"), "b": str(source / "out-file.bin")})
    with pytest.raises(stac_asset.UnsafePathError, match="resolves outside"):
        blocking.download_item(item, tree)
    assert not (tree.parent / "outside" / "file.bin").exists()
    assert not (tree / "ok.bin").exists()  # refused while planning, before any byte moved


SELF_HREFS = [
    None,
    "/data/items/item.json",
    "file:///data/items/item.json",
    "https://example.com/items/item.json",
    "s3://bucket/items/item.json",
]

HREFS = [
    "/data/a.tif",
    "//host/a.tif",
    "//host",
    "a.tif",
    "./a.tif",
    "../a.tif",
    "file:///data/a.tif",
    "FILE:///data/a.tif",
    "file:/data/a.tif",
    "https://example.com/a.tif",
    "HTTPS://example.com/a.tif",
    "s3://bucket/a.tif",
    "/vsis3/bucket/a.tif",
    "vsi/a.tif",
    " https://example.com/a.tif",
    "ht\ttps://example.com/a.tif",
    "C:/data/a.tif",
    "c:\\data\\a.tif",
]


@pytest.mark.parametrize("self_href", SELF_HREFS)
@pytest.mark.parametrize("href", HREFS)
def test_absolute_href_is_pystacs(self_href: str | None, href: str) -> None:
    item = make_item("A", {"k": href})
    item.set_self_href(self_href)
    asset = item.assets["k"]
    asset.href = href  # set_self_href may rewrite relative hrefs
    check_like_pystac(asset)


@pytest.mark.parametrize("href", HREFS)
def test_absolute_href_of_an_asset_without_owner(href: str) -> None:
    check_like_pystac(pystac.Asset(href))


def check_like_pystac(asset: pystac.Asset) -> None:
    """absolute_href gives pystac's answer, or refuses where pystac has none."""
    expected = asset.get_absolute_href()
    if expected is None:
        with pytest.raises(stac_asset.ResolveError):
            absolute_href(asset)
    else:
        assert absolute_href(asset) == expected


FILE_NAME_HREFS = [
    "/data/a/b.tif",
    "/data/a/b%20c.tif",
    "/data/a/",
    "https://host/x/b.tif",
    "https://host/x/b.tif?sig=1",
    "https://host/x?q=/b.tif",
    "https://host/x#frag/b.tif",
    "https://host",
    "https://host/",
    "https://host/x/a%2Fb.tif",
    "https://ho\tst/x/b.tif",
    " https://host/x/b.tif",
    "s3://bucket/k/b.tif",
    "http:/b.tif",
    "//host/b.tif",
    "b.tif",
    "é/ü.tif",
]


@pytest.mark.parametrize("href", FILE_NAME_HREFS)
def test_href_file_name_is_the_parsed_one(href: str) -> None:
    path = urlsplit(href).path if "://" in href else href
    expected = unquote(posixpath.basename(path.rstrip("/")) if path else "")
    assert href_file_name(href) == expected
