"""Large objects as parallel ranged GETs (stac_asset.ranged), against the HTTP peer."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from stac_asset import DownloadError, HttpClient, VerificationError, blocking, ranged
from stac_asset.retry import RetryPolicy
from tests.conftest import make_item
from tests.peers.http_peer import HttpPeer

SIZE = 3 * 1024 * 1024 + 12345
PART = 256 * 1024


@pytest.fixture(autouse=True)
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ranged, "THRESHOLD", 1024 * 1024)
    monkeypatch.setattr(ranged, "PART_SIZE", PART)


@pytest.fixture
def big(http: HttpPeer) -> tuple[str, bytes]:
    (http.root / "ranged").mkdir(exist_ok=True)
    data = os.urandom(SIZE)
    (http.root / "ranged" / "big.bin").write_bytes(data)
    return http.url_for("ranged/big.bin"), data


def multihash(data: bytes) -> str:
    return "1220" + hashlib.sha256(data).hexdigest()


def download(href: str, tmp_path: Path, **fields: object) -> Path:
    item = make_item("RANGED", {"big": href})
    item.assets["big"].extra_fields.update(fields)
    client = HttpClient(retry=RetryPolicy(max_attempts=3, base_delay=0.01))
    blocking.download_item(item, tmp_path, clients=[client])
    return tmp_path / "big.bin"


def ranges(http: HttpPeer) -> list[str | None]:
    return [entry["range"] for entry in http.requests_for("ranged/big.bin")]


def test_a_large_object_comes_as_parallel_ranges_verified(
    http: HttpPeer, big: tuple[str, bytes], tmp_path: Path
) -> None:
    href, data = big
    path = download(href, tmp_path, **{"file:checksum": multihash(data), "file:size": SIZE})
    assert path.read_bytes() == data
    first, *parts = ranges(http)
    assert first is None  # the first answer tells the size and that ranges are taken
    expected = [f"bytes={start}-{min(start + PART, SIZE) - 1}" for start in range(0, SIZE, PART)]
    assert sorted(parts) == sorted(expected)
    assert all(entry["headers"].get("If-Range") for entry in http.log()[1:])


def test_a_wrong_checksum_still_fails(
    http: HttpPeer, big: tuple[str, bytes], tmp_path: Path
) -> None:
    href, data = big
    with pytest.raises(DownloadError) as info:
        download(href, tmp_path, **{"file:checksum": multihash(data + b"x")})
    assert isinstance(info.value.failures[0].error, VerificationError)
    assert not list(tmp_path.glob("*.bin")) and not list(tmp_path.glob(".*.part"))


def test_a_cut_part_resumes_where_it_stopped(
    http: HttpPeer, big: tuple[str, bytes], tmp_path: Path
) -> None:
    href, data = big
    http.configure(cut_first_n={"/ranged/big.bin": 3})
    path = download(href, tmp_path, **{"file:checksum": multihash(data)})
    assert path.read_bytes() == data
    boundaries = {f"bytes={start}-" for start in range(0, SIZE, PART)}
    resumed = [r for r in ranges(http) if r and not any(r.startswith(b) for b in boundaries)]
    assert resumed  # a part went on from the middle, not from its start


def test_a_server_that_ignores_ranges_gets_one_stream(
    http: HttpPeer, big: tuple[str, bytes], tmp_path: Path
) -> None:
    href, data = big
    http.configure(ignore_range=True)
    path = download(href, tmp_path, **{"file:checksum": multihash(data)})
    assert path.read_bytes() == data
    assert ranges(http)[-1] is None  # the last request: the whole object, in order


def test_a_client_that_changes_open_stream_alone_reads_one_stream() -> None:
    class Renewing(HttpClient):
        def open_stream(self, access, start=0, validator=None):  # type: ignore[no-untyped-def]
            return super().open_stream(access, start, validator)

    assert ranged.takes_ranges(HttpClient())
    assert not ranged.takes_ranges(Renewing())
