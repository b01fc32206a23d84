"""Running per-asset work on another executor: a ``concurrent.futures`` pool or dask.distributed.

What is shipped is a :class:`RemoteJob`: plain data, the settings, and the
resolver (its clients pickle as their settings, without live connections,
tokens or credentials, and are one instance per worker process: see
:mod:`stac_asset.clients.shipping`). Credentials and tokens are resolved on
the worker.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .clip import ClipResult
from .clip_spec import Clip
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


def is_distributed(executor: Any) -> bool:
    """Whether ``executor`` is a dask.distributed ``Client``."""
    return type(executor).__module__.split(".")[0] == "distributed"


def submit(executor: Any, work: Callable[[RemoteJob], RemoteOutcome], spec: RemoteJob) -> Any:
    """Submit ``work(spec)``; dask is told the task is impure, so each runs (and reruns)."""
    if is_distributed(executor):
        return executor.submit(work, spec, pure=False)
    return executor.submit(work, spec)


def completed(executor: Any, futures: list[Any]) -> Iterator[Any]:
    """Futures in the order they finish."""
    if is_distributed(executor):
        from distributed import as_completed

        return iter(as_completed(futures))  # type: ignore[no-untyped-call]
    return concurrent.futures.as_completed(futures)
