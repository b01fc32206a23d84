"""Azure Blob as a destination: block writers, Copy Blob and the engine's copies into Azurite."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

from stac_asset import AzureClient, HttpClient, PlanetaryComputerClient
from stac_asset.errors import AccessDeniedError, NotFoundError, TransientError, VerificationError
from stac_asset.resolver import Resolver
from stac_asset.retry import RetryPolicy
from stac_asset.transfer import Fetcher, Transfer
from tests.azure.conftest import PC, PRIVATE, Blobs
from tests.azure.peers import Azurite, TokenApi
from tests.azure.token_api import ACCOUNT, ACCOUNT_KEY
from tests.peers.http_peer import HttpPeer

WRONG_KEY = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVoxMjM0NTY3ODkwYWJjZGVmZ2hpams="
MiB = 1024 * 1024
FAST_RETRY = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)


@pytest.fixture(scope="module")
def other_azurite() -> Iterator[Azurite]:
    """A second Azurite: another store (another endpoint) than the one the sources are in."""
    with Azurite() as peer:
        yield peer


@pytest.fixture
def container(blobs: Blobs) -> str:
    """A new, empty private container in the source Azurite."""
    name = f"dest-{uuid.uuid4().hex[:12]}"
    blobs.service.create_container(name)
    return name


@pytest.fixture
def keyed(blobs: Blobs) -> AzureClient:
    """An Azure client for the source Azurite with the account key."""
    return AzureClient(endpoint_url=blobs.endpoint, account_key=ACCOUNT_KEY)


def blob_bytes(service: BlobServiceClient, container: str, name: str) -> bytes:
    return service.get_blob_client(container, name).download_blob().readall()


def exists(service: BlobServiceClient, container: str, name: str) -> bool:
    try:
        service.get_blob_client(container, name).get_blob_properties()
    except ResourceNotFoundError:
        return False
    return True


def puts_to(blobs: Blobs, mark: int, path: str) -> list[str]:
    """The paths (with queries) of the PUT requests for one blob since ``mark``."""
    log = blobs.azurite.requests_since(mark)
    return [r["path"] for r in log if r["method"] == "PUT" and path in r["path"]]


def test_small_blob_is_one_put_at_commit(blobs: Blobs, container: str, keyed: AzureClient) -> None:
    access = keyed.resolve(f"az://{container}/out/item.json")
    writer = keyed.open_writer(access)
    writer.write(b'{"id": ')
    writer.write(b'"x"}')
    assert keyed.size_of(access) is None
    mark = blobs.azurite.mark()
    writer.commit()
    assert blob_bytes(blobs.service, container, "out/item.json") == b'{"id": "x"}'
    properties = blobs.service.get_blob_client(container, "out/item.json").get_blob_properties()
    assert properties.content_settings.content_type == "application/json"
    assert keyed.size_of(access) == 11
    puts = puts_to(blobs, mark, f"/{container}/out/item.json")
    assert len(puts) == 1 and "comp=" not in puts[0]


def test_blocks_are_invisible_until_the_block_list(
    blobs: Blobs, container: str, keyed: AzureClient
) -> None:
    client = AzureClient(endpoint_url=blobs.endpoint, account_key=ACCOUNT_KEY, block_size=MiB)
    data = os.urandom(5 * MiB + 77)
    access = client.resolve(f"az://{container}/out/blocks.bin")
    mark = blobs.azurite.mark()
    writer = client.open_writer(access, "application/octet-stream")
    for offset in range(0, len(data), 300_000):
        writer.write(data[offset : offset + 300_000])
    assert not exists(blobs.service, container, "out/blocks.bin")
    writer.commit()
    assert blob_bytes(blobs.service, container, "out/blocks.bin") == data
    paths = puts_to(blobs, mark, f"/{container}/out/blocks.bin")
    assert sum("comp=block&" in path for path in paths) == 6
    assert sum("comp=blocklist" in path for path in paths) == 1


def test_abort_commits_nothing(blobs: Blobs, container: str) -> None:
    client = AzureClient(endpoint_url=blobs.endpoint, account_key=ACCOUNT_KEY, block_size=MiB)
    writer = client.open_writer(client.resolve(f"az://{container}/out/aborted.bin"))
    writer.write(os.urandom(3 * MiB))
    writer.abort()
    assert not exists(blobs.service, container, "out/aborted.bin")
    # Rewriting the same blob after an abandoned attempt works (uncommitted blocks are ignored).
    writer = client.open_writer(client.resolve(f"az://{container}/out/aborted.bin"))
    writer.write(b"z" * (2 * MiB + 1))
    writer.restart()
    writer.write(b"w" * (MiB + 1))
    writer.commit()
    assert blob_bytes(blobs.service, container, "out/aborted.bin") == b"w" * (MiB + 1)


def test_wrong_key_names_the_href_not_the_secret(blobs: Blobs, container: str) -> None:
    client = AzureClient(endpoint_url=blobs.endpoint, account_key=WRONG_KEY, retry=FAST_RETRY)
    href = f"az://{container}/denied.bin"
    writer = client.open_writer(client.resolve(href))
    writer.write(b"data")
    with pytest.raises(AccessDeniedError) as raised:
        writer.commit()
    message = str(raised.value)
    assert href in message and "was refused" in message
    assert WRONG_KEY not in message and "sig=" not in message
    assert not exists(blobs.service, container, "denied.bin")


def test_sas_needs_write_permission(blobs: Blobs, container: str) -> None:
    read_only = AzureClient(endpoint_url=blobs.endpoint, sas_token=blobs.container_sas(container))
    writer = read_only.open_writer(read_only.resolve(f"az://{container}/ro.bin"))
    writer.write(b"data")
    with pytest.raises(AccessDeniedError, match=r"sp=cw"):
        writer.commit()

    sas = generate_container_sas(
        ACCOUNT,
        container,
        account_key=ACCOUNT_KEY,
        permission=ContainerSasPermissions(create=True, write=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    writable = AzureClient(endpoint_url=blobs.endpoint, sas_token=sas)
    writer = writable.open_writer(writable.resolve(f"az://{container}/rw.bin"))
    writer.write(b"data")
    writer.commit()
    assert blob_bytes(blobs.service, container, "rw.bin") == b"data"


def test_anonymous_writes_say_what_is_needed(blobs: Blobs, container: str) -> None:
    client = AzureClient(endpoint_url=blobs.endpoint, anonymous=True)
    writer = client.open_writer(client.resolve(f"{blobs.url(container, 'anon.bin')}"))
    writer.write(b"data")
    with pytest.raises(AccessDeniedError, match="needs a SAS that allows create and write"):
        writer.commit()


def test_missing_container_is_named(blobs: Blobs, keyed: AzureClient) -> None:
    writer = keyed.open_writer(keyed.resolve("az://no-such-container/x.bin"))
    writer.write(b"data")
    with pytest.raises(NotFoundError, match="no such container 'no-such-container'"):
        writer.commit()


def test_http_to_azure(
    http: HttpPeer, blobs: Blobs, container: str, keyed: AzureClient, big_cog: Path
) -> None:
    fetcher = Fetcher(Resolver([keyed]))
    fetcher.copy(Transfer(http.url_for("s2/B02.tif")), f"az://{container}/http/B02.tif")
    assert blob_bytes(blobs.service, container, "http/B02.tif") == (
        blobs.sources["s2/B02.tif"].read_bytes()
    )
    size = big_cog.stat().st_size
    mark = blobs.azurite.mark()
    fetcher.copy(Transfer(http.url_for("big/big.tif"), size=size), f"az://{container}/big.tif")
    assert blob_bytes(blobs.service, container, "big.tif") == big_cog.read_bytes()
    paths = puts_to(blobs, mark, f"/{container}/big.tif")
    assert sum("comp=block&" in path for path in paths) == -(-size // (8 * MiB)) > 1


def test_azure_to_azure_is_a_server_side_copy(
    blobs: Blobs, container: str, keyed: AzureClient
) -> None:
    fetcher = Fetcher(Resolver([keyed]))
    source = blobs.url(PRIVATE, "big/big.tif")
    size = blobs.sources["big/big.tif"].stat().st_size
    mark = blobs.azurite.mark()
    fetcher.copy(Transfer(source, size=size), f"az://{container}/copy/big.tif")
    assert blob_bytes(blobs.service, container, "copy/big.tif") == (
        blobs.sources["big/big.tif"].read_bytes()
    )
    log = blobs.azurite.requests_since(mark)
    copies = [r for r in log if r["method"] == "PUT" and f"/{container}/copy/" in r["path"]]
    assert len(copies) == 1 and copies[0]["status"] == "202"
    body_reads = [
        r
        for r in log
        if r["method"] == "GET" and f"/{PRIVATE}/" in r["path"] and "comp=" not in r["path"]
    ]
    assert body_reads == []


def test_pc_to_azure_streams_into_another_store(
    blobs: Blobs, token_api: TokenApi, other_azurite: Azurite
) -> None:
    service = BlobServiceClient.from_connection_string(other_azurite.connection_string)
    service.create_container("mine")
    pc = PlanetaryComputerClient(sas_url=token_api.sas_url, endpoint_url=blobs.endpoint)
    mine = AzureClient(endpoint_url=other_azurite.endpoint, account_key=ACCOUNT_KEY)
    fetcher = Fetcher(Resolver([pc, mine]))
    mark = blobs.azurite.mark()
    fetcher.copy(Transfer(blobs.url(PC, "s2/B03.tif")), "az://mine/pc/B03.tif")
    assert blob_bytes(service, "mine", "pc/B03.tif") == blobs.sources["s2/B03.tif"].read_bytes()
    assert [entry["path"] for entry in token_api.log()] == [f"/api/sas/v1/token/{ACCOUNT}/{PC}"]
    reads = [r for r in blobs.azurite.requests_since(mark) if r["method"] == "GET"]
    assert [r["status"] for r in reads] == ["200"]


def test_pc_to_azure_in_the_same_account_copies_server_side(
    blobs: Blobs, token_api: TokenApi, container: str, keyed: AzureClient
) -> None:
    pc = PlanetaryComputerClient(sas_url=token_api.sas_url, endpoint_url=blobs.endpoint)
    fetcher = Fetcher(Resolver([pc, keyed]))
    mark = blobs.azurite.mark()
    fetcher.copy(Transfer(blobs.url(PC, "s2/B04.tif")), f"az://{container}/pc/B04.tif")
    assert blob_bytes(blobs.service, container, "pc/B04.tif") == (
        blobs.sources["s2/B04.tif"].read_bytes()
    )
    log = blobs.azurite.requests_since(mark)
    puts = [r for r in log if r["method"] == "PUT" and f"/{container}/pc/" in r["path"]]
    assert [r["status"] for r in puts] == ["202"]


def test_pc_is_no_destination(blobs: Blobs, token_api: TokenApi) -> None:
    pc = PlanetaryComputerClient(
        sas_url=token_api.sas_url, endpoint_url=blobs.endpoint, retry=FAST_RETRY
    )
    writer = pc.open_writer(pc.resolve(blobs.url(PC, "new.bin")))
    writer.write(b"data")
    with pytest.raises(AccessDeniedError, match="only allow reading"):
        writer.commit()


def test_cut_source_leaves_nothing(
    http: HttpPeer, blobs: Blobs, container: str, keyed: AzureClient, big_cog: Path
) -> None:
    http.configure(cut_rate=1.0)
    source = HttpClient(retry=FAST_RETRY)
    fetcher = Fetcher(Resolver([source, keyed]))
    mark = blobs.azurite.mark()
    with pytest.raises(TransientError):
        fetcher.copy(Transfer(http.url_for("big/big.tif")), f"az://{container}/cut.tif")
    assert not exists(blobs.service, container, "cut.tif")
    paths = puts_to(blobs, mark, f"/{container}/cut.tif")
    assert any("comp=block&" in path for path in paths)  # blocks went up, never committed
    assert not any("comp=blocklist" in path for path in paths)


def test_checksum_mismatch_leaves_nothing(
    http: HttpPeer, blobs: Blobs, container: str, keyed: AzureClient
) -> None:
    fetcher = Fetcher(Resolver([keyed]))
    transfer = Transfer(http.url_for("big/big.tif"), checksum="1220" + "00" * 32)
    with pytest.raises(VerificationError):
        fetcher.copy(transfer, f"az://{container}/bad.tif")
    assert not exists(blobs.service, container, "bad.tif")
