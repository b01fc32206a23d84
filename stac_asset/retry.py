"""Bounded retries with exponential backoff and jitter, shared by every network call."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .errors import TransientError

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failed request is tried again.

    Retries happen on :class:`~stac_asset.errors.TransientError` only
    (connection loss, timeouts, HTTP 429 and 5xx); a ``Retry-After`` from the
    server is honoured up to :attr:`max_delay`.
    """

    max_attempts: int = 5
    """Attempts in all, the first included."""

    base_delay: float = 0.2
    """Delay before the first retry, in seconds; doubles on each further retry."""

    max_delay: float = 20.0
    """The longest single wait, in seconds."""

    max_total: float = 120.0
    """Give up once this many seconds have been spent waiting in all."""

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the ``attempt``-th failure (1-based), with full jitter."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    def pause(self, failures: int, waited: float, retry_after: float | None = None) -> float | None:
        """Seconds to wait before trying again after ``failures`` in a row; None to give up.

        ``waited`` is the time already spent waiting between these attempts.
        """
        delay = self.delay(failures, retry_after)
        if failures >= self.max_attempts or waited + delay > self.max_total:
            return None
        return delay


def call_with_retries(func: Callable[[], T], policy: RetryPolicy) -> T:
    """Call ``func`` until it succeeds, retrying transient errors as ``policy`` allows."""
    waited = 0.0
    attempt = 1
    while True:
        try:
            return func()
        except TransientError as error:
            delay = policy.pause(attempt, waited, error.retry_after)
            if delay is None:
                raise
            logger.info("retrying in %.2fs (attempt %d): %s", delay, attempt + 1, error)
            time.sleep(delay)
            waited += delay
            attempt += 1
