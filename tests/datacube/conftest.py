"""Datacube peers: two HTTP hosts, moto and Azurite behind the token API, a cube's items."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pystac
import pytest

from tests.azure.conftest import (  # noqa: F401 - fixtures
    azurite,
    blobs,
    clean_azure_env,
    token_api,
    token_api_peer,
)
from tests.conftest import make_item
from tests.peers.http_peer import HttpPeer
from tests.s3.conftest import (  # noqa: F401 - fixtures
    admin_session,
    aws_environment,
    locked,
    moto,
    moto_peer,
)

BANDS = ("B02", "B03")
FILES = ("B02", "B03", "B04")


# The HTTP peer listening on 127.0.0.2: another host for GDAL, curl and requests.
OtherHostPeer = HttpPeer


@pytest.fixture(scope="session")
def other_http_peer(http_root: Path) -> Iterator[OtherHostPeer]:
    with HttpPeer.start(http_root, host="127.0.0.2") as peer:
        yield peer


@pytest.fixture
def other_http(other_http_peer: OtherHostPeer) -> OtherHostPeer:
    other_http_peer.reset()
    return other_http_peer


def file_of(index: int, band: str) -> str:
    """The test COG behind band ``band`` of item ``index``: items differ from each other."""
    return FILES[(index + BANDS.index(band)) % len(FILES)]


def cube_items(href_of: Callable[[str], str], prefix: str = "CUBE") -> list[pystac.Item]:
    """Three items x two bands (512 x 512, UTM 32N, 10 m), one day apart, with ``proj:*``."""
    start = datetime(2024, 6, 1, 10, tzinfo=timezone.utc)
    items = []
    for index in range(3):
        hrefs = {band: href_of(f"s2/{file_of(index, band)}.tif") for band in BANDS}
        item = make_item(f"{prefix}-{index}", hrefs)
        item.datetime = start + timedelta(days=index)
        item.properties.update(
            {
                "proj:epsg": 32632,
                "proj:shape": [512, 512],
                "proj:transform": [10, 0, 500000, 0, -10, 5000000],
            }
        )
        item.stac_extensions.append(
            "https://stac-extensions.github.io/projection/v1.1.0/schema.json"
        )
        items.append(item)
    return items
