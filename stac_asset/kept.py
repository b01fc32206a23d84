"""Values kept by key for reuse, the least recently used let go first."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Kept(Generic[K, V]):
    """At most ``size`` values by key, each made on its first use; thread-safe.

    When one more is made, the least recently used is let go, and
    ``drop(value)`` is called on it (to close it, say).
    """

    def __init__(self, size: int, drop: Callable[[V], None] | None = None) -> None:
        self._size = size
        self._drop = drop
        self._values: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[], V]) -> V:
        """The value of ``key``: the one kept, or ``make()``'s, kept from now on."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            value = self._values[key] = make()
            while len(self._values) > self._size:
                _, old = self._values.popitem(last=False)
                if self._drop is not None:
                    self._drop(old)
            return value

    def take_all(self) -> list[V]:
        """Every value kept, no longer kept (for the caller to close)."""
        with self._lock:
            values = list(self._values.values())
            self._values.clear()
            return values
