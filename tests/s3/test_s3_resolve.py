"""S3Client without a peer: which hrefs it takes, and what it resolves them to."""

from __future__ import annotations

import pickle
import re
from datetime import datetime, timezone
from pathlib import Path

import boto3
import botocore.session
import pystac
import pytest
from botocore.credentials import CredentialProvider, RefreshableCredentials

import stac_asset
from stac_asset import Access, S3Client
from stac_asset._secrets import redact
from tests.conftest import make_item

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKENvalue0123456789"


@pytest.mark.parametrize(
    ("href", "bucket", "key", "region"),
    [
        ("s3://sentinel-cogs/a/b/B04.tif", "sentinel-cogs", "a/b/B04.tif", None),
        (
            "https://sentinel-cogs.s3.us-west-2.amazonaws.com/a/B04.tif",
            "sentinel-cogs",
            "a/B04.tif",
            "us-west-2",
        ),
        ("https://usgs-landsat.s3.amazonaws.com/c2/B4.TIF", "usgs-landsat", "c2/B4.TIF", None),
        (
            "https://s3.eu-central-1.amazonaws.com/my-bucket/k/x.tif",
            "my-bucket",
            "k/x.tif",
            "eu-central-1",
        ),
        (
            "https://s3-us-west-2.amazonaws.com/my-bucket/a%20b.tif",
            "my-bucket",
            "a b.tif",
            "us-west-2",
        ),
        (
            "https://my.dotted.bucket.s3.dualstack.ap-southeast-2.amazonaws.com/x.tif",
            "my.dotted.bucket",
            "x.tif",
            "ap-southeast-2",
        ),
    ],
)
def test_s3_hrefs_route_to_s3_client(href: str, bucket: str, key: str, region: str | None) -> None:
    access = stac_asset.resolve(href)
    assert access.client == "s3"
    assert access.href == href
    assert access.vsi_path == f"/vsis3/{bucket}/{key}"
    assert (access.bucket, access.key) == (bucket, key)
    assert access.gdal_options["AWS_REGION"] == access.extra["region"] == (region or "us-east-1")


@pytest.mark.parametrize(
    "href",
    [
        "https://bkt.s3-website-us-east-1.amazonaws.com/k.tif",  # website endpoint: plain HTTP
        "https://bkt.s3.amazonaws.com/k.tif?X-Amz-Signature=abcdef",  # presigned URL
        "https://example.com/bkt/k.tif",
        "https://s3.amazonaws.com.example.org/bkt/k.tif",
    ],
)
def test_other_urls_stay_with_http(href: str) -> None:
    assert stac_asset.resolve(href).client == "http"


@pytest.mark.parametrize(
    ("href", "reason"),
    [
        ("s3://", "names no bucket"),
        ("s3:///key.tif", "names no bucket"),
        ("s3://bucket-only", "names no object"),
        ("s3://bucket-only/", "names no object"),
        ("s3://bucket-only/prefix/", "names no object"),
        ("s3://bad$bucket/k.tif", "not a valid bucket name"),
        ("https://s3.us-west-2.amazonaws.com/bucket-only", "names no object"),
    ],
)
def test_malformed_s3_href_is_a_clear_resolve_error(href: str, reason: str) -> None:
    with pytest.raises(stac_asset.ResolveError, match=re.escape(f"s3: {href!r}")) as info:
        stac_asset.resolve(href)
    assert reason in str(info.value)
    assert "s3://bucket/key" in str(info.value) or "bucket name" in str(info.value)


def test_region_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    item = make_item("R", {"a": "s3://bkt-one/a.tif", "b": "s3://bkt-two/b.tif"})
    a, b = item.assets["a"], item.assets["b"]
    client = S3Client(region="ap-south-1")

    def region(asset: pystac.Asset, c: S3Client = client) -> str:
        access = c.resolve(asset.href, asset)
        assert access.gdal_options["AWS_REGION"] == access.extra["region"]
        return access.extra["region"]

    assert region(a) == "ap-south-1"  # the client's, as the item says nothing
    item.properties["storage:region"] = "eu-west-1"  # storage v1 on the item
    assert region(a) == region(b) == "eu-west-1"
    b.extra_fields["storage:region"] = "us-west-2"  # v1 on the asset wins over the item
    assert (region(a), region(b)) == ("eu-west-1", "us-west-2")
    # A region in the URL itself wins over what the item says.
    url = "https://bkt-one.s3.ca-central-1.amazonaws.com/a.tif"
    assert client.resolve(url, a).extra["region"] == "ca-central-1"

    # No item, no client region: the environment's, else us-east-1.
    monkeypatch.setenv("AWS_REGION", "sa-east-1")
    assert region(a, S3Client()) == "eu-west-1"
    assert S3Client().resolve("s3://bkt-one/a.tif").extra["region"] == "sa-east-1"
    monkeypatch.delenv("AWS_REGION")
    assert S3Client().resolve("s3://bkt-one/a.tif").extra["region"] == "us-east-1"


