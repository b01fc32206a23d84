"""Downloading items and item collections: select assets, lay out files, fetch, rewrite items.

This is the one engine; :mod:`stac_asset.blocking` calls it directly and the
async functions of :mod:`stac_asset` await it in a thread pool.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import pystac

from ._secrets import logger, unsigned
from .access import Access
from .checksum import sha256_multihash
from .clients import Client
from .clip import Clip, ClipResult, clip_to_path, is_raster
from .config import Config, FileNameStrategy
from .errors import (
    AccessError,
    AssetFailure,
    AssetOverwriteError,
    DownloadError,
    DownloadWarning,
    ResolveError,
    TransientError,
    UnsafePathError,
)
from .executors import RemoteJob, completed, submit
from .geometry import BBox, clip_geometry, intersect_bbox
from .items import alternates, asset_href
from .messages import (
    ErrorAssetDownload,
    FinishAssetDownload,
    Progress,
    SkipAssetDownload,
    StartAssetDownload,
)
from .paths import check_component, href_file_name, safe_join
from .resolver import Resolver, plainly_absolute
from .transfer import Cancelled, Fetcher, Transfer, netloc_of
from .workers import GrowingPool

ALTERNATE_ASSETS_EXTENSION = "https://stac-extensions.github.io/alternate-assets/v1.2.0/schema.json"
ORIGIN = "origin"
"""The ``alternate`` name under which a downloaded asset keeps its original href."""

Owner = pystac.Item | pystac.Collection
"""What owns the assets a download writes: an item, or a collection's own assets."""
OwnerT = TypeVar("OwnerT", pystac.Item, pystac.Collection)


@dataclass
class Job:
    """One asset of one item, with the path it is written to."""

    item: Owner | None
    key: str
    asset: pystac.Asset
    href: str
    path: Path
    fallbacks: list[str] = field(default_factory=list)
    """Alternate hrefs tried, in order, when ``href`` cannot be read."""
    clip: Clip | None = None
    """The cut to make, for a raster asset of a windowed copy."""
    clipped: ClipResult | None = None
    """The grid of the clipped file, once written."""
    target: str | None = None
    """Where the bytes go when not to :attr:`path` itself (an object store's href)."""
    done: bool = False

    @property
    def name(self) -> str:
        """``<item id>/<key>``, or the key alone for an asset without an item."""
        return f"{self.item.id}/{self.key}" if self.item else self.key


@dataclass
class Plan:
    """Every job of a download, checked for unsafe and colliding paths before any byte moves."""

    jobs: list[Job] = field(default_factory=list)
    targets: dict[Path, Job] = field(default_factory=dict)

    def add(self, job: Job) -> None:
        """Add a job; two jobs writing the same file is an error naming both."""
        other = self.targets.get(job.path)
        if other is not None:
            raise AssetOverwriteError(
                f"assets {other.name} ({other.href}) and {job.name} ({job.href}) "
                f"would both be written to {job.path}; "
                "use file_name_strategy='key' or exclude one of them"
            )
        self.targets[job.path] = job
        self.jobs.append(job)


def selected(key: str, asset: pystac.Asset, config: Config) -> bool:
    """Whether include/exclude (by key or role) let this asset through."""
    names = {key, *(asset.roles or [])}
    if config.include:
        return bool(names & set(config.include))
    return not names & set(config.exclude)


def file_name(key: str, href: str, config: Config) -> str:
    """The file name of an asset in its directory, from its href or its key."""
    from_href = href_file_name(href)
    if config.file_name_strategy == FileNameStrategy.KEY:
        suffix = os.path.splitext(from_href)[1]
        return check_component(f"{key}{suffix}", "asset key")
    if not from_href:
        raise UnsafePathError(f"href {href!r} has no file name; use file_name_strategy='key'")
    return check_component(from_href, "file name from href")


def prepare(item: OwnerT) -> OwnerT:
    """A copy of the item with absolute link and asset hrefs, safe to rewrite."""
    copy = item.clone()
    self_href = item.get_self_href()
    if self_href is not None:
        _move(copy, self_href, copy.assets)
    for link in copy.links:
        if link.rel != pystac.RelType.SELF:
            target = link.get_absolute_href()
            if target is not None:
                link.target = target
    return copy


