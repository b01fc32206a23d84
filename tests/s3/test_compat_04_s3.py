"""stac-asset 0.4's S3 settings (Config fields and CLI flags), checked at the moto peer."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pystac
import pytest
from click.testing import CliRunner

import stac_asset
from stac_asset import Config, blocking
from stac_asset.cli import cli
from stac_asset.clients import defaults
from tests.conftest import make_item
from tests.peers.http_peer import HttpPeer
from tests.s3.conftest import PAYER, PRIVATE
from tests.s3.moto_peer import MotoPeer


@pytest.fixture
def admin_environment(moto: MotoPeer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The admin key in the environment, default clients made afresh."""
    monkeypatch.setattr(defaults, "_defaults", {})
    for name, value in moto.admin.items():
        monkeypatch.setenv(name.upper(), value)


@pytest.mark.parametrize(("pays", "expected"), [(True, "requester"), (False, None)])
def test_config_s3_settings_reach_the_server(
    moto: MotoPeer,
    admin_environment: None,
    small_cogs: dict[str, Path],
    tmp_path: Path,
    pays: bool,
    expected: str | None,
) -> None:
    href = f"s3://{PAYER}/s2/B03.tif"
    config = Config(
        s3_requester_pays=pays,
        s3_endpoint_url=moto.endpoint_url,
        s3_region_name="eu-west-1",
        s3_retry_mode="adaptive",
        s3_max_attempts=3,
    )
    item = asyncio.run(
        stac_asset.download_item(make_item("RP", {"B03": href}), tmp_path, config=config)
    )
    assert (tmp_path / "B03.tif").read_bytes() == small_cogs["B03"].read_bytes()
    assert item.assets["B03"].get_absolute_href() == str(tmp_path / "B03.tif")
    log = moto.gets(href)
    assert log and {entry["request_payer"] for entry in log} == {expected}
    assert {entry["region"] for entry in log} == {"eu-west-1"}


def test_config_s3_settings_for_reads(
    moto: MotoPeer, admin_environment: None, small_cogs: dict[str, Path]
) -> None:
    href = f"s3://{PRIVATE}/s2/B02.tif"
    config = Config(s3_endpoint_url=moto.endpoint_url)
    assert blocking.read_href(href, config) == small_cogs["B02"].read_bytes()
    assert blocking.asset_exists(pystac.Asset(href), config)
    assert not blocking.asset_exists(pystac.Asset(f"s3://{PRIVATE}/s2/nope.tif"), config)


def test_cli_s3_requester_pays_with_alternate_assets(
    moto: MotoPeer,
    admin_environment: None,
    http: HttpPeer,
    small_cogs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 0.4's tests/test_cli.py: a Landsat item, its s3 alternate, requester pays.
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.endpoint_url)
    href = f"s3://{PAYER}/s2/B04.tif"
    item = make_item("LC09", {"thumbnail": http.url_for("s2/unreachable.tif")})
    item.assets["thumbnail"].extra_fields["alternate"] = {"s3": {"href": href}}
    item.add_asset("other", pystac.Asset(http.url_for("s2/B02.tif")))
    source = tmp_path / "item.json"
    source.write_text(json.dumps(item.to_dict()))
    args = ["download", str(source), str(tmp_path / "out"), "--s3-requester-pays"]
    args += ["-i", "thumbnail", "--alternate-assets", "s3", "--fail-fast"]
    args += ["--s3-retry-mode", "adaptive", "--s3-max-attempts", "2", "-q"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "B04.tif").read_bytes() == small_cogs["B04"].read_bytes()
    assert [entry["request_payer"] for entry in moto.gets(href)] == ["requester"]
    assert not http.requests_for("/s2/")  # neither the main href nor the excluded asset


def test_cli_forced_s3_client(
    moto: MotoPeer,
    admin_environment: None,
    small_cogs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.endpoint_url)
    href = f"s3://{PRIVATE}/s2/B02.tif"
    source = tmp_path / "item.json"
    source.write_text(json.dumps(make_item("F", {"B02": href}).to_dict()))
    result = CliRunner().invoke(cli, ["download", str(source), str(tmp_path / "o"), "-c", "s3"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o" / "B02.tif").read_bytes() == small_cogs["B02"].read_bytes()
    info = CliRunner().invoke(cli, ["info", str(source), "--s3-max-attempts", "1"])
    assert info.exit_code == 0, info.output
    assert info.stdout.splitlines()[2].split()[:3] == ["B02", "s3", "True"]
