"""HttpClient sends through its session, whatever it holds: the same requests on the wire."""

from __future__ import annotations

import json
import os
import pickle
import urllib.request
from pathlib import Path

import pytest
import requests

from stac_asset import DownloadError, HttpClient, TransientError, blocking
from stac_asset.retry import RetryPolicy
from tests.peers.http_peer import HttpPeer

SECRET = "direct-secret-" + "d" * 16
BODY = b"cookie-guarded bytes\n" * 100


@pytest.fixture
def blob(http: HttpPeer) -> tuple[str, bytes]:
    data = os.urandom(50_000)
    (http.root / "direct").mkdir(exist_ok=True)
    (http.root / "direct" / "blob.bin").write_bytes(data)
    return http.url_for("direct/blob.bin"), data


def test_same_request_on_the_wire(http: HttpPeer, blob: tuple[str, bytes], tmp_path: Path) -> None:
    href, data = blob
    sent = []
    for name, client in (("direct", HttpClient()), ("requests", HttpClient(requests.Session()))):
        http.reset()
        blocking.download_file(href, tmp_path / name, clients=[client])
        assert (tmp_path / name).read_bytes() == data
        [entry] = http.log()
        sent.append((entry["path"], list(entry["headers"].items())))
    assert sent[0] == sent[1]
    assert dict(sent[0][1])["Accept-Encoding"] == "identity"


def test_no_secret_follows_a_redirect_to_another_origin(
    http: HttpPeer, away: HttpPeer, blob: tuple[str, bytes], tmp_path: Path
) -> None:
    href, data = blob
    http.configure(redirects={"/direct/moved.bin": away.url_for("direct/blob.bin")})
    host = "127.0.0.1"
    client = HttpClient(
        headers={"X-Team": "geo", "X-Api-Key": SECRET},
        host_headers={host: {"Authorization": f"Bearer {SECRET}"}},
    )
    blocking.download_file(http.url_for("direct/moved.bin"), tmp_path / "b.bin", clients=[client])
    assert (tmp_path / "b.bin").read_bytes() == data
    # The href's own origin gets the secrets, in the one GET: where the href leads
    # is asked for GDAL's view only, which a download does not use.
    [home] = http.log()
    assert home["headers"]["X-Api-Key"] == SECRET
    assert home["headers"]["Authorization"] == f"Bearer {SECRET}"
    [there] = away.log()
    assert there["headers"]["X-Team"] == "geo"
    assert SECRET not in json.dumps(there)


@pytest.mark.parametrize("session", [None, "given"])
def test_a_cookie_set_on_a_redirect_is_sent_on(
    cookie_url: str, tmp_path: Path, session: str | None
) -> None:
    client = HttpClient(requests.Session() if session else None)
    blocking.download_file(f"{cookie_url}/set/{session}.bin", tmp_path / "c.bin", clients=[client])
    assert (tmp_path / "c.bin").read_bytes() == BODY
    assert {c.name: c.value for c in client.session.cookies} == {"visit": f"{session}.bin"}
    with urllib.request.urlopen(f"{cookie_url}/_control/log") as response:  # noqa: S310
        log = [e for e in json.load(response) if e["path"].endswith(f"/{session}.bin")]
    assert [e["path"] for e in log] == [f"/set/{session}.bin", f"/get/{session}.bin"]
    assert log[1]["headers"]["Cookie"] == f"visit={session}.bin"


def test_pools_survive_close_and_pickling(blob: tuple[str, bytes], tmp_path: Path) -> None:
    href, data = blob
    client = HttpClient()
    blocking.download_file(href, tmp_path / "1.bin", clients=[client])
    client.close()
    blocking.download_file(href, tmp_path / "2.bin", clients=[client])
    copy = pickle.loads(pickle.dumps(client))
    blocking.download_file(href, tmp_path / "3.bin", clients=[copy])
    for name in ("1.bin", "2.bin", "3.bin"):
        assert (tmp_path / name).read_bytes() == data


def test_connection_refused_is_transient(tmp_path: Path) -> None:
    client = HttpClient(retry=RetryPolicy(max_attempts=2, base_delay=0.01))
    with pytest.raises(DownloadError) as info:
        blocking.download_file("http://127.0.0.1:9/x.bin", tmp_path / "x.bin", clients=[client])
    [failure] = info.value.failures
    assert isinstance(failure.error, TransientError)
    assert "request failed (connection refused by 127.0.0.1:9)" in str(failure.error)
