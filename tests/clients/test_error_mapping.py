"""Every client reports the same failure with the same error class (the one mapping).

Each client reads from real loopback peers (a fault-injecting file server, a
slow one, a closed port), with its token endpoint working, through refused
connection, timeout and the HTTP statuses; the class must be the one of
:mod:`stac_asset.errors`' table, whatever the client and its library
(requests, boto3, Authlib...). The filesystem client makes no requests.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stac_asset import (
    AccessDeniedError,
    AccessError,
    AzureClient,
    Client,
    EarthdataClient,
    GcsClient,
    HttpClient,
    NotFoundError,
    OAuth2Client,
    PlanetaryComputerClient,
    RetryPolicy,
    S3Client,
    TransientError,
    UsgsErosClient,
)
from tests.auth.peer import AuthPeer
from tests.azure.peers import TokenApi
from tests.oauth2 import server as oauth_server
from tests.oauth2.peer import OAuth2Peer
from tests.peers.http_peer import HttpPeer

STATUSES = [400, 401, 403, 404, 408, 429, 500, 503]
EXPECTED: dict[str | int, type[AccessError]] = {
    "refused": TransientError,
    "timeout": TransientError,
    400: AccessError,
    401: AccessDeniedError,
    403: AccessDeniedError,
    404: NotFoundError,
    408: TransientError,
    429: TransientError,
    500: TransientError,
    503: TransientError,
}
CLIENTS = ["http", "s3", "azure", "planetary_computer", "gcs", "earthdata", "usgs_eros", "oauth2"]
TIMEOUT = 0.5
ONCE = RetryPolicy(max_attempts=1)
# Object paths on a peer: plain, and under an Azurite-style account endpoint.
PREFIXES = ["/bk", "/devstoreaccount1/bk"]


@dataclass
class Peers:
    faults: HttpPeer
    slow: HttpPeer
    oauth: OAuth2Peer
    m2m: AuthPeer
    token_api: TokenApi
    username: str
    pat: str
    refused: str

    def base(self, kind: str, case: str | int) -> str:
        """The origin the client's objects are on, for this case."""
        if case == "refused":
            return self.refused
        if kind == "oauth2":
            return self.oauth.url
        return self.slow.url if case == "timeout" else self.faults.url


def _fail_paths() -> dict[str, int]:
    return {f"{prefix}/s{status}.tif": status for prefix in PREFIXES for status in STATUSES}


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peers]:
    root = tmp_path_factory.mktemp("error-mapping")
    (root / "bk").mkdir()
    (root / "bk" / "timeout.tif").write_bytes(b"late")
    username, pat = "mapper", "pat-" + secrets.token_hex(8)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{sock.getsockname()[1]}"  # nobody listens once closed
    started: list[HttpPeer | AuthPeer | TokenApi] = []
    try:
        faults = HttpPeer.start(root)
        started.append(faults)
        faults.configure(fail_paths=_fail_paths())
        slow = HttpPeer.start(root)
        started.append(slow)
        slow.configure(latency_ms=TIMEOUT * 1000 * 6)
        oauth = OAuth2Peer.start(root)
        started.append(oauth)
        m2m = AuthPeer("m2m", "127.0.0.1", {"username": username, "pat": pat})
        started.append(m2m)
        token_api = TokenApi()
        started.append(token_api)
        yield Peers(faults, slow, oauth, m2m, token_api, username, pat, refused)
    finally:
        for peer in started:
            peer.stop()


@pytest.fixture
def fresh(peers: Peers) -> Peers:
    peers.oauth.reset()
    peers.oauth.configure(fail_paths=_fail_paths())
    peers.oauth.settings(delay_first={"/bk/timeout.tif": TIMEOUT * 6})
    return peers


