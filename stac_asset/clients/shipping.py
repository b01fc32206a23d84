"""Clients sent to other processes (an executor's workers): one live instance per process.

A client pickles as its settings, without its locks, pools or tokens (see
``Client._shipped_state``). In the process that receives it, every copy of
one client is the same instance, the first one unpickled there: the jobs
that process runs share its tokens and connections as the jobs of the
sending process do, so a thousand assets on one worker ask a token endpoint
once, not once each.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from ..kept import Kept

KEEP = 64
"""How many received clients a process keeps alive (the most recently received)."""

_live: Kept[str, Any] = Kept(KEEP)
_lock = threading.Lock()


def key_of(state: dict[str, Any]) -> str:
    """The key that names one client in every process (made on its first shipping)."""
    key: str = state.setdefault("_shipped_as", uuid.uuid4().hex)
    return key


def revive(cls: type[Any], key: str) -> Any:
    """The instance of ``key`` in this process: the one received before, or a new shell.

    A shell gets its settings from :func:`arrive`, which pickle calls right after.
    """
    return _live.get(key, lambda: object.__new__(cls))


def arrive(client: Any, state: dict[str, Any], arrived: Callable[[], None]) -> None:
    """Give a new shell its settings and then ``arrived()``; a live instance keeps its own."""
    with _lock:
        if "_shipped_as" in client.__dict__:
            return
        client.__dict__.update(state)
        arrived()
