"""Progress events, with stac-asset 0.4's names, delivered to a callback or a queue."""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class StartAssetDownload:
    """An asset download started."""

    key: str
    href: str
    path: Path
    item_id: str | None = None


@dataclass(frozen=True)
class OpenUrl:
    """A connection for an asset was opened; ``size`` is the object's size when known."""

    href: str
    path: Path
    size: int | None


@dataclass(frozen=True)
class WriteChunk:
    """``size`` more bytes of an asset were written."""

    href: str
    path: Path
    size: int


@dataclass(frozen=True)
class FinishAssetDownload:
    """An asset is complete (and verified) at its final path."""

    key: str
    href: str
    path: Path
    item_id: str | None = None


@dataclass(frozen=True)
class SkipAssetDownload:
    """An asset was not downloaded because a complete file is already there."""

    key: str
    href: str
    path: Path
    item_id: str | None = None


@dataclass(frozen=True)
class ErrorAssetDownload:
    """An asset failed; ``error`` says why (secrets masked)."""

    key: str
    href: str
    path: Path
    error: str
    item_id: str | None = None


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


def as_callback(messages: Any) -> Progress | None:
    """Turn what a caller passed as ``messages`` into a thread-safe callback.

    Accepts a callable, a :class:`queue.Queue`, or an :class:`asyncio.Queue`
    (events are then put from its loop's thread; call from inside that loop).
    """
    if messages is None:
        return None
    if isinstance(messages, asyncio.Queue):
        loop = asyncio.get_running_loop()
        target: asyncio.Queue[Message] = messages

        def put(message: Message) -> None:
            loop.call_soon_threadsafe(target.put_nowait, message)

        return put
    if isinstance(messages, queue.Queue):
        return messages.put_nowait
    if callable(messages):
        return messages  # type: ignore[no-any-return]
    raise TypeError(f"messages must be a callable or a queue, not {type(messages).__name__}")
