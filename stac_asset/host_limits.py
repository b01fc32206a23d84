"""How many requests go to one host at once: adapted to how the host answers.

Each host starts with :data:`START` requests in flight and grows from there
by one per answer to a request during which every place was taken (slow
start: doubling per round trip) up to the ceiling. A sign that the host is
overloaded (HTTP 429 or 503, S3's ``SlowDown``, which is a 503, a connection
reset or refused) sets it to half of what was in flight when the refused
request went out (the limit may have grown since, on answers to earlier
ones), once per round of requests (answers to requests sent before the cut
do not cut again), or lower, to what the host took of a burst it refused in
part (see below); the fewest requests in flight at which it happened
becomes a mark the limit then grows back to, by one per round trip, and
stays under; after :data:`PROBE_AFTER` seconds without such a sign the mark
moves up by one, so a host that got faster is found out. The limit is
brought under the mark at once (a refusal from an earlier round can lower
the mark below it). A ``Retry-After`` pauses every new request to that host
until it has passed, and makes the halved limit the mark: probing back up
costs another pause, and our count runs ahead of the host's by the answers
not yet read.

Slow start also ends when doubling stops paying (:mod:`stac_asset.slow_start`):
each round of answers (as many as the limit allowed when it began, about a
round trip while every place is taken) is timed, and after two rounds in a
row that did not bring a quarter more than the best answers per second so
far, the host (or its link) is taken to be busy: the mark is set a little
past the best round, as if the host had said so there, and probed from
there as above. So
a high ceiling costs a small or busy server nothing: 20 ms away, a host that
can answer 2,800 requests a second (56 in flight get them all) stops at 80,
whether the ceiling is 128 or 256.

Requests sent together, with no answer between them (a burst: the places one
poll of the express lane freed, or a pause's end), reach the host in any
order, so each counts as sent with all of them: the one counted first may be
the one the host refused (counted alone, it once put the mark at 1 after a
pause, and the host's files came one at a time). And of a burst the host
refused in part, it took at most the rest: a host that takes 8 at a time
refuses 56 of the first 64, and the limit goes to 8 at once, not to 32 and
another round of refusals. Only answers (429, 503) count so: a connection
refused or reset says nothing of what the host takes (one that is down
takes none, and more when it is back), and only halves.

The ceiling is the caller's (``max_concurrent_per_host``); see
:data:`~stac_asset.config.DEFAULT_MAX_CONCURRENT_PER_HOST` for its default.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .errors import TransientError
from .slow_start import GAIN, Rounds

START = 64
"""Requests in flight to a new host, before it has answered.

