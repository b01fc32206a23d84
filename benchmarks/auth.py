"""Logins and token requests for N concurrent downloads, per auth regime.

Starts the loopback auth peers of tests/auth (Earthdata Login + data host +
S3-like store, USGS M2M + Landsat Look, GCS with its token endpoint), each in
its own process, downloads N small files at once through each client, and
prints how many logins/token requests and HTTP requests that took.
Run from the repository root: ``python3 benchmarks/auth.py [N]``.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stac_asset import (  # noqa: E402
    EarthdataClient,
    GcsClient,
    UsgsErosClient,
    blocking,
)
from stac_asset.clients.base import Client  # noqa: E402
from tests.auth.peer import AuthPeer  # noqa: E402
from tests.conftest import make_item  # noqa: E402


def run(name: str, client: Client, hrefs: list[str], peers: list[AuthPeer], out: Path) -> None:
    """Download ``hrefs`` at once and print logins and requests per peer."""
    for peer in peers:
        peer.reset()
    item = make_item(name, {f"a{i:03d}": href for i, href in enumerate(hrefs)})
    start = time.perf_counter()
    blocking.download_item(item, out / name, clients=[client], max_concurrent_downloads=32)
    elapsed = time.perf_counter() - start
    counts = ", ".join(f"{peer.role} {len(peer.log())}" for peer in peers)
    logins = sum(peer.logins() for peer in peers)
    print(
        f"{name:<22} {len(hrefs):>3} downloads  {logins:>2} login/token request(s)  "
        f"requests: {counts}  ({elapsed:.2f} s)"
    )


def main() -> None:
    """Start the peers, run each regime, print the figures."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    root = Path(tempfile.mkdtemp(prefix="auth-bench-"))
    for folder in ("files", "private"):
        (root / folder).mkdir()
        for i in range(n):
            (root / folder / f"f{i:03d}.bin").write_bytes(secrets.token_bytes(16384))
    key = secrets.token_hex(8)
    peers: list[AuthPeer] = []
    try:
        s3 = AuthPeer("s3", "127.0.0.3", {"root": str(root), "s3_secret": key})
        login = AuthPeer(
            "login",
            "127.0.0.2",
            {"username": "u", "password": "pw-123456", "client_id": "c", "client_secret": "cs"},
        )
        data = AuthPeer(
            "data",
            "127.0.0.1",
            {
                "root": str(root),
                "token": "tok-123456",
                "login_url": login.url,
                "s3_url": s3.url,
                "s3_secret": key,
                "client_id": "c",
                "client_secret": "cs",
            },
        )
        m2m = AuthPeer("m2m", "127.0.0.2", {"username": "u", "pat": "pat-123456"})
        landsat = AuthPeer(
            "landsatlook",
            "127.0.0.1",
            {"root": str(root), "m2m_url": m2m.url, "s3_url": s3.url, "s3_secret": key},
        )
        peers = [s3, login, data, m2m, landsat]
        common = {"hosts": [data.netloc], "login_url": login.url}
        earthdata = [data, login, s3]
        hrefs = [f"{data.url}/files/f{i:03d}.bin" for i in range(n)]
        print(f"{n} files of 16 KiB, 32 at a time, peers on 127.0.0.1-3\n")
        run(
            "earthdata token", EarthdataClient(token="tok-123456", **common), hrefs, earthdata, root
        )
        login_client = EarthdataClient(username="u", password="pw-123456", **common)
        run("earthdata login", login_client, hrefs, earthdata, root)
        run("earthdata login again", login_client, hrefs, earthdata, root)
        usgs = UsgsErosClient(
            username="u",
            token="pat-123456",
            api_url=f"{m2m.url}/api/api/json/stable/",
            hosts=[landsat.netloc],
        )
        landsat_hrefs = [f"{landsat.url}/files/f{i:03d}.bin" for i in range(n)]
        run("usgs m2m", usgs, landsat_hrefs, [m2m, landsat], root)
        m2m.configure(expire_keys=True)
        run("usgs m2m, key expired", usgs, landsat_hrefs, [m2m, landsat], root)
        try:
            gcs_bench(root, n, peers)
        except ImportError:
            print("gcs: google-auth not installed, skipped")
    finally:
        for peer in peers:
            peer.stop()
        shutil.rmtree(root, ignore_errors=True)


def gcs_bench(root: Path, n: int, peers: list[AuthPeer]) -> None:
    """GCS with a service account: token requests for N downloads."""
    import google.auth  # noqa: F401 - only to skip cleanly without it
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    email = "bench@example.iam.gserviceaccount.com"
    gcs = AuthPeer(
        "gcs", "127.0.0.1", {"root": str(root), "sa_public_key": public.decode(), "sa_email": email}
    )
    peers.append(gcs)
    account = root / "sa.json"
    account.write_text(
        json.dumps(
            {
                "type": "service_account",
                "private_key": private.decode(),
                "client_email": email,
                "token_uri": f"{gcs.url}/token",
            }
        )
    )
    client = GcsClient(endpoint=gcs.url, credentials_file=account)
    hrefs = [f"gs://private/f{i:03d}.bin" for i in range(n)]
    run("gcs service account", client, hrefs, [gcs], root)


if __name__ == "__main__":
    main()
