"""The express lane: plain HTTP(S) GETs into local files, hundreds at once on one thread.

Each worker thread of the pool (:mod:`stac_asset.workers`) passes the
interpreter lock on at every system call of its transfer; with many threads
waiting on a far server, small files cost more in hand-overs than in work
(1,000 files of 10 KiB 20 ms away: ~0.6 ms of CPU per file on 64 threads,
~0.15 ms on one). Here the thread that runs the download drives every such
transfer through one libcurl multi handle
(:mod:`stac_asset.clients.http_curl_batch`), writing bytes to the partial
file and the verifier as they arrive.

A job takes the lane when its asset goes to a local file from a client that
sends as :class:`~stac_asset.clients.HttpClient` does
(:meth:`~stac_asset.clients.HttpClient.batch_request`). The lane makes one
attempt, redirects followed, under the host's limit
(:mod:`stac_asset.host_limits`); a large body is written and hashed on other
threads as it arrives (:mod:`stac_asset.express_offload`). Anything else goes
on to the worker pool, which continues as if it had made that attempt
itself: an error status or a lost connection counts as the first failure of
its retries (the pause before the next attempt is waited here, not on a
thread; ``Retry-After`` honoured), a body cut midway goes on from the bytes on
disk, an object large enough for ranged parts (:mod:`stac_asset.ranged`) is
fetched as parts from the size and version the lane's answer gave. So no
more requests are sent than without the lane, but for a body under a
content coding, which the pool asks for again to decode it.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

from .clients import ByteWriter, HttpClient
from .clients.http_curl_batch import Batch, step_all
from .errors import AccessError, TransientError
from .express_attempt import Trip
from .express_offload import Offloader
from .host_limits import HostLimit, Slot
from .jobs import Started, report_error, report_finish
from .messages import Progress
from .plan import Job
from .transfer import Fetcher

logger = logging.getLogger(__name__)

WAIT = 0.05
"""Seconds the lane waits on its sockets while jobs wait for a host's place."""

SEND_EVERY = 8
"""GETs the lane starts before it puts them on the wire (see :meth:`Express._admit`)."""

WRITERS = 4
"""Threads at most that write and hash large bodies (see :mod:`stac_asset.express_offload`)."""


