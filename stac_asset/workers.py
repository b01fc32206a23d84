"""The engine's worker threads: a few at first, more while they wait on servers.

Every thread of a CPython process shares one interpreter lock, and every
system call of a transfer (send, receive, open, write, rename...) hands it to
another thread. Files that arrive fast (small ones, from a near server) keep
the interpreter busy with a few threads, and more threads only queue for the
lock and for the file system: on loopback, 1,000 files of 10 KiB went ~30 %
faster with 4 threads than with 16. Files whose threads wait on the network
need many in flight. So the pool starts with :data:`START` threads and
doubles (up to its limit: from 4 to 64 threads in about a fifth of a
second) after two windows of :data:`WINDOW` seconds in a row in which its
threads spent more than :data:`WAIT_SHARE` of their time waiting for
servers to answer, or the process used less than :data:`IDLE_SHARE` of a
CPU (the threads were waiting for bytes, not working). The first window,
which opens the connections, does not count. The pool never shrinks.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")

START = 4
"""Threads at first (fewer if the limit or the number of jobs is smaller)."""

WINDOW = 0.025
"""Seconds over which waiting and CPU use are measured (about one round trip to a near region)."""

IDLE_SHARE = 0.75
"""Grow while the process uses less than this share of one CPU."""

WAIT_SHARE = 0.7
"""Grow while the threads spend more than this share of their time waiting for answers."""


def waiting(cpu_share: float, wait_share: float) -> bool:
    """Whether a window with these shares of CPU use and of waiting calls for more threads."""
    return cpu_share < IDLE_SHARE or wait_share > WAIT_SHARE


class GrowingPool(Generic[T]):
    """Runs ``work(job)`` for every job on at most ``limit`` threads, started as they pay.

    ``on_error(job, error)`` is called, in the worker thread, for every job
    that raises; the work reports its time spent waiting for servers with
    :meth:`waited`. :meth:`join` returns once every job is done.
    """

    def __init__(
        self,
        jobs: Sequence[T],
        work: Callable[[T], None],
        on_error: Callable[[T, BaseException], None],
        limit: int,
        name: str = "stac-asset",
    ) -> None:
        self._queue = deque(jobs)
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
        self._windows = 0
        self._streak = 0
        self._running = 0
        self._done = threading.Event()
        if not self._queue:
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
            wanted = min(self._target, len(self._threads) + len(self._queue))
            new = []
            while len(self._threads) < wanted:
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
                self._maybe_grow()
        finally:
            with self._lock:
                self._running -= 1
                if not self._running:
                    self._done.set()

    def _maybe_grow(self) -> None:
        if self._target >= self._limit:
            return
        now = time.monotonic()
        if now - self._mark[0] < WINDOW:
            return  # (the process's CPU time is a system call: not read per job)
        cpu = time.process_time()
        with self._lock:
            wall = now - self._mark[0]
            if wall < WINDOW or self._target >= self._limit:
                return
            with self._wait_lock:
                waited, self._waited = self._waited, 0.0
            cpu_share = (cpu - self._mark[1]) / wall
            wait_share = waited / (wall * len(self._threads))
            self._mark = (now, cpu)
            self._windows += 1
            if self._windows == 1:
                return  # connections were being opened
            self._streak = self._streak + 1 if waiting(cpu_share, wait_share) else 0
            if self._streak != 2:
                return
            self._streak = 0
            self._target = min(self._limit, self._target * 2)
        self._spawn()
