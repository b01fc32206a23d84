"""Rewriting items after a download: assets point at their files, origins kept, no signature."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pystac

from ._secrets import unsigned
from .checksum import sha256_multihash
from .clip import ClipResult
from .clip_spec import Clip
from .geometry import BBox, box
from .plan import Job, Owner
from .resolver import plainly_absolute

ALTERNATE_ASSETS_EXTENSION = "https://stac-extensions.github.io/alternate-assets/v1.2.0/schema.json"
ORIGIN = "origin"
"""The ``alternate`` name under which a downloaded asset keeps its original href."""


def rewrite(
    item: Owner,
    jobs: Sequence[Job],
    item_path: Path,
    keep_non_downloaded: bool,
    clip: Clip | None = None,
    keep_failed: bool = False,
) -> None:
    """Point downloaded assets at their files (relative to ``item_path``), keeping origins.

    Assets that were not downloaded are left out, unless ``keep_non_downloaded``
    (or, for those that failed, ``keep_failed``) keeps them with their original
    hrefs. After a windowed copy (``clip``), clipped assets describe their new
    grid, and the item's bbox and geometry are the footprint of the pixels
    written (whatever the source item said).
    """
    done = {job.key: job for job in jobs if job.item is item and job.done}
    failed = {job.key for job in jobs if job.item is item and not job.done}
    kept = {
        key: asset
        for key, asset in item.assets.items()
        if key not in done and (keep_non_downloaded or (keep_failed and key in failed))
    }
    _move(item, str(item_path), kept)
    folder = str(item_path.parent)
    for key in list(item.assets):
        asset = item.assets[key]
        job = done.get(key)
        _drop_signatures(asset)
        if job is None:
            if not (keep_non_downloaded or (keep_failed and key in failed)):
                del item.assets[key]
            continue
        origin = unsigned(job.href)
        alternates = asset.extra_fields.setdefault("alternate", {})
        if isinstance(alternates, dict) and not any(
            isinstance(a, dict) and a.get("href") == origin for a in alternates.values()
        ):
            alternates[ORIGIN] = {"href": origin}
            if ALTERNATE_ASSETS_EXTENSION not in item.stac_extensions:
                item.stac_extensions.append(ALTERNATE_ASSETS_EXTENSION)
        path = str(job.path)
        if os.path.dirname(path) == folder:
            asset.href = os.path.basename(path)
        else:
            asset.href = os.path.relpath(path, folder).replace(os.sep, "/")
        if job.clipped is not None:
            describe_clip(asset, job.clipped, job.path)
    footprints = [job.clipped.footprint for job in done.values() if job.clipped is not None]
    if isinstance(item, pystac.Item) and clip is not None:
        _describe_footprint(item, [f for f in footprints if f is not None])


def absolute_hrefs(item: Owner) -> None:
    """Make the item's relative asset hrefs absolute, against its self href.

    Written items keep relative hrefs (they travel with their files); the
    items returned to the caller point at the files from anywhere.
    """
    start = item.get_self_href()
    if start is None:
        return
    for asset in item.assets.values():
        if not plainly_absolute(asset):
            asset.href = pystac.utils.make_absolute_href(asset.href, start, start_is_dir=False)


def _move(item: Owner, href: str, kept: dict[str, pystac.Asset]) -> None:
    """Set the item's self href; relative hrefs of the ``kept`` assets still lead to their files.

    pystac's set_self_href rewrites every relative asset href of an item, and
    parses every href to find them: it is shown only the kept assets whose
    href may be relative (the others are about to be replaced or dropped).
    """
    assets = item.assets
    item.assets = {key: asset for key, asset in kept.items() if not plainly_absolute(asset)}
    try:
        item.set_self_href(href)
    finally:
        item.assets = assets


def _drop_signatures(asset: pystac.Asset) -> None:
    """Unsign the asset's href and alternates: a written item must carry no SAS or signature."""
    asset.href = unsigned(asset.href)
    alternates = asset.extra_fields.get("alternate")
    if isinstance(alternates, dict):
        for entry in alternates.values():
            if isinstance(entry, dict) and isinstance(entry.get("href"), str):
                entry["href"] = unsigned(entry["href"])


def describe_clip(asset: pystac.Asset, clipped: ClipResult, path: Path) -> None:
    """Make the asset's fields describe the clipped file rather than the source."""
    fields = asset.extra_fields
    grid = {
        "proj:shape": list(clipped.shape),
        "proj:transform": list(clipped.transform),
        "proj:bbox": list(clipped.bbox),
    }
    fields.update(grid)
    asset.media_type = pystac.MediaType.COG
    fields["file:size"] = path.stat().st_size
    if "file:checksum" in fields:
        fields["file:checksum"] = sha256_multihash(path)
    for name in ("raster:bands", "eo:bands", "bands"):
        for band in fields.get(name) or []:
            if isinstance(band, dict):
                # Per-band grids follow the clip; whole-raster statistics no longer hold.
                band.update({key: value for key, value in grid.items() if key in band})
                band.pop("statistics", None)
                band.pop("histogram", None)


def _describe_footprint(item: pystac.Item, footprints: Sequence[BBox]) -> None:
    """Make the item's bbox and geometry those of the clipped files (none leaves them)."""
    if not footprints:
        return
    west, south = min(f[0] for f in footprints), min(f[1] for f in footprints)
    east, north = max(f[2] for f in footprints), max(f[3] for f in footprints)
    item.bbox = [west, south, east, north]
    item.geometry = box((west, south, east, north))
