"""The one path of every download and copy: check and plan all, transfer, rewrite, write.

:func:`download_owners` serves ``download_item``, ``copy_item``,
``download_item_collection`` and ``download_collection`` alike (the faces in
:mod:`stac_asset.blocking` and their coroutine twins only name what goes
where); :func:`download_one` serves ``download_asset`` and ``download_file``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pystac

from .config import Config
from .destination import Destination
from .errors import DirectoryNotFoundError, DownloadError, StacAssetError
from .execute import execute
from .items import checked_href
from .messages import as_callback
from .plan import Job, Owner, Plan, plan_item, prepare
from .resolver import Resolver
from .rewrite import absolute_hrefs, describe_clip, rewrite
from .transfer import Fetcher

PathLike = str | os.PathLike[str]


@dataclass
class Placed:
    """One item (or collection) of a download: its copy, its files' directory, its JSON file."""

    owner: Owner
    """The copy that is rewritten and returned (the caller's item is never modified)."""
    root: Path
    """The directory its asset files are planned in."""
    json_path: Path
    """Its JSON file, which its self href names afterwards."""


Layout = Callable[[Path, Owner], tuple[Path, Path]]
"""For the destination root and a prepared copy: its files' directory and its JSON file."""


def destination_of(target: PathLike, settings: Config) -> Destination:
    """The checked destination of a download (created only when bytes are about to move)."""
    destination = Destination.of(target, settings)
    if settings.clip is not None and not destination.is_local:
        raise StacAssetError(
            "windowed copies (bbox=, window=) are written to local directories only"
        )
    return destination


def download_owners(
    owners: Sequence[Owner],
    destination: Destination,
    layout: Layout,
    settings: Config,
    resolver: Resolver,
    *,
    write_json: bool,
    keep_non_downloaded: bool,
    messages: Any = None,
    executor: Any = None,
    collection_file: Path | None = None,
) -> tuple[list[Placed], DownloadError | None]:
    """Download the assets of ``owners`` and write each one's JSON beside its files.

    Everything that can be checked is, before the destination is created or
    a byte moves: names and paths, collisions, the trust rule. Then every
    asset is transferred together; each owner is rewritten to point at its
    files (relative hrefs, origins kept, signatures dropped) and, unless some
    asset failed, written; with ``collection_file``, so is the item
    collection (each feature is its item file). The returned copies have
    absolute hrefs. A failure (keep-going) is returned, for the face to
    attach what did arrive; with ``fail_fast`` the first error is raised.
    """
    placed = []
    for owner in owners:
        copy = prepare(owner)
        placed.append(Placed(copy, *layout(destination.root, copy)))
    plan = Plan()
    for entry in placed:
        plan_item(entry.owner, entry.root, settings, plan)
    if not destination.is_local:
        for job in plan.jobs:
            job.target = destination.href(job.path)
    destination.create()
    failure: DownloadError | None = None
    try:
        execute(plan, resolver, settings, as_callback(messages), executor)
    except DownloadError as error:
        failure = error
    jobs: dict[int, list[Job]] = {}
    for job in plan.all_jobs:
        jobs.setdefault(id(job.item), []).append(job)
    fetcher = Fetcher(resolver)
    # What did arrive keeps its failed assets (unsigned) for callers that keep going.
    keep_failed = settings.keep_failed or failure is not None
    for entry in placed:
        owner = entry.owner
        rewrite(
            owner,
            jobs.get(id(owner), []),
            entry.json_path,
            keep_non_downloaded,
            settings.clip,
            keep_failed,
        )
        # pystac's set_self_href would also rewrite the (already right) relative asset hrefs.
        link = owner.get_single_link(pystac.RelType.SELF)
        if link is not None:
            link.target = destination.href(entry.json_path)
        if write_json and failure is None:
            destination.write_json(owner.to_dict(transform_hrefs=False), entry.json_path, fetcher)
    if collection_file is not None and failure is None:
        items = pystac.ItemCollection(
            [e.owner for e in placed if isinstance(e.owner, pystac.Item)], clone_items=False
        )
        destination.write_json(items.to_dict(transform_hrefs=False), collection_file, fetcher)
    for entry in placed:
        absolute_hrefs(entry.owner)
    return placed, failure


def download_one(
    key: str,
    asset: pystac.Asset,
    path: PathLike,
    settings: Config,
    resolver: Resolver,
    messages: Any = None,
) -> pystac.Asset:
    """Download (or clip) one asset to ``path``; a copy of the asset pointing there."""
    target = Path(path).absolute()
    if not settings.make_directory and not target.parent.is_dir():
        raise DirectoryNotFoundError(str(target.parent))
    owner = asset.owner if isinstance(asset.owner, (pystac.Item, pystac.Collection)) else None
    href, untrusted = checked_href(asset, resolver, settings.alternate_assets)
    job = Job(owner, key, asset, href, target, clip=settings.clip, untrusted=untrusted)
    plan = Plan()
    plan.add(job)
    execute(plan, resolver, settings, as_callback(messages))
    result = asset.clone()
    result.href = str(target)
    if job.clipped is not None:
        describe_clip(result, job.clipped, target)
    return result