class Express:
    """Runs the jobs it takes on the calling thread (see the module's description).

    ``start(job)`` starts a job (None: skipped); ``hand_on(started)`` gives
    the pool a job to go on with; ``failed(job, error)`` records a job that
    failed for good. At most ``limit`` transfers are in flight, and jobs
    waiting for a host's place.
    """

    def __init__(
        self,
        fetcher: Fetcher,
        start: Callable[[Job], Started | None],
        hand_on: Callable[[Started], None],
        failed: Callable[[Job, BaseException], None],
        limit: int,
    ) -> None:
        self.fetcher = fetcher
        self.progress: Progress | None = fetcher.progress
        self._start = start
        self._hand_on = hand_on
        self._failed = failed
        self._limit = max(1, limit)
        self._batches: dict[int, tuple[HttpClient, Batch]] = {}
        self._parked: dict[HostLimit, deque[tuple[Started, HttpClient]]] = {}
        """Jobs waiting for a place at their host, per host (no empty queue kept)."""
        self._away = 0
        """Jobs handed on whose end the pool has not reported (:meth:`returned`)."""
        self._later: list[tuple[float, int, Started]] = []
        """Jobs handed on after a transient failure, waiting for their pause to pass."""
        self._order = itertools.count()
        self.offloader = Offloader(WRITERS)
        """The threads that write and hash large bodies."""
        self._lock = threading.Lock()

    def takes(self, job: Job) -> bool:
        """Whether the job is the lane's: an HTTP(S) GET to a local file."""
        if job.clip or job.target is not None or job.refused:
            return False
        try:
            client = self.fetcher.resolver.client_for(job.href, untrusted=job.untrusted)
        except Exception:  # noqa: BLE001 - the pool reports it
            return False
        return isinstance(client, HttpClient) and client.batches

    def batch_of(self, client: HttpClient) -> Batch:
        """The batch that sends ``client``'s GETs (taken from it, with its connections)."""
        entry = self._batches.get(id(client))
        if entry is None:
            entry = self._batches[id(client)] = (client, client.take_batch())
        return entry[1]

    def run(self, jobs: Iterable[Job]) -> None:
        """Run the jobs to their end here, or hand them on; returns when none is left."""
        pending = deque(jobs)
        cancel = self.fetcher.cancel
        try:
            while pending or self._parked or self._later or self._in_flight():
                if cancel.is_set():
                    break
                due = self._hand_on_due()
                self._admit(pending)
                blocked = self._parked or (pending and self._away)
                wait = WAIT if blocked else 1.0
                self._step(wait if due is None else min(wait, due))
        except BaseException:
            cancel.set()  # interrupted: the download stops
            raise
        finally:
            for client, batch in self._batches.values():
                batch.stop_all()  # each transfer cut short lets its partial file go
                client.give_batch(batch)
            self._batches.clear()
            for parked in self._parked.values():
                for started, _ in parked:
                    self.hand_on(started, None)  # the pool reports them cancelled
            self._parked.clear()
            self._hand_on_due()
            self.offloader.close()

    def returned(self) -> None:
        """The pool is done with a job the lane handed on."""
        with self._lock:
            self._away -= 1

    def _waiting(self) -> int:
        return sum(len(jobs) for jobs in self._parked.values())

    def _in_flight(self) -> int:
        return sum(len(batch) for _, batch in self._batches.values())

    def _step(self, wait: float) -> None:
        batches = [batch for _, batch in self._batches.values()]
        if any(batches):
            step_all(batches, wait)
        else:
            self.fetcher.cancel.wait(wait)  # for places, a pause, or the pool

    def _admit(self, pending: deque[Job]) -> None:
        """Start transfers while the hosts have places, parked jobs first, then new ones.

        Answers often come many at once (sent together, a round trip ago); the
        GETs that take their places go on the wire :data:`SEND_EVERY` at a time,
        not after all are prepared: the first are on their way while the rest
        are, and the next answers come spread out.
        """
        started_here = 0
        for limit, parked in list(self._parked.items()):
            while parked and self._in_flight() + self._away < self._limit:
                slot = limit.try_acquire()
                if slot is None:
                    break
                waiting, client = parked.popleft()
                self._send(waiting, client, slot)
                started_here = self._sent(started_here + 1)
            if not parked:
                del self._parked[limit]
        while pending and self._in_flight() + self._waiting() + self._away < self._limit:
            job = pending.popleft()
            try:
                started = self._start(job)
                if started is None:
                    continue
                self._begin(started)
            except Exception as error:  # noqa: BLE001 - every failure is reported
                self._failed(job, error)
            started_here = self._sent(started_here + 1)

    def _sent(self, count: int) -> int:
        """Count a GET started; every :data:`SEND_EVERY`, put those on the wire."""
        if count < SEND_EVERY:
            return count
        for _, batch in self._batches.values():
            batch.send()
        return 0

    def _begin(self, started: Started) -> None:
        href = started.transfer.href
        client = self.fetcher.resolver.client_for(href, untrusted=started.transfer.untrusted)
        if not isinstance(client, HttpClient):
            self.hand_on(started, None)
            return
        limit = self.fetcher.host_limit(href, client)
        slot = limit.try_acquire() if limit is not None else None
        if limit is not None and slot is None:
            self._parked.setdefault(limit, deque()).append((started, client))
            return
        self._send(started, client, slot)

    def _send(self, started: Started, client: HttpClient, slot: Slot | None) -> None:
        try:
            if Trip(self, started, client, slot).send():
                return
        except Exception as error:  # noqa: BLE001 - every failure is reported
            if slot is not None:
                slot.done()
            self.failed(started, error)
            return
        if slot is not None:
            slot.done()
        self.hand_on(started, None)  # the client cannot batch this GET

    def open_writer(self, started: Started) -> ByteWriter:
        """The partial file the job's bytes go to."""
        client, access = started.resolved or self.fetcher.target(started.target)
        media_type = started.job.asset.media_type
        return client.open_writer(access, media_type)

    def hand_on(
        self, started: Started, prior: AccessError | None, client: HttpClient | None = None
    ) -> None:
        """Give the job to the pool, with how the lane's attempt failed (if it did).

        After a transient failure the job waits here (not on a thread of the
        pool) for the pause its client's retry policy asks, then the pool
        makes the next attempt at once. It counts against the lane's limit
        until the pool calls :meth:`returned`.
        """
        with self._lock:
            self._away += 1
        if prior is None:
            self._hand_on(started)
            return
        started.transfer.first_failure = prior
        pause = None
        if isinstance(prior, TransientError) and client is not None:
            pause = client.retry.pause(1, 0.0, prior.retry_after)
        if pause is None:
            logger.debug("%s; the pool goes on with it", prior)
            self._hand_on(started)
            return
        logger.info("%s; retrying from byte %d in %.2fs", prior, _written(started), pause)
        started.transfer.first_wait = pause
        heapq.heappush(self._later, (time.monotonic() + pause, next(self._order), started))

    def _hand_on_due(self) -> float | None:
        """Hand on the jobs whose pause has passed; seconds until the next one's, if any."""
        later = self._later
        now = time.monotonic()
        while later and (later[0][0] <= now or self.fetcher.cancel.is_set()):
            self._hand_on(heapq.heappop(later)[2])
        return later[0][0] - now if later else None

    def failed(self, started: Started, error: BaseException) -> None:
        """The job failed for good."""
        report_error(started.job, error, self.progress)
        self._failed(started.job, error)

    def finished(self, started: Started) -> None:
        """The job's file is complete and verified, at its final path."""
        report_finish(started.job, self.progress)


def _written(started: Started) -> int:
    """The bytes a job handed on has on disk already."""
    resume = started.transfer.resume
    return resume.verifier.size if resume is not None else 0
