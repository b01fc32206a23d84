"""Kept: values by key, made once, the least recently used let go first."""

from __future__ import annotations

import pytest

from stac_asset.kept import Kept


def test_a_value_is_made_once_and_the_least_recently_used_goes_first() -> None:
    dropped: list[str] = []
    made: list[str] = []
    kept: Kept[str, str] = Kept(2, drop=dropped.append)

    def make(key: str) -> str:
        made.append(key)
        return key.upper()

    assert kept.get("a", lambda: make("a")) == "A"
    assert kept.get("b", lambda: make("b")) == "B"
    assert kept.get("a", lambda: make("a")) == "A"  # kept, and now the most recently used
    assert kept.get("c", lambda: make("c")) == "C"  # one too many: "b" goes
    assert made == ["a", "b", "c"]
    assert dropped == ["B"]
    assert kept.get("b", lambda: make("b")) == "B"  # made again
    assert made == ["a", "b", "c", "b"]
    assert sorted(kept.take_all()) == ["B", "C"]
    assert kept.take_all() == []


def test_a_failed_make_keeps_nothing() -> None:
    kept: Kept[str, dict[str, int]] = Kept(2)

    def fail() -> dict[str, int]:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        kept.get("x", fail)
    assert kept.get("x", dict) == {}  # an empty value is a value too
    assert kept.get("x", lambda: {"made": 1}) == {}
