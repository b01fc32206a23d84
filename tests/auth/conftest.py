"""Auth peers on three loopback hosts, so a credential sent to the wrong one shows in its log.

127.0.0.1 is the data host (Earthdata data host, Landsat Look, GCS), 127.0.0.2
the login host (Earthdata Login, USGS M2M) and 127.0.0.3 the object store the
data hosts redirect to. Different hosts, not just ports: clients drop
credentials on a change of host, and that is what these tests watch.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.auth.peer import AuthPeer
from tests.cogs import write_cog

DATA_HOST, LOGIN_HOST, STORE_HOST = "127.0.0.1", "127.0.0.2", "127.0.0.3"
BANDS = ["B02", "B03", "B04"]


@dataclass
class Earthdata:
    """The three Earthdata peers and the secrets they know."""

    data: AuthPeer
    login: AuthPeer
    s3: AuthPeer
    token: str
    username: str
    password: str

    @property
    def peers(self) -> list[AuthPeer]:
        return [self.data, self.login, self.s3]

    def reset(self) -> None:
        for peer in self.peers:
            peer.reset()


@dataclass
class Usgs:
    """The M2M API, Landsat Look and the object store Landsat Look redirects to."""

    m2m: AuthPeer
    landsatlook: AuthPeer
    s3: AuthPeer
    username: str
    pat: str

    @property
    def api_url(self) -> str:
        return f"{self.m2m.url}/api/api/json/stable/"

    @property
    def peers(self) -> list[AuthPeer]:
        return [self.m2m, self.landsatlook, self.s3]

    def reset(self) -> None:
        for peer in self.peers:
            peer.reset()


@pytest.fixture(scope="session")
def auth_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """COGs served by every auth peer: ``granules/``, ``direct/``, ``public/`` and ``private/``."""
    root = tmp_path_factory.mktemp("auth-root")
    for seed, band in enumerate(BANDS):
        for folder in ("granules", "direct", "public", "private"):
            write_cog(root / folder / f"{band}.tif", 256, 256, seed=seed)
    for index in range(32):
        (root / "many").mkdir(exist_ok=True)
        (root / "many" / f"f{index:02d}.bin").write_bytes(secrets.token_bytes(4096 + index))
    return root


@pytest.fixture(autouse=True)
def _gdal_reads_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep GDAL from answering from its cache of an earlier test's reads of the same URL,
    which would hide what it sends now."""
    monkeypatch.setenv("CPL_VSIL_CURL_NON_CACHED", "/vsicurl/:/vsigs/")


def _start(role: str, host: str, **settings: Any) -> AuthPeer:
    return AuthPeer(role, host, settings)


@pytest.fixture(scope="session")
def earthdata_peers(auth_root: Path) -> Iterator[Earthdata]:
    """Earthdata data host, Earthdata Login and an S3-like store, each in its own process."""
    s3_secret = secrets.token_hex(16)
    client_id, client_secret = "tea-app", secrets.token_hex(12)
    username, password = "jovyan", "pw-" + secrets.token_hex(10)
    token = "edl-token-" + secrets.token_hex(16)
    s3 = _start("s3", STORE_HOST, root=str(auth_root), s3_secret=s3_secret)
    login = _start(
        "login",
        LOGIN_HOST,
        username=username,
        password=password,
        client_id=client_id,
        client_secret=client_secret,
    )
    data = _start(
        "data",
        DATA_HOST,
        root=str(auth_root),
        token=token,
        login_url=login.url,
        s3_url=s3.url,
        s3_secret=s3_secret,
        client_id=client_id,
        client_secret=client_secret,
    )
    try:
        yield Earthdata(data, login, s3, token, username, password)
    finally:
        for peer in (data, login, s3):
            peer.stop()


@pytest.fixture
def earthdata(earthdata_peers: Earthdata) -> Earthdata:
    """The Earthdata peers with empty logs."""
    earthdata_peers.reset()
    return earthdata_peers


@pytest.fixture(scope="session")
def usgs_peers(auth_root: Path) -> Iterator[Usgs]:
    """USGS M2M API, Landsat Look and the store it redirects to."""
    s3_secret = secrets.token_hex(16)
    username, pat = "landsat-user", "pat-" + secrets.token_hex(16)
    s3 = _start("s3", STORE_HOST, root=str(auth_root), s3_secret=s3_secret)
    m2m = _start("m2m", LOGIN_HOST, username=username, pat=pat)
    landsatlook = _start(
        "landsatlook",
        DATA_HOST,
        root=str(auth_root),
        m2m_url=m2m.url,
        s3_url=s3.url,
        s3_secret=s3_secret,
    )
    try:
        yield Usgs(m2m, landsatlook, s3, username, pat)
    finally:
        for peer in (landsatlook, m2m, s3):
            peer.stop()


@pytest.fixture
def usgs(usgs_peers: Usgs) -> Usgs:
    """The USGS peers with empty logs and login counters."""
    usgs_peers.reset()
    return usgs_peers


@dataclass
class Gcs:
    """The GCS stand-in and a service account it trusts."""

    peer: AuthPeer
    credentials_file: Path
    private_key: str


@pytest.fixture(scope="session")
def gcs_peers(auth_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gcs]:
    """GCS XML API + OAuth2 token endpoint; bucket ``public`` is anonymous, ``private`` is not."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    email = "reader@stac-asset-tests.iam.gserviceaccount.com"
    peer = _start("gcs", DATA_HOST, root=str(auth_root), sa_public_key=public, sa_email=email)
    credentials = tmp_path_factory.mktemp("gcs") / "service-account.json"
    credentials.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "stac-asset-tests",
                "private_key_id": "k1",
                "private_key": private,
                "client_email": email,
                "client_id": "1",
                "token_uri": f"{peer.url}/token",
            }
        )
    )
    try:
        yield Gcs(peer, credentials, private)
    finally:
        peer.stop()


@pytest.fixture
def gcs(gcs_peers: Gcs) -> Gcs:
    """The GCS peer with an empty log."""
    gcs_peers.peer.reset()
    return gcs_peers


@dataclass
class Files:
    """Two plain file servers on two hosts; ``/r/...`` on ``home`` redirects to ``away``."""

    home: AuthPeer
    away: AuthPeer

    def reset(self) -> None:
        self.home.reset()
        self.away.reset()


@pytest.fixture(scope="session")
def files_peers(auth_root: Path) -> Iterator[Files]:
    away = _start("files", STORE_HOST, root=str(auth_root))
    home = _start("files", DATA_HOST, root=str(auth_root), redirect_to=away.url)
    try:
        yield Files(home, away)
    finally:
        home.stop()
        away.stop()


@pytest.fixture
def files(files_peers: Files) -> Files:
    """The file servers with empty logs and no required headers."""
    files_peers.reset()
    return files_peers


def seen_by(peers: list[AuthPeer], secret: str) -> set[str]:
    """The roles of the peers whose logged requests contain ``secret`` anywhere."""
    return {peer.role for peer in peers if any(secret in json.dumps(r) for r in peer.log())}
