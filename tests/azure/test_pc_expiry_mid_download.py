"""A download whose SAS dies mid-body: the resume is refused, re-resolved once, and continues."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pystac
import pytest

import stac_asset
from stac_asset import PlanetaryComputerClient, RetryPolicy, blocking
from tests.azure.conftest import PC, Blobs
from tests.azure.peers import TokenApi
from tests.azure.token_api import ACCOUNT
from tests.peers.peer import Peer


@pytest.fixture
def proxy(blobs: Blobs) -> Iterator[Peer]:
    """A proxy in front of Azurite that can cut responses mid-body."""
    upstream = f"http://127.0.0.1:{blobs.azurite.port}"
    with Peer("tests.peers.proxy", ["--upstream", upstream]) as peer:
        yield peer


def test_sas_expiring_mid_download_is_renewed_once(
    blobs: Blobs, token_api: TokenApi, proxy: Peer, tmp_path: Path
) -> None:
    # The SAS dies after 2 s while msft:expiry says an hour (revoked, or clock skew).
    token_api.settings(lifetime=2, claimed_lifetime=3600)
    client = PlanetaryComputerClient(
        sas_url=token_api.sas_url,
        endpoint_url=f"{proxy.url}/{ACCOUNT}",
        retry=RetryPolicy(base_delay=0.01, max_delay=0.05),
    )
    name = "big/big.tif"
    proxy.configure(cut_first_n={f"/{ACCOUNT}/{PC}/{name}": 1})  # half the body, then close
    slept = False

    def wait_past_expiry(message: stac_asset.Message) -> None:
        nonlocal slept
        if isinstance(message, stac_asset.WriteChunk) and not slept:
            slept = True
            time.sleep(2.5)  # the first body is still streaming; its SAS is now dead

    href = f"{proxy.url}/{ACCOUNT}/{PC}/{name}"
    mark = blobs.azurite.mark()
    asset = pystac.Asset(href)
    item = blocking.download_asset(
        "big", asset, tmp_path / "big.tif", clients=[client], messages=wait_past_expiry
    )
    assert (tmp_path / "big.tif").read_bytes() == blobs.sources[name].read_bytes()
    assert item.href == str(tmp_path / "big.tif")
    # First token, then exactly one more after the refused resume.
    assert len(token_api.log()) == 2
    # The cut first GET, the refused resume, the resume with the new token.
    statuses = [r["status"] for r in blobs.azurite.requests_since(mark)]
    assert statuses == ["200", "403", "206"], statuses