def build(kind: str, base: str, peers: Peers) -> tuple[Client, Callable[[str], str]]:
    """A client of ``kind`` whose objects are on ``base``, and the href of an object name."""
    host = base.split("://", 1)[1]
    plain = {"timeout": TIMEOUT, "retry": ONCE}
    on_base: Callable[[str], str] = lambda name: f"{base}/bk/{name}"  # noqa: E731
    on_account: Callable[[str], str] = lambda name: f"{base}/devstoreaccount1/bk/{name}"  # noqa: E731
    if kind == "http":
        return HttpClient(**plain), on_base
    if kind == "s3":
        return S3Client(endpoint_url=base, anonymous=True, **plain), lambda name: f"s3://bk/{name}"
    if kind == "azure":
        return AzureClient(endpoint_url=f"{base}/devstoreaccount1", anonymous=True, **plain), (
            on_account
        )
    if kind == "planetary_computer":
        pc = PlanetaryComputerClient(
            endpoint_url=f"{base}/devstoreaccount1", sas_url=peers.token_api.sas_url, **plain
        )
        return pc, on_account
    if kind == "gcs":
        return GcsClient(endpoint=base, anonymous=True, **plain), lambda name: f"gs://bk/{name}"
    if kind == "earthdata":
        return EarthdataClient(token="edl-" + secrets.token_hex(8), hosts=[host], **plain), on_base
    if kind == "usgs_eros":
        usgs = UsgsErosClient(
            username=peers.username,
            token=peers.pat,
            api_url=f"{peers.m2m.url}/api/api/json/stable/",
            hosts=[host],
            **plain,
        )
        return usgs, on_base
    assert kind == "oauth2"
    oauth2 = OAuth2Client(
        peers.oauth.token_url,
        hosts=[host],
        client_id=oauth_server.CONFIDENTIAL_ID,
        client_secret=oauth_server.CONFIDENTIAL_SECRET,
        **plain,
    )
    return oauth2, on_base


def read(client: Client, href: str) -> None:
    access = client.resolve(href)
    client.open_stream(access).close()


@pytest.mark.parametrize("kind", CLIENTS)
def test_each_failure_is_one_class_for_every_client(kind: str, fresh: Peers) -> None:
    seen: dict[str | int, str] = {}
    for case, expected in EXPECTED.items():
        base = fresh.base(kind, case)
        client, href = build(kind, base, fresh)
        name = f"s{case}.tif" if isinstance(case, int) else "timeout.tif"
        with client, pytest.raises(AccessError) as caught:
            read(client, href(name))
        error = caught.value
        seen[case] = type(error).__name__
        assert type(error) is expected, f"{kind}, {case}: {type(error).__name__}: {error}"
        assert error.client == client.name and href(name) in str(error)
        if case == "refused":  # said so, with where, after the retries
            assert "connection refused by 127.0.0.1:" in str(error), (kind, str(error))
    assert len(seen) == len(EXPECTED)


def test_the_token_endpoints_map_alike(fresh: Peers, tmp_path: Path) -> None:
    """A token endpoint's failure is the same class as the storage's own."""
    for status in STATUSES:
        expected = EXPECTED[status]
        fresh.token_api.configure(error_rate=1.0, error_status=status)
        pc, href = build("planetary_computer", fresh.faults.url, fresh)
        with pytest.raises(AccessError) as caught:
            read(pc, href("any.tif"))
        assert type(caught.value) is expected, (status, caught.value)
        assert fresh.token_api.sas_url in str(caught.value)
        token_url = f"{fresh.faults.url}/bk/s{status}.tif"
        oauth2 = OAuth2Client(
            token_url,
            hosts=[fresh.oauth.netloc],
            client_id=oauth_server.CONFIDENTIAL_ID,
            client_secret=oauth_server.CONFIDENTIAL_SECRET,
            timeout=TIMEOUT,
            retry=ONCE,
        )
        with pytest.raises(AccessError) as caught:
            read(oauth2, f"{fresh.oauth.url}/bk/any.tif")
        assert type(caught.value) is expected, (status, caught.value)
        assert token_url in str(caught.value)
    fresh.token_api.reset()
