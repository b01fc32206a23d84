"""The engine's worker threads: a few at first, more while they wait on servers and it pays.

Every thread of a CPython process shares one interpreter lock, and every
system call of a transfer (send, receive, open, write, rename...) hands it to
another thread. Files that arrive fast (small ones, from a near server) keep
the interpreter busy with one or two threads, and more threads only queue for
the lock and for the file system: on loopback, 1,000 files of 10 KiB took
~40 % less CPU per file with one thread than with 4, and no more wall time.
Files whose threads wait on the network need many in flight. So the pool
starts with :data:`START` threads and doubles, up to its limit:

- at once, after any window of :data:`WINDOW` seconds in which the process
  used less than :data:`IDLE_FAST` of a CPU (its threads mostly wait: from 2
  to 64 threads in about a sixth of a second);
- else after two windows in a row in which its threads spent more than
  :data:`WAIT_SHARE` of their time waiting for servers to answer, or the
  process used less than :data:`IDLE_SHARE` of a CPU, provided the last
  such doubling paid.

Time "waiting for an answer" also counts the wait for the interpreter lock
while other threads work: with 4 threads on files that arrive at once, each
thread spends ~85-95 % of its time so, and the pool would double to its
limit without a file more per second, only more lock hand-overs. So such a
doubling must pay: when the jobs finished per second in the two windows that
call for the next doubling are not :data:`GAIN` times those before the last
one, that doubling is undone (the surplus threads end after their job) and
the pool does not grow that way again for :data:`HOLD` seconds. The first
window, and the first after each judged doubling, open connections and do
not count.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")

START = 2
"""Threads at first (fewer if the limit or the number of jobs is smaller)."""

WINDOW = 0.025
"""Seconds over which waiting and CPU use are measured (about one round trip to a near region)."""

IDLE_SHARE = 0.75
"""Grow while the process uses less than this share of one CPU."""

WAIT_SHARE = 0.4
"""Grow while the threads spend more than this share of their time waiting for answers.

Files that take as long to arrive as to be answered call for more threads:
32 files of 16 MiB 20 ms away, on loopback, keep two threads ~50-55 % of
their time waiting, and four fetch them in two thirds of the time. Where
more threads do not pay, the doubling is undone (see :data:`GAIN`)."""

GAIN = 1.25
"""How many times more jobs per second a doubling of the threads must bring to be kept."""

HOLD = 1.0
"""Seconds the pool does not grow after a doubling that did not pay."""

IDLE_FAST = 0.5
"""Below this share of one CPU the threads mostly wait: double at once, unjudged.

