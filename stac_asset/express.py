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
(:meth:`~stac_asset.clients.HttpClient.batch_request`), and is not known to
be large enough for ranged parts. The lane makes one attempt, redirects
followed, under the host's limit (:mod:`stac_asset.host_limits`). Anything
else goes on to the pool at once, which continues as if it had made that
attempt itself: an error status or a lost connection counts as the first
failure of its retries (``Retry-After`` honoured), so no more requests are
sent than without the lane. Only an answer the lane does not read (coded,
large enough for ranged parts, interim) is asked for again.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import urllib3

from . import ranged
from .checksum import Verifier
from .clients import ByteWriter, HttpClient
from .clients.failures import map_exception
from .clients.http_answer import encoded
from .clients.http_curl_batch import Batch, step_all
from .clients.http_curl_errors import CurlError
from .clients.http_send import CurlRequest, keep_cookies
from .clients.http_stream import raise_for_status
from .clients.http_urls import MAX_REDIRECTS, redirect_target
from .errors import AccessError, Cancelled, TransientError
from .host_limits import OVERLOADED, HostLimit, Slot
from .jobs import Started, report_error, report_finish
from .messages import OpenUrl, Progress, WriteChunk
from .plan import Job
from .transfer import Fetcher, Resume

logger = logging.getLogger(__name__)

WAIT = 0.05
"""Seconds the lane waits on its sockets while jobs wait for a host's place."""


@dataclass
class _Head:
    """An answer's head, as :mod:`stac_asset.clients.http_stream` reads one."""

    status_code: int
    reason: str
    headers: urllib3.HTTPHeaderDict
    url: str

    def close(self) -> None:
        """Nothing to give back: the batch ends the transfer."""


