"""Large objects as parallel ranged GETs into one local file, verified in order.

Object stores serve each connection at a capped rate (S3 and Azure roughly
50-100 MB/s per stream), so aws-cli, azcopy and obstore fetch a large object
as ranges in parallel. Here, an object of at least :data:`THRESHOLD` bytes
whose first answer says ``Accept-Ranges: bytes`` and names its version (an
ETag or Last-Modified) is cut into parts of
:data:`PART_SIZE` bytes, fetched by up to :data:`PARALLEL` threads in order of
offset, each part a bounded ``Range`` request guarded by ``If-Range`` (so
every part is of the same version) that takes one of the host's places (see
:mod:`stac_asset.host_limits`) and resumes on its own after a cut.

Each chunk is written at its offset in the partial file (constant memory:
one chunk per thread). The checksum must see the bytes in order: whenever
the parts from the start of the object are complete, the thread that
completed the last of them reads them back from the file (the page cache,
as a rule) and hashes them, while the other parts are still arriving; so
``file:checksum`` and ``file:size`` are verified as for a single stream.
A server that answers a part with other bytes (the whole object, or
another version) ends this with :class:`~stac_asset.spans.RangeIgnored`:
the engine then fetches the object as one stream.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from pathlib import Path

from .checksum import Verifier
from .clients.filesystem import partial_path
from .errors import Cancelled
from .messages import Progress, WriteChunk
from .spans import Span

THRESHOLD = 64 * 1024 * 1024
"""Objects of at least this many bytes are fetched as ranges in parallel."""

PART_SIZE = 16 * 1024 * 1024
"""Bytes per ranged request: few requests, yet hashing keeps up with arrival."""

PARALLEL = 8
"""Parts in flight per object (as aws-cli's and azcopy's defaults, roughly)."""

_READ_BACK = 1024 * 1024


def worth_ranges(
    size: int | None, validator: str | None, accepts_ranges: bool, expected: int | None
) -> bool:
    """Whether an object whose first answer (from byte 0) says this comes as ranged parts.

    ``expected`` is the item's ``file:size``, if it gives one.
    """
    return (
        size is not None
        and size >= THRESHOLD
        and expected in (None, size)
        # Without a validator, parts of two versions could not be told apart.
        and validator is not None
        and accepts_ranges
    )


def takes_ranges(client: object) -> bool:
    """Whether ``client`` has an ``open_range`` that matches its ``open_stream``.

    A client class that changes ``open_stream`` (to renew a refused token,
    say) without its own ``open_range`` keeps every read on ``open_stream``.
    """
    for klass in type(client).__mro__:
        own = klass.__dict__
        if "open_stream" in own or "open_range" in own:
            return "open_range" in own
    return False


def can_write_at(path: str | None) -> bool:
    """Whether bytes for ``path`` (a local file, or None) can be written at offsets here."""
    return path is not None and hasattr(os, "pwrite")


class RangedDownload:
    """Fetches one object as parallel parts into the partial file of ``path``."""

    def __init__(
        self,
        span: Span,
        path: str,
        size: int,
        validator: str | None,
        verifier: Verifier,
        progress: Progress | None = None,
        progress_path: Path | None = None,
    ) -> None:
        self._span = span
        self._path = path
        self._size = size
        self._validator = validator
        self._verifier = verifier
        self._progress = progress
        self._progress_path = progress_path
        starts = range(0, size, PART_SIZE)
        self._parts = [(start, min(start + PART_SIZE, size)) for start in starts]
        self._todo = deque(range(len(self._parts)))
        self._done: set[int] = set()
        self._hashed = 0
        self._lock = threading.Lock()
        self._hash_lock = threading.Lock()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._fd = -1

    def run(self) -> None:
        """Fetch every part, hash the object in order; raise the first failure."""
        # The writer made the partial file; this descriptor writes at offsets in it.
        self._fd = os.open(partial_path(self._path), os.O_RDWR | getattr(os, "O_BINARY", 0))
        try:
            threads = [
                threading.Thread(target=self._work, name=f"stac-asset-range-{index}")
                for index in range(min(PARALLEL, len(self._parts)))
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if self._error is not None:
                raise self._error
            self._hash_ready()
        finally:
            os.close(self._fd)

    def _work(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                if not self._todo:
                    return
                index = self._todo.popleft()
            start, end = self._parts[index]
            try:
                self._span.fetch(self, start, end, self._validator)
            except BaseException as error:  # noqa: BLE001 - handed to run(), which raises it
                with self._lock:
                    if self._error is None and not isinstance(error, _Stopped):
                        self._error = error
                self._stop.set()
                return
            with self._lock:
                self._done.add(index)
            self._hash_ready()

    def _hash_ready(self) -> None:
        """Hash the parts that are complete from the start of the object on (one thread at once)."""
        with self._hash_lock:
            while True:
                with self._lock:
                    if self._hashed not in self._done:
                        return
                start, end = self._parts[self._hashed]
                for offset in range(start, end, _READ_BACK):
                    self._verifier.update(os.pread(self._fd, min(_READ_BACK, end - offset), offset))
                self._hashed += 1

    # The sink of every part's span.

    def opened(self, stream: object) -> bool:
        """Go on reading the part."""
        return False

    def restart(self) -> None:
        """Never called for a part: a range answered otherwise raises RangeIgnored."""

    def write(self, offset: int, chunk: bytes) -> None:
        """Write ``chunk`` at ``offset`` in the partial file."""
        if self._stop.is_set():
            raise _Stopped(f"cancelled: {self._span.href}")
        view = memoryview(chunk)
        while view:
            written = os.pwrite(self._fd, view, offset)
            view, offset = view[written:], offset + written
        if self._progress and self._progress_path is not None:
            self._progress(WriteChunk(self._span.href, self._progress_path, len(chunk)))


class _Stopped(Cancelled):
    """Another part failed: this one stops too."""
