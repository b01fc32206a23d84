"""The resolver asks clients once per directory, and picks exactly the client it picked before."""

from __future__ import annotations

import pickle
import random

import pytest

from stac_asset import (
    AzureClient,
    Client,
    EarthdataClient,
    FilesystemClient,
    GcsClient,
    HttpClient,
    OAuth2Client,
    S3Client,
    clients,
)
from stac_asset.clients.base import decided_per_directory
from stac_asset.paths import href_directory
from stac_asset.resolver import Resolver

# Hrefs that share directories but not clients, and edge cases of href_directory.
HREFS = [
    "/data/a/b.tif",
    "/data/a/c.tif",
    "/data/a/x.special",
    "relative/path.tif",
    "file:///data/a/b.tif",
    "file://localhost/data/a/b.tif",
    "file://elsewhere/data/a/b.tif",
    "FILE:///data/a/b.tif",
    "s3://bucket/key/b.tif",
    "s3://bucket/",
    "https://bucket.s3.us-west-2.amazonaws.com/k/b.tif",
    "https://bucket.s3.us-west-2.amazonaws.com/k/b.tif?X-Amz-Signature=1",
    "https://s3.amazonaws.com/bucket/b.tif",
    "https://s3.amazonaws.com/bucket/",
    "http://127.0.0.1:9000/bucket/k/b.tif",
    "http://127.0.0.1:9000/other/k/b.tif",
    "http://127.0.0.1:9001/bucket/k/b.tif",
    "https://acct.blob.core.windows.net/container/b.tif",
    "https://pcacct.blob.core.windows.net/container/b.tif",
    "az://container/b.tif",
    "http://127.0.0.1:10000/devstoreaccount1/container/b.tif",
    "http://127.0.0.1:10000/devstoreaccount2/container/b.tif",
    "gs://bucket/k/b.tif",
    "https://storage.googleapis.com/bucket/b.tif",
    "https://bucket.storage.googleapis.com/k/b.tif",
    "http://127.0.0.1:4443/gcs/bucket/b.tif",
    "http://127.0.0.1:4443/notgcs/bucket/b.tif",
    "https://data.lpdaac.earthdatacloud.nasa.gov/x/b.tif",
    "https://landsatlook.usgs.gov/data/b.TIF",
    "https://api.example.org/protected/b.tif",
    "https://api.example.org:8443/protected/b.tif",
    "https://example.com/b.tif",
    "https://example.com/a%2Fb.tif",
    "https://example.com/dir/b.tif?sig=1",
    "https://example.com",
    "https://landsatlook.usgs.gov",
    "https://s3.amazonaws.com",
    "http://other.example.com",
    "ftp://example.com/b.tif",
]


class SpecialClient(FilesystemClient):
    """Takes files whose name ends in ``.special``: its answer depends on the file name."""

    name = "special"

    def matches(self, href: str) -> bool:
        return href.endswith(".special")


class CountingFilesystem(FilesystemClient):
    """A filesystem client that counts how often it is asked."""

    def __init__(self) -> None:
        self.asked = 0

    @decided_per_directory
    def matches(self, href: str) -> bool:
        self.asked += 1
        return super().matches(href)


def given_clients() -> list[Client]:
    return [
        SpecialClient(),
        S3Client(anonymous=True, endpoint_url="http://127.0.0.1:9000"),
        AzureClient(anonymous=True, endpoint_url="http://127.0.0.1:10000/devstoreaccount1"),
        GcsClient(anonymous=True, endpoint="http://127.0.0.1:4443/gcs"),
        OAuth2Client(
            "https://auth.example.org/token",
            hosts=["api.example.org"],
            client_id="id",
            client_secret="not-a-real-secret",
        ),
        EarthdataClient(token="not-a-real-token"),
        HttpClient(headers={"X-Test": "1"}),
    ]


def uncached(resolver: Resolver, href: str) -> Client | type[Exception]:
    """The client a fresh resolver with the same clients picks (or the error it raises)."""
    fresh = Resolver(resolver.clients)
    try:
        return fresh.client_for(href)
    except Exception as error:  # noqa: BLE001 - the error's type is compared
        return type(error)