def plan_item(item: Owner, directory: Path, config: Config, plan: Plan) -> None:
    """Add the selected assets of ``item``, to be written under ``directory``."""
    root = os.path.realpath(directory)
    for key, asset in item.assets.items():
        if not selected(key, asset, config):
            continue
        href = asset_href(asset, config.alternate_assets)
        clip = config.clip if config.clip and is_raster(href, asset.media_type) else None
        if config.clip and not clip and config.non_raster == "skip":
            continue
        name = file_name(key, href, config)
        if clip:
            name = f"{os.path.splitext(name)[0]}.tif"  # a clip is always a GeoTIFF
        path = safe_join(directory, name, f"asset {key!r}", root)
        if path in plan.targets and config.on_collision == "rename":
            path = path.with_name(f"{path.stem}-{check_component(key, 'asset key')}{path.suffix}")
        fallbacks = [h for h in alternates(asset).values() if h != href]
        plan.add(Job(item, key, asset, href, path, fallbacks, clip))


def _transfer(job: Job) -> Transfer:
    size = job.asset.extra_fields.get("file:size")
    checksum = job.asset.extra_fields.get("file:checksum")
    return Transfer(
        job.href,
        job.asset,
        size=size if isinstance(size, int) else None,
        checksum=checksum if isinstance(checksum, str) else None,
    )


def run_job(job: Job, fetcher: Fetcher, config: Config, progress: Progress | None) -> None:
    """Download (or clip) one asset, or skip it when a complete file is already there."""
    if fetcher.cancel.is_set():
        raise Cancelled(f"cancelled before start: {job.href}")
    # A clip's size and checksum are not the source's: any file left there by a
    # previous run is complete (partial files never sit at a final path).
    transfer = replace(_transfer(job), size=None, checksum=None) if job.clip else _transfer(job)
    item_id = job.item.id if job.item else None
    target = job.target or str(job.path)
    # The target is resolved once, for the check and the copy.
    resolved = None if config.overwrite else fetcher.target(target)
    if resolved is not None and fetcher.is_complete(transfer, target, resolved):
        logger.debug("skipping %s: complete file at %s", job.href, job.path)
        if progress:
            progress(SkipAssetDownload(job.key, job.href, job.path, item_id))
        if job.clip:
            job.clipped = ClipResult.of_file(job.path)
        job.done = True
        return
    if progress:
        progress(StartAssetDownload(job.key, job.href, job.path, item_id))
    try:
        if job.clip:
            client = fetcher.resolver.client_for(job.href)
            access = client.resolve(job.href, job.asset)
            what = f"asset {job.name}"
            job.clipped = clip_to_path(access, job.path, job.clip, what, client, job.asset)
        else:
            _copy_with_fallbacks(job, transfer, fetcher, target, resolved)
    except BaseException as error:
        if progress:
            progress(ErrorAssetDownload(job.key, job.href, job.path, error, item_id))
        raise
    job.done = True
    if progress:
        progress(FinishAssetDownload(job.key, job.href, job.path, item_id))


def _copy_with_fallbacks(
    job: Job,
    transfer: Transfer,
    fetcher: Fetcher,
    target: str,
    resolved: tuple[Client, Access] | None,
) -> None:
    """Copy the job's href to ``target``, or else the first of its alternates that can be read."""
    try:
        fetcher.copy(transfer, target, job.path, resolved)
        return
    except (AccessError, ResolveError) as error:
        if not job.fallbacks or isinstance(error, TransientError):
            raise
        first_error = error
    for href in job.fallbacks:
        try:
            fetcher.copy(replace(transfer, href=href), target, job.path, resolved)
        except (AccessError, ResolveError) as error:
            logger.info("alternate %s of %s failed too: %s", href, job.name, error)
            continue
        logger.info("%s: %s failed (%s); used alternate %s", job.name, job.href, first_error, href)
        job.href = href
        return
    raise first_error


