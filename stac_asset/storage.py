"""What the STAC storage extension says about where an asset is stored (v1 and v2).

v1 puts ``storage:region``, ``storage:requester_pays`` (and ``storage:platform``)
on the asset or on its item's properties. v2 puts named schemes in
``storage:schemes`` (on the item's properties or its collection), each with
``region`` and ``requester_pays``, and lists on the asset the schemes it
uses in ``storage:refs``. The dicts are read directly, so a half-valid
extension block still yields what it does say.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pystac

PREFIX = "storage:"


@dataclass(frozen=True)
class StorageInfo:
    """The storage facts an asset's metadata gives; ``None`` where it says nothing."""

    region: str | None = None
    requester_pays: bool | None = None


def _owner_properties(asset: pystac.Asset) -> Mapping[str, Any]:
    owner = asset.owner
    if isinstance(owner, pystac.Item):
        return owner.properties
    if isinstance(owner, pystac.Collection):
        return owner.extra_fields
    return {}


def _collection_fields(asset: pystac.Asset) -> Mapping[str, Any]:
    # Only a collection already in memory: reading a collection link could mean network I/O.
    owner = asset.owner
    if isinstance(owner, pystac.Item):
        link = owner.get_single_link(pystac.RelType.COLLECTION)
        if link is not None and link.is_resolved() and isinstance(link.target, pystac.Collection):
            return link.target.extra_fields
    return {}


def _schemes(asset: pystac.Asset) -> dict[str, Mapping[str, Any]]:
    schemes: dict[str, Mapping[str, Any]] = {}
    for fields in (_collection_fields(asset), _owner_properties(asset)):
        value = fields.get(f"{PREFIX}schemes")
        if isinstance(value, Mapping):
            schemes.update({k: v for k, v in value.items() if isinstance(v, Mapping)})
    return schemes


def _scheme_for(asset: pystac.Asset, bucket: str | None) -> Mapping[str, Any] | None:
    schemes = _schemes(asset)
    refs = asset.extra_fields.get(f"{PREFIX}refs")
    if isinstance(refs, list):
        candidates = [schemes[ref] for ref in refs if isinstance(ref, str) and ref in schemes]
    elif len(schemes) == 1:
        # No refs but only one scheme: it can only be that one.
        candidates = list(schemes.values())
    else:
        candidates = []
    for scheme in candidates:
        if bucket is not None and scheme.get("bucket") not in (None, bucket):
            continue
        return scheme
    return None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def storage_info(asset: pystac.Asset | None, bucket: str | None = None) -> StorageInfo:
    """The storage facts for ``asset``: v2 scheme first, then v1 fields on the asset, then item.

    ``bucket`` picks, among the schemes an asset refers to, the one for that
    bucket when schemes name their bucket.
    """
    if asset is None:
        return StorageInfo()
    region: str | None = None
    requester_pays: bool | None = None
    scheme = _scheme_for(asset, bucket)
    if scheme is not None:
        region = _str(scheme.get("region"))
        requester_pays = _bool(scheme.get("requester_pays"))
    for fields in (asset.extra_fields, _owner_properties(asset)):
        if region is None:
            region = _str(fields.get(f"{PREFIX}region"))
        if requester_pays is None:
            requester_pays = _bool(fields.get(f"{PREFIX}requester_pays"))
    return StorageInfo(region=region, requester_pays=requester_pays)