def test_storage_extension_v2_schemes_and_refs() -> None:
    item = make_item("V2", {"a": "s3://bkt-one/a.tif", "b": "s3://bkt-two/b.tif"})
    item.properties["storage:schemes"] = {
        "one": {
            "type": "aws-s3",
            "platform": "https://{bucket}.s3.{region}.amazonaws.com",
            "bucket": "bkt-one",
            "region": "us-west-2",
            "requester_pays": True,
        },
        "two": {"type": "aws-s3", "bucket": "bkt-two", "region": "eu-north-1"},
    }
    item.assets["a"].extra_fields["storage:refs"] = ["one"]
    item.assets["b"].extra_fields["storage:refs"] = ["two"]
    client = S3Client()
    a = client.resolve("s3://bkt-one/a.tif", item.assets["a"])
    b = client.resolve("s3://bkt-two/b.tif", item.assets["b"])
    assert a.extra["region"] == "us-west-2"
    assert a.gdal_options["AWS_REQUEST_PAYER"] == "requester"
    assert a.extra["requester_pays"] == "true"
    assert b.extra["region"] == "eu-north-1"
    assert "AWS_REQUEST_PAYER" not in b.gdal_options and "requester_pays" not in b.extra

    # Schemes on the item's collection (already in memory) count too.
    collection = pystac.Collection(
        "c",
        "c",
        pystac.Extent(
            pystac.SpatialExtent([[-180, -90, 180, 90]]), pystac.TemporalExtent([[None, None]])
        ),
        extra_fields={"storage:schemes": {"s": {"type": "aws-s3", "region": "af-south-1"}}},
    )
    other = make_item("V2C", {"a": "s3://bkt-one/a.tif"})
    other.set_collection(collection)
    other.assets["a"].extra_fields["storage:refs"] = ["s"]
    assert client.resolve("s3://bkt-one/a.tif", other.assets["a"]).extra["region"] == "af-south-1"


def test_requester_pays_from_client_or_item() -> None:
    item = make_item("RP", {"a": "s3://bkt-one/a.tif"})
    asset = item.assets["a"]
    assert "AWS_REQUEST_PAYER" not in S3Client().resolve(asset.href, asset).gdal_options
    paying = S3Client(requester_pays=True).resolve(asset.href, asset)
    assert paying.gdal_options["AWS_REQUEST_PAYER"] == "requester"
    item.properties["storage:requester_pays"] = True
    assert S3Client().resolve(asset.href, asset).gdal_options["AWS_REQUEST_PAYER"] == "requester"


def test_custom_endpoint_from_argument_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://minio.example.com:9000")
    access = S3Client().resolve("s3://bkt/k.tif")
    assert access.gdal_options["AWS_S3_ENDPOINT"] == "minio.example.com:9000"
    assert access.gdal_options["AWS_HTTPS"] == "YES"
    assert access.gdal_options["AWS_VIRTUAL_HOSTING"] == "FALSE"
    assert access.extra["endpoint_url"] == "https://minio.example.com:9000"

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://localhost:9000/")  # the S3-specific one wins
    access = S3Client().resolve("s3://bkt/k.tif")
    assert access.gdal_options["AWS_S3_ENDPOINT"] == "localhost:9000"
    assert access.gdal_options["AWS_HTTPS"] == "NO"
    assert access.extra["endpoint_url"] == "http://localhost:9000"

    client = S3Client(endpoint_url="http://127.0.0.1:9999")  # the argument wins over both
    assert client.resolve("s3://bkt/k.tif").gdal_options["AWS_S3_ENDPOINT"] == "127.0.0.1:9999"
    # Path-style URLs on the endpoint are S3 hrefs for that client.
    assert client.matches("http://127.0.0.1:9999/bkt/dir/k.tif")
    assert not client.matches("http://127.0.0.1:9998/bkt/dir/k.tif")
    assert client.resolve("http://127.0.0.1:9999/bkt/dir/k.tif").vsi_path == "/vsis3/bkt/dir/k.tif"

    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    access = S3Client().resolve("s3://bkt/k.tif")
    assert access.gdal_options["AWS_S3_ENDPOINT"] == "s3.amazonaws.com"
    assert "endpoint_url" not in access.extra
    with pytest.raises(ValueError, match="endpoint_url must be an http"):
        S3Client(endpoint_url="localhost:9000")


