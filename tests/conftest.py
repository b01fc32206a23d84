"""Session-wide peers (real servers on loopback) and generated test data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pystac
import pytest

from stac_asset import compat
from stac_asset.kept import Kept
from tests.cogs import write_cog
from tests.peers.http_peer import HttpPeer

pytest_plugins = ["tests.children"]


@pytest.fixture(scope="session")
def http_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory the HTTP peer serves."""
    return tmp_path_factory.mktemp("http-root")


@pytest.fixture(scope="session")
def http_peer(http_root: Path) -> Iterator[HttpPeer]:
    """A range-capable HTTP server in its own process, for the whole session."""
    with HttpPeer.start(http_root) as peer:
        yield peer


@pytest.fixture
def http(http_peer: HttpPeer) -> HttpPeer:
    """The HTTP peer with an empty log and no faults."""
    http_peer.reset()
    return http_peer


@pytest.fixture(scope="session")
def small_cogs(http_root: Path) -> dict[str, Path]:
    """Three small COG bands under the HTTP root, ``s2/B02.tif`` etc."""
    return {
        band: write_cog(http_root / "s2" / f"{band}.tif", 512, 512, seed=seed)
        for seed, band in enumerate(["B02", "B03", "B04"])
    }


@pytest.fixture(scope="session")
def big_cog(http_root: Path) -> Path:
    """A >= 20 MB tiled COG (512 px tiles, incompressible) under the HTTP root."""
    return write_cog(http_root / "big" / "big.tif", 3300, 3300, noise=True, blocksize=512)


def make_item(item_id: str, hrefs: dict[str, str], self_href: str | None = None) -> pystac.Item:
    """An item with one asset per ``hrefs`` entry and a few fields to check they survive."""
    item = pystac.Item(
        id=item_id,
        geometry={
            "type": "Polygon",
            "coordinates": [[[9, 45], [9.1, 45], [9.1, 45.1], [9, 45.1], [9, 45]]],
        },
        bbox=[9, 45, 9.1, 45.1],
        datetime=pystac.utils.str_to_datetime("2024-06-01T10:00:00Z"),
        properties={"platform": "sentinel-2a", "eo:cloud_cover": 3.5},
    )
    for key, href in hrefs.items():
        item.add_asset(
            key,
            pystac.Asset(href, media_type=pystac.MediaType.COG, roles=["data"], title=key),
        )
    item.add_link(pystac.Link("license", "https://example.com/license.html"))
    if self_href:
        item.set_self_href(self_href)
    return item


@pytest.fixture
def remote_item(http: HttpPeer, small_cogs: dict[str, Path]) -> pystac.Item:
    """An item served by the HTTP peer at ``s2/item.json`` with relative asset hrefs."""
    item = make_item("S2-TEST", {band: f"./{band}.tif" for band in small_cogs})
    data = item.to_dict(include_self_link=False, transform_hrefs=False)
    (http.root / "s2" / "item.json").write_text(json.dumps(data))
    return pystac.Item.from_dict(data, href=http.url_for("s2/item.json"))


@pytest.fixture(autouse=True)
def _fresh_configured_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients built from a Config are kept across calls: not across tests (peers reset)."""
    monkeypatch.setattr(compat, "_kept_clients", Kept(compat._KEEP))
