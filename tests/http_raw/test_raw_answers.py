"""HttpClient's byte view against a raw-socket server sending what no well-behaved server sends.

Each answer is either what requests makes of it, or a clear error, within
bounded time and memory; never a wrong byte in a file. Every test runs with
each sender: libcurl (a client made without a session) and requests (a client
given a session with this library's adapter, as its token endpoints use).
"""

from __future__ import annotations

import json
import resource
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pystac
import pytest

from stac_asset import (
    AccessError,
    DownloadError,
    HttpClient,
    NotAnItemError,
    TransientError,
    VerificationError,
    blocking,
)
from stac_asset.clients import http_transport
from stac_asset.retry import RetryPolicy
from tests.http_raw.server import BOMB_EXPANDED, UTF8_NAME, body_for, sha256_multihash
from tests.peers.process import PeerProcess

TRIES = RetryPolicy(max_attempts=3, base_delay=0.01)


@pytest.fixture(scope="module")
def raw() -> Iterator[str]:
    """The raw server's origin."""
    with PeerProcess("tests.http_raw.server") as peer:
        yield f"http://127.0.0.1:{peer.port}"


MakeClient = Callable[..., HttpClient]


@pytest.fixture(params=["libcurl", "requests"])
def make_client(request: pytest.FixtureRequest) -> MakeClient:
    """Makes the HttpClient of one sender (keyword arguments as HttpClient's)."""
    if request.param == "libcurl":
        return HttpClient
    return lambda **settings: HttpClient(http_transport.new_session(), **settings)


def asked(raw: str) -> list[str]:
    """The paths asked for since the last call (which clears the log)."""
    with urllib.request.urlopen(f"{raw}/_reset", timeout=5) as response:  # noqa: S310
        return list(json.load(response))


def fail(raw: str, name: str, tmp_path: Path, client: HttpClient) -> BaseException:
    """The error of downloading ``name``; nothing is left at its path."""
    asked(raw)
    with pytest.raises(DownloadError) as info:
        blocking.download_file(f"{raw}/{name}", tmp_path / name, clients=[client])
    assert not (tmp_path / name).exists()
    [failure] = info.value.failures
    return failure.error


@pytest.mark.parametrize("name", ["huge-header.bin", "many-headers.bin"])
def test_huge_or_numerous_headers_are_a_clear_error_soon(
    raw: str, tmp_path: Path, make_client: MakeClient, name: str
) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.monotonic()
    error = fail(raw, name, tmp_path, make_client(retry=TRIES))
    assert time.monotonic() - start < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100 * 1024  # KiB
    assert type(error) is AccessError
    assert "not valid HTTP" in str(error)
    assert asked(raw) == [f"/{name}"]  # it would be the same again: not retried


@pytest.mark.parametrize("interim", ["continue", "hints"])
def test_interim_answers_leave_the_right_bytes_in_the_right_file(
    raw: str, tmp_path: Path, make_client: MakeClient, interim: str
) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=1))  # one connection, in turn
    for name in (f"{interim}-a.bin", f"{interim}-b.bin"):
        blocking.download_file(f"{raw}/{name}", tmp_path / name, clients=[client])
        assert (tmp_path / name).read_bytes() == body_for(f"/{name}")


@pytest.mark.parametrize(
    "name", ["extra-after-body.bin", "length-and-chunked.bin", "obs-fold.bin", "bare-lf.bin"]
)
def test_loose_framing_is_read_as_requests_reads_it(
    raw: str, tmp_path: Path, make_client: MakeClient, name: str
) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=1))
    for path in (name, "continue-a.bin"):  # and the connection is fit for the next request
        blocking.download_file(f"{raw}/{path}", tmp_path / path, clients=[client])
        assert (tmp_path / path).read_bytes() == body_for(f"/{path}")


def test_switching_protocols_is_an_access_error(
    raw: str, tmp_path: Path, make_client: MakeClient
) -> None:
    error = fail(raw, "switch.bin", tmp_path, make_client(retry=TRIES))
    assert type(error) is AccessError
    assert error.status == 101
    assert asked(raw) == ["/switch.bin"]


def test_an_answer_that_is_not_http_is_not_retried(
    raw: str, tmp_path: Path, make_client: MakeClient
) -> None:
    error = fail(raw, "not-http.bin", tmp_path, make_client(retry=TRIES))
    assert type(error) is AccessError
    assert "not valid HTTP" in str(error)
    assert asked(raw) == ["/not-http.bin"]


def _item(href: str, **fields: object) -> pystac.Item:
    item = pystac.Item("raw", None, None, datetime(2024, 1, 1, tzinfo=timezone.utc), {})
    item.add_asset("data", pystac.Asset(href, extra_fields=dict(fields)))
    return item


def test_a_gzipped_answer_is_decoded_and_verified(
    raw: str, tmp_path: Path, make_client: MakeClient
) -> None:
    expected = body_for("/gzipped.bin")
    item = _item(f"{raw}/gzipped.bin", **{"file:checksum": sha256_multihash(expected)})
    blocking.download_item(item, tmp_path, clients=[make_client(retry=TRIES)])
    assert (tmp_path / "gzipped.bin").read_bytes() == expected


def test_a_decompression_bomb_stops_at_file_size(
    raw: str, tmp_path: Path, make_client: MakeClient
) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    item = _item(f"{raw}/bomb.bin", **{"file:size": 10 * 1024 * 1024})
    with pytest.raises(DownloadError) as info:
        blocking.download_item(item, tmp_path, clients=[make_client(retry=TRIES)])
    [failure] = info.value.failures
    assert isinstance(failure.error, VerificationError)
    assert not list(tmp_path.iterdir())  # no partial file either
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # KiB


def test_a_decompression_bomb_is_not_read_as_an_item(
    raw: str, tmp_path: Path, make_client: MakeClient
) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(NotAnItemError, match="more than 64 MiB, too large"):
        blocking.download_item_from_href(
            f"{raw}/bomb.bin", tmp_path, clients=[make_client(retry=TRIES)]
        )
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < BOMB_EXPANDED // 4096


def test_a_utf8_location_is_followed_to_the_right_url(
    raw: str, tmp_path: Path, make_client: MakeClient
) -> None:
    asked(raw)
    blocking.download_file(f"{raw}/utf8-redirect.bin", tmp_path / "r.bin", clients=[make_client()])
    assert (tmp_path / "r.bin").read_bytes() == body_for(f"/{UTF8_NAME}")
    assert asked(raw)[-1] == f"/{UTF8_NAME}"


def test_a_trickling_body_ends_as_a_transient_failure(
    raw: str, tmp_path: Path, make_client: MakeClient
) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=1), min_rate=100, rate_window=0.5)
    start = time.monotonic()
    error = fail(raw, "trickle.bin", tmp_path, client)
    assert time.monotonic() - start < 5
    assert isinstance(error, TransientError)
    assert "under the minimum of 100" in str(error)


def test_a_trickling_head_ends_as_a_transient_failure(
    raw: str, tmp_path: Path, make_client: MakeClient
) -> None:
    # Each byte comes well within the timeout; the whole head does not.
    client = make_client(retry=RetryPolicy(max_attempts=1), timeout=1.0)
    start = time.monotonic()
    error = fail(raw, "trickle-head.bin", tmp_path, client)
    assert time.monotonic() - start < 5
    assert isinstance(error, TransientError)
