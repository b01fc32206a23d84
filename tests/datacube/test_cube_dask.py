"""The same cubes computed on a dask LocalCluster of 2 worker processes.

Nothing configures the workers but what CubeAccess.register hands over: no
options are in force in the test process while the cubes compute there, the
workers started before any test set a variable, and no loader is configured.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import numpy as np
import pystac
import pytest

from stac_asset import HttpClient, PlanetaryComputerClient, S3Client, gdal_paths
from stac_asset.datacube import CubeAccess
from tests.azure.conftest import PC, Blobs
from tests.azure.peers import TokenApi
from tests.datacube.conftest import OtherHostPeer, cube_items
from tests.datacube.expiring import TokenFileClient
from tests.datacube.loaders import LOADERS, expected, load
from tests.peers.http_peer import HttpPeer
from tests.s3.conftest import PRIVATE
from tests.s3.moto_peer import MotoPeer

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def dask_client() -> Iterator[distributed.Client]:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def on_workers(
    client: distributed.Client, cube: CubeAccess, loader: str, items: list[pystac.Item]
) -> np.ndarray:
    """Compute the cube on the workers only, then take the options off them."""
    cube.register(client)
    try:
        return load(loader, cube, items)
    finally:
        cube.clear()


@pytest.mark.parametrize("loader", list(LOADERS))
def test_http_cube_on_workers(
    loader: str,
    dask_client: distributed.Client,
    http: HttpPeer,
    other_http: OtherHostPeer,
    small_cogs: dict[str, Path],
) -> None:
    http.configure(require_headers={"/s2/": {"X-Key": "one"}})
    other_http.configure(require_headers={"/s2/": {"X-Key": "two"}})
    first, second = cube_items(http.url_for, "A"), cube_items(other_http.url_for, "B")
    one, two = HttpClient(headers={"X-Key": "one"}), HttpClient(headers={"X-Key": "two"})
    want = expected(first, [one]), expected(second, [two])
    got = (
        on_workers(dask_client, CubeAccess(first, clients=[one]), loader, first),
        on_workers(dask_client, CubeAccess(second, clients=[two]), loader, second),
    )
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert {e["headers"].get("X-Key") for e in http.log()} == {"one"}
    assert {e["headers"].get("X-Key") for e in other_http.log()} == {"two"}


@pytest.mark.parametrize("loader", list(LOADERS))
def test_private_bucket_cube_on_workers(
    loader: str,
    dask_client: distributed.Client,
    locked: MotoPeer,
    admin_session: boto3.Session,
    small_cogs: dict[str, Path],
) -> None:
    items = cube_items(lambda name: f"s3://{PRIVATE}/{name}")
    client = S3Client(admin_session, endpoint_url=locked.endpoint_url)
    want = expected(items, [client])
    got = on_workers(dask_client, CubeAccess(items, clients=[client]), loader, items)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("loader", list(LOADERS))
def test_planetary_computer_cube_on_workers(
    loader: str, dask_client: distributed.Client, blobs: Blobs, token_api: TokenApi
) -> None:
    items = cube_items(lambda name: blobs.url(PC, name))
    client = PlanetaryComputerClient(sas_url=token_api.sas_url, endpoint_url=blobs.endpoint)
    want = expected(items, [client])
    got = on_workers(dask_client, CubeAccess(items, clients=[client]), loader, items)
    np.testing.assert_array_equal(got, want)


def test_workers_renew_expiring_credentials_and_forget_them_when_cleared(
    dask_client: distributed.Client, http: HttpPeer, small_cogs: dict[str, Path]
) -> None:
    token_file = http.root / "token.txt"
    token_file.write_text("first")
    http.configure(require_headers={"/s2/": {"X-Key": "first"}})
    items = cube_items(http.url_for, "T")
    want = expected(items, [HttpClient(headers={"X-Key": "first"})])
    cube = CubeAccess(items, clients=[TokenFileClient(http.url_for("token.txt"), lifetime=2)])
    cube.register(dask_client)
    try:
        np.testing.assert_array_equal(load("odc-stac", cube, items), want)
        # The token changes, the old one is refused; only a renewal on the workers can read.
        token_file.write_text("second")
        http.configure(require_headers={"/s2/": {"X-Key": "second"}})
        time.sleep(2.5)
        dask_client.run(gdal_paths.clear_network_cache)
        np.testing.assert_array_equal(load("odc-stac", cube, items), want)
    finally:
        cube.clear()
    assert {e["headers"].get("X-Key") for e in http.requests_for("/s2/B02.tif")} == {
        "first",
        "second",
    }
    # Cleared on the workers: the same cube computed there now is refused.
    dask_client.run(gdal_paths.clear_network_cache)
    with pytest.raises(Exception, match="401"):
        load("odc-stac", cube, items)


def test_restarted_workers_get_the_options_again(
    dask_client: distributed.Client, http: HttpPeer, small_cogs: dict[str, Path]
) -> None:
    http.configure(require_headers={"/s2/": {"X-Key": "one"}})
    items = cube_items(http.url_for, "R")
    client = HttpClient(headers={"X-Key": "one"})
    want = expected(items, [client])
    cube = CubeAccess(items, clients=[client])
    cube.register(dask_client)
    try:
        before = set(dask_client.scheduler_info()["workers"])
        dask_client.restart()
        assert not before & set(dask_client.scheduler_info()["workers"])  # new processes
        np.testing.assert_array_equal(load("stackstac", cube, items), want)
    finally:
        cube.clear()


def test_one_cube_across_three_regimes_on_workers(
    dask_client: distributed.Client,
    http: HttpPeer,
    locked: MotoPeer,
    admin_session: boto3.Session,
    blobs: Blobs,
    token_api: TokenApi,
    small_cogs: dict[str, Path],
) -> None:
    http.configure(require_headers={"/s2/": {"X-Key": "one"}})
    hrefs = [http.url_for, lambda name: f"s3://{PRIVATE}/{name}", lambda name: blobs.url(PC, name)]
    items = [cube_items(href_of)[index] for index, href_of in enumerate(hrefs)]
    clients = [
        PlanetaryComputerClient(sas_url=token_api.sas_url, endpoint_url=blobs.endpoint),
        S3Client(admin_session, endpoint_url=locked.endpoint_url),
        HttpClient(headers={"X-Key": "one"}),
    ]
    want = expected(items, clients)
    got = on_workers(dask_client, CubeAccess(items, clients=clients), "odc-stac", items)
    np.testing.assert_array_equal(got, want)


class UnpicklableTokenClient(TokenFileClient):
    """A client holding a lock: it cannot travel to a worker."""

    def __init__(self, token_url: str, lifetime: float) -> None:
        super().__init__(token_url, lifetime)
        self.lock = threading.Lock()


def test_clients_that_cannot_travel_are_refused_when_credentials_expire(
    dask_client: distributed.Client, http: HttpPeer, small_cogs: dict[str, Path]
) -> None:
    (http.root / "token.txt").write_text("first")
    items = cube_items(http.url_for, "U")
    cube = CubeAccess(items, clients=[UnpicklableTokenClient(http.url_for("token.txt"), 60)])
    with pytest.raises(TypeError, match="cannot be sent to other processes"):
        cube.register(dask_client)


def test_configure_rio_and_rasterio_env_take_the_shared_options_which_hold_no_secret(
    dask_client: distributed.Client, http: HttpPeer, small_cogs: dict[str, Path]
) -> None:
    import odc.stac
    import rasterio

    http.configure(require_headers={"/s2/": {"X-Key": "s3cr3t-key"}})
    items = cube_items(http.url_for, "C")
    client = HttpClient(headers={"X-Key": "s3cr3t-key"})
    cube = CubeAccess(items, clients=[client])
    assert cube.gdal_options["GDAL_DISABLE_READDIR_ON_OPEN"] == "EMPTY_DIR"
    assert "s3cr3t" not in str(cube.gdal_options)
    with rasterio.Env(**cube.gdal_options):
        pass
    # Last in this module: configure_rio leaves its (secret-free) options on the workers.
    odc.stac.configure_rio(**cube.gdal_options, client=dask_client)
    got = on_workers(dask_client, cube, "odc-stac", items)
    np.testing.assert_array_equal(got, expected(items, [client]))
