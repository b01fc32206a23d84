"""Planning a download: select assets, name and place their files, check all before a byte moves.

Every check that needs no transfer happens here: file names and paths kept
inside the destination, collisions, and the trust rule (an item from the
network reaches nothing local). A plan that passes them is what the
transfers (:mod:`stac_asset.execute`) run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pystac

from ._secrets import unsigned
from .clip import ClipResult
from .clip_spec import Clip, is_raster
from .config import Config, FileNameStrategy
from .errors import AssetOverwriteError, LocalHrefError, UnsafePathError
from .items import alternates, asset_href, raw_alternates, raw_href
from .paths import check_component, href_file_name, safe_join
from .trust import check_href, is_untrusted, refusal

DERIVED_FROM = "derived_from"
"""The link to the item a written item was made from."""

Owner = pystac.Item | pystac.Collection
"""What owns the assets a download writes: an item, or a collection's own assets."""


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
    untrusted: bool = False
    """Whether the asset's item came from the network (its hrefs must stay off this machine)."""
    refused: LocalHrefError | None = None
    """Why the trust rule refused the job before it started, if it did."""

    @property
    def name(self) -> str:
        """``<item id>/<key>``, or the key alone for an asset without an item."""
        return f"{self.item.id}/{self.key}" if self.item else self.key


@dataclass
class Plan:
    """Every job of a download, checked for unsafe and colliding paths before any byte moves."""

    jobs: list[Job] = field(default_factory=list)
    targets: dict[Path, Job] = field(default_factory=dict)
    refused: list[Job] = field(default_factory=list)
    """Jobs the trust rule refused while planning; they never run and are reported as failed."""

    @property
    def all_jobs(self) -> list[Job]:
        """The jobs to run and those refused, for rewriting the items."""
        return [*self.jobs, *self.refused]

    def add(self, job: Job) -> None:
        """Add a job; two jobs writing the same file is an error naming both."""
        other = self.targets.get(job.path)
        if other is not None:
            raise AssetOverwriteError(
                f"assets {other.name} ({other.href}) and {job.name} ({job.href}) "
                f"would both be written to {job.path}; "
                "use file_name_strategy='key' or on_collision='rename', or exclude one of them"
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


def prepare(item: Owner) -> Owner:
    """A copy of the item with absolute link hrefs and its own self link, safe to rewrite.

    Asset hrefs stay as the item wrote them (the trust rule judges them as
    written); they are made absolute against the self href when planned.
    The copy has a ``derived_from`` link to the item's self href, if it has one.
    """
    copy = item.clone()
    self_href = item.get_self_href()
    if self_href is not None:
        copy.remove_links(pystac.RelType.SELF)
        copy.add_link(pystac.Link.self_href(self_href))
        source = unsigned(self_href)
        # A directory (the CLI's --base dir/) is where the item was, not the item.
        known = source.endswith("/") or any(
            link.rel == DERIVED_FROM and link.href == source for link in copy.links
        )
        if not known:
            copy.add_link(pystac.Link(DERIVED_FROM, source, pystac.MediaType.JSON))
    for link in copy.links:
        if link.rel != pystac.RelType.SELF:
            target = link.get_absolute_href()
            if target is not None:
                link.target = target
    return copy


def plan_item(item: Owner, directory: Path, config: Config, plan: Plan) -> None:
    """Add the selected assets of ``item``, to be written under ``directory``.

    An asset whose href the trust rule refuses (see :mod:`stac_asset.trust`)
    is raised at once with ``fail_fast``, else kept in :attr:`Plan.refused`;
    its alternates that the rule refuses are never tried.
    """
    root = os.path.realpath(directory)
    untrusted = is_untrusted(item, allow_local=config.allow_local, remote_items=config.remote_items)
    for key, asset in item.assets.items():
        if not selected(key, asset, config):
            continue
        href = asset_href(asset, config.alternate_assets)
        if untrusted:
            try:
                check_href(
                    href, raw=raw_href(asset, config.alternate_assets), item=item.id, key=key
                )
            except LocalHrefError as error:
                if config.fail_fast:
                    raise
                plan.refused.append(Job(item, key, asset, href, directory, refused=error))
                continue
        raw = raw_alternates(asset) if untrusted else {}
        fallbacks = [
            absolute
            for name, absolute in alternates(asset).items()
            if absolute != href and not (untrusted and refusal(absolute, raw[name]))
        ]
        clip = config.clip if config.clip and is_raster(href, asset.media_type) else None
        if config.clip and not clip and config.non_raster == "skip":
            continue
        name = file_name(key, href, config)
        if clip:
            name = f"{os.path.splitext(name)[0]}.tif"  # a clip is always a GeoTIFF
        path = safe_join(directory, name, f"asset {key!r}", root)
        if path in plan.targets and config.on_collision == "rename":
            path = path.with_name(f"{path.stem}-{check_component(key, 'asset key')}{path.suffix}")
        plan.add(Job(item, key, asset, href, path, fallbacks, clip, untrusted=untrusted))