@pytest.mark.parametrize("given", [False, True])
def test_same_client_as_without_cache(given: bool) -> None:
    clients = given_clients() if given else []
    resolver = Resolver(clients)
    order = HREFS * 3
    random.Random(7).shuffle(order)
    for href in order:
        expected = uncached(resolver, href)
        try:
            chosen: Client | type[Exception] = resolver.client_for(href)
        except Exception as error:  # noqa: BLE001 - the error's type is compared
            chosen = type(error)
        assert chosen is expected, href


def test_client_that_looks_at_file_names_is_asked_every_time() -> None:
    resolver = Resolver([SpecialClient()])
    assert isinstance(resolver.client_for("/data/a/b.tif"), FilesystemClient)
    assert type(resolver.client_for("/data/a/x.special")) is SpecialClient
    assert type(resolver.client_for("/data/a/c.tif")) is FilesystemClient


def test_subclass_must_declare_its_own_matches() -> None:
    class Undeclared(CountingFilesystem):
        def matches(self, href: str) -> bool:
            self.asked += 1
            return href.startswith("/data/a/b")

    client = Undeclared()
    resolver = Resolver([client])
    assert resolver.client_for("/data/a/b.tif") is client
    assert resolver.client_for("/data/a/c.tif") is not client
    assert client.asked == 2


def test_declared_client_is_asked_once_per_directory() -> None:
    client = CountingFilesystem()
    resolver = Resolver([client])
    for index in range(50):
        assert resolver.client_for(f"/data/a/f{index}.tif") is client
        assert resolver.client_for(f"/data/b/f{index}.tif") is client
    assert client.asked == 2
    # Names that could change the answer are asked about each time.
    assert resolver.client_for("/data/a/f%2F1.tif") is client
    assert resolver.client_for("/data/a/f%2F1.tif") is client
    assert client.asked == 4


def test_declined_clients_are_skipped_per_directory() -> None:
    client = CountingFilesystem()
    resolver = Resolver([client])
    for index in range(10):
        assert type(resolver.client_for(f"https://example.com/d/f{index}.tif")) is HttpClient
    assert client.asked == 1


def test_forced_client_and_class() -> None:
    given = HttpClient(headers={"X-Test": "1"})
    forced = Resolver([given], force=given)
    assert forced.client_for("/data/a/b.tif") is given
    assert forced.client_for("/data/a/c.tif") is given
    by_class = Resolver([given], force=HttpClient)
    assert by_class.client_for("/data/a/b.tif") is given
    assert by_class.client_for("s3://bucket/b.tif") is given
    assert Resolver(force=FilesystemClient).client_for("https://example.com/b.tif") is (
        Resolver().client_for("/data/a/b.tif")
    )


def test_registering_a_client_class_is_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    resolver = Resolver()
    assert type(resolver.client_for("/data/a/b.special")) is FilesystemClient
    monkeypatch.setattr(clients, "CLIENT_CLASSES", [SpecialClient, *clients.CLIENT_CLASSES])
    assert type(resolver.client_for("/data/a/b.special")) is SpecialClient


def test_pickled_resolver_leaves_its_cache_behind() -> None:
    resolver = Resolver([CountingFilesystem()])
    resolver.client_for("/data/a/b.tif")
    copy = pickle.loads(pickle.dumps(resolver))
    assert copy._known == ([], {})
    assert type(copy.client_for("/data/a/b.tif")) is CountingFilesystem


@pytest.mark.parametrize(
    ("href", "directory"),
    [
        ("/data/a/b.tif", "/data/a/"),
        ("https://host/x/b.tif", "https://host/x/"),
        ("https://host/b.tif", "https://host/"),
        ("https://host", None),
        ("https://host/", None),
        ("file:///b.tif", None),
        ("s3://bucket/k/b.tif", "s3://bucket/k/"),
        ("https://host/x?q=/b", "https://host/x?q=/"),
        ("https://host/x/b.tif?q=1", None),
        ("https://host/x/b.tif#part", None),
        ("https://host/x/a%2Fb.tif", None),
        ("/data/a/b:c.tif", None),
        ("/data/a/b c.tif", None),
        ("/data/a/b\tc.tif", None),
        ("b.tif", None),
        ("C:\\data\\b.tif", None),
    ],
)
def test_href_directory(href: str, directory: str | None) -> None:
    assert href_directory(href) == directory
