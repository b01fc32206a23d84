"""Reading items from hrefs, finding assets, and rewriting items to point at local files."""

from __future__ import annotations

import json
from typing import Any

import pystac

from .errors import AssetKeyError, NotAnItemError
from .resolver import Resolver, absolute_href
from .transfer import Fetcher, Transfer
from .trust import check_asset, is_remote_source

# Larger than any STAC item JSON; a bigger body is not one.
MAX_ITEM_BYTES = 64 * 1024 * 1024

_MAGIC = {
    b"II*\x00": "a TIFF",
    b"MM\x00*": "a TIFF",
    b"II+\x00": "a BigTIFF",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x89HDF": "an HDF5/NetCDF file",
    b"PK\x03\x04": "a ZIP archive",
}


def _describe(data: bytes) -> str:
    for magic, kind in _MAGIC.items():
        if data.startswith(magic):
            return kind
    return "not JSON"


def load_json(href: str, fetcher: Fetcher, expected: str) -> dict[str, Any]:
    """Fetch ``href`` and parse it as a JSON object, or explain what it is instead."""
    data = fetcher.read(Transfer(href), limit=MAX_ITEM_BYTES)
    hint = (
        f"; to download a single file use stac_asset.download_file({href!r}, path)"
        if expected == "item"
        else ""
    )
    if len(data) > MAX_ITEM_BYTES:
        raise NotAnItemError(
            f"{href} is more than {MAX_ITEM_BYTES // (1024 * 1024)} MiB, "
            f"too large to be a STAC {expected}{hint}"
        )
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        kind = _describe(data)
        detail = f" ({error})" if kind == "not JSON" else ""
        raise NotAnItemError(
            f"{href} is not a STAC {expected}: it is {kind}{detail}{hint}"
        ) from None
    if not isinstance(value, dict):
        raise NotAnItemError(f"{href} is not a STAC {expected}: JSON {type(value).__name__}{hint}")
    return value


def item_from_dict(data: dict[str, Any], href: str | None) -> pystac.Item:
    """Build a :class:`pystac.Item`, or raise NotAnItemError saying what the JSON is."""
    kind = data.get("type")
    where = href or "the given dictionary"
    if kind == "FeatureCollection":
        raise NotAnItemError(
            f"{where} is an item collection, not an item; use download_item_collection"
        )
    if kind != "Feature":
        raise NotAnItemError(f"{where} is not a STAC item (type is {kind!r}, not 'Feature')")
    try:
        return pystac.Item.from_dict(data, href=href, preserve_dict=False)
    except (KeyError, TypeError, ValueError, pystac.STACError) as error:
        raise NotAnItemError(f"{where} is not a valid STAC item: {error!r}") from None


def read_item(href: str, fetcher: Fetcher) -> pystac.Item:
    """Read a STAC item from ``href`` with any client."""
    return item_from_dict(load_json(href, fetcher, "item"), href)


def read_item_collection(href: str, fetcher: Fetcher) -> pystac.ItemCollection:
    """Read an item collection (a FeatureCollection of items) from ``href``."""
    data = load_json(href, fetcher, "item collection")
    if data.get("type") == "Feature":
        return pystac.ItemCollection([item_from_dict(data, href)])
    if data.get("type") != "FeatureCollection":
        raise NotAnItemError(f"{href} is not a STAC item collection (type {data.get('type')!r})")
    return pystac.ItemCollection(features_of(data, href))


def features_of(data: dict[str, Any], href: str | None) -> list[pystac.Item]:
    """The items of a FeatureCollection read from ``href`` (``None``: not read from an href).

    Relative hrefs inside a collection resolve against the collection's href.
    A feature read from the network keeps its own self href only if that is
    remote too: a self link to a local file must not make it trusted.
    """
    items = [item_from_dict(feature, None) for feature in data.get("features", [])]
    if href is not None:
        remote = is_remote_source(href)
        for item in items:
            own = item.get_self_href()
            if own is None or (remote and not is_remote_source(own)):
                item.set_self_href(href)
    return items


def get_asset(item: pystac.Item, key: str) -> pystac.Asset:
    """The asset under ``key``, or an error listing the keys the item has."""
    try:
        return item.assets[key]
    except KeyError:
        keys = ", ".join(sorted(item.assets)) or "none"
        raise AssetKeyError(f"item {item.id!r} has no asset {key!r}; its assets: {keys}") from None


def raw_alternates(asset: pystac.Asset) -> dict[str, str]:
    """The asset's ``alternate`` hrefs by name, as written in the item, in their order."""
    entries = asset.extra_fields.get("alternate")
    if not isinstance(entries, dict):
        return {}
    return {
        name: entry["href"]
        for name, entry in entries.items()
        if isinstance(entry, dict) and isinstance(entry.get("href"), str)
    }


def alternates(asset: pystac.Asset) -> dict[str, str]:
    """The asset's ``alternate`` hrefs by name, made absolute, in their order."""
    hrefs = raw_alternates(asset)
    if not hrefs:
        return hrefs  # (the owner's self href is looked up through its links)
    owner = asset.owner
    start = owner.get_self_href() if owner is not None else None
    return {
        name: pystac.utils.make_absolute_href(href, start, start_is_dir=False)
        for name, href in hrefs.items()
    }


def raw_href(asset: pystac.Asset, alternate_assets: list[str] | None = None) -> str:
    """The href :func:`asset_href` chooses, as written in the item."""
    hrefs = raw_alternates(asset)
    for name in alternate_assets or []:
        if name in hrefs:
            return hrefs[name]
    return asset.href


def asset_href(asset: pystac.Asset, alternate_assets: list[str] | None = None) -> str:
    """The asset's absolute href, or the first of the preferred ``alternate`` hrefs it has."""
    hrefs = alternates(asset)
    for name in alternate_assets or []:
        if name in hrefs:
            return hrefs[name]
    return absolute_href(asset)


def checked_href(
    asset: pystac.Asset, resolver: Resolver, alternate_assets: list[str] | None = None
) -> tuple[str, bool]:
    """The href to read for ``asset`` and whether its item is untrusted, under the trust rule.

    For an untrusted item (see :meth:`Resolver.untrusted`) the href is checked
    as written and as resolved: a :class:`~stac_asset.LocalHrefError` is raised
    before anything is read if it reaches this machine.
    """
    href = asset_href(asset, alternate_assets)
    untrusted = resolver.untrusted(asset.owner)
    if untrusted:
        check_asset(asset, href, raw_href(asset, alternate_assets))
    return href, untrusted
