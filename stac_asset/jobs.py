"""One job's life on this machine: started (or skipped), copied with retries, reported.

The worker pool runs a job whole (:func:`run_job`); the express lane
(:mod:`stac_asset.express`) starts jobs itself and hands those it cannot
finish to the pool, which goes on from there (:func:`go_on`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from .access import Access
from .clients import Client
from .clip import ClipResult, clip_to_path
from .config import Config
from .errors import AccessError, Cancelled, ResolveError, TransientError
from .messages import (
    ErrorAssetDownload,
    FinishAssetDownload,
    Progress,
    SkipAssetDownload,
    StartAssetDownload,
)
from .plan import Job
from .transfer import Fetcher, Transfer

logger = logging.getLogger(__name__)


def _transfer(job: Job) -> Transfer:
    size = job.asset.extra_fields.get("file:size")
    checksum = job.asset.extra_fields.get("file:checksum")
    return Transfer(
        job.href,
        job.asset,
        size=size if isinstance(size, int) else None,
        checksum=checksum if isinstance(checksum, str) else None,
        untrusted=job.untrusted,
    )


@dataclass
class Started:
    """A job past its start: not skipped, its start reported, its target resolved."""

    job: Job
    transfer: Transfer
    target: str
    resolved: tuple[Client, Access] | None
    """The target's client and access (None with ``overwrite``: resolved when copying)."""


def run_job(job: Job, fetcher: Fetcher, config: Config, progress: Progress | None) -> None:
    """Download (or clip) one asset, or skip it when a complete file is already there."""
    started = start_job(job, fetcher, config, progress)
    if started is not None:
        go_on(started, fetcher, progress)


def start_job(
    job: Job, fetcher: Fetcher, config: Config, progress: Progress | None
) -> Started | None:
    """Skip the job if a complete file is already there (None); else report its start."""
    if fetcher.cancel.is_set():
        raise Cancelled(f"cancelled before start: {job.href}")
    # A clip's size and checksum are not the source's: any file left there by a
    # previous run is complete (partial files never sit at a final path).
    transfer = replace(_transfer(job), size=None, checksum=None) if job.clip else _transfer(job)
    target = job.target or str(job.path)
    # The target is resolved once, for the check and the copy.
    resolved = None if config.overwrite else fetcher.target(target)
    if resolved is not None and fetcher.is_complete(transfer, target, resolved):
        logger.debug("skipping %s: complete file at %s", job.href, job.path)
        if progress:
            progress(SkipAssetDownload(job.key, job.href, job.path, _item_id(job)))
        if job.clip:
            job.clipped = ClipResult.of_file(job.path)
        job.done = True
        return None
    if progress:
        progress(StartAssetDownload(job.key, job.href, job.path, _item_id(job)))
    return Started(job, transfer, target, resolved)


def go_on(started: Started, fetcher: Fetcher, progress: Progress | None) -> None:
    """Copy (or clip) a started job's asset, retrying and resuming; report how it ended."""
    job = started.job
    try:
        if job.clip:
            client = fetcher.resolver.client_for(job.href, untrusted=job.untrusted)
            access = client.resolve(job.href, job.asset)
            what = f"asset {job.name}"
            job.clipped = clip_to_path(access, job.path, job.clip, what, client, job.asset)
        else:
            _copy_with_fallbacks(job, started.transfer, fetcher, started.target, started.resolved)
    except BaseException as error:
        report_error(job, error, progress)
        raise
    report_finish(job, progress)


def report_error(job: Job, error: BaseException, progress: Progress | None) -> None:
    """Report that the job failed."""
    if progress:
        progress(ErrorAssetDownload(job.key, job.href, job.path, error, _item_id(job)))


def report_finish(job: Job, progress: Progress | None) -> None:
    """Mark the job done, and report it."""
    job.done = True
    if progress:
        progress(FinishAssetDownload(job.key, job.href, job.path, _item_id(job)))


def _item_id(job: Job) -> str | None:
    return job.item.id if job.item else None


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
            fetcher.copy(transfer.of_href(href), target, job.path, resolved)
        except (AccessError, ResolveError) as error:
            logger.info("alternate %s of %s failed too: %s", href, job.name, error)
            continue
        logger.info("%s: %s failed (%s); used alternate %s", job.name, job.href, first_error, href)
        job.href = href
        return
    raise first_error
