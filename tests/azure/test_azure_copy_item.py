"""copy_item into Azure Blob: from HTTP and from the Planetary Computer."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from stac_asset import AzureClient, PlanetaryComputerClient, blocking
from tests.azure.conftest import PC, Blobs
from tests.azure.peers import TokenApi
from tests.azure.token_api import ACCOUNT_KEY
from tests.conftest import make_item
from tests.peers.http_peer import HttpPeer


def read(blobs: Blobs, container: str, name: str) -> bytes:
    return blobs.service.get_blob_client(container, name).download_blob().readall()


def test_http_and_pc_into_azure(
    http: HttpPeer, blobs: Blobs, token_api: TokenApi, small_cogs: dict[str, Path]
) -> None:
    container = f"copies-{uuid.uuid4().hex[:8]}"
    blobs.service.create_container(container)
    store = AzureClient(endpoint_url=blobs.endpoint, account_key=ACCOUNT_KEY)
    pc = PlanetaryComputerClient(sas_url=token_api.sas_url, endpoint_url=blobs.endpoint)
    item = make_item("AZ", {"B02": http.url_for("s2/B02.tif"), "B03": blobs.url(PC, "s2/B03.tif")})
    copied = blocking.copy_item(item, f"az://{container}/prefix/", clients=[pc, store])
    assert read(blobs, container, "prefix/B02.tif") == small_cogs["B02"].read_bytes()
    assert read(blobs, container, "prefix/B03.tif") == small_cogs["B03"].read_bytes()
    text = read(blobs, container, "prefix/AZ.json").decode()
    written = json.loads(text)
    assert written["assets"]["B03"]["href"] == "B03.tif"
    assert written["assets"]["B03"]["alternate"]["origin"]["href"] == blobs.url(PC, "s2/B03.tif")
    assert "sig=" not in text
    assert copied.get_self_href() == f"az://{container}/prefix/AZ.json"
    assert copied.assets["B03"].href == f"az://{container}/prefix/B03.tif"
