"""stac-asset's documented async usage, run exactly as its docs write it (HTTP)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pystac
import pytest
import requests

import stac_asset
from stac_asset import HttpClient
from tests.peers.http_peer import HttpPeer


def test_download_item_from_href_into_cwd(
    http: HttpPeer, remote_item: pystac.Item, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    href = http.url_for("s2/item.json")

    async def main() -> None:
        await stac_asset.download_item_from_href(href, ".")

    asyncio.run(main())
    assert {p.name for p in tmp_path.iterdir()} == {"B02.tif", "B03.tif", "B04.tif", "S2-TEST.json"}


def test_default_client_download_item(
    http: HttpPeer, remote_item: pystac.Item, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    item = remote_item

    async def main() -> None:
        async with await HttpClient.default() as client:
            await client.download_item(item, ".")

    asyncio.run(main())
    assert (tmp_path / "B04.tif").is_file()


def test_custom_session_headers_reach_the_server(
    http: HttpPeer, remote_item: pystac.Item, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    item = remote_item
    http.configure(require_headers={"/s2/": {"Authorization": "token my-token"}})
    session = requests.Session()
    session.headers["Authorization"] = "token my-token"

    async def main() -> None:
        client = HttpClient(session)
        await client.download_item(item, ".")

    asyncio.run(main())
    assert (tmp_path / "B02.tif").is_file()
    assert all(r["status"] == 200 for r in http.log())
