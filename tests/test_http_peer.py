"""Tests of the out-of-process HTTP test peer itself."""

from __future__ import annotations

import concurrent.futures
import http.client
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.peers.http_peer import HttpPeer

DATA = bytes(range(256)) * 4  # 1024 bytes
TIF = "data/sample.tif"


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpPeer]:
    """A peer serving a small tree; a secret file sits just outside its root."""
    base = tmp_path_factory.mktemp("http_peer")
    root = base / "root"
    (root / "data").mkdir(parents=True)
    (root / TIF).write_bytes(DATA)
    (root / "data" / "with space.bin").write_bytes(b"spaced")
    (root / "empty_dir").mkdir()
    (base / "secret.txt").write_text("secret")
    with HttpPeer.start(root) as started:
        yield started


@pytest.fixture(autouse=True)
def _reset(peer: HttpPeer) -> None:
    """Every test starts with an empty log and no faults."""
    peer.reset()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    """A requests session that ignores proxy settings from the environment."""
    with requests.Session() as s:
        s.trust_env = False
        yield s


def raw_get(peer: HttpPeer, path: str) -> int:
    """Send a GET with an unnormalised path and return the status."""
    connection = http.client.HTTPConnection("127.0.0.1", peer.port, timeout=5)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


def test_full_get(peer: HttpPeer, session: requests.Session) -> None:
    response = session.get(peer.url_for(TIF))
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["Content-Length"] == str(len(DATA))
    assert response.headers["Content-Type"] == "image/tiff"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["ETag"].startswith('"')
    assert "Last-Modified" in response.headers


