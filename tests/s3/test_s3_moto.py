"""S3Client against moto in server mode: both views, credentials, requester pays, endpoints."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

import stac_asset
from stac_asset import S3Client, blocking
from tests.conftest import make_item
from tests.peers.http_peer import HttpPeer
from tests.s3.conftest import PAYER, PRIVATE, PUBLIC
from tests.s3.moto_peer import MotoPeer

WRONG_SECRET = "Wr0ngSecretWr0ngSecretWr0ngSecretWr0ng00"


def pixels(path: Path | str) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read()


def fresh_object(moto: MotoPeer, source: Path, bucket: str = PRIVATE, **extra: str) -> str:
    """Upload ``source`` under a new key (GDAL caches what it read, per URL, per process)."""
    key = f"fresh/{uuid.uuid4().hex}.tif"
    moto.boto3_client().put_object(Bucket=bucket, Key=key, Body=source.read_bytes(), **extra)
    return f"s3://{bucket}/{key}"


def test_public_object_unsigned(
    moto: MotoPeer, unsigned_client: S3Client, small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    item = make_item("PUB", {"B02": f"s3://{PUBLIC}/s2/B02.tif"})
    local = blocking.download_item(item, tmp_path, clients=[unsigned_client])
    assert (tmp_path / "B02.tif").read_bytes() == small_cogs["B02"].read_bytes()
    with stac_asset.open(item, "B02", clients=[unsigned_client]) as ds:
        remote = ds.read()
    assert np.array_equal(remote, pixels(local.assets["B02"].get_absolute_href() or ""))
    log = moto.gets(f"/{PUBLIC}/s2/B02.tif")
    assert log and all(entry["key_id"] is None for entry in log)  # nothing was signed


def test_private_object_without_credentials_says_how_to_provide_them(
    moto: MotoPeer, unsigned_client: S3Client, small_cogs: dict[str, Path]
) -> None:
    href = f"s3://{PRIVATE}/s2/B02.tif"
    with pytest.raises(stac_asset.AccessDeniedError) as info:
        blocking.read_href(href, clients=[unsigned_client])
    message = str(info.value)
    assert message.startswith(f"s3: {href}: ")
    assert "no AWS credentials were found" in message
    assert "AWS_ACCESS_KEY_ID" in message and "AWS_PROFILE" in message
    assert info.value.status == 403
    assert moto.gets(f"/{PRIVATE}/s2/B02.tif")[-1]["status"] == 403
    fresh = fresh_object(moto, small_cogs["B02"])
    with pytest.raises(stac_asset.AccessError, match=f"s3: {fresh}: GDAL could not open"):
        stac_asset.open(fresh, client=unsigned_client).__enter__()


def test_private_object_with_credentials_under_auth(
    locked: MotoPeer,
    signed_client: S3Client,
    small_cogs: dict[str, Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    # Other credentials in the environment must not displace the access's own (rasterio
    # would otherwise build a session from them when GDAL opens the file).
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", WRONG_SECRET)
    href = fresh_object(locked, small_cogs["B03"])
    item = make_item("PRIV", {"B03": href})
    local = blocking.download_item(
        item, tmp_path, clients=[signed_client], file_name_strategy="key"
    )
    assert (tmp_path / "B03.tif").read_bytes() == small_cogs["B03"].read_bytes()
    with stac_asset.open(item, "B03", clients=[signed_client]) as ds:
        remote = ds.read()
    assert np.array_equal(remote, pixels(local.assets["B03"].get_absolute_href() or ""))
    log = locked.gets(href)
    assert len(log) >= 2  # the byte view's GET and GDAL's
    assert {entry["key_id"] for entry in log} == {locked.admin["aws_access_key_id"]}
    assert all(entry["status"] in (200, 206) for entry in log)
    secret = locked.admin["aws_secret_access_key"]
    assert secret not in (tmp_path / "PRIV.json").read_text()
    assert secret not in caplog.text


def test_wrong_or_missing_credentials_are_refused(
    locked: MotoPeer, small_cogs: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    href = fresh_object(locked, small_cogs["B04"])
    endpoint = locked.endpoint_url
    cases = {
        "InvalidAccessKeyId": boto3.Session(
            aws_access_key_id="AKIAUNKNOWNKEY000000", aws_secret_access_key=WRONG_SECRET
        ),
        "SignatureDoesNotMatch": boto3.Session(
            aws_access_key_id=locked.admin["aws_access_key_id"],
            aws_secret_access_key=WRONG_SECRET,
        ),
    }
    for code, session in cases.items():
        client = S3Client(session, endpoint_url=endpoint)
        with pytest.raises(stac_asset.AccessDeniedError) as info:
            blocking.read_href(href, clients=[client])
        message = str(info.value)
        assert message.startswith(f"s3: {href}: {code}")
        assert "the credentials (from explicit) were refused" in message
        assert WRONG_SECRET not in message
        with pytest.raises(stac_asset.AccessError, match="GDAL could not open"):
            stac_asset.open(href, client=client).__enter__()
    with pytest.raises(stac_asset.AccessDeniedError, match="no AWS credentials were found"):
        blocking.read_href(href, clients=[S3Client(endpoint_url=endpoint)])
    statuses = [entry["status"] for entry in locked.gets(href)]
    assert statuses and set(statuses) == {403}
    assert WRONG_SECRET not in caplog.text


def test_anonymous_sends_no_credentials_even_when_it_has_some(
    moto: MotoPeer, admin_session: boto3.Session
) -> None:
    client = S3Client(admin_session, anonymous=True, endpoint_url=moto.endpoint_url)
    assert blocking.read_href(f"s3://{PUBLIC}/s2/B03.tif", clients=[client])
    assert moto.gets(f"/{PUBLIC}/s2/B03.tif")[-1]["key_id"] is None
    with pytest.raises(stac_asset.AccessDeniedError, match=r"S3Client\(anonymous=True\)"):
        blocking.read_href(f"s3://{PRIVATE}/s2/B03.tif", clients=[client])


def test_requester_pays_header_reaches_the_server_on_both_views(
    moto: MotoPeer, admin_session: boto3.Session, small_cogs: dict[str, Path]
) -> None:
    paying = S3Client(admin_session, requester_pays=True, endpoint_url=moto.endpoint_url)
    plain = S3Client(admin_session, endpoint_url=moto.endpoint_url)
    by_client = fresh_object(moto, small_cogs["B02"], PAYER)
    by_item = fresh_object(moto, small_cogs["B02"], PAYER)
    not_paying = fresh_object(moto, small_cogs["B02"], PAYER)
    item = make_item("RP", {"a": by_item, "b": not_paying})
    item.assets["a"].extra_fields["storage:requester_pays"] = True

    for href, client, asset in (
        (by_client, paying, None),
        (by_item, plain, item.assets["a"]),
        (not_paying, plain, item.assets["b"]),
    ):
        access = client.resolve(href, asset)
        with client.open_stream(access) as stream:
            assert b"".join(stream.chunks()) == small_cogs["B02"].read_bytes()
        with stac_asset.open(access) as ds:
            ds.read(1)
    for href, expected in ((by_client, "requester"), (by_item, "requester"), (not_paying, None)):
        log = moto.gets(href)
        assert len(log) >= 2, log  # boto3's GET, then GDAL's
        assert [entry["request_payer"] for entry in log] == [expected] * len(log)


def test_item_region_signs_both_views(
    moto: MotoPeer, signed_client: S3Client, small_cogs: dict[str, Path]
) -> None:
    href = fresh_object(moto, small_cogs["B04"])
    item = make_item("REG", {"B04": href})
    item.properties["storage:region"] = "eu-west-1"
    access = signed_client.resolve(href, item.assets["B04"])
    with signed_client.open_stream(access) as stream:
        b"".join(stream.chunks())
    with stac_asset.open(access) as ds:
        ds.read(1)
    log = moto.gets(href)
    assert len(log) >= 2
    assert {entry["region"] for entry in log} == {"eu-west-1"}


def test_endpoint_from_environment_reaches_both_views(
    moto: MotoPeer, monkeypatch: pytest.MonkeyPatch, small_cogs: dict[str, Path]
) -> None:
    for variable in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
        monkeypatch.setenv(variable, moto.endpoint_url)
        href = fresh_object(moto, small_cogs["B03"], PUBLIC, ACL="public-read")
        client = S3Client()  # configured by the one variable
        assert blocking.read_href(href, clients=[client]) == small_cogs["B03"].read_bytes()
        with stac_asset.open(href, client=client) as ds:
            assert np.array_equal(ds.read(), pixels(small_cogs["B03"]))
        assert moto.gets(href)


def test_missing_key_and_bucket_are_not_found(moto: MotoPeer, signed_client: S3Client) -> None:
    href = f"s3://{PRIVATE}/no/such.tif"
    with pytest.raises(stac_asset.NotFoundError) as info:
        blocking.read_href(href, clients=[signed_client])
    assert str(info.value) == f"s3: {href}: no such key: {href}"
    href = "s3://no-such-bucket/a.tif"
    with pytest.raises(stac_asset.NotFoundError) as info:
        blocking.read_href(href, clients=[signed_client])
    assert str(info.value) == f"s3: {href}: no such bucket 'no-such-bucket'"
    assert not blocking.href_exists(href, clients=[signed_client])
    assert blocking.href_exists(f"s3://{PUBLIC}/s2/B02.tif", clients=[signed_client])


def test_resume_is_a_range_guarded_by_if_match(
    moto: MotoPeer, signed_client: S3Client, small_cogs: dict[str, Path]
) -> None:
    data = small_cogs["B02"].read_bytes()
    access = signed_client.resolve(f"s3://{PRIVATE}/s2/B02.tif")
    with signed_client.open_stream(access) as stream:
        validator = stream.validator
        assert stream.size == len(data) and validator
    with signed_client.open_stream(access, 1000, validator) as stream:
        assert (stream.start, stream.size) == (1000, len(data))
        assert b"".join(stream.chunks()) == data[1000:]
    # The object changed since the validator was taken: start again from byte 0.
    with signed_client.open_stream(access, 1000, '"another-version"') as stream:
        assert stream.start == 0
        assert b"".join(stream.chunks()) == data
    ranges = [entry["range"] for entry in moto.gets(f"/{PRIVATE}/s2/B02.tif")]
    assert ranges == [None, "bytes=1000-", "bytes=1000-", None]


def test_open_is_request_minimal(moto: MotoPeer, unsigned_client: S3Client, big_cog: Path) -> None:
    assert big_cog.stat().st_size >= 20_000_000
    href = fresh_object(moto, big_cog, PUBLIC, ACL="public-read")
    moto.reset()
    window = Window(1536, 1536, 512, 512)
    with stac_asset.open(href, client=unsigned_client) as ds:
        tile = ds.read(1, window=window)
    log = moto.log()
    assert len(log) <= 2, [(entry["method"], entry["range"]) for entry in log]
    assert {entry["method"] for entry in log} == {"GET"}
    with rasterio.open(big_cog) as ds:
        assert np.array_equal(tile, ds.read(1, window=window))


def test_item_with_s3_and_http_assets_downloads_completely(
    moto: MotoPeer,
    http: HttpPeer,
    signed_client: S3Client,
    small_cogs: dict[str, Path],
    tmp_path: Path,
) -> None:
    hrefs = {
        "B02": f"s3://{PRIVATE}/s2/B02.tif",
        "B03": http.url_for("s2/B03.tif"),
        "B04": f"{moto.endpoint_url}/{PUBLIC}/s2/B04.tif",  # path-style URL on the endpoint
    }
    item = make_item("MIXED", hrefs)
    local = blocking.download_item(item, tmp_path, clients=[signed_client])
    for band, source in small_cogs.items():
        assert (tmp_path / f"{band}.tif").read_bytes() == source.read_bytes()
        assert local.assets[band].extra_fields["alternate"]["origin"]["href"] == hrefs[band]
    written = json.loads((tmp_path / "MIXED.json").read_text())
    assert {key: asset["href"].lstrip("./") for key, asset in written["assets"].items()} == {
        band: f"{band}.tif" for band in hrefs
    }
    assert moto.gets(f"/{PRIVATE}/s2/B02.tif")
    assert moto.gets(f"/{PUBLIC}/s2/B04.tif")
    assert http.requests_for("s2/B03.tif")
    assert moto.admin["aws_secret_access_key"] not in (tmp_path / "MIXED.json").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    for band in hrefs:
        with stac_asset.open(item, band, clients=[signed_client]) as ds:
            assert np.array_equal(ds.read(), pixels(tmp_path / f"{band}.tif"))


def test_temporary_credentials_of_an_assumed_role_are_shared_and_renewed(
    locked: MotoPeer,
    monkeypatch: pytest.MonkeyPatch,
    small_cogs: dict[str, Path],
    tmp_path: Path,
) -> None:
    # botocore's own assume-role provider (a profile with role_arn), STS on moto.
    (tmp_path / "aws-credentials").write_text(
        "[base]\n"
        f"aws_access_key_id = {locked.admin['aws_access_key_id']}\n"
        f"aws_secret_access_key = {locked.admin['aws_secret_access_key']}\n"
    )
    (tmp_path / "aws-config").write_text(
        f"[profile reader]\nrole_arn = {locked.create_role()}\nsource_profile = base\n"
        "duration_seconds = 3600\nregion = us-east-1\n"
    )
    href = fresh_object(locked, small_cogs["B02"])
    monkeypatch.setenv("AWS_PROFILE", "reader")
    monkeypatch.setenv("AWS_ENDPOINT_URL", locked.endpoint_url)  # S3 and STS both go to moto
    locked.reset()
    client = S3Client()

    first = client.resolve(href)
    now = datetime.now(timezone.utc)
    assert first.extra["signing"] == "assume-role"
    assert first.expires_at is not None
    assert now < first.expires_at <= now + timedelta(seconds=3600)
    token = first.gdal_options["AWS_SESSION_TOKEN"]
    assert token not in repr(first) and first.gdal_options["AWS_SECRET_ACCESS_KEY"] not in repr(
        first
    )
    # Fresh for an hour: every resolve shares them, with no new STS request.
    second = client.resolve(href)
    assert second.gdal_options == first.gdal_options
    assert locked.token_requests() == 1

    assert blocking.read_href(href, clients=[client]) == small_cogs["B02"].read_bytes()
    with stac_asset.open(second) as ds:
        assert np.array_equal(ds.read(), pixels(small_cogs["B02"]))
    first_key = first.gdal_options["AWS_ACCESS_KEY_ID"]
    assert {entry["key_id"] for entry in locked.gets(href)} == {first_key}

    # S3 says they expired while botocore still holds them as valid (its assume-role
    # provider caches them until 15 minutes before expiry): renewed once, then read.
    locked.reset()
    locked.expire_tokens()
    assert blocking.read_href(href, clients=[client]) == small_cogs["B02"].read_bytes()
    assert locked.token_requests() == 1
    statuses = [(entry["key_id"], entry["status"]) for entry in locked.gets(href)]
    renewed = client.resolve(href).gdal_options["AWS_ACCESS_KEY_ID"]
    assert renewed != first_key
    assert statuses == [(first_key, 400), (renewed, 200)]

    # The GDAL view too: stac_asset.open() renews them once and opens the object.
    unread = fresh_object(locked, small_cogs["B03"])  # GDAL caches what it read
    locked.reset()
    locked.expire_tokens()
    with stac_asset.open(unread, clients=[client]) as ds:
        assert np.array_equal(ds.read(), pixels(small_cogs["B03"]))
    assert locked.token_requests() == 1
    assert client.resolve(unread).gdal_options["AWS_ACCESS_KEY_ID"] not in (first_key, renewed)


def test_temporary_credentials_lacking_a_permission_are_not_renewed(
    locked: MotoPeer,
    monkeypatch: pytest.MonkeyPatch,
    small_cogs: dict[str, Path],
    tmp_path: Path,
) -> None:
    public_only = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{PUBLIC}/*"}
        ],
    }
    (tmp_path / "aws-credentials").write_text(
        "[base]\n"
        f"aws_access_key_id = {locked.admin['aws_access_key_id']}\n"
        f"aws_secret_access_key = {locked.admin['aws_secret_access_key']}\n"
    )
    (tmp_path / "aws-config").write_text(
        f"[profile reader]\nrole_arn = {locked.create_role(public_only)}\n"
        "source_profile = base\nduration_seconds = 3600\nregion = us-east-1\n"
    )
    monkeypatch.setenv("AWS_PROFILE", "reader")
    monkeypatch.setenv("AWS_ENDPOINT_URL", locked.endpoint_url)
    private = fresh_object(locked, small_cogs["B02"])
    public = fresh_object(locked, small_cogs["B03"], bucket=PUBLIC)
    locked.reset()
    client = S3Client()
    with pytest.raises(stac_asset.AccessDeniedError, match="AccessDenied"):
        blocking.read_href(private, clients=[client])
    # AccessDenied is about a permission: new credentials would not have it either, and
    # the credentials still read what they may.
    assert blocking.read_href(public, clients=[client]) == small_cogs["B03"].read_bytes()
    assert locked.token_requests() == 1


def test_wrong_region_is_corrected_on_both_views(
    moto: MotoPeer, signed_client: S3Client, small_cogs: dict[str, Path]
) -> None:
    href = fresh_object(moto, small_cogs["B03"])
    moto.set_bucket_regions({PRIVATE: "eu-west-1"})  # the item says nothing: us-east-1 is tried
    moto.reset()
    access = signed_client.resolve(href)
    assert access.extra["region"] == "us-east-1"
    with signed_client.open_stream(access) as stream:
        assert b"".join(stream.chunks()) == small_cogs["B03"].read_bytes()
    with stac_asset.open(access) as ds:
        assert np.array_equal(ds.read(), pixels(small_cogs["B03"]))
    log = [(entry["region"], entry["status"]) for entry in moto.gets(href)]
    # Each view is told the bucket's region once, then asks there.
    assert log[:2] == [("us-east-1", 400), ("eu-west-1", 200)]
    assert log[2:4] == [("us-east-1", 400), ("eu-west-1", 206)]