Half a CPU leaves the interpreter lock room for twice the threads. (With
libcurl beneath HTTP, 32 threads fetching small files 20 ms away use about
half a CPU; judged, their doubling to 64 was undone as often as not, by a
few per cent of noise in 25 ms windows: 1,000 files took 0.90 s, now 0.78 s.)"""


def waiting(cpu_share: float, wait_share: float) -> bool:
    """Whether a window with these shares of CPU use and of waiting calls for more threads."""
    return cpu_share < IDLE_SHARE or wait_share > WAIT_SHARE


class GrowingPool(Generic[T]):
    """Runs ``work(job)`` for every job on at most ``limit`` threads, started as they pay.

    ``on_error(job, error)`` is called, in the worker thread, for every job
    that raises; the work reports its time spent waiting for servers with
    :meth:`waited`. :meth:`join` returns once every job is done: those given
    and, with ``more``, those :meth:`add` gives until :meth:`close`.
    """

    def __init__(
        self,
        jobs: Sequence[T],
        work: Callable[[T], None],
        on_error: Callable[[T, BaseException], None],
        limit: int,
        name: str = "stac-asset",
        more: bool = False,
    ) -> None:
        self._queue = deque(jobs)
        self._closed = not more
        self._work = work
        self._on_error = on_error
        self._limit = max(1, limit)
        self._name = name
        self._lock = threading.Lock()
        # Every request reports its wait: a lock of its own, never held long.
        self._wait_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._target = min(self._limit, START)
        self._mark = (time.monotonic(), time.process_time())
        self._waited = 0.0
        self._streak = 0
        self._streak_rates = 0.0
        self._finished = 0
        self._rate_before: float | None = None
        """Jobs per second when the pool last doubled, until the doubling has been judged."""
        self._hold_until = 0.0
        self._settling = True
        self._running = 0
        self._done = threading.Event()
        if not self._queue and self._closed:
            self._done.set()

    @property
    def threads(self) -> int:
        """How many threads were started."""
        return len(self._threads)

    def waited(self, seconds: float) -> None:
        """Count ``seconds`` a thread spent waiting for a server to answer."""
        with self._wait_lock:
            self._waited += seconds

    def start(self) -> None:
        """Start the first threads."""
        with self._lock:
            self._mark = (time.monotonic(), time.process_time())
            self._waited = 0.0
        self._spawn()

    def add(self, job: T) -> None:
        """One more job, run as soon as a thread is free (before :meth:`close`)."""
        self._queue.append(job)
        self._spawn()

    def close(self) -> None:
        """No more jobs will be added: :meth:`join` returns once those there are done."""
        with self._lock:
            self._closed = True
            if not self._running and not self._queue:
                self._done.set()

    def join(self) -> None:
        """Wait until every job is done (an interrupted wait stops no thread)."""
        # Not Thread.join: interrupted (Ctrl-C), it marks a running thread as
        # stopped, and the interpreter would then exit without waiting for it.
        # Waiting on a lock is interruptible on POSIX, so Ctrl-C is still seen.
        self._done.wait()

    def _spawn(self) -> None:
        """Start threads up to the target.

        Threads are started outside the lock: a start waits for the new thread
        to run, and every other thread would wait for it in turn.
        """
        with self._lock:
            wanted = min(self._target, self._running + len(self._queue))
            new: list[threading.Thread] = []
            while self._running + len(new) < wanted:
                name = f"{self._name}_{len(self._threads)}"
                new.append(threading.Thread(target=self._loop, name=name))
                self._threads.append(new[-1])
            self._running += len(new)
        for index, thread in enumerate(new):
            try:
                thread.start()
            except RuntimeError:  # no more threads to be had: go on with those running
                with self._lock:
                    for unstarted in new[index:]:
                        self._threads.remove(unstarted)
                    self._running -= len(new) - index
                    if not self._running:
                        raise
                return

    def _loop(self) -> None:
        ended = False
        try:
            while True:
                try:
                    job = self._queue.popleft()  # atomic: no lock to queue for
                except IndexError:
                    return
                try:
                    self._work(job)
                except BaseException as error:  # noqa: BLE001 - every failure is reported
                    self._on_error(job, error)
                with self._wait_lock:
                    self._finished += 1
                self._maybe_grow()
                if self._running > self._target and self._end_surplus():
                    ended = True
                    return
        finally:
            if not ended:
                with self._lock:
                    self._running -= 1
                    stranded = bool(self._queue)  # added as this thread found none left
                    if not self._running and not stranded and self._closed:
                        self._done.set()
                if stranded:
                    self._spawn()

    def _end_surplus(self) -> bool:
        """Count this thread out if it is one more than the target (one always stays)."""
        with self._lock:
            if self._running <= max(1, self._target):
                return False
            self._running -= 1
            return True

    def _maybe_grow(self) -> None:
        if self._target >= self._limit and self._rate_before is None:
            return
        now = time.monotonic()
        if now - self._mark[0] < WINDOW:
            return  # (the process's CPU time is a system call: not read per job)
        cpu = time.process_time()
        with self._lock:
            wall = now - self._mark[0]
            if wall < WINDOW or (self._target >= self._limit and self._rate_before is None):
                return
            with self._wait_lock:
                waited, self._waited = self._waited, 0.0
                finished, self._finished = self._finished, 0
            cpu_share = (cpu - self._mark[1]) / wall
            wait_share = waited / (wall * self._running)
            self._mark = (now, cpu)
            if self._settling or now < self._hold_until:
                # Connections were being opened, or a doubling did not pay.
                self._settling = False
                return
            if cpu_share < IDLE_FAST and self._target < self._limit:
                # Threads that mostly wait on servers leave the lock room: more cannot hurt.
                self._streak, self._streak_rates = 0, 0.0
                self._rate_before = None
                self._target = min(self._limit, self._target * 2)
            elif not waiting(cpu_share, wait_share):
                self._streak, self._streak_rates = 0, 0.0
                return
            elif not self._judge(now, finished / wall):
                return
        self._spawn()

    def _judge(self, now: float, rate: float) -> bool:
        """After two windows in a row that call for threads, double if the last doubling paid.

        ``rate`` is the jobs per second of this window. A doubling that did
        not pay is undone. Whether to start threads.
        """
        self._streak += 1
        self._streak_rates += rate
        if self._streak != 2:
            return False
        rate, self._streak, self._streak_rates = self._streak_rates / 2, 0, 0.0
        if self._rate_before is not None and rate < self._rate_before * GAIN:
            # More threads brought no more jobs per second: undo, and wait before probing.
            self._target = max(1, self._target // 2)
            self._rate_before = None
            self._hold_until = now + HOLD
            return False
        if self._target >= self._limit:
            self._rate_before = None  # the last doubling paid, and there is no next one
            return False
        self._rate_before = rate
        self._target = min(self._limit, self._target * 2)
        self._settling = True  # the new threads open their connections first
        return True
