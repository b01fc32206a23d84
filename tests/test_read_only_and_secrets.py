"""Opening never writes; signed hrefs and tokens reach no log line, repr or message."""

from __future__ import annotations

import json
import logging
import os
import subprocess
from pathlib import Path
from urllib.parse import quote, quote_plus

import pystac
import pytest
import rasterio

import stac_asset
from stac_asset import HttpClient, blocking
from tests.conftest import make_item
from tests.peers.http_peer import HttpPeer
from tests.test_cli import stac_asset_command

# A SAS-style signature with the characters that percent-encoding changes.
SIG = "Zk9+sEcReT/sIg0123456789abcdefXYZ="
TOKEN = "bearer-token-0123456789-secret"


def signed(url: str) -> str:
    return f"{url}?sv=2024-05-04&se=2099-01-01&sr=b&sp=r&sig={quote(SIG, safe='')}"


def leaks(*texts: str) -> list[str]:
    forms = {SIG, quote(SIG, safe=""), quote_plus(SIG), TOKEN}
    return [form for form in forms for text in texts if form in text]


@pytest.mark.parametrize("mode", ["w", "r+", "w+"])
def test_open_refuses_to_write(small_cogs: dict[str, Path], tmp_path: Path, mode: str) -> None:
    source = tmp_path / "B02.tif"
    source.write_bytes(small_cogs["B02"].read_bytes())
    before = (source.read_bytes(), source.stat().st_mtime_ns)
    item = make_item("RO", {"B02": str(source)})
    with pytest.raises(stac_asset.StacAssetError, match="read-only.*download_item"):
        stac_asset.open(item, "B02", mode=mode, driver="GTiff")
    with pytest.raises(stac_asset.StacAssetError, match="width.*refused"):
        stac_asset.open(item, "B02", width=1)
    assert (source.read_bytes(), source.stat().st_mtime_ns) == before


def test_no_sidecar_is_written_by_open_or_a_windowed_copy(
    small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    source_dir = tmp_path / "source"
    source_dir.mkdir()
    source = source_dir / "B03.tif"
    source.write_bytes(small_cogs["B03"].read_bytes())
    item = make_item("RO", {"B03": str(source)})
    with stac_asset.open(item, "B03") as ds:
        ds.stats(indexes=1)  # GDAL keeps these in a .aux.xml when allowed to
        ds.read(1)
    with rasterio.open(source) as ds:
        ds.stats(indexes=1)  # plain rasterio does write one: the check above could fail
    written = source_dir / "B03.tif.aux.xml"
    assert written.exists()
    written.unlink()
    blocking.download_item(item, tmp_path / "clip", window=((0, 64), (0, 64)))
    assert (tmp_path / "clip" / "B03.tif").is_file()
    assert sorted(p.name for p in source_dir.iterdir()) == ["B03.tif"]


def test_open_without_with_says_how(small_cogs: dict[str, Path]) -> None:
    opened = stac_asset.open(str(small_cogs["B02"]))
    with pytest.raises(AttributeError, match=r"with stac_asset.open\(item, \"B04\"\) as ds"):
        opened.read(1)
    with opened as ds:
        assert ds.read(1).shape == (512, 512)


def test_open_takes_an_item_href_and_a_key(http: HttpPeer, remote_item: pystac.Item) -> None:
    with stac_asset.open(http.url_for("s2/item.json"), "B04") as ds:
        assert ds.name.endswith("s2/B04.tif")


def test_no_secret_in_logs_reprs_failures_or_gdal_debug(
    http: HttpPeer,
    small_cogs: dict[str, Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: every library's records
    client = HttpClient(headers={"Authorization": f"Bearer {TOKEN}"})
    item = make_item(
        "SIGNED",
        {"B02": signed(http.url_for("s2/B02.tif")), "gone": signed(http.url_for("s2/gone.tif"))},
    )
    events: list[object] = []
    with pytest.raises(stac_asset.DownloadError) as caught:
        blocking.download_item(item, tmp_path / "out", clients=[client], messages=events.append)
    error = caught.value
    print(error.failures)
    print(error)
    assert error.item is not None
    assert "sig=" not in json.dumps(error.item.to_dict(transform_hrefs=False))
    access = stac_asset.resolve(item, "B02", clients=[client])
    with rasterio.Env(CPL_DEBUG="ON"), stac_asset.open(access) as ds:
        ds.read(1, window=((0, 16), (0, 16)))
    texts = [
        caplog.text,
        " ".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records),
        capsys.readouterr().out,
        repr(error),
        repr(error.failures),
        repr(error.exceptions),
        repr(access),
        repr(client),
        repr(events),
        *(p.read_text() for p in (tmp_path / "out").rglob("*.json")),
    ]
    assert any("rasterio" in r.name for r in caplog.records)  # GDAL's debug lines came through
    assert not leaks(*texts)


def test_masking_keeps_the_text_around_a_url() -> None:
    failure = stac_asset.errors.AssetFailure(
        "I", "k", signed("https://a.blob.core.windows.net/c/b.tif"), OSError("x")
    )
    assert str(failure).startswith("I/k (https://a.blob.core.windows.net/c/b.tif?***): x")
    assert "sig" not in repr(failure)


def test_cli_verbose_shows_no_secret(
    http: HttpPeer, small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    item = make_item("CLI", {"gone": signed(http.url_for("s2/gone.tif"))})
    source = tmp_path / "item.json"
    source.write_text(json.dumps(item.to_dict()))
    result = subprocess.run(
        stac_asset_command(
            "-v",
            "download",
            str(source),
            str(tmp_path / "out"),
            "--http-header",
            f"Authorization: Bearer {TOKEN}",
        ),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CPL_DEBUG": "ON"},
    )
    assert result.returncode == 1 and "CLI/gone" in result.stderr
    assert not leaks(result.stdout, result.stderr)
