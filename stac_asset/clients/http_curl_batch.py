"""Many GETs at once on one libcurl multi handle, driven by the thread that calls ``step``.

:mod:`stac_asset.clients.http_curl` gives each transfer a multi handle of its
own, read as its caller asks (a thread per transfer). Here every transfer
shares one multi handle and hands its bytes to a :class:`Receiver` as they
arrive, in libcurl's callbacks: one thread keeps hundreds of small files in
flight without the interpreter lock passing between threads at each system
call (see :mod:`stac_asset.express`, which uses it). The multi handle keeps
the connections, shared by all its transfers (HTTP/2 streams multiplexed).

The rules are those of a single GET in :mod:`stac_asset.clients.http_curl`:
the same :class:`~stac_asset.clients.http_curl_options.Settings` set the same
options (redirects not followed, http(s) only, requests' proxy and trust); the
head must come within the timeout and no more than the timeout may pass
between bytes; a body slower than a minimum rate ends as a timeout.
"""

from __future__ import annotations

import select
import threading
import time
from typing import Protocol

import pycurl
import urllib3

from .http_curl import final_head
from .http_curl_errors import CurlError, timed_out
from .http_curl_options import Settings, perform, prepare
from .min_rate import MinRate

IDLE = 256
"""Easy handles kept for reuse between transfers (their options are kept with them)."""

SWEEP = 0.25
"""Seconds between looks for transfers past their timeout."""

_STOPPED = 0  # what a write callback returns to end its transfer (libcurl: write error)


class Receiver(Protocol):
    """What one transfer's answer is handed to, in the thread that drives the batch."""

    def head(self, status: int, reason: str, headers: urllib3.HTTPHeaderDict) -> bool:
        """The final answer's head; False ends the transfer here (its body unread)."""
        ...

    def body(self, data: bytes) -> bool:
        """The next bytes of the body; False ends the transfer here."""
        ...

    def ended(self, error: CurlError | None) -> None:
        """The transfer is over: complete (None), or why not (also after a False above)."""
        ...


class _Transfer:
    __slots__ = (
        "curl", "deadline", "error", "headed", "last", "lines", "rate", "receiver",
        "settings", "timeout", "url",
    )  # fmt: skip

    def __init__(
        self,
        curl: pycurl.Curl,
        url: str,
        settings: Settings,
        receiver: Receiver,
        min_rate: float,
        rate_window: float,
    ) -> None:
        self.curl = curl
        self.url = url
        self.settings = settings
        self.timeout = settings.timeout
        self.receiver = receiver
        self.rate = MinRate(min_rate, rate_window) if min_rate else None
        self.lines: list[bytes] = []
        self.headed = False
        self.error: CurlError | None = None
        self.deadline = time.monotonic() + self.timeout
        """When the transfer times out if no more bytes come."""
        self.last = 0.0
        """When the last bytes came (from the head on)."""

    def write(self, data: bytes) -> int | None:
        now = time.monotonic()
        self.deadline = now + self.timeout
        if not self.headed:
            self.last = now  # the body's rate is measured from its head
            if not self.hand_head():
                return _STOPPED
        if self.rate is not None:
            slow = self.rate.too_slow(len(data), now - self.last)
            self.last = now
            if slow is not None:
                self.error = CurlError(pycurl.E_OPERATION_TIMEDOUT, slow, self.url)
                return _STOPPED
        return None if self.receiver.body(data) else _STOPPED

    def hand_head(self) -> bool:
        """Hand the head over (once); whether the body is wanted."""
        self.headed = True
        head = final_head(self.lines)
        if head is None:  # bytes without a head libcurl took for one: not HTTP
            return False
        return self.receiver.head(*head)


