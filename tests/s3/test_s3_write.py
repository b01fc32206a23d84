"""S3 as a destination: multipart writers, server-side copies and the engine's copies into moto."""

from __future__ import annotations

import hashlib
import json
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from stac_asset import HttpClient, S3Client
from stac_asset.errors import AccessDeniedError, NotFoundError, TransientError, VerificationError
from stac_asset.resolver import Resolver
from stac_asset.retry import RetryPolicy
from stac_asset.transfer import Fetcher, Transfer
from tests.peers.http_peer import HttpPeer
from tests.s3.conftest import PRIVATE, PUBLIC
from tests.s3.moto_peer import REGION, MotoPeer

DEST = "dest-bucket"
MiB = 1024 * 1024
PART = 8 * MiB
LARGE = 200 * MiB
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)


def write_random(path: Path, size: int) -> Path:
    """A file of ``size`` random bytes, written 1 MiB at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        for offset in range(0, size, MiB):
            file.write(os.urandom(min(MiB, size - offset)))
    return path


def multipart_etag(path: Path, part_size: int) -> str:
    """The ETag S3 gives an object uploaded from ``path`` in parts of ``part_size``."""
    digests = []
    with path.open("rb") as file:
        while part := file.read(part_size):
            digests.append(hashlib.md5(part).digest())
    return f'"{hashlib.md5(b"".join(digests)).hexdigest()}-{len(digests)}"'


@pytest.fixture(scope="module")
def large_file(http_root: Path) -> Path:
    """A 200 MB file of random bytes under the HTTP root."""
    return write_random(http_root / "large" / "200mb.bin", LARGE)


@pytest.fixture(scope="module")
def medium_file(http_root: Path) -> Path:
    """A 20 MB file of random bytes (three parts) under the HTTP root."""
    return write_random(http_root / "medium" / "20mb.bin", 20 * MiB + 123)


@pytest.fixture
def dest(moto: MotoPeer) -> Iterator[Any]:
    """An empty destination bucket (boto3 client for checks); removed afterwards."""
    s3 = moto.boto3_client()
    s3.create_bucket(Bucket=DEST)
    yield s3
    for upload in s3.list_multipart_uploads(Bucket=DEST).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=DEST, Key=upload["Key"], UploadId=upload["UploadId"])
    for entry in s3.list_objects_v2(Bucket=DEST).get("Contents", []):
        s3.delete_object(Bucket=DEST, Key=entry["Key"])
    s3.delete_bucket(Bucket=DEST)


def keys(s3: Any) -> list[str]:
    return [entry["Key"] for entry in s3.list_objects_v2(Bucket=DEST).get("Contents", [])]


def uploads(s3: Any) -> list[dict[str, Any]]:
    return list(s3.list_multipart_uploads(Bucket=DEST).get("Uploads", []))


def read(s3: Any, key: str) -> bytes:
    return s3.get_object(Bucket=DEST, Key=key)["Body"].read()  # type: ignore[no-any-return]


def entries(moto: MotoPeer, path: str, method: str) -> list[dict[str, Any]]:
    return [e for e in moto.log() if e["path"] == path and e["method"] == method]


def test_small_object_is_one_put_at_commit(
    moto: MotoPeer, dest: Any, signed_client: S3Client
) -> None:
    access = signed_client.resolve(f"s3://{DEST}/out/small.json")
    writer = signed_client.open_writer(access)
    writer.write(b'{"a": ')
    writer.write(b"1}")
    assert keys(dest) == []
    assert signed_client.size_of(access) is None
    writer.commit()
    assert read(dest, "out/small.json") == b'{"a": 1}'
    head = dest.head_object(Bucket=DEST, Key="out/small.json")
    assert head["ContentType"] == "application/json"  # guessed from the key
    assert signed_client.size_of(access) == 8
    puts = entries(moto, f"/{DEST}/out/small.json", "PUT")
    assert [e["query"] for e in puts] == [""]


def test_empty_object(dest: Any, signed_client: S3Client) -> None:
    writer = signed_client.open_writer(signed_client.resolve(f"s3://{DEST}/empty"), "text/plain")
    writer.commit()
    assert read(dest, "empty") == b""


def test_multipart_upload_appears_only_on_commit(
    moto: MotoPeer, dest: Any, signed_client: S3Client, medium_file: Path
) -> None:
    data = medium_file.read_bytes()
    access = signed_client.resolve(f"s3://{DEST}/out/medium.bin")
    writer = signed_client.open_writer(access, "application/octet-stream")
    for offset in range(0, len(data), 3 * MiB // 2):
        writer.write(data[offset : offset + 3 * MiB // 2])
    assert keys(dest) == []
    assert [u["Key"] for u in uploads(dest)] == ["out/medium.bin"]
    writer.commit()
    assert read(dest, "out/medium.bin") == data
    assert uploads(dest) == []
    parts = [
        e for e in entries(moto, f"/{DEST}/out/medium.bin", "PUT") if "partNumber" in e["query"]
    ]
    assert len(parts) == 3
    head = dest.head_object(Bucket=DEST, Key="out/medium.bin")
    assert head["ETag"] == multipart_etag(medium_file, PART)


def test_abort_leaves_nothing(dest: Any, signed_client: S3Client) -> None:
    writer = signed_client.open_writer(signed_client.resolve(f"s3://{DEST}/out/aborted"))
    writer.write(os.urandom(PART + 10))
    assert len(uploads(dest)) == 1
    writer.abort()
    assert uploads(dest) == []
    assert keys(dest) == []


def test_restart_drops_what_was_written(dest: Any, signed_client: S3Client) -> None:
    writer = signed_client.open_writer(signed_client.resolve(f"s3://{DEST}/out/restarted"))
    writer.write(b"x" * (PART + 5))
    writer.restart()
    assert uploads(dest) == []
    writer.write(b"y" * (PART + 1))
    writer.commit()
    assert read(dest, "out/restarted") == b"y" * (PART + 1)


def test_part_uploads_are_retried(
    moto: MotoPeer, dest: Any, admin_session: boto3.Session, medium_file: Path
) -> None:
    client = S3Client(admin_session, endpoint_url=moto.endpoint_url, retry=FAST_RETRY)
    moto.fail_next("PUT", "partNumber=2", count=2)
    writer = client.open_writer(client.resolve(f"s3://{DEST}/out/retried.bin"))
    writer.write(medium_file.read_bytes())
    writer.commit()
    assert read(dest, "out/retried.bin") == medium_file.read_bytes()
    statuses = [
        e["status"]
        for e in entries(moto, f"/{DEST}/out/retried.bin", "PUT")
        if "partNumber=2" in e["query"]
    ]
    assert statuses == [503, 503, 200]


def test_part_retries_are_bounded(
    moto: MotoPeer, dest: Any, admin_session: boto3.Session, medium_file: Path
) -> None:
    client = S3Client(admin_session, endpoint_url=moto.endpoint_url, retry=FAST_RETRY)
    moto.fail_next("PUT", "partNumber=1", count=10)
    writer = client.open_writer(client.resolve(f"s3://{DEST}/out/failing.bin"))
    with pytest.raises(TransientError, match="ServiceUnavailable"):
        writer.write(medium_file.read_bytes())
    writer.abort()
    failed = [e for e in entries(moto, f"/{DEST}/out/failing.bin", "PUT") if e["status"] == 503]
    assert len(failed) == FAST_RETRY.max_attempts
    assert uploads(dest) == []
    assert keys(dest) == []


def test_engine_resumes_after_a_part_gave_up(
    moto: MotoPeer, http: HttpPeer, dest: Any, admin_session: boto3.Session, medium_file: Path
) -> None:
    """A failed write keeps nothing of its chunk: the engine's resumed source fills it again."""
    client = S3Client(admin_session, endpoint_url=moto.endpoint_url, retry=FAST_RETRY)
    moto.fail_next("PUT", "partNumber=2", count=FAST_RETRY.max_attempts + 1)
    fetcher = Fetcher(Resolver([client]))
    href = http.url_for("medium/20mb.bin")
    fetcher.copy(Transfer(href, size=medium_file.stat().st_size), f"s3://{DEST}/out/resumed.bin")
    head = dest.head_object(Bucket=DEST, Key="out/resumed.bin")
    assert head["ETag"] == multipart_etag(medium_file, PART)
    ranges = [e["range"] for e in http.requests_for("medium/20mb.bin")]
    assert ranges[0] is None and ranges[1].startswith("bytes=")  # the source was resumed


