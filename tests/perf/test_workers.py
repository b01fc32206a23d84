"""The growing worker pool: every job once, failures reported, within its limit, grows on waits."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from stac_asset import workers
from stac_asset.workers import GrowingPool
from tests.children import Spawn


class Tracker:
    """Counts jobs and the most that ran at once."""

    def __init__(self, pause: float = 0.0) -> None:
        self.pause = pause
        self.lock = threading.Lock()
        self.running = self.peak = 0
        self.done: list[int] = []

    def __call__(self, job: int) -> None:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            if self.pause:
                time.sleep(self.pause)
            if job % 10 == 3:
                raise ValueError(f"job {job}")
        finally:
            with self.lock:
                self.running -= 1
                self.done.append(job)


def run(jobs: list[int], work: Tracker, limit: int) -> tuple[GrowingPool[int], list[str]]:
    errors: list[str] = []
    pool = GrowingPool(jobs, work, lambda job, error: errors.append(str(error)), limit)
    pool.start()
    pool.join()
    return pool, errors


def test_every_job_once_and_every_failure_reported() -> None:
    work = Tracker()
    pool, errors = run(list(range(100)), work, limit=8)
    assert sorted(work.done) == list(range(100))
    assert sorted(errors) == sorted(f"job {n}" for n in range(3, 100, 10))
    assert work.peak <= pool.threads <= 8


@pytest.mark.parametrize(("jobs", "limit"), [(2, 16), (50, 1), (50, 3)])
def test_starts_no_more_threads_than_jobs_or_limit(jobs: int, limit: int) -> None:
    # Jobs that finish at once keep the process busy: the pool stays at its start.
    pool, _ = run(list(range(jobs)), Tracker(), limit)
    assert pool.threads == min(jobs, limit, workers.START)


def test_grows_to_its_limit_while_jobs_wait() -> None:
    # Jobs that only wait use no CPU: the pool doubles until the limit.
    work = Tracker(pause=0.01)
    pool, _ = run(list(range(600)), work, limit=16)
    assert pool.threads == 16
    assert work.peak > workers.START


def test_does_not_keep_threads_that_bring_no_more_jobs_per_second() -> None:
    # Jobs that hold the interpreter lock (as small files from a near server do): their
    # threads "wait" mostly for one another, and more of them finish no more jobs.
    tracker = Tracker()
    pool: GrowingPool[int]

    def work(job: int) -> None:
        start = time.monotonic()
        with tracker.lock:
            tracker.running += 1
            tracker.peak = max(tracker.peak, tracker.running)
        while time.monotonic() - start < 0.001:
            pass
        with tracker.lock:
            tracker.running -= 1
            tracker.done.append(job)
        pool.waited((time.monotonic() - start) * 0.9)

    pool = GrowingPool(list(range(1500)), work, lambda job, error: None, limit=32)
    pool.start()
    pool.join()
    assert sorted(tracker.done) == list(range(1500))
    assert tracker.peak <= 4 * workers.START


def test_waiting_calls_for_threads() -> None:
    assert workers.waiting(cpu_share=0.1, wait_share=0.0)  # the process idles
    assert workers.waiting(cpu_share=1.0, wait_share=0.9)  # threads wait for answers
    assert not workers.waiting(cpu_share=1.0, wait_share=0.3)  # busy, and not waiting


INTERRUPTED = """
import sys, threading, time
from pathlib import Path
from stac_asset.workers import GrowingPool

release = threading.Event()
started = threading.Event()

def work(job):
    started.set()
    release.wait()
    time.sleep(0.2)
    Path(sys.argv[1]).write_text("done")

pool = GrowingPool([1], work, lambda job, error: None, limit=1)
pool.start()
started.wait()
try:
    # Inside the try: the test's SIGINT may land while print is still returning.
    print("READY", flush=True)
    pool.join()
except KeyboardInterrupt:
    release.set()  # as the engine sets its cancel event
    pool.join()
    print("JOINED", flush=True)
"""


def test_an_interrupted_wait_still_waits_for_running_jobs(tmp_path: Path, children: Spawn) -> None:
    # Thread.join, interrupted, marks a running thread as stopped: the second wait and
    # the interpreter's exit would no longer wait for it, and its file would never close.
    marker = tmp_path / "marker"
    process = children(
        [sys.executable, "-c", INTERRUPTED, str(marker)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "READY"
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert out.strip() == "JOINED"
    assert marker.read_text() == "done"
