"""Whether slow start still pays: a host's answers per second, round trip by round trip.

While a host's limit doubles per round trip (:mod:`stac_asset.host_limits`),
each round of answers is timed; after :data:`STALLS` rounds in a row that did
not bring :data:`GAIN` times the best answers per second so far, more in
flight brings no more answers, and slow start ends a little past the best
round.
"""

from __future__ import annotations

GAIN = 1.25
"""How many times the best answers per second so far a round of slow start must bring."""

STALLS = 2
"""Rounds in a row without that gain after which slow start ends."""


class Rounds:
    """Answers per second, round by round, while a host's limit doubles (slow start).

    A round is as many answers as the limit allowed in flight when it began:
    about one round trip while every place is taken. Only rounds in which every
    place was taken count (else the caller set the pace, not the host).
    """

    def __init__(self) -> None:
        self.began: float | None = None
        self.size = 0
        self.answers = 0
        self.fills = 0
        self.best_rate = 0.0
        self.best_size = 0
        self.stalls = 0

    def begin(self, now: float, size: int, fills: int) -> None:
        """Start a round of ``size`` answers; ``fills`` is the host's count of places all taken."""
        self.began, self.size, self.answers, self.fills = now, max(1, size), 0, fills

    def answered(self, now: float, size: int, fills: int) -> int | None:
        """Count an answer; at a round's end, the size of the best round if slow start is over.

        ``size`` and ``fills`` are the host's limit and count now (for the next round).
        """
        self.answers += 1
        if self.answers < self.size:
            return None
        elapsed, busy = now - (self.began if self.began is not None else now), fills > self.fills
        done, answers = self.size, self.answers
        self.begin(now, size, fills)
        if not busy or elapsed <= 0:
            return None
        rate = answers / elapsed
        if rate >= self.best_rate * GAIN:
            self.best_rate, self.best_size, self.stalls = rate, done, 0
            return None
        self.stalls += 1
        return self.best_size if self.stalls >= STALLS else None