def test_credentials_reach_gdal_options_but_never_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    client = S3Client()
    access = client.resolve("s3://bkt/k.tif")
    assert access.gdal_options["AWS_ACCESS_KEY_ID"] == "AKIAIOSFODNN7EXAMPLE"
    assert access.gdal_options["AWS_SECRET_ACCESS_KEY"] == SECRET
    assert access.gdal_options["AWS_SESSION_TOKEN"] == TOKEN
    assert access.gdal_options["AWS_NO_SIGN_REQUEST"] == "NO"
    assert access.extra["signing"] == "env"
    assert access.expires_at is None  # static credentials do not expire
    for text in (repr(access), str(access), repr(client), repr(access.extra)):
        assert SECRET not in text and TOKEN not in text
    assert redact(f"boom {SECRET} {TOKEN}") == "boom *** ***"
    clone = pickle.loads(pickle.dumps(access))
    assert isinstance(clone, Access) and clone == access

    # anonymous=True never sends them, though they exist.
    anonymous = S3Client(anonymous=True).resolve("s3://bkt/k.tif")
    assert anonymous.gdal_options["AWS_NO_SIGN_REQUEST"] == "YES"
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} & set(
        anonymous.gdal_options
    )
    assert anonymous.extra["signing"] == "anonymous"


def test_no_credentials_means_unsigned(tmp_path: Path) -> None:
    access = S3Client().resolve("s3://bkt/k.tif")
    assert access.gdal_options["AWS_NO_SIGN_REQUEST"] == "YES"
    assert access.extra["signing"] == "no credentials found"
    assert "AWS_SECRET_ACCESS_KEY" not in access.gdal_options


def test_credentials_from_a_profile_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    credentials = tmp_path / "aws-credentials"
    credentials.write_text(
        f"[team]\naws_access_key_id = AKIAPROFILEEXAMPLE01\naws_secret_access_key = {SECRET}\n"
    )
    (tmp_path / "aws-config").write_text("[profile team]\nregion = eu-south-1\n")
    monkeypatch.setenv("AWS_PROFILE", "team")
    access = S3Client().resolve("s3://bkt/k.tif")
    assert access.gdal_options["AWS_ACCESS_KEY_ID"] == "AKIAPROFILEEXAMPLE01"
    assert access.extra["signing"] == "shared-credentials-file"
    assert access.extra["region"] == "eu-south-1"  # the profile's region


def test_bad_profile_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    client = S3Client()  # no I/O yet: the resolver builds every client just to ask matches()
    assert client.matches("s3://bkt/k.tif")
    with pytest.raises(stac_asset.AccessError, match=r"s3: s3://bkt/k\.tif: could not get AWS"):
        client.resolve("s3://bkt/k.tif")


def test_expiry_of_temporary_credentials_is_kept() -> None:
    expiry = datetime(2099, 1, 1, tzinfo=timezone.utc)

    class TemporaryCredentials(CredentialProvider):  # e.g. a credential_process
        METHOD = "custom-process"

        def load(self) -> RefreshableCredentials:
            return RefreshableCredentials.create_from_metadata(
                {
                    "access_key": "ASIATEMPORARYEXAMPLE",
                    "secret_key": SECRET,
                    "token": TOKEN,
                    "expiry_time": expiry.isoformat(),
                },
                refresh_using=lambda: pytest.fail("not yet due for a refresh"),
                method=self.METHOD,
            )

    core = botocore.session.Session()
    core.get_component("credential_provider").insert_before("env", TemporaryCredentials())
    access = S3Client(boto3.Session(botocore_session=core)).resolve("s3://bkt/k.tif")
    assert access.expires_at == expiry
    assert access.gdal_options["AWS_SESSION_TOKEN"] == TOKEN
    assert access.extra["signing"] == "custom-process"
    assert not access.expires_within()
