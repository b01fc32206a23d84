"""What ``stac-asset info`` reports: each asset's client, whether it can be read, its size.

The table has stac-asset 0.4's columns (Asset, Client, Exists, Media type,
Note), one row per asset key, merged across the items of a collection as 0.4
did (``Sometimes``, ``Various``), plus this library's Size and Roles.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pystac

from ..errors import StacAssetError
from ..items import checked_href
from ..resolver import Resolver

_CHECKS_AT_ONCE = 16

HEADERS = ("Asset", "Client", "Exists", "Media type", "Size", "Roles", "Note")


def check_asset(
    item: pystac.Item, key: str, resolver: Resolver, alternate_assets: Sequence[str]
) -> dict[str, Any]:
    """One row: the asset's client, whether its first bytes can be read, and its size."""
    asset = item.assets[key]
    row: dict[str, Any] = {
        "item": item.id,
        "key": key,
        "roles": asset.roles or [],
        "type": asset.media_type,
        "size": asset.extra_fields.get("file:size"),
        "client": "-",
    }
    try:
        target, untrusted = checked_href(asset, resolver, list(alternate_assets))
        client = resolver.client_for(target, untrusted=untrusted)
        row["client"] = client.name
        with client.open_stream(client.resolve(target, asset)) as stream:
            row["size"] = row["size"] or stream.size
    except StacAssetError as error:
        row.update(exists=False, note=str(error), reachable=f"no: {error}")
    else:
        row.update(exists=True, note="", reachable="yes")
    return row


def check_items(
    items: Sequence[pystac.Item], resolver: Resolver, alternate_assets: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """A row per asset of every item, checked a few at a time, in item order."""

    def check(pair: tuple[pystac.Item, str]) -> dict[str, Any]:
        return check_asset(pair[0], pair[1], resolver, alternate_assets)

    pairs = [(item, key) for item in items for key in item.assets]
    with ThreadPoolExecutor(_CHECKS_AT_ONCE, thread_name_prefix="stac-asset-info") as pool:
        return list(pool.map(check, pairs))


def _merge(values: list[Any], various: str) -> Any:
    first = values[0]
    return first if all(value == first for value in values) else various


def merged(rows: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Table rows, one per asset key in key order; the items of a collection are merged."""
    by_key: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_key.setdefault(row["key"], []).append(row)
    table = []
    for key in sorted(by_key):
        group = by_key[key]
        size = _merge([row["size"] for row in group], "Various")
        roles = _merge([",".join(row["roles"]) for row in group], "Various")
        notes = list(dict.fromkeys(row["note"] for row in group if row["note"]))
        table.append(
            [
                key,
                _merge([row["client"] for row in group], "Various"),
                str(_merge([row["exists"] for row in group], "Sometimes")),
                _merge([row["type"] or "-" for row in group], "Various"),
                f"{size:,} B" if isinstance(size, int) else str(size or "-"),
                roles or "-",
                "; ".join(notes),
            ]
        )
    return table


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, a rule under the headers (tabulate's "simple")."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (headers, ["-" * width for width in widths], *rows)
    ]
    return "\n".join(lines)