@pytest.mark.parametrize(
    ("range_header", "start", "end"),
    [
        ("bytes=10-19", 10, 19),
        ("bytes=1000-", 1000, 1023),
        ("bytes=-5", 1019, 1023),
        ("bytes=1020-5000", 1020, 1023),
        ("bytes=0-1,5-6", 0, 1),
    ],
)
def test_range_forms(
    peer: HttpPeer, session: requests.Session, range_header: str, start: int, end: int
) -> None:
    response = session.get(peer.url_for(TIF), headers={"Range": range_header})
    assert response.status_code == 206
    assert response.content == DATA[start : end + 1]
    assert response.headers["Content-Range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert response.headers["Content-Length"] == str(end - start + 1)


def test_unsatisfiable_range(peer: HttpPeer, session: requests.Session) -> None:
    response = session.get(peer.url_for(TIF), headers={"Range": "bytes=2000-"})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{len(DATA)}"


def test_if_range(peer: HttpPeer, session: requests.Session) -> None:
    etag = session.head(peer.url_for(TIF)).headers["ETag"]
    stale = session.get(peer.url_for(TIF), headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert stale.status_code == 200
    assert stale.content == DATA
    fresh = session.get(peer.url_for(TIF), headers={"Range": "bytes=0-9", "If-Range": etag})
    assert fresh.status_code == 206
    assert fresh.content == DATA[:10]


@pytest.mark.parametrize("path", ["data/missing.tif", "empty_dir", "empty_dir/", ""])
def test_not_found(peer: HttpPeer, session: requests.Session, path: str) -> None:
    assert session.get(peer.url_for(path)).status_code == 404


@pytest.mark.parametrize("path", ["/../secret.txt", "/data/../../secret.txt", "/%2e%2e/secret.txt"])
def test_path_traversal(peer: HttpPeer, path: str) -> None:
    assert raw_get(peer, path) == 404
    assert peer.log()[-1]["status"] == 404


def test_url_for_quotes(peer: HttpPeer, session: requests.Session) -> None:
    response = session.get(peer.url_for("data/with space.bin"))
    assert response.content == b"spaced"
    assert peer.requests_for("with space.bin")[0]["path"] == "/data/with%20space.bin"


def test_head(peer: HttpPeer, session: requests.Session) -> None:
    response = session.head(peer.url_for(TIF))
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(DATA))
    assert response.content == b""
    assert peer.log()[0]["bytes_sent"] == 0


def test_log_records(peer: HttpPeer, session: requests.Session) -> None:
    session.get(peer.url_for(TIF) + "?x=1", headers={"Range": "bytes=0-9", "X-Test": "yes"})
    session.get(peer.url_for("nope"))
    first, second = peer.log()
    assert first["method"] == "GET"
    assert first["path"] == f"/{TIF}?x=1"
    assert first["range"] == "bytes=0-9"
    assert first["status"] == 206
    assert first["bytes_sent"] == 10
    assert first["headers"]["X-Test"] == "yes"
    assert first["client_port"] == second["client_port"]  # keep-alive reuse
    assert second["range"] is None
    assert second["status"] == 404


def test_requests_for(peer: HttpPeer, session: requests.Session) -> None:
    session.get(peer.url_for(TIF))
    session.head(peer.url_for("other.tif"))
    assert len(peer.requests_for("sample.tif")) == 1
    assert [e["method"] for e in peer.requests_for(lambda e: e["method"] == "HEAD")] == ["HEAD"]


def test_error_rate(peer: HttpPeer, session: requests.Session) -> None:
    peer.configure(error_rate=1.0, retry_after=3)
    response = session.get(peer.url_for(TIF))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "3"
    peer.configure(error_rate=1.0, error_status=500)
    response = session.get(peer.url_for(TIF))
    assert response.status_code == 500
    assert "Retry-After" not in response.headers


def test_error_rate_is_seeded(peer: HttpPeer, session: requests.Session) -> None:
    def statuses() -> list[int]:
        peer.configure(error_rate=0.5, seed=7)
        return [session.head(peer.url_for(TIF)).status_code for _ in range(12)]

    first = statuses()
    assert set(first) == {200, 503}
    assert statuses() == first


def test_fail_paths(peer: HttpPeer, session: requests.Session) -> None:
    peer.configure(fail_paths={f"/{TIF}": 403})
    assert session.get(peer.url_for(TIF)).status_code == 403
    assert session.get(peer.url_for(TIF) + "?q=1").status_code == 403


def test_fail_first_n(peer: HttpPeer, session: requests.Session) -> None:
    peer.configure(fail_first_n={f"/{TIF}": 2})
    codes = [session.get(peer.url_for(TIF)).status_code for _ in range(3)]
    assert codes == [503, 503, 200]


def test_cut_first_n(peer: HttpPeer, session: requests.Session) -> None:
    peer.configure(cut_first_n={f"/{TIF}": 1})
    try:
        response = session.get(peer.url_for(TIF))
    except (requests.exceptions.ChunkedEncodingError, requests.ConnectionError):
        pass
    else:
        assert len(response.content) < int(response.headers["Content-Length"])
    assert session.get(peer.url_for(TIF)).content == DATA
    cut, whole = peer.log()
    assert 0 < cut["bytes_sent"] < len(DATA)
    assert whole["bytes_sent"] == len(DATA)


def test_require_headers(peer: HttpPeer, session: requests.Session) -> None:
    peer.configure(require_headers={"/data/": {"Authorization": "Bearer t"}})
    assert session.get(peer.url_for(TIF)).status_code == 401
    assert session.get(peer.url_for(TIF), headers={"Authorization": "Bearer x"}).status_code == 401
    ok = session.get(peer.url_for(TIF), headers={"Authorization": "Bearer t"})
    assert ok.status_code == 200
    assert [e["status"] for e in peer.log()] == [401, 401, 200]


def test_redirects(peer: HttpPeer, session: requests.Session) -> None:
    peer.configure(redirects={"/moved.tif": peer.url_for(TIF)})
    response = session.get(peer.url_for("moved.tif"), allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == peer.url_for(TIF)
    assert session.get(peer.url_for("moved.tif")).content == DATA


def test_ignore_range(peer: HttpPeer, session: requests.Session) -> None:
    peer.configure(ignore_range=True)
    response = session.get(peer.url_for(TIF), headers={"Range": "bytes=0-9"})
    assert response.status_code == 200
    assert response.content == DATA


def test_drop_rate(peer: HttpPeer, session: requests.Session) -> None:
    peer.configure(drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        session.get(peer.url_for(TIF))
    assert peer.log()[0]["status"] is None


def test_latency(peer: HttpPeer, session: requests.Session) -> None:
    peer.configure(latency_ms=150)
    started = time.monotonic()
    session.head(peer.url_for(TIF))
    assert time.monotonic() - started >= 0.15


def test_put_then_get(peer: HttpPeer, session: requests.Session) -> None:
    response = session.put(peer.url_for("uploads/new/file.bin"), data=b"payload")
    assert response.status_code == 201
    assert (peer.root / "uploads" / "new" / "file.bin").read_bytes() == b"payload"
    assert session.get(peer.url_for("uploads/new/file.bin")).content == b"payload"


def test_reset_clears_log_and_faults(peer: HttpPeer, session: requests.Session) -> None:
    peer.configure(error_rate=1.0)
    session.get(peer.url_for(TIF))
    peer.reset()
    assert peer.log() == []
    assert session.get(peer.url_for(TIF)).status_code == 200


def test_configure_rejects_bad_config(peer: HttpPeer) -> None:
    with pytest.raises(ValueError, match="unknown config keys"):
        peer.configure(eror_rate=1.0)
    with pytest.raises(ValueError, match="error_rate"):
        peer.configure(error_rate=2.0)


def test_start_failure_reports_stderr(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="is not a directory"):
        HttpPeer.start(tmp_path / "missing")


def test_stop_ends_server(tmp_path: Path) -> None:
    with HttpPeer(tmp_path) as peer:
        assert peer.log() == []
    with pytest.raises(OSError):
        peer.log()


def test_rate_cap_slows_each_response(peer: HttpPeer, session: requests.Session) -> None:
    peer.configure(rate_cap_bps=4096)
    start = time.monotonic()
    assert session.get(peer.url_for(TIF)).content == DATA
    # 1 KiB at 4 KiB/s: the sleep after the only chunk brings it to a quarter second.
    assert time.monotonic() - start >= 0.2


def test_max_in_flight_answers_503_with_retry_after(peer: HttpPeer) -> None:
    peer.configure(max_in_flight=2, latency_ms=300, retry_after=1)

    def get(_: int) -> tuple[int, str | None]:
        with requests.Session() as own:
            own.trust_env = False
            response = own.get(peer.url_for(TIF), timeout=5)
            return response.status_code, response.headers.get("Retry-After")

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(get, range(4)))
    assert sorted(answers, key=lambda a: a[0]) == [(200, None)] * 2 + [(503, "1")] * 2
    assert sorted(entry["status"] for entry in peer.log()) == [200, 200, 503, 503]
