"""Progress events, with stac-asset 0.4's names and fields, delivered to a callback or a queue."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ._secrets import mask_url, redact


class _Masked:
    """A ``repr()`` with the href masked (signed URLs) and every other value redacted."""

    def __repr__(self) -> str:
        shown = []
        for field in fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            text = repr(mask_url(value)) if field.name == "href" else redact(repr(value))
            shown.append(f"{field.name}={text}")
        return f"{type(self).__name__}({', '.join(shown)})"


@dataclass(frozen=True, repr=False)
class StartAssetDownload(_Masked):
    """An asset download started."""

    key: str
    href: str
    path: Path
    item_id: str | None = None

    @property
    def owner_id(self) -> str | None:
        """The id of the item (or collection) owning the asset; stac-asset 0.4's name."""
        return self.item_id


@dataclass(frozen=True, repr=False)
class OpenUrl(_Masked):
    """A connection for an asset was opened; ``size`` is the object's size when known."""

    href: str
    path: Path
    size: int | None

    @property
    def url(self) -> str:
        """The href that was opened; stac-asset 0.4's name."""
        return self.href


@dataclass(frozen=True, repr=False)
class WriteChunk(_Masked):
    """``size`` more bytes of an asset were written."""

    href: str
    path: Path
    size: int


@dataclass(frozen=True, repr=False)
class FinishAssetDownload(_Masked):
    """An asset is complete (and verified) at its final path."""

    key: str
    href: str
    path: Path
    item_id: str | None = None


@dataclass(frozen=True, repr=False)
class SkipAssetDownload(_Masked):
    """An asset was not downloaded because a complete file is already there."""

    key: str
    href: str
    path: Path
    item_id: str | None = None


@dataclass(frozen=True, repr=False)
class ErrorAssetDownload(_Masked):
    """An asset failed; ``error`` is the exception, as in stac-asset 0.4."""

    key: str
    href: str
    path: Path
    error: BaseException
    item_id: str | None = None

    @property
    def reason(self) -> str:
        """The error's message, secrets masked."""
        return redact(str(self.error))


Message = (
    StartAssetDownload
    | OpenUrl
    | WriteChunk
    | FinishAssetDownload
    | SkipAssetDownload
    | ErrorAssetDownload
)
"""Any progress event."""

Progress = Callable[[Message], None]
"""A callable that receives progress events (called from worker threads)."""


def _async_queue_callback(target: asyncio.Queue[Any]) -> Progress:
    """Put events into an :class:`asyncio.Queue` from any thread.

    Inside a running loop, events are put from the loop's thread, in order;
    when the queue is full, chunk events are dropped (as stac-asset 0.4 did)
    and the others wait for room. With no running loop (a blocking call from
    plain synchronous code) they are put directly, one thread at a time.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        lock = threading.Lock()

        def put_now(message: Message) -> None:
            # Nobody can be reading while the queue's loop is not running: drop when full.
            with lock, contextlib.suppress(asyncio.QueueFull):
                target.put_nowait(message)

        return put_now
    waiting: set[asyncio.Task[None]] = set()

    def deliver(message: Message) -> None:
        try:
            target.put_nowait(message)
        except asyncio.QueueFull:
            if not isinstance(message, WriteChunk):
                task = loop.create_task(target.put(message))
                waiting.add(task)
                task.add_done_callback(waiting.discard)

    def put(message: Message) -> None:
        loop.call_soon_threadsafe(deliver, message)

    return put


def as_callback(messages: Any) -> Progress | None:
    """Turn what a caller passed as ``messages`` into a thread-safe callback.

    Accepts a callable, a :class:`queue.Queue`, or an :class:`asyncio.Queue`
    (events are then put from its loop's thread when called inside a running
    loop, as the async functions do).
    """
    if messages is None:
        return None
    if isinstance(messages, asyncio.Queue):
        return _async_queue_callback(messages)
    if isinstance(messages, queue.Queue):
        return messages.put_nowait
    if callable(messages):
        return messages  # type: ignore[no-any-return]
    raise TypeError(f"messages must be a callable or a queue, not {type(messages).__name__}")
