"""The adaptive limit of requests in flight per host (stac_asset.host_limits)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from stac_asset import HttpClient, blocking, host_limits, slow_start
from stac_asset.errors import TransientError
from stac_asset.host_limits import START, HostLimit, Slot
from tests.conftest import make_item
from tests.peers.http_peer import HttpPeer


class Clock:
    """Test time: stands still unless a test moves it (no round of slow start is then judged)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def fill(limit: HostLimit) -> list[host_limits.Slot]:
    """Take every place the limit allows now (one burst: no answer between them)."""
    slots = []
    while limit.in_flight < int(limit.limit):
        slot = limit.acquire()
        assert slot is not None
        slots.append(slot)
    return slots


def answer(limit: HostLimit, count: int) -> list[Slot]:
    """``count`` answers from a busy host: each freed place is taken again at once.

    Returns the places still taken (their answers have not come).
    """
    slots = fill(limit)
    for _ in range(count):
        slots.pop(0).done()
        slots += fill(limit)
    return slots


def answered(limit: HostLimit, count: int) -> None:
    """``count`` answers from a busy host, then the rest of the answers in flight."""
    for slot in answer(limit, count):
        slot.done()


def refuse(slot: Slot, retry_after: float | None = None, status: int | None = 503) -> None:
    """The host answered ``status`` (None: the connection was refused or reset)."""
    reason = f"HTTP {status}" if status else "connection refused"
    error = TransientError("http://host/x", "http", reason, status=status, retry_after=retry_after)
    slot.failed(error, max_delay=60.0)


def test_grows_by_one_per_answer_while_every_place_is_busy_up_to_the_ceiling() -> None:
    limit = HostLimit(ceiling=20, start=8, clock=Clock())
    in_flight = answer(limit, 8)
    # One round trip doubles it.
    assert limit.limit == 16
    for slot in in_flight:
        slot.done()
    answered(limit, 50)
    assert limit.limit == 20


def test_answers_given_back_together_grow_it_as_answers_one_by_one() -> None:
    # One thread driving many transfers gives back every answer a poll brought,
    # then takes places again: the answers came while every place was busy.
    limit = HostLimit(ceiling=64, start=8, clock=Clock())
    slots = fill(limit)
    for slot in slots:
        slot.done()
    assert limit.limit == 16


def test_an_idle_limit_does_not_grow() -> None:
    limit = HostLimit(ceiling=64, clock=Clock())
    for _ in range(50):
        slot = limit.acquire()
        assert slot is not None
        slot.done()
    assert limit.limit == START


def sent_apart(limit: HostLimit, count: int) -> list[Slot]:
    """``count`` requests with an answer between each and the next, as slow start sends them.

    Each goes out with a quick request that is answered before the next, so
    their levels run 2, 3, ... (up to the limit, which must not grow meanwhile:
    a ceiling no higher than it).
    """
    slots = []
    for _ in range(count):
        slot = limit.acquire()
        assert slot is not None
        slots.append(slot)
        quick = limit.try_acquire()
        if quick is not None:
            quick.done()
    return slots


def timed(limit: HostLimit, clock: Clock, count: int, seconds: Callable[[int], float]) -> None:
    """``count`` answers from a busy host, each ``seconds(in flight)`` after the one before."""
    slots = fill(limit)
    for _ in range(count):
        clock.now += seconds(limit.in_flight)
        slots.pop(0).done()
        slots += fill(limit)
    for slot in slots:
        slot.done()


def test_slow_start_goes_on_while_more_in_flight_brings_more_answers() -> None:
    # 20 ms away and never busy: each answer a round trip after its request.
    limit, clock = HostLimit(ceiling=256, clock=(clock := Clock())), clock
    timed(limit, clock, 2000, lambda in_flight: 0.02 / in_flight)
    assert limit.limit == 256
    # (At the ceiling, rounds no longer gain: a mark past it changes nothing.)
    assert limit.mark is None or limit.mark > 256


def test_slow_start_ends_where_more_in_flight_brings_no_more_answers() -> None:
    # A busy host: 1,000 answers a second however many wait (its CPU, or its link).
    limit, clock = HostLimit(ceiling=256, clock=(clock := Clock())), clock
    timed(limit, clock, 2000, lambda in_flight: 0.001)
    # The first round (START) was the best; two more (doubled, doubled again) brought nothing.
    assert limit.mark == int(START * slow_start.GAIN) + 1
    assert limit.limit == limit.mark - 1


@pytest.mark.parametrize("ceiling", [128, 256])
def test_a_high_ceiling_costs_a_busy_host_nothing(ceiling: int) -> None:
    # 20 ms away, 2,800 answers a second at most: 56 in flight already get them all.
    limit, clock = HostLimit(ceiling=ceiling, clock=(clock := Clock())), clock
    timed(limit, clock, 3000, lambda in_flight: max(0.02 / in_flight, 1 / 2800))
    assert 56 <= limit.limit <= 80


