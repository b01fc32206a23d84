"""The express lane: plain HTTP(S) GETs to local files on the download's own thread."""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from pathlib import Path

import requests
import urllib3

import stac_asset
from stac_asset import HttpClient, blocking, express_attempt
from stac_asset.clients import http_curl_batch, http_send, http_transport
from stac_asset.clients.http_curl_errors import CurlError
from tests.conftest import make_item
from tests.peers.http_peer import HttpPeer


def served(http: HttpPeer, folder: str, count: int, size: int) -> dict[str, bytes]:
    """``count`` files of ``size`` random bytes under ``folder`` on the peer."""
    (http.root / folder).mkdir(exist_ok=True)
    files = {}
    for index in range(count):
        files[f"f{index}.bin"] = body = os.urandom(size)
        (http.root / folder / f"f{index}.bin").write_bytes(body)
    return files


def requested(http: HttpPeer, folder: str) -> list[dict[str, object]]:
    """The requests the peer logged for files under ``folder``."""
    return http.requests_for(lambda entry: f"/{folder}/" in entry["path"])


def writers(http: HttpPeer, folder: str, files: dict[str, bytes], tmp_path: Path) -> set[str]:
    """Download the files; the names of the threads that wrote their bytes."""
    names: set[str] = set()

    def progress(message: stac_asset.Message) -> None:
        if isinstance(message, stac_asset.WriteChunk):
            names.add(threading.current_thread().name)

    item = make_item("LANE", {name: http.url_for(f"{folder}/{name}") for name in files})
    blocking.download_item(item, tmp_path, messages=progress)
    for name, body in files.items():
        assert (tmp_path / name).read_bytes() == body
    return names


def test_small_files_come_on_the_calling_thread(http: HttpPeer, tmp_path: Path) -> None:
    http.configure(latency_ms=20)
    files = served(http, "lane-small", 40, 10 * 1024)
    assert writers(http, "lane-small", files, tmp_path) == {threading.current_thread().name}
    assert len(requested(http, "lane-small")) == 40


def test_a_large_body_is_written_on_another_thread(http: HttpPeer, tmp_path: Path) -> None:
    files = served(http, "lane-large", 2, express_attempt.LARGEST + 1)
    names = writers(http, "lane-large", files, tmp_path)
    assert names and threading.current_thread().name not in names
    assert len(requested(http, "lane-large")) == 2  # one request each


def test_a_retry_waits_on_the_lane_and_honours_retry_after(http: HttpPeer, tmp_path: Path) -> None:
    files = served(http, "lane-retry", 1, 1024)
    http.configure(fail_first_n={"/lane-retry/f0.bin": 1}, error_status=503, retry_after=1)
    start = time.monotonic()
    writers(http, "lane-retry", files, tmp_path)
    assert time.monotonic() - start >= 1.0
    assert len(requested(http, "lane-retry")) == 2


class _Collect:
    """A receiver that keeps the body."""

    def __init__(self) -> None:
        self.status = 0
        self.data = bytearray()
        self.error: CurlError | None = None
        self.over = False

    def head(self, status: int, reason: str, headers: urllib3.HTTPHeaderDict) -> bool:
        self.status = status
        return True

    def body(self, data: bytes) -> bool:
        self.data += data
        return True

    def ended(self, error: CurlError | None) -> None:
        self.error, self.over = error, True


def test_several_batches_are_driven_together(http: HttpPeer) -> None:
    # One download's clients each lend the lane a batch: one wait covers all.
    files = served(http, "lane-two", 2, 64 * 1024)
    http.configure(latency_ms=50)
    batches = [http_curl_batch.Batch(), http_curl_batch.Batch()]
    receivers = []
    session = http_transport.new_session()
    for batch, name in zip(batches, files, strict=True):
        url = http.url_for(f"lane-two/{name}")
        settings = http_transport.environment(session, url, "origin")
        request = http_send.curl_request(session, url, {}, settings, 10.0)
        receiver = _Collect()
        batch.get(request.url, request.lines, request.settings, receiver)
        receivers.append(receiver)
    deadline = time.monotonic() + 10
    while any(batches) and time.monotonic() < deadline:
        http_curl_batch.step_all(batches, 1.0)
    for receiver, body in zip(receivers, files.values(), strict=True):
        assert receiver.over and receiver.error is None
        assert receiver.status == 200 and bytes(receiver.data) == body
    for batch in batches:
        batch.close()


def _get(batch: http_curl_batch.Batch, url: str, receiver: _Collect) -> None:
    session = http_transport.new_session()
    settings = http_transport.environment(session, url, "origin")
    request = http_send.curl_request(session, url, {}, settings, 30.0)
    batch.get(request.url, request.lines, request.settings, receiver)


def test_a_step_that_ends_a_transfer_does_not_wait(http: HttpPeer) -> None:
    # The lane fills the place at once: answers often come together, and the
    # next one may be a round trip away (here, never).
    files = served(http, "lane-end", 1, 1024)
    with socket.create_server(("127.0.0.1", 0)) as silent:  # connects, never answers
        batch = http_curl_batch.Batch()
        done, waiting = _Collect(), _Collect()
        _get(batch, f"http://127.0.0.1:{silent.getsockname()[1]}/never", waiting)
        _get(batch, http.url_for(f"lane-end/{next(iter(files))}"), done)
        deadline = time.monotonic() + 10
        took = 0.0
        while not done.over and time.monotonic() < deadline:
            start = time.monotonic()
            batch.step(5.0)
            took = time.monotonic() - start
        assert done.over and done.status == 200
        assert took < 2.0  # not the 5 s it may wait for the other transfer
        assert not waiting.over
        batch.close()


def test_send_puts_started_gets_on_the_wire() -> None:
    # On a kept connection (the lane's steady state), the request goes out
    # before the next step.
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(5)
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        batch = http_curl_batch.Batch()
        first = _Collect()
        _get(batch, f"{url}/first", first)
        batch.step(0.1)
        connection, _ = server.accept()
        with connection:
            deadline = time.monotonic() + 5
            while not select.select([connection], [], [], 0)[0] and time.monotonic() < deadline:
                batch.step(0.05)  # connected: the request goes out on a later step
            connection.settimeout(5)
            assert connection.recv(1024).startswith(b"GET /first ")
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            while not first.over:
                batch.step(1.0)
            _get(batch, f"{url}/second", _Collect())
            batch.send()  # no step: the lane is still preparing others
            assert connection.recv(1024).startswith(b"GET /second ")
        batch.close()


def test_a_client_given_a_session_does_not_batch() -> None:
    # Its session's adapters and hooks must see every request.
    assert HttpClient().batches
    assert not HttpClient(requests.Session()).batches
