"""Cubes from a private moto bucket (signed) and from Azurite behind the PC token API."""

from __future__ import annotations

from pathlib import Path

import boto3
import numpy as np
import pytest

from stac_asset import AzureClient, HttpClient, PlanetaryComputerClient, S3Client
from stac_asset.datacube import CubeAccess
from tests.azure.conftest import PC, Blobs
from tests.azure.conftest import PRIVATE as PRIVATE_CONTAINER
from tests.azure.peers import TokenApi
from tests.azure.token_api import ACCOUNT
from tests.datacube.conftest import FILES, cube_items
from tests.datacube.loaders import LOADERS, expected, load
from tests.peers.http_peer import HttpPeer
from tests.s3.conftest import PRIVATE
from tests.s3.moto_peer import MotoPeer


@pytest.mark.parametrize("loader", list(LOADERS))
def test_cube_from_a_private_bucket(
    loader: str, locked: MotoPeer, admin_session: boto3.Session, small_cogs: dict[str, Path]
) -> None:
    items = cube_items(lambda name: f"s3://{PRIVATE}/{name}")
    client = S3Client(admin_session, endpoint_url=locked.endpoint_url)
    want = expected(items, [client])
    locked.reset()
    with CubeAccess(items, clients=[client]) as cube:
        np.testing.assert_array_equal(load(loader, cube, items), want)
    gets = [e for e in locked.log() if e["method"] == "GET"]
    # Every file read again (nothing from GDAL's cache), signed with the client's key.
    assert {e["path"] for e in gets} == {f"/{PRIVATE}/s2/{name}.tif" for name in FILES}
    assert {e["status"] for e in gets} <= {200, 206}
    assert {e["key_id"] for e in gets} == {locked.admin["aws_access_key_id"]}


@pytest.mark.parametrize("loader", list(LOADERS))
def test_cube_from_the_planetary_computer(loader: str, blobs: Blobs, token_api: TokenApi) -> None:
    items = cube_items(lambda name: blobs.url(PC, name))
    client = PlanetaryComputerClient(sas_url=token_api.sas_url, endpoint_url=blobs.endpoint)
    want = expected(items, [client])
    mark = blobs.azurite.mark()
    with CubeAccess(items, clients=[client]) as cube:
        np.testing.assert_array_equal(load(loader, cube, items), want)
    reads = blobs.azurite.requests_since(mark)
    assert {r["path"].split("?")[0] for r in reads} == {
        f"/{ACCOUNT}/{PC}/s2/{f}.tif" for f in FILES
    }
    assert {r["status"] for r in reads} <= {"200", "206"}


@pytest.mark.parametrize("loader", ["odc-stac", "stackstac"])
def test_one_cube_across_three_regimes(
    loader: str,
    http: HttpPeer,
    locked: MotoPeer,
    admin_session: boto3.Session,
    blobs: Blobs,
    token_api: TokenApi,
    small_cogs: dict[str, Path],
) -> None:
    """Item 0 over HTTP with a header, item 1 in a private bucket, item 2 on the PC: one load."""
    http.configure(require_headers={"/s2/": {"X-Key": "one"}})
    hrefs = [http.url_for, lambda name: f"s3://{PRIVATE}/{name}", lambda name: blobs.url(PC, name)]
    items = [cube_items(href_of)[index] for index, href_of in enumerate(hrefs)]
    clients = [
        PlanetaryComputerClient(sas_url=token_api.sas_url, endpoint_url=blobs.endpoint),
        S3Client(admin_session, endpoint_url=locked.endpoint_url),
        HttpClient(headers={"X-Key": "one"}),
    ]
    want = expected(items, clients)
    with CubeAccess(items, clients=clients) as cube:
        assert {a.client for a in cube.accesses} == {"http", "s3", "planetary-computer"}
        np.testing.assert_array_equal(load(loader, cube, items), want)
    assert {e["headers"].get("X-Key") for e in http.log()} == {"one"}


@pytest.mark.parametrize("loader", ["stackstac", "rioxarray"])
def test_cube_from_a_private_container_with_a_sas(
    loader: str, blobs: Blobs, small_cogs: dict[str, Path]
) -> None:
    """/vsiaz/ paths: account, endpoint and SAS set for the container's prefix only."""
    items = cube_items(lambda name: blobs.url(PRIVATE_CONTAINER, name))
    sas = blobs.container_sas(PRIVATE_CONTAINER)
    client = AzureClient(endpoint_url=blobs.endpoint, sas_token=sas)
    want = expected(items, [client])
    with CubeAccess(items, clients=[client]) as cube:
        assert {a.vsi_path.split("/")[1] for a in cube.accesses} == {"vsiaz"}
        np.testing.assert_array_equal(load(loader, cube, items), want)
