"""Large bodies on the express lane: written and hashed on other threads as they arrive.

The lane's one thread receives every body; hashing and writing a large one
there too would leave the other core idle while it hashes (32 x 16 MiB with
``file:checksum`` at 20 ms: 0.66 s, against 0.52 s on the worker pool). So a
body larger than :data:`~stac_asset.express_attempt.LARGEST` goes, chunk by
chunk, to a queue that a worker thread writes and hashes in order while the
lane goes on receiving.

The bytes queued are bounded, per body (:data:`QUEUE`) and across the lane
(:data:`BUDGET`): past either, the lane waits for the workers. The workers
never wait for the lane (a queue's drain ends when the queue is empty, and
the next chunk schedules another), so the wait always ends.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

BUDGET = 16 * 1024 * 1024
"""Bytes received and not yet written, across the lane, at which the lane waits."""

QUEUE = 4 * 1024 * 1024
"""Bytes of one body received and not yet written at which the lane waits."""

PIECE = 1024 * 1024
"""Bytes written and hashed at once (libcurl hands bodies over 16 KiB at a time)."""


class Offloader:
    """The worker threads of one lane, and the bytes queued for them."""

    def __init__(self, workers: int) -> None:
        self._workers = max(1, workers)
        self._executor: ThreadPoolExecutor | None = None
        self.changed = threading.Condition()
        self.queued = 0

    def body(self, write: Callable[[bytes], None]) -> Body:
        """A body whose chunks ``write`` takes, in order, on a worker thread."""
        return Body(self, write)

    def submit(self, drain: Callable[[], None]) -> None:
        """Run ``drain`` on a worker thread."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._workers, "stac-asset-write")
        self._executor.submit(drain)

    def close(self) -> None:
        """Wait for the workers to finish, and end their threads."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


class Body:
    """One body's queue of chunks, written in order by at most one worker at a time."""

    def __init__(self, offloader: Offloader, write: Callable[[bytes], None]) -> None:
        self._offloader = offloader
        self._write = write
        self._chunks: deque[bytes] = deque()
        self._draining = False
        self._queued = 0
        self.error: BaseException | None = None
        """How writing failed, if it did (what follows is not written)."""

    def put(self, data: bytes) -> bool:
        """Queue ``data``; waits while the lane's budget is spent. False once writing failed."""
        offloader = self._offloader
        with offloader.changed:
            while (offloader.queued >= BUDGET or self._queued >= QUEUE) and self.error is None:
                offloader.changed.wait()
            if self.error is not None:
                return False
            self._chunks.append(data)
            offloader.queued += len(data)
            self._queued += len(data)
            start = not self._draining
            self._draining = True
        if start:
            offloader.submit(self._drain)
        return True

    def _drain(self) -> None:
        offloader = self._offloader
        while True:
            with offloader.changed:
                if not self._chunks:
                    self._draining = False
                    offloader.changed.notify_all()
                    return
                parts = [self._chunks.popleft()]
                size = len(parts[0])
                while self._chunks and size < PIECE:
                    parts.append(self._chunks.popleft())
                    size += len(parts[-1])
            try:
                if self.error is None:
                    self._write(parts[0] if len(parts) == 1 else b"".join(parts))
            except BaseException as error:  # noqa: BLE001 - handed to the lane by finish()
                self.error = error
            with offloader.changed:
                offloader.queued -= size
                self._queued -= size
                offloader.changed.notify_all()

    def finish(self) -> None:
        """Wait until every chunk queued is written; raise how writing failed, if it did."""
        offloader = self._offloader
        with offloader.changed:
            while self._draining:
                offloader.changed.wait()
        if self.error is not None:
            raise self.error