Servers are built to take this many from one client: HTTP/2 recommends
that servers take at least 100 requests at once on one connection (nginx:
128), and stac-asset 0.4 sent 100 from the first. Starting at 8 cost three more round
trips of slow start: a fifth of 1,000 small files 20 ms away (0.33 s against
0.26 s). A host that takes fewer costs one round of refusals (see
:class:`Burst`)."""

PROBE_AFTER = 2.0
"""Seconds without an overload sign after which the limit may pass the last mark by one."""

OVERLOADED = frozenset({429, 503})
"""HTTP statuses that say the host is overloaded (S3's SlowDown is a 503)."""


class Burst:
    """Requests sent to a host with no answer between them.

    If the host refused some of them, it took at most :attr:`level` less
    those refused at once: the limit is cut to that, if lower than half the
    level, so a host that takes 8 at a time costs one round of refusals (and
    one ``Retry-After`` pause) however far past 8 the first burst went.
    """

    __slots__ = ("level", "refused")

    def __init__(self) -> None:
        self.level = 0
        """How many requests were in flight to the host when the last of them was sent."""
        self.refused = 0
        """How many of them the host refused."""

    @property
    def took(self) -> int:
        """The most the host took at once, by the refusals so far (at least 1)."""
        return max(1, self.level - self.refused)


@dataclass
class Slot:
    """One request's place among a host's requests in flight."""

    host: HostLimit
    round: int
    burst: Burst
    fills: int = 0
    """How many times the host's places had all been taken before this one was."""
    released: bool = False

    @property
    def level(self) -> int:
        """How many requests were in flight to the host with this one (see :class:`Burst`)."""
        return self.burst.level

    def done(self) -> None:
        """Give the place back: the host answered (whatever it answered, but an overload)."""
        self._release(overloaded=False, answered=True, retry_after=None)

    def failed(self, error: TransientError, max_delay: float) -> None:
        """Give the place back after a transient failure: overload signs count (see the module).

        ``max_delay`` caps the pause a ``Retry-After`` asks (the client's retry policy's).
        """
        # A refused or reset connection (no status) says overloaded, too; but only
        # an answer says how many of a burst the host took.
        answered = error.status is not None
        overloaded = not answered or error.status in OVERLOADED
        pause = error.retry_after
        self._release(overloaded, answered, None if pause is None else min(pause, max_delay))

    def _release(self, overloaded: bool, answered: bool, retry_after: float | None) -> None:
        if not self.released:
            self.released = True
            self.host.release(self, overloaded, retry_after, answered)


class HostLimit:
    """The adaptive limit of requests in flight to one host (see the module's description).

    ``clock`` gives the time in seconds (tests pass their own).
    """

    def __init__(
        self, ceiling: int, start: int = START, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ceiling = max(1, ceiling)
        self.limit = float(min(start, self.ceiling))
        self.in_flight = 0
        self.mark: int | None = None
        self.round = 0
        self.paused_until = 0.0
        self.last_overload = 0.0
        self.overloads = 0
        self.fills = 0
        """How many times every place has been taken."""
        self._burst: Burst | None = None
        self._rounds = Rounds()
        self._clock = clock
        self._changed = threading.Condition()

    def acquire(self, cancel: threading.Event | None = None) -> Slot | None:
        """Wait for a place (None if ``cancel`` was set meanwhile)."""
        with self._changed:
            while True:
                if cancel is not None and cancel.is_set():
                    return None
                slot = self._take()
                if slot is not None:
                    return slot
                wait = self.paused_until - self._clock()
                # Woken by each release; the timeout catches a pause's end and a cancel.
                self._changed.wait(min(wait, 0.25) if wait > 0 else 0.25)

    def try_acquire(self) -> Slot | None:
        """A place if one is free now, else None (for a caller that cannot wait)."""
        with self._changed:
            return self._take()

    def _take(self) -> Slot | None:
        now = self._clock()
        if self.paused_until <= now and self.in_flight < self._allowed():
            if self._rounds.began is None:
                self._rounds.begin(now, self._allowed(), self.fills)
            fills = self.fills
            self.in_flight += 1
            if self.in_flight >= self._allowed():
                self.fills += 1
            if self._burst is None:
                self._burst = Burst()
            self._burst.level = self.in_flight
            return Slot(self, self.round, self._burst, fills)
        return None

    def release(
        self, slot: Slot, overloaded: bool, retry_after: float | None, answered: bool = True
    ) -> None:
        """Account for one finished request (``answered``: not a connection refused or reset)."""
        with self._changed:
            self.in_flight -= 1
            self._burst = None  # the next request sent starts a new burst
            now = self._clock()
            if overloaded:
                self.last_overload = now
                self.overloads += 1
                # The fewest requests in flight at which the host said so: as many as
                # were when the refused request went out, or, of an answered refusal,
                # one more than the host took of its burst. (A connection refused or
                # reset says nothing of what the host took: a host that is down
                # takes none, and will take more when it is back.)
                seen = slot.level
                if answered:
                    slot.burst.refused += 1
                    seen = slot.burst.took + 1
                self.mark = seen if self.mark is None else min(self.mark, seen)
                if slot.round == self.round:
                    # Once per round: answers to requests sent before the cut do not cut again.
                    # Half of what was in flight when the refused request went out;
                    # the limit may have grown since, on answers to earlier ones.
                    self.limit = max(1.0, min(self.limit, slot.level) / 2)
                    self.round += 1
                if retry_after:
                    self.paused_until = max(self.paused_until, now + retry_after)
                    # Asked to wait: probing back up to the mark could cost another
                    # pause (our count runs ahead of the host's by the answers not yet
                    # read), so the halved limit is the top until PROBE_AFTER passes.
                    self.mark = min(self.mark, int(self.limit) + 1)
                # Under the mark at once: a limit that grew far past it before the
                # first refusal came back, halved, could still be past it (and so no
                # more than the host took of a burst, whatever the round).
                self.limit = max(1.0, min(self.limit, float(self._top())))
            else:
                if self.mark is not None and now - self.last_overload > PROBE_AFTER:
                    self.mark += 1
                    self.last_overload = now
                elif self.mark is None:
                    best = self._rounds.answered(now, self._allowed(), self.fills)
                    if best is not None:
                        # More in flight brought no more answers: the host (or its
                        # link) is busy. Stop a little past the best round, as if the
                        # host had said so there; probed one higher every PROBE_AFTER.
                        self.mark = int(best * GAIN) + 1
                        self.last_overload = now
                        self.limit = min(self.limit, float(self._top()))
                # Grow only a limit in use: every place was taken while this one was.
                # (Not "all taken now": a caller may give many back before taking more.)
                if self.fills > slot.fills:
                    step = 1.0 if self.mark is None else 1.0 / self.limit
                    self.limit = min(float(self._top()), self.limit + step)
            # Wake as many waiters as there are places now (not all: a herd of threads).
            self._changed.notify(max(1, self._allowed() - self.in_flight))

    def _top(self) -> int:
        """The most the limit may grow to: the ceiling, or just under the last mark."""
        if self.mark is None:
            return self.ceiling
        return max(1, min(self.ceiling, self.mark - 1))

    def _allowed(self) -> int:
        return max(1, int(self.limit))


class HostLimits:
    """The :class:`HostLimit` of every host, made on first use."""

    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling
        self._hosts: dict[str, HostLimit] = {}
        self._lock = threading.Lock()

    def of(self, host: str, ceiling: int | None = None) -> HostLimit:
        """The limit of ``host`` (a ``netloc``), under ``ceiling`` if given (else the default)."""
        limit = self._hosts.get(host)
        if limit is None:
            with self._lock:
                limit = self._hosts.setdefault(host, HostLimit(ceiling or self.ceiling))
        return limit