def execute(
    plan: Plan,
    resolver: Resolver,
    config: Config,
    progress: Progress | None,
    executor: Any = None,
) -> None:
    """Run every job, at most ``config.max_concurrent_downloads`` at a time (or on ``executor``).

    Raises :class:`DownloadError` listing every failed asset (or, with
    ``fail_fast``, the first failure after cancelling the rest); with
    ``warn``, each failure is a :class:`DownloadWarning` instead.
    """
    failures = (
        _execute_on(executor, plan, resolver, config, progress)
        if executor is not None
        else _execute_here(plan, resolver, config, progress)
    )
    if failures:
        if config.fail_fast:
            raise failures[0].error
        if config.warn:
            for failure in failures:
                warnings.warn(DownloadWarning(failure), stacklevel=2)
            return
        raise DownloadError(failures)


def _failure(job: Job, error: BaseException) -> AssetFailure:
    return AssetFailure(job.item.id if job.item else None, job.key, job.href, error)


def _execute_on(
    executor: Any, plan: Plan, resolver: Resolver, config: Config, progress: Progress | None
) -> list[AssetFailure]:
    """Ship each job to ``executor``'s workers; events are reported as jobs come back."""
    futures = {}
    for job in plan.jobs:
        spec = RemoteJob(
            job.key,
            job.asset.to_dict(),
            job.href,
            job.fallbacks,
            str(job.path),
            job.clip,
            config,
            resolver,
        )
        futures[submit(executor, spec)] = job
    failures: list[AssetFailure] = []
    try:
        for future in completed(executor, list(futures)):
            job = futures[future]
            item_id = job.item.id if job.item else None
            try:
                outcome = future.result()
            except Exception as error:  # noqa: BLE001 - every failure is reported
                failures.append(_failure(job, error))
                if progress:
                    progress(ErrorAssetDownload(job.key, job.href, job.path, error, item_id))
                if config.fail_fast:
                    break
                continue
            job.href, job.clipped, job.done = outcome.href, outcome.clipped, True
            if progress:
                progress(FinishAssetDownload(job.key, job.href, job.path, item_id))
    finally:
        for future in futures:
            future.cancel()
    return failures


def _execute_here(
    plan: Plan, resolver: Resolver, config: Config, progress: Progress | None
) -> list[AssetFailure]:
    """Run the jobs on local threads (see :mod:`stac_asset.workers`)."""
    cancel = threading.Event()
    failures: list[AssetFailure] = []

    def failed(job: Job, error: BaseException) -> None:
        if isinstance(error, Cancelled):
            return
        failures.append(_failure(job, error))
        if config.fail_fast:
            cancel.set()

    def work(job: Job) -> None:
        run_job(job, fetcher, config, progress)

    limit = _workers(plan, config)
    # With no more threads than a host has slots, no host ever waits for one.
    per_host = config.max_concurrent_per_host if limit > config.max_concurrent_per_host else None
    pool = GrowingPool(plan.jobs, work, failed, limit)
    fetcher = Fetcher(resolver, progress, cancel, per_host, pool.waited)
    pool.start()
    try:
        pool.join()
    except BaseException:
        cancel.set()
        pool.join()
        raise
    return failures


def _workers(plan: Plan, config: Config) -> int:
    """The most threads the pool may grow to: every host's slots, within the overall limit."""
    if any(job.clip for job in plan.jobs):
        return config.max_concurrent_downloads  # clips do not take host slots
    known: dict[str, str] = {}
    hosts = {netloc_of(href, known) for job in plan.jobs for href in (job.href, *job.fallbacks)}
    return max(1, min(config.max_concurrent_downloads, config.max_concurrent_per_host * len(hosts)))


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
    grid and the item's bbox and geometry are cut to the clip's bbox (a pixel
    window leaves them as they are).
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
    if isinstance(item, pystac.Item) and clip is not None and (bbox := clip.bbox_wgs84()):
        _intersect_item(item, bbox)


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


def _intersect_item(item: pystac.Item, bbox: BBox) -> None:
    """Shrink the item's bbox and geometry to the clip (a miss leaves them as they were)."""
    if item.bbox is None or item.geometry is None:
        return
    flat = [item.bbox[i] for i in (0, 1, 3, 4)] if len(item.bbox) == 6 else item.bbox
    box = intersect_bbox(flat, bbox)
    geometry = clip_geometry(item.geometry, bbox)
    if box is not None and geometry is not None:
        item.bbox = list(box)
        item.geometry = geometry
