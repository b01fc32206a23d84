"""The libcurl byte view against a server that speaks HTTP/2 only (as CDNs negotiate it).

libcurl offers HTTP/2 to HTTPS servers; the peer (Node's http2, no HTTP/1.1
fallback) answers nothing else, so every test here passes only over HTTP/2.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from stac_asset import HttpClient, blocking
from tests.peers.process import PeerProcess


@pytest.fixture(scope="module")
def h2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, bytes]]:
    """The peer's origin, the CA file that trusts it, and the bytes of its one file."""
    work = tmp_path_factory.mktemp("h2")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(work / "cert.pem"))
    cert.private_key_pem.write_to_path(str(work / "key.pem"))
    ca.cert_pem.write_to_path(str(work / "ca.pem"))
    root = work / "root"
    root.mkdir()
    data = os.urandom(3 * 1024 * 1024 + 5)
    (root / "data.bin").write_bytes(data)
    command = ["node", "tests/peers/h2_server.js", str(root), str(work / "cert.pem")]
    with PeerProcess("h2", command=[*command, str(work / "key.pem")]) as peer:
        yield f"https://127.0.0.1:{peer.port}", work / "ca.pem", data


def client(ca: Path) -> HttpClient:
    made = HttpClient()
    made.session.verify = str(ca)
    return made


@pytest.mark.parametrize("path", ["data.bin", "data.bin?early", "redirect/data.bin"])
def test_a_download_over_http2_has_the_right_bytes(
    h2: tuple[str, Path, bytes], tmp_path: Path, path: str
) -> None:
    origin, ca, data = h2
    blocking.download_file(f"{origin}/{path}", tmp_path / "out.bin", clients=[client(ca)])
    assert (tmp_path / "out.bin").read_bytes() == data


def test_a_range_over_http2_is_the_asked_bytes_of_the_version(
    h2: tuple[str, Path, bytes],
) -> None:
    origin, ca, data = h2
    made = client(ca)
    access = made.resolve(f"{origin}/data.bin")
    with made.open_range(access, 1000, 70_000, '"v1"') as stream:
        assert (stream.start, stream.validator) == (1000, '"v1"')
        assert b"".join(stream.chunks()) == data[1000:70_000]
