"""Windowed copies from Azure Blob and the Planetary Computer, through /vsiaz/ and PC signing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
from rasterio.windows import from_bounds

from stac_asset import AzureClient, Client, PlanetaryComputerClient, blocking
from tests.azure.conftest import PC, PUBLIC, Blobs
from tests.azure.peers import TokenApi

UTM = "EPSG:32632"
BBOX = (505000.0, 4980000.0, 506000.0, 4981000.0)  # 1 km2 of the big COG


@pytest.mark.parametrize("kind", ["azure", "planetary-computer"])
def test_clip_pixels_equal_the_source_window(
    blobs: Blobs, token_api: TokenApi, big_cog: Path, tmp_path: Path, kind: str
) -> None:
    client: Client
    if kind == "azure":
        client, container = AzureClient(endpoint_url=blobs.endpoint), PUBLIC
    else:
        client = PlanetaryComputerClient(sas_url=token_api.sas_url, endpoint_url=blobs.endpoint)
        container = PC
    asset = pystac.Asset(blobs.url(container, "big/big.tif"))
    out = blocking.clip_asset(
        "big", asset, tmp_path / "km2.tif", bbox=BBOX, bbox_crs=UTM, clients=[client]
    )
    with rasterio.open(big_cog) as src, rasterio.open(tmp_path / "km2.tif") as clip:
        assert np.array_equal(
            clip.read(), src.read(window=from_bounds(*BBOX, transform=src.transform))
        )
    assert out.extra_fields["proj:shape"] == [100, 100]
    assert "sig=" not in out.href
