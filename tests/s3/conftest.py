"""S3 peer: moto in server mode, with public, private and requester-pays buckets."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from stac_asset import S3Client
from tests.s3.moto_peer import REGION, MotoPeer

PUBLIC = "public-data"
PRIVATE = "private-data"
PAYER = "payer-data"


@pytest.fixture(scope="session")
def moto_peer(small_cogs: dict[str, Path], big_cog: Path) -> Iterator[MotoPeer]:
    """moto for the whole session: the small COGs in every bucket, the big COG public."""
    with MotoPeer.start() as peer:
        s3 = peer.boto3_client()
        for bucket in (PUBLIC, PRIVATE, PAYER):
            s3.create_bucket(Bucket=bucket)
        s3.put_bucket_request_payment(
            Bucket=PAYER, RequestPaymentConfiguration={"Payer": "Requester"}
        )
        for band, path in small_cogs.items():
            body = path.read_bytes()
            s3.put_object(Bucket=PUBLIC, Key=f"s2/{band}.tif", Body=body, ACL="public-read")
            s3.put_object(Bucket=PRIVATE, Key=f"s2/{band}.tif", Body=body)
            s3.put_object(Bucket=PAYER, Key=f"s2/{band}.tif", Body=body)
        with big_cog.open("rb") as body:
            s3.put_object(Bucket=PUBLIC, Key="big/big.tif", Body=body, ACL="public-read")
        yield peer


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS settings from the machine: no credentials, profiles, endpoints or regions."""
    for name in list(os.environ):
        if name.startswith("AWS_") and name != "AWS_CA_BUNDLE":
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def moto(moto_peer: MotoPeer) -> MotoPeer:
    """The moto peer with auth off, buckets in no particular region, and an empty request log."""
    moto_peer.set_auth(False)
    moto_peer.set_bucket_regions({})
    moto_peer.reset()
    return moto_peer


@pytest.fixture
def locked(moto: MotoPeer) -> Iterator[MotoPeer]:
    """The moto peer checking signatures: only keys its IAM knows may read."""
    moto.set_auth(True)
    yield moto
    moto.set_auth(False)


@pytest.fixture
def admin_session(moto: MotoPeer) -> boto3.Session:
    """A boto3 session holding the admin user's access key."""
    return boto3.Session(region_name=REGION, **moto.admin)


@pytest.fixture
def unsigned_client(moto: MotoPeer) -> S3Client:
    """An S3 client for moto that finds no credentials (so reads unsigned)."""
    return S3Client(endpoint_url=moto.endpoint_url)


@pytest.fixture
def signed_client(moto: MotoPeer, admin_session: boto3.Session) -> S3Client:
    """An S3 client for moto signing with the admin key."""
    return S3Client(admin_session, endpoint_url=moto.endpoint_url)
