"""HttpClient's keep-alive connections (requests and urllib3 beneath), against real servers."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

import stac_asset
from stac_asset import AccessError, DownloadError, HttpClient, TransientError, blocking
from stac_asset.retry import RetryPolicy
from tests.cogs import write_cog
from tests.peers.http_peer import HttpPeer

ONE_TRY = RetryPolicy(max_attempts=1)


@pytest.fixture
def files(http: HttpPeer) -> dict[str, bytes]:
    folder = http.root / "conn"
    folder.mkdir(exist_ok=True)
    data = {f"f{i}.bin": os.urandom(30_000 + i) for i in range(4)}
    for name, body in data.items():
        (folder / name).write_bytes(body)
    return data


def fetch(http: HttpPeer, client: HttpClient, name: str, out: Path) -> bytes:
    blocking.download_file(http.url_for(f"conn/{name}"), out / name, clients=[client])
    return (out / name).read_bytes()


def ports(http: HttpPeer, name: str) -> list[int]:
    return [entry["client_port"] for entry in http.requests_for(f"conn/{name}")]


def test_one_connection_serves_requests_in_turn(
    http: HttpPeer, files: dict[str, bytes], tmp_path: Path
) -> None:
    client = HttpClient()
    for name, body in files.items():
        assert fetch(http, client, name, tmp_path) == body
    assert len({port for name in files for port in ports(http, name)}) == 1


def test_a_connection_the_server_closed_while_idle_is_replaced(
    http: HttpPeer, files: dict[str, bytes], tmp_path: Path
) -> None:
    http.configure(idle_close_s=0.1)
    client = HttpClient(retry=ONE_TRY)
    assert fetch(http, client, "f0.bin", tmp_path) == files["f0.bin"]
    time.sleep(0.4)
    assert fetch(http, client, "f1.bin", tmp_path) == files["f1.bin"]
    assert ports(http, "f0.bin") != ports(http, "f1.bin")


def test_a_reused_connection_closed_unanswered_is_retried_on_a_new_one(
    http: HttpPeer, files: dict[str, bytes], tmp_path: Path
) -> None:
    # urllib3 replaces a pooled connection it sees closed; one closed while the
    # request is on its way is a transient failure, retried on a new connection.
    client = HttpClient(retry=RetryPolicy(max_attempts=2, base_delay=0.01))
    assert fetch(http, client, "f0.bin", tmp_path) == files["f0.bin"]
    http.configure(drop_first_n={"/conn/f1.bin": 1})
    assert fetch(http, client, "f1.bin", tmp_path) == files["f1.bin"]
    first, second = ports(http, "f1.bin")
    assert first == ports(http, "f0.bin")[0] and second != first


def test_a_new_connection_closed_unanswered_is_a_transient_failure(
    http: HttpPeer, files: dict[str, bytes], tmp_path: Path
) -> None:
    http.configure(drop_first_n={"/conn/f2.bin": 1})
    with pytest.raises(DownloadError) as info:
        fetch(http, HttpClient(retry=ONE_TRY), "f2.bin", tmp_path)
    [failure] = info.value.failures
    assert isinstance(failure.error, TransientError)
    assert "request failed (ConnectionError)" in str(failure.error)
    assert not (tmp_path / "f2.bin").exists()
    assert fetch(http, HttpClient(retry=ONE_TRY), "f2.bin", tmp_path) == files["f2.bin"]


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_chunked_and_close_delimited_bodies(
    http: HttpPeer, files: dict[str, bytes], tmp_path: Path, framing: str
) -> None:
    http.configure(framing=framing)
    client = HttpClient(retry=ONE_TRY)
    for name in ("f0.bin", "f1.bin"):
        assert fetch(http, client, name, tmp_path) == files[name]
    reused = ports(http, "f0.bin") == ports(http, "f1.bin")
    assert reused == (framing == "chunked")  # a body that ends at close ends its connection


def test_a_chunked_body_cut_short_resumes(
    http: HttpPeer, files: dict[str, bytes], tmp_path: Path
) -> None:
    http.configure(framing="chunked", cut_first_n={"/conn/f3.bin": 1})
    client = HttpClient(retry=RetryPolicy(max_attempts=2, base_delay=0.01))
    assert fetch(http, client, "f3.bin", tmp_path) == files["f3.bin"]
    first, second = http.requests_for("conn/f3.bin")
    assert first["range"] is None
    assert second["range"] == f"bytes={first['bytes_sent']}-"


@pytest.fixture(scope="module")
def tls_peer(
    http_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[HttpPeer, Path]]:
    """An HTTPS server for 127.0.0.1 with a certificate of a local CA; the CA's file."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    folder = tmp_path_factory.mktemp("tls")
    chain, key, ca_file = folder / "chain.pem", folder / "key.pem", folder / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(chain))
    cert.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    with HttpPeer.start(http_root, tls=(chain, key)) as peer:
        yield peer, ca_file


def test_https_checks_the_certificate_as_requests_does(
    tls_peer: tuple[HttpPeer, Path], files: dict[str, bytes], tmp_path: Path
) -> None:
    peer, ca_file = tls_peer
    trusted = HttpClient(retry=ONE_TRY)
    trusted.session.verify = str(ca_file)
    assert fetch(peer, trusted, "f0.bin", tmp_path) == files["f0.bin"]
    unchecked = HttpClient(retry=ONE_TRY)
    unchecked.session.verify = False
    assert fetch(peer, unchecked, "f1.bin", tmp_path) == files["f1.bin"]
    # certifi's bundle does not trust the local CA: nothing is written.
    with pytest.raises(DownloadError) as info:
        fetch(peer, HttpClient(retry=ONE_TRY), "f2.bin", tmp_path)
    assert "request failed (SSLError)" in str(info.value.failures[0].error)
    assert not (tmp_path / "f2.bin").exists()


def test_gdal_checks_the_certificate_as_the_byte_view_does(
    tls_peer: tuple[HttpPeer, Path], tmp_path: Path
) -> None:
    peer, ca_file = tls_peer
    folder = peer.root / "conn"
    folder.mkdir(exist_ok=True)
    for name in ("trusted.tif", "unchecked.tif", "untrusted.tif"):
        write_cog(folder / name, 256, 256)
    trusted = HttpClient()
    trusted.session.verify = str(ca_file)
    with stac_asset.open(peer.url_for("conn/trusted.tif"), clients=[trusted]) as dataset:
        assert dataset.read(1).shape == (256, 256)
    unchecked = HttpClient()
    unchecked.session.verify = False
    with stac_asset.open(peer.url_for("conn/unchecked.tif"), clients=[unchecked]) as dataset:
        assert dataset.width == 256
    with (
        pytest.raises(AccessError, match="SSL certificate problem"),
        stac_asset.open(peer.url_for("conn/untrusted.tif"), clients=[HttpClient()]),
    ):
        pass


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"])
def test_a_ca_bundle_variable_set_after_the_client_was_made_applies_to_both_views(
    tls_peer: tuple[HttpPeer, Path],
    files: dict[str, bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
) -> None:
    peer, ca_file = tls_peer
    write_cog(peer.root / "conn" / "env.tif", 256, 256)
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    client = HttpClient(retry=ONE_TRY)
    with pytest.raises(DownloadError, match="SSLError"):
        fetch(peer, client, "f0.bin", tmp_path)
    monkeypatch.setenv(variable, str(ca_file))
    assert fetch(peer, client, "f0.bin", tmp_path) == files["f0.bin"]
    with stac_asset.open(peer.url_for("conn/env.tif"), clients=[client]) as dataset:
        assert dataset.width == 256
