"""Running per-asset work on another executor: a ``concurrent.futures`` pool or dask.distributed.

What is shipped is a :class:`RemoteJob`: plain data, the settings, and the
resolver (its clients pickle without live connections: pools are rebuilt on
the worker). Credentials and tokens are resolved on the worker.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pystac

from .clip import Clip, ClipResult
from .config import Config
from .resolver import Resolver


@dataclass(frozen=True)
class RemoteJob:
    """One asset's work, as shipped to a worker."""

    key: str
    asset: dict[str, Any]
    href: str
    fallbacks: list[str]
    path: str
    clip: Clip | None
    config: Config
    resolver: Resolver
    untrusted: bool = False


@dataclass(frozen=True)
class RemoteOutcome:
    """What a worker reports back: the href that was read, and the clip's grid."""

    href: str
    clipped: ClipResult | None


def run_remote(spec: RemoteJob) -> RemoteOutcome:
    """Do one asset's work on a worker (the same code as on the local thread pool)."""
    from .download import Job, run_job  # the engine imports this module
    from .transfer import Fetcher

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


def is_distributed(executor: Any) -> bool:
    """Whether ``executor`` is a dask.distributed ``Client``."""
    return type(executor).__module__.split(".")[0] == "distributed"


def submit(executor: Any, spec: RemoteJob) -> Any:
    """Submit one job; dask is told the task is impure, so each runs (and reruns) for real."""
    if is_distributed(executor):
        return executor.submit(run_remote, spec, pure=False)
    return executor.submit(run_remote, spec)


def completed(executor: Any, futures: list[Any]) -> Iterator[Any]:
    """Futures in the order they finish."""
    if is_distributed(executor):
        from distributed import as_completed

        return iter(as_completed(futures))  # type: ignore[no-untyped-call]
    return concurrent.futures.as_completed(futures)
