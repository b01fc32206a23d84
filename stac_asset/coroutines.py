"""The async face: each coroutine awaits the blocking engine in a thread pool.

Nothing is re-implemented here; ``await stac_asset.download_item(...)`` runs
:func:`stac_asset.blocking.download_item` on a worker thread, so the event
loop keeps running while files move.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from . import blocking
from .clients import Client
from .config import Config
from .messages import as_callback
from .resolver import ClientSpec

P = ParamSpec("P")
T = TypeVar("T")

# Each call may itself fan out to a pool of transfer threads; this pool only
# keeps the event loop free while calls wait.
_MAX_CALLS = 128
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(_MAX_CALLS, thread_name_prefix="stac-asset-async")
        return _executor


def _awaitable(func: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """The coroutine twin of a blocking function, with its signature and docstring."""
    signature = inspect.signature(func)

    @functools.wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        bound = signature.bind(*args, **kwargs)
        # An asyncio.Queue for progress must be bound to this loop, here (whichever
        # parameter it came in: download_file's two argument orders differ).
        for name, value in bound.arguments.items():
            if isinstance(value, asyncio.Queue):
                bound.arguments[name] = as_callback(value)
        call = functools.partial(func, *bound.args, **bound.kwargs)
        return await asyncio.get_running_loop().run_in_executor(_pool(), call)

    return wrapper


download_item = _awaitable(blocking.download_item)
copy_item = _awaitable(blocking.copy_item)
download_item_from_href = _awaitable(blocking.download_item_from_href)
download_item_collection = _awaitable(blocking.download_item_collection)
download_collection = _awaitable(blocking.download_collection)
download_asset = _awaitable(blocking.download_asset)
clip_asset = _awaitable(blocking.clip_asset)
download_file = _awaitable(blocking.download_file)
read_href = _awaitable(blocking.read_href)
href_exists = _awaitable(blocking.href_exists)
assert_href_exists = _awaitable(blocking.assert_href_exists)
asset_exists = _awaitable(blocking.asset_exists)
assert_asset_exists = _awaitable(blocking.assert_asset_exists)


async def open_href(
    href: str,
    config: Config | Sequence[Client] | None = None,
    clients: Sequence[Client] | None = None,
    *,
    client: ClientSpec | None = None,
) -> AsyncIterator[bytes]:
    """Yield the bytes at ``href`` chunk by chunk; each chunk is read on a worker thread.

    Takes ``config`` and ``clients`` as :func:`stac_asset.blocking.read_href` does.
    """
    chunks = blocking.open_href(href, config, clients, client=client)
    loop = asyncio.get_running_loop()
    done = object()
    try:
        while True:
            chunk = await loop.run_in_executor(_pool(), next, chunks, done)
            if chunk is done:
                return
            assert isinstance(chunk, bytes)
            yield chunk
    finally:
        await loop.run_in_executor(_pool(), chunks.close)


__all__ = [
    "assert_asset_exists",
    "assert_href_exists",
    "asset_exists",
    "clip_asset",
    "copy_item",
    "download_asset",
    "download_collection",
    "download_file",
    "download_item",
    "download_item_collection",
    "download_item_from_href",
    "href_exists",
    "open_href",
    "read_href",
]