class Batch:
    """GETs in flight together on one multi handle (see the module's description).

    Not thread-safe: one thread adds transfers and calls :meth:`step`.
    """

    def __init__(self) -> None:
        self._multi = pycurl.CurlMulti()
        self._idle: list[tuple[pycurl.Curl, Settings | None]] = []
        self._running: dict[pycurl.Curl, _Transfer] = {}
        self._next_sweep = time.monotonic() + SWEEP
        self._ended = 0
        """Transfers ended so far (a step that ended one does not wait)."""

    def __len__(self) -> int:
        """Transfers in flight."""
        return len(self._running)

    def get(
        self,
        url: str,
        headers: list[str],
        settings: Settings,
        receiver: Receiver,
        min_rate: float = 0.0,
        rate_window: float = 30.0,
    ) -> None:
        """Start a GET of ``url`` with these header lines; its answer goes to ``receiver``.

        With ``min_rate``, a body slower than that many bytes per second
        over ``rate_window`` seconds ends as a timeout.
        """
        curl, configured = self._idle.pop() if self._idle else (pycurl.Curl(), None)
        transfer = _Transfer(curl, url, settings, receiver, min_rate, rate_window)
        prepare(curl, configured, settings, url, headers, transfer.lines.append, transfer.write)
        self._running[curl] = transfer
        self._multi.add_handle(curl)

    def send(self) -> None:
        """Put the GETs started since the last step on the wire now.

        Bytes that came meanwhile are handed to their receivers too; no
        transfer ends here (ends are handed over by :meth:`advance`).
        """
        perform(self._multi)

    def step(self, wait: float) -> None:
        """Move every transfer on; wait up to ``wait`` seconds for a socket to be ready.

        The receivers of transfers that got bytes, or ended, are called from here.
        A step in which a transfer ended does not wait: the caller has a place to
        fill (answers often come together, and the next may be a round trip away).
        """
        if not self.advance() and self._running:
            timer = self._multi.timeout()
            self._multi.select(min(wait, timer / 1000) if timer >= 0 else wait)

    def advance(self) -> bool:
        """Move every transfer on as far as its sockets allow now, without waiting.

        Returns whether a transfer ended.
        """
        multi = self._multi
        before = self._ended
        perform(multi)
        while True:
            queued, finished, failed = multi.info_read()
            for curl in finished:
                self._end(curl, None)
            for curl, code, message in failed:
                transfer = self._running.get(curl)
                url = transfer.url if transfer is not None else ""
                self._end(curl, CurlError(code, message, url))
            if not queued:
                break
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP
            self._sweep(now)
        return self._ended > before

    def waits_on(self) -> tuple[list[tuple[int, int]], float | None]:
        """The sockets to wait on (file descriptor, poll events), and libcurl's next timer (s)."""
        reads, writes, errors = self._multi.fdset()
        events: dict[int, int] = {}
        for fds, event in (
            (reads, select.POLLIN),
            (writes, select.POLLOUT),
            (errors, select.POLLPRI),
        ):
            for fd in fds:
                events[fd] = events.get(fd, 0) | event
        timer = self._multi.timeout()
        return list(events.items()), timer / 1000 if timer >= 0 else None

    def _sweep(self, now: float) -> None:
        """End the transfers whose head, or next bytes, are later than their timeout."""
        late = [transfer for transfer in self._running.values() if transfer.deadline <= now]
        for transfer in late:
            waiting_for = "the body's next bytes" if transfer.headed else "the answer's head"
            self._end(transfer.curl, timed_out(waiting_for, transfer.timeout, transfer.url))

    def _end(self, curl: pycurl.Curl, error: CurlError | None) -> None:
        transfer = self._running.pop(curl, None)
        if transfer is None:
            return
        self._multi.remove_handle(curl)
        self._ended += 1
        if not transfer.headed and (error is None or final_head(transfer.lines) is not None):
            # No body, or none before the connection failed: the head is handed over now.
            wanted = transfer.hand_head()
            if error is None and not wanted:
                error = CurlError(pycurl.E_WRITE_ERROR, "the transfer was ended", transfer.url)
        if transfer.error is not None:
            error = transfer.error  # (libcurl's own says only that a write failed)
        if len(self._idle) < IDLE:
            # Cut short, a handle starts the next transfer reset.
            self._idle.append((curl, transfer.settings if error is None else None))
        else:
            curl.close()
        transfer.receiver.ended(error)

    def stop_all(self) -> None:
        """End every transfer in flight (their receivers are told, with a write error)."""
        for curl in list(self._running):
            error = CurlError(pycurl.E_WRITE_ERROR, "the transfer was stopped", "")
            self._end(curl, error)

    def __reduce__(self) -> tuple[type[Batch], tuple[()]]:
        # Handles and connections stay in their process: another gets a batch of its own.
        return Batch, ()

    def close(self) -> None:
        """Stop what is in flight, and close the handles and the connections they keep."""
        self.stop_all()
        for curl, _ in self._idle:
            curl.close()
        self._idle.clear()
        self._multi.close()


class Batches:
    """The batches of one client, kept between downloads with their connections.

    A download takes one (:meth:`take`) and gives it back when it is over;
    two downloads at once on different threads each get their own.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[Batch] = []

    def take(self) -> Batch:
        """An idle batch (the last given back), or a new one."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return Batch()

    def give(self, batch: Batch) -> None:
        """Take back a batch whose download is over (what it still runs is stopped)."""
        batch.stop_all()
        with self._lock:
            self._idle.append(batch)

    def __reduce__(self) -> tuple[type[Batches], tuple[()]]:
        return Batches, ()

    def close(self) -> None:
        """Close the idle batches and their connections."""
        with self._lock:
            idle, self._idle = self._idle, []
        for batch in idle:
            batch.close()


def step_all(batches: list[Batch], wait: float) -> None:
    """:meth:`Batch.step` for several batches at once: one wait for a socket of any."""
    if len(batches) == 1:
        batches[0].step(wait)
        return
    poll = select.poll()
    ended = False
    for batch in batches:
        ended = batch.advance() or ended
        sockets, timer = batch.waits_on()
        for fd, events in sockets:
            poll.register(fd, events)
        if timer is not None:
            wait = min(wait, timer)
    if any(batches) and not ended:
        poll.poll(max(0.0, wait) * 1000)
