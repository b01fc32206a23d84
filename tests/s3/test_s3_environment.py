"""The default S3 client follows the environment, in one process (as in a notebook)."""

from __future__ import annotations

from pathlib import Path

import pytest

import stac_asset
from stac_asset import S3Client, blocking
from stac_asset.clients import defaults
from tests.s3.conftest import PRIVATE
from tests.s3.moto_peer import MotoPeer


def test_unsigned_refusal_then_credentials_then_success(
    locked: MotoPeer, small_cogs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", locked.endpoint_url)
    href = f"s3://{PRIVATE}/s2/B02.tif"
    with pytest.raises(stac_asset.AccessDeniedError, match="unsigned"):
        blocking.read_href(href)
    first = defaults.default_client(S3Client)
    assert defaults.default_client(S3Client) is first  # reused while nothing changes

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", locked.admin["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", locked.admin["aws_secret_access_key"])
    assert blocking.read_href(href) == small_cogs["B02"].read_bytes()
    assert defaults.default_client(S3Client) is not first


def test_a_changed_credentials_file_gives_a_new_client(
    locked: MotoPeer, small_cogs: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", locked.endpoint_url)
    credentials = tmp_path / "aws-credentials"
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    href = f"s3://{PRIVATE}/s2/B03.tif"
    with pytest.raises(stac_asset.AccessDeniedError):
        blocking.read_href(href)
    credentials.write_text(
        "[default]\n"
        f"aws_access_key_id = {locked.admin['aws_access_key_id']}\n"
        f"aws_secret_access_key = {locked.admin['aws_secret_access_key']}\n"
    )
    assert blocking.read_href(href) == small_cogs["B03"].read_bytes()