def test_missing_bucket_is_named(signed_client: S3Client) -> None:
    writer = signed_client.open_writer(signed_client.resolve("s3://no-such-bucket/k"))
    writer.write(b"data")
    with pytest.raises(NotFoundError, match="no such bucket 'no-such-bucket'"):
        writer.commit()


def test_s3_to_s3_is_a_server_side_copy(
    moto: MotoPeer, dest: Any, signed_client: S3Client, small_cogs: dict[str, Path]
) -> None:
    fetcher = Fetcher(Resolver([signed_client]))
    moto.reset()
    fetcher.copy(Transfer(f"s3://{PRIVATE}/s2/B02.tif"), f"s3://{DEST}/copy/B02.tif")
    assert read(dest, "copy/B02.tif") == small_cogs["B02"].read_bytes()
    log = moto.log()
    copies = [e for e in log if e["method"] == "PUT" and e["copy_source"]]
    assert [(e["path"], e["copy_source"]) for e in copies] == [
        (f"/{DEST}/copy/B02.tif", f"{PRIVATE}/s2/B02.tif")
    ]
    assert not [e for e in log if e["method"] == "GET" and e["path"].startswith(f"/{PRIVATE}/")]


def test_large_s3_to_s3_copy_is_multipart_server_side(
    moto: MotoPeer, dest: Any, signed_client: S3Client, big_cog: Path
) -> None:
    fetcher = Fetcher(Resolver([signed_client]))
    size = big_cog.stat().st_size
    moto.reset()
    fetcher.copy(Transfer(f"s3://{PUBLIC}/big/big.tif", size=size), f"s3://{DEST}/copy/big.tif")
    log = moto.log()
    parts = [e for e in log if e["copy_source"] and "partNumber" in e["query"]]
    assert len(parts) == -(-size // PART) > 1
    assert not [e for e in log if e["method"] == "GET"]
    assert dest.head_object(Bucket=DEST, Key="copy/big.tif")["ContentLength"] == size


class BucketClient(S3Client):
    """An S3 client that takes the hrefs of one bucket only."""

    def __init__(self, bucket: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bucket = bucket

    def matches(self, href: str) -> bool:
        return href.startswith(f"s3://{self.bucket}/")


def writer_session(moto: MotoPeer) -> boto3.Session:
    """A user that may write to the destination bucket but read nothing else."""
    iam = moto.boto3_client("iam")
    name = "writer"
    if name not in [u["UserName"] for u in iam.list_users()["Users"]]:
        iam.create_user(UserName=name)
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": [f"arn:aws:s3:::{DEST}/*"]}
            ],
        }
        iam.put_user_policy(UserName=name, PolicyName="dest", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return boto3.Session(
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        region_name=REGION,
    )


def test_refused_server_side_copy_streams_instead(
    locked: MotoPeer, dest: Any, admin_session: boto3.Session, small_cogs: dict[str, Path]
) -> None:
    source = BucketClient(PRIVATE, admin_session, endpoint_url=locked.endpoint_url)
    target = BucketClient(DEST, writer_session(locked), endpoint_url=locked.endpoint_url)
    source_access = source.resolve(f"s3://{PRIVATE}/s2/B03.tif")
    target_access = target.resolve(f"s3://{DEST}/copy/B03.tif")
    assert target.copy_from(source_access, source, target_access) is False
    assert keys(dest) == []

    locked.reset()
    fetcher = Fetcher(Resolver([source, target]))
    fetcher.copy(Transfer(f"s3://{PRIVATE}/s2/B03.tif"), f"s3://{DEST}/copy/B03.tif")
    assert read(dest, "copy/B03.tif") == small_cogs["B03"].read_bytes()
    gets = locked.gets(f"s3://{PRIVATE}/s2/B03.tif")
    assert [e["key_id"] for e in gets] == [locked.admin["aws_access_key_id"]]


def test_http_to_s3(
    http: HttpPeer, dest: Any, signed_client: S3Client, small_cogs: dict[str, Path]
) -> None:
    fetcher = Fetcher(Resolver([signed_client]))
    href = http.url_for("s2/B04.tif")
    fetcher.copy(Transfer(href), f"s3://{DEST}/http/B04.tif")
    assert read(dest, "http/B04.tif") == small_cogs["B04"].read_bytes()


def test_200_mb_http_to_s3_in_constant_memory(
    moto: MotoPeer, http: HttpPeer, dest: Any, signed_client: S3Client, large_file: Path
) -> None:
    fetcher = Fetcher(Resolver([signed_client]))
    transfer = Transfer(http.url_for("large/200mb.bin"), size=LARGE)
    tracemalloc.start()
    try:
        fetcher.copy(transfer, f"s3://{DEST}/large/200mb.bin")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * MiB, f"peak traced memory {peak / MiB:.1f} MiB"
    head = dest.head_object(Bucket=DEST, Key="large/200mb.bin")
    assert head["ContentLength"] == LARGE
    assert head["ETag"] == multipart_etag(large_file, PART)
    parts = [e for e in entries(moto, f"/{DEST}/large/200mb.bin", "PUT") if e["query"]]
    assert len(parts) == LARGE // PART


def test_cut_source_leaves_nothing(
    http: HttpPeer, dest: Any, signed_client: S3Client, medium_file: Path
) -> None:
    http.configure(cut_rate=1.0)
    source = HttpClient(retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02))
    fetcher = Fetcher(Resolver([source, signed_client]))
    with pytest.raises(TransientError, match="connection lost|body ended"):
        fetcher.copy(Transfer(http.url_for("medium/20mb.bin")), f"s3://{DEST}/cut/20mb.bin")
    assert keys(dest) == []
    assert uploads(dest) == []


def test_checksum_mismatch_leaves_nothing(
    moto: MotoPeer, http: HttpPeer, dest: Any, signed_client: S3Client, medium_file: Path
) -> None:
    fetcher = Fetcher(Resolver([signed_client]))
    wrong = "1220" + "00" * 32
    transfer = Transfer(http.url_for("medium/20mb.bin"), checksum=wrong)
    with pytest.raises(VerificationError):
        fetcher.copy(transfer, f"s3://{DEST}/bad/20mb.bin")
    assert keys(dest) == []
    assert uploads(dest) == []
    log = entries(moto, f"/{DEST}/bad/20mb.bin", "DELETE")
    assert [e["status"] for e in log] == [204]  # the multipart upload was aborted


def test_wrong_credentials_name_the_href_not_the_secret(
    locked: MotoPeer, http: HttpPeer, dest: Any
) -> None:
    secret = "wrong-secret-key-for-the-test"
    session = boto3.Session(
        aws_access_key_id="AKIAWRONGKEY00000000", aws_secret_access_key=secret, region_name=REGION
    )
    client = S3Client(session, endpoint_url=locked.endpoint_url, retry=FAST_RETRY)
    fetcher = Fetcher(Resolver([client]))
    target = f"s3://{DEST}/denied/B02.tif"
    with pytest.raises(AccessDeniedError) as raised:
        fetcher.copy(Transfer(http.url_for("s2/B02.tif")), target)
    message = str(raised.value)
    assert target in message
    assert "InvalidAccessKeyId" in message and "s3:PutObject" in message
    assert secret not in message and secret not in repr(raised.value)
    assert keys(dest) == []
