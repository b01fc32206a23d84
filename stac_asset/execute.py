"""Running a plan: each job's bytes copied (or clipped) by local threads or another executor.

Local jobs run on a :class:`~stac_asset.workers.GrowingPool`; with an
``executor`` (a :mod:`concurrent.futures` pool or a dask.distributed client)
each job is shipped as a :class:`~stac_asset.executors.RemoteJob` and runs
the same :func:`run_job` there.
"""

from __future__ import annotations

import logging
import threading
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import pystac

from .access import Access
from .clients import Client
from .clip import ClipResult, clip_to_path
from .config import Config
from .errors import (
    AccessError,
    AssetFailure,
    Cancelled,
    DownloadError,
    DownloadWarning,
    ResolveError,
    TransientError,
)
from .executors import RemoteJob, RemoteOutcome, completed, submit
from .messages import (
    ErrorAssetDownload,
    FinishAssetDownload,
    Progress,
    SkipAssetDownload,
    StartAssetDownload,
)
from .plan import Job, Plan
from .resolver import Resolver
from .transfer import Fetcher, Transfer, netloc_of
from .workers import GrowingPool

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
            client = fetcher.resolver.client_for(job.href, untrusted=job.untrusted)
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
    failures = [_failure(job, job.refused) for job in plan.refused if job.refused]
    if progress:
        for job in plan.refused:
            if job.refused:
                item_id = job.item.id if job.item else None
                progress(ErrorAssetDownload(job.key, job.href, job.path, job.refused, item_id))
    failures += (
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
            job.untrusted,
        )
        futures[submit(executor, run_remote, spec)] = job
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
    pool = GrowingPool(plan.jobs, work, failed, limit)
    fetcher = Fetcher(resolver, progress, cancel, config.max_concurrent_per_host, pool.waited)
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


def run_remote(spec: RemoteJob) -> RemoteOutcome:
    """Do one asset's work on a worker (the same code as on the local thread pool)."""
    job = Job(
        None,
        spec.key,
        pystac.Asset.from_dict(spec.asset),
        spec.href,
        Path(spec.path),
        list(spec.fallbacks),
        spec.clip,
        untrusted=spec.untrusted,
    )
    fetcher = Fetcher(spec.resolver, max_per_host=spec.config.max_concurrent_per_host)
    run_job(job, fetcher, spec.config, None)
    return RemoteOutcome(job.href, job.clipped)
