"""OAuth2: token requests and throughput for many small files, with and without token renewal.

Starts the OAuth2 peer (tests/oauth2/server.py: authorization server plus
bearer-protected file server) and the plain HTTP peer on the same files, then
downloads 400 x 16 KiB files with 16 threads: over plain HTTP, with an OAuth2
token that outlives the job, and with 1 s tokens renewed mid-job. Prints
files/s and the token requests the server saw. Run from the repository root:
``python3 benchmarks/oauth2.py``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stac_asset import Client, HttpClient, OAuth2Client, blocking  # noqa: E402
from tests.conftest import make_item  # noqa: E402
from tests.oauth2 import server  # noqa: E402
from tests.oauth2.peer import OAuth2Peer  # noqa: E402
from tests.peers.http_peer import HttpPeer  # noqa: E402

FILES = 400
SIZE = 16 * 1024


def run(label: str, base: HttpPeer, client: Client, out: Path) -> None:
    """Download every file through ``client`` and print files/s."""
    item = make_item("bench", {f"f{i:03d}": base.url_for(f"f/{i:03d}.bin") for i in range(FILES)})
    start = time.perf_counter()
    blocking.download_item(item, out, clients=[client], max_concurrent_downloads=16)
    elapsed = time.perf_counter() - start
    print(f"{label:>28}: {FILES / elapsed:7.0f} files/s ({elapsed:.2f} s)", end="")


def main() -> None:
    """Print the figures."""
    root = Path(tempfile.mkdtemp(prefix="stac-asset-bench-"))
    try:
        (root / "f").mkdir()
        for i in range(FILES):
            (root / "f" / f"{i:03d}.bin").write_bytes(os.urandom(SIZE))
        print(f"{FILES} files of {SIZE // 1024} KiB, 16 threads, loopback")
        with HttpPeer.start(root) as http, OAuth2Peer.start(root) as oauth:
            run("plain HTTP", http, HttpClient(), root / "out-http")
            print()
            for label, lifetime in (("OAuth2, 300 s token", 300.0), ("OAuth2, 0.5 s tokens", 0.5)):
                oauth.reset()
                oauth.oauth_configure(access_token_lifetime=lifetime)
                client = OAuth2Client(
                    oauth.token_url,
                    hosts=[oauth.host],
                    client_id=server.PUBLIC_ID,
                    username=server.USERNAME,
                    password=server.ALICE_PASSWORD,
                )
                run(label, oauth, client, root / f"out-{lifetime}")
                grants = Counter(r["grant_type"] for r in oauth.token_requests())
                rejected = sum(r.get("auth") != "ok" for r in oauth.log() if "auth" in r)
                print(f"; token requests {dict(grants)}, 401s {rejected}")
                client.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
