"""Running a plan: each job's bytes copied (or clipped) by local threads or another executor.

Local jobs run on a :class:`~stac_asset.workers.GrowingPool`; with an
``executor`` (a :mod:`concurrent.futures` pool or a dask.distributed client)
each job is shipped as a :class:`~stac_asset.executors.RemoteJob` and runs
the same :func:`run_job` there.
"""

from __future__ import annotations

import functools
import threading
import warnings
from pathlib import Path
from typing import Any

import pystac

from .config import Config
from .errors import (
    AssetFailure,
    Cancelled,
    DownloadError,
    DownloadWarning,
)
from .executors import RemoteJob, RemoteOutcome, completed, submit
from .express import Express
from .jobs import Started, go_on, run_job, start_job
from .messages import (
    ErrorAssetDownload,
    FinishAssetDownload,
    Progress,
)
from .plan import Job, Plan
from .resolver import Resolver
from .transfer import Fetcher, netloc_of
from .workers import GrowingPool


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

    def work(job: Job | Started) -> None:
        if not isinstance(job, Started):
            run_job(job, fetcher, config, progress)
            return
        try:
            go_on(job, fetcher, progress)  # handed on by the express lane
        finally:
            express.returned()

    def failed_work(job: Job | Started, error: BaseException) -> None:
        failed(job.job if isinstance(job, Started) else job, error)

    limit = _workers(plan, config)
    fetcher = Fetcher(resolver, progress, cancel, config.max_concurrent_per_host)
    express = Express(
        fetcher,
        functools.partial(start_job, fetcher=fetcher, config=config, progress=progress),
        lambda started: pool.add(started),
        failed,
        config.max_concurrent_downloads,
    )
    lane: list[Job] = []
    rest: list[Job | Started] = []
    for job in plan.jobs:
        (lane if express.takes(job) else rest).append(job)
    pool: GrowingPool[Job | Started] = GrowingPool(rest, work, failed_work, limit, more=True)
    fetcher.on_wait = pool.waited
    pool.start()
    try:
        express.run(lane)
        pool.close()
        pool.join()
    except BaseException:
        cancel.set()
        pool.close()
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