class _Trip:
    """One job's attempt on the lane: the batch's receiver for its answer."""

    def __init__(
        self, lane: Express, started: Started, client: HttpClient, slot: Slot | None
    ) -> None:
        self.lane = lane
        self.started = started
        self.client = client
        self.slot = slot
        self.href = started.transfer.href
        self.access = client.resolve(self.href, started.transfer.asset)
        self.hops = 0
        self.writer: ByteWriter | None = None
        self.verifier = Verifier(started.transfer.size, started.transfer.checksum)
        self.request: CurlRequest | None = None
        self.redirect: str | None = None
        self.validator: str | None = None
        self.failure: BaseException | None = None
        """Why the job failed for good (not retried: verification, the disk, a cancel)."""
        self.prior: AccessError | None = None
        """How the attempt failed, for the pool's retries."""
        self.hand_on = False

    def send(self, url: str | None = None) -> bool:
        """Start the GET (of ``url``, a redirect's hop); False if the client cannot batch it."""
        self.request = self.client.batch_request(self.access, url)
        if self.request is None:
            return False
        client = self.client
        self.lane.batch_of(client).get(
            self.request.url,
            self.request.lines,
            self.request.settings,
            self,
            client.min_rate,
            client.rate_window,
        )
        return True

    def head(self, status: int, reason: str, headers: urllib3.HTTPHeaderDict) -> bool:
        try:
            return self._head(
                _Head(status, reason, headers, self.request.url if self.request else "")
            )
        except BaseException as error:  # noqa: BLE001 - callbacks must not raise into libcurl
            self.failure = error
            return False

    def _head(self, head: _Head) -> bool:
        assert self.request is not None
        keep_cookies(self.client.session, self.request, head.headers)
        name = self.client.name
        if encoded(head):
            self.hand_on = True  # the pool's streams decode a coded body
            return False
        try:
            self.redirect = redirect_target(head, self.href, name)
            if self.redirect is not None:
                return False
            raise_for_status(head, self.href, name)
        except AccessError as error:
            self.prior = error
            return False
        length = head.headers.get("Content-Length", "")
        size = int(length) if length.isdigit() else None
        if head.status_code != 200 or (size is not None and size >= ranged.THRESHOLD):
            self.hand_on = True  # a large object comes as ranged parts
            return False
        self.writer = self.lane.open_writer(self.started)
        self.validator = head.headers.get("ETag") or head.headers.get("Last-Modified")
        progress = self.lane.progress
        if progress:
            progress(OpenUrl(self.href, self.started.job.path, size))
        return True

    def body(self, data: bytes) -> bool:
        try:
            assert self.writer is not None
            self.writer.write(data)
            verifier = self.verifier
            verifier.update(data)
            expected = verifier.expected_size
            if expected is not None and verifier.size > expected:
                verifier.check(self.href)  # not a byte more than the item announced
            progress = self.lane.progress
            if progress:
                progress(WriteChunk(self.href, self.started.job.path, len(data)))
            if self.lane.fetcher.cancel.is_set():
                raise Cancelled(f"cancelled: {self.href}")
        except BaseException as error:  # noqa: BLE001 - callbacks must not raise into libcurl
            self.failure = error
            return False
        return True

    def ended(self, error: CurlError | None) -> None:
        try:
            self._ended(error)
        except BaseException as failure:
            self._close(failure)
            if not isinstance(failure, Exception):
                raise  # Ctrl-C in a callback: the download stops
            self.lane.failed(self.started, failure)

    def _ended(self, error: CurlError | None) -> None:
        if self.failure is not None:
            raise self.failure
        if self.lane.fetcher.cancel.is_set():
            raise Cancelled(f"cancelled: {self.href}")
        if self.redirect is not None:
            self.hops += 1
            if self.hops > MAX_REDIRECTS:
                raise AccessError(
                    self.href, self.client.name, f"more than {MAX_REDIRECTS} redirects"
                )
            url, self.redirect = self.redirect, None
            if self.send(url):
                return
            self.hand_on = True
        elif self.prior is None and not self.hand_on and error is not None:
            mapped = map_exception(error, self.href, self.client.name)
            if mapped is None or not isinstance(mapped, AccessError):
                raise error
            self.prior = mapped
        if self.prior is not None or self.hand_on:
            transfer = self.started.transfer
            if isinstance(self.prior, TransientError) and self.writer and self.verifier.size:
                # Cut mid-body: the pool goes on from the bytes on disk.
                transfer.resume = Resume(self.writer, self.verifier, self.validator)
                self.writer = None
            self._close(self.prior)
            self.lane.hand_on(self.started, self.prior)
            return
        self.verifier.check(self.href)
        assert self.writer is not None
        self.writer.commit()
        self.writer = None
        self._close(None)
        self.lane.finished(self.started)

    def _close(self, failure: BaseException | None) -> None:
        """Let go of the partial file and the host's place, saying how the host answered."""
        if self.writer is not None:
            self.writer.abort()
            self.writer = None
        slot, self.slot = self.slot, None
        if slot is None:
            return
        if isinstance(failure, TransientError):
            # A refused or reset connection (no status) says overloaded, too.
            overloaded = failure.status is None or failure.status in OVERLOADED
            slot.done(overloaded, failure.retry_after)
        else:
            slot.done()


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
        self._waiting = 0
        self._away = 0
        """Jobs handed on whose end the pool has not reported (:meth:`returned`)."""
        self._lock = threading.Lock()

    def takes(self, job: Job) -> bool:
        """Whether the job is the lane's: an HTTP(S) GET to a local file, not known to be large."""
        if job.clip or job.target is not None or job.refused:
            return False
        size = job.asset.extra_fields.get("file:size")
        if isinstance(size, int) and size >= ranged.THRESHOLD:
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
            while pending or self._waiting or self._in_flight():
                if cancel.is_set():
                    break
                self._admit(pending)
                blocked = self._waiting or (pending and self._away)
                self._step(WAIT if blocked else 1.0)
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

    def returned(self) -> None:
        """The pool is done with a job the lane handed on."""
        with self._lock:
            self._away -= 1

    def _in_flight(self) -> int:
        return sum(len(batch) for _, batch in self._batches.values())

    def _step(self, wait: float) -> None:
        batches = [batch for _, batch in self._batches.values()]
        if any(batches):
            step_all(batches, wait)
        else:
            self.fetcher.cancel.wait(min(wait, WAIT))  # the jobs wait for places, or the pool

    def _admit(self, pending: deque[Job]) -> None:
        """Start transfers while the hosts have places, parked jobs first, then new ones."""
        for limit, parked in list(self._parked.items()):
            while parked and self._in_flight() + self._away < self._limit:
                slot = limit.try_acquire()
                if slot is None:
                    break
                waiting, client = parked.popleft()
                self._waiting -= 1
                self._send(waiting, client, slot)
            if not parked:
                del self._parked[limit]
        while pending and self._in_flight() + self._waiting + self._away < self._limit:
            job = pending.popleft()
            try:
                started = self._start(job)
                if started is None:
                    continue
                self._begin(started)
            except Exception as error:  # noqa: BLE001 - every failure is reported
                self._failed(job, error)

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
            self._waiting += 1
            return
        self._send(started, client, slot)

    def _send(self, started: Started, client: HttpClient, slot: Slot | None) -> None:
        try:
            if _Trip(self, started, client, slot).send():
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

    def hand_on(self, started: Started, prior: AccessError | None) -> None:
        """Give the job to the pool, with how the lane's attempt failed (if it did).

        It counts against the lane's limit until the pool calls :meth:`returned`.
        """
        if prior is not None:
            logger.debug("%s; the pool goes on with it", prior)
            started.transfer.first_failure = prior
        with self._lock:
            self._away += 1
        self._hand_on(started)

    def failed(self, started: Started, error: BaseException) -> None:
        """The job failed for good."""
        report_error(started.job, error, self.progress)
        self._failed(started.job, error)

    def finished(self, started: Started) -> None:
        """The job's file is complete and verified, at its final path."""
        report_finish(started.job, self.progress)
