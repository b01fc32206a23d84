"""The slowest a body may arrive: bytes per second over a window, judged as it comes."""

from __future__ import annotations


class MinRate:
    """Whether a body arrives at ``min_rate`` bytes per second at least, over ``window`` seconds.

    A stream read on its own thread counts the time it waited for each
    chunk; a transfer driven by callbacks, the time between them.
    """

    __slots__ = ("elapsed", "min_rate", "received", "window")

    def __init__(self, min_rate: float, window: float) -> None:
        self.min_rate = min_rate
        self.window = window
        self.elapsed = 0.0
        self.received = 0

    def too_slow(self, size: int, seconds: float) -> str | None:
        """Count ``size`` bytes that took ``seconds``; why the body is too slow, if it is."""
        self.elapsed += seconds
        self.received += size
        if self.elapsed < self.window:
            return None
        if self.received < self.min_rate * self.elapsed:
            return (
                f"the body arrives at {self.received / self.elapsed:.0f} bytes/s, "
                f"under the minimum of {self.min_rate:.0f}"
            )
        self.elapsed, self.received = 0.0, 0
        return None