def test_overload_halves_once_per_round_and_marks_the_level() -> None:
    limit = HostLimit(ceiling=16, start=16)
    slots = sent_apart(limit, 16)
    assert [slot.level for slot in slots] == [*range(2, 17), 16]
    for slot in slots[9:]:  # the host refused every request beyond the tenth
        refuse(slot)
    # Half the 11 in flight when the first refused one went out, once, not six times.
    assert limit.limit == 5.5
    assert limit.mark == 11
    for slot in slots[:9]:
        slot.done()
    answered(limit, 200)
    assert limit.limit == 10  # grown back to just under the mark, and no further


def test_requests_sent_together_each_count_all_of_them() -> None:
    # A pause's end (or one poll's answers) frees many places, taken again at
    # once: the host may see the one counted first last, and refuse it.
    limit = HostLimit(ceiling=64, start=9)
    first, *others = fill(limit)
    assert first.level == 9
    refuse(first)
    assert limit.mark == 9  # not 1: the host refused the ninth, whichever it was
    assert int(limit.limit) == 4
    for slot in others:
        slot.done()


@pytest.mark.parametrize("retry_after", [None, 1.0])
def test_a_burst_refused_in_part_cuts_to_what_the_host_took(retry_after: float | None) -> None:
    # A host that takes 8 at a time refuses 56 of a first burst of 64.
    limit = HostLimit(ceiling=128, start=64, clock=Clock())
    slots = fill(limit)
    assert len(slots) == 64
    for slot in slots[8:]:
        refuse(slot, retry_after)
    # Not 32 (half the level): a second round of refusals, and a second pause.
    assert limit.limit == 8
    assert limit.mark == 9
    for slot in slots[:8]:
        slot.done()


def test_a_burst_of_refused_connections_halves_it_once() -> None:
    # A host that is down answers none of a burst: that says nothing of what it
    # takes when it is back, so the limit is halved, not cut to 1.
    limit = HostLimit(ceiling=128, start=64, clock=Clock())
    for slot in fill(limit):
        refuse(slot, status=None)
    assert limit.limit == 32
    assert limit.mark == 64


def test_a_limit_far_past_the_mark_comes_under_it_at_once() -> None:
    limit = HostLimit(ceiling=40, start=40)
    slots = sent_apart(limit, 40)
    refuse(slots[28])  # refused at 30 in flight: halved to 15
    assert limit.limit == 15
    refuse(slots[9])  # then an earlier one, at 11: same round, no halving
    assert limit.mark == 11
    assert limit.limit == 10


def test_after_retry_after_the_halved_limit_is_the_top() -> None:
    limit = HostLimit(ceiling=17, start=17)
    slots = sent_apart(limit, 17)
    for slot in slots[8:]:  # refused beyond the ninth, with a pause: 10 halves to 5
        refuse(slot, retry_after=0.01)
    assert limit.mark == 6  # not 10: probing up to it would cost another pause
    assert limit.limit == 5
    time.sleep(0.02)
    for slot in slots[:8]:
        slot.done()
    answered(limit, 200)
    assert limit.limit == 5


def test_the_mark_is_probed_after_a_quiet_while(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host_limits, "PROBE_AFTER", 0.05)
    limit = HostLimit(ceiling=64, start=4)
    [*others, refused] = fill(limit)
    refuse(refused)
    for slot in others:
        slot.done()
    assert limit.mark == 4
    answered(limit, 100)
    assert limit.limit == 3  # just under the mark
    time.sleep(0.1)
    answered(limit, 100)
    assert limit.mark == 5 and limit.limit == 4


def test_retry_after_pauses_new_requests() -> None:
    limit = HostLimit(ceiling=8)
    first = limit.acquire()
    assert first is not None
    refuse(first, retry_after=0.3)
    start = time.monotonic()
    assert limit.acquire() is not None
    assert time.monotonic() - start >= 0.25


def test_a_cancelled_wait_ends() -> None:
    limit = HostLimit(ceiling=1)
    assert limit.acquire() is not None
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    assert limit.acquire(cancel) is None


def test_a_throttling_host_gets_every_file_and_refuses_none_after_its_pause(
    http: HttpPeer, http_root: Path, tmp_path: Path
) -> None:
    (http_root / "polite").mkdir(exist_ok=True)
    hrefs = {}
    for index in range(60):
        (http_root / "polite" / f"p{index:02d}.bin").write_bytes(b"x" * 1000)
        hrefs[f"p{index:02d}"] = http.url_for(f"polite/p{index:02d}.bin")
    http.configure(max_in_flight=4, retry_after=1, latency_ms=20)
    blocking.download_item(make_item("POLITE", hrefs), tmp_path, clients=[HttpClient()])
    assert len(list(tmp_path.glob("p*.bin"))) == 60
    log = http.log()
    first = min(entry["time"] for entry in log)
    refused = [entry for entry in log if entry["status"] == 503]
    # The first burst (START at once) goes past the 4 the host takes; cut to what
    # it took, no request is refused after the one pause it asked for. (Halving
    # alone took another round of refusals, and another pause.)
    assert refused
    assert all(entry["time"] - first < 1.0 for entry in refused)
