"""The command line's S3 flags, checked at the server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from stac_asset.cli import cli
from stac_asset.clients import defaults
from tests.conftest import make_item
from tests.s3.conftest import PAYER, PUBLIC
from tests.s3.moto_peer import MotoPeer


@pytest.mark.parametrize(("flag", "expected"), [(True, "requester"), (False, None)])
def test_s3_requester_pays_flag_reaches_the_server(
    moto: MotoPeer,
    small_cogs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    flag: bool,
    expected: str | None,
) -> None:
    # Default clients read the environment when first made: start from none.
    monkeypatch.setattr(defaults, "_defaults", {})
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.endpoint_url)
    for name, value in moto.admin.items():
        monkeypatch.setenv(name.upper(), value)
    href = f"s3://{PAYER}/s2/B03.tif"
    source = tmp_path / "item.json"
    source.write_text(json.dumps(make_item("RP", {"B03": href}).to_dict()))
    args = ["download", str(source), str(tmp_path / "out")]
    result = CliRunner().invoke(cli, args + (["--s3-requester-pays"] if flag else []))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "B03.tif").read_bytes() == small_cogs["B03"].read_bytes()
    log = moto.gets(href)
    assert log and [entry["request_payer"] for entry in log] == [expected] * len(log)


def test_documented_s3_client_usage(
    moto: MotoPeer, small_cogs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from stac_asset import S3Client

    monkeypatch.setattr(defaults, "_defaults", {})
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.endpoint_url)
    monkeypatch.chdir(tmp_path)
    item = make_item("DOC", {"B02": f"s3://{PUBLIC}/s2/B02.tif"})

    async def main() -> None:
        async with await S3Client.default() as client:
            await client.download_item(item, ".")

    asyncio.run(main())
    assert (tmp_path / "B02.tif").read_bytes() == small_cogs["B02"].read_bytes()
