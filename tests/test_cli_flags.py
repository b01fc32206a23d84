"""Each download flag takes effect, as seen at the server and on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pystac
import pytest
from click.testing import CliRunner

from stac_asset.cli import cli
from tests.conftest import make_item
from tests.peers.http_peer import HttpPeer


@pytest.fixture
def item_file(http: HttpPeer, small_cogs: dict[str, Path], tmp_path: Path) -> Path:
    item = make_item("FLAGS", {band: http.url_for(f"s2/{band}.tif") for band in small_cogs})
    item.collection_id = "s2"
    item.assets["B04"].roles = ["visual"]
    item.assets["B03"].extra_fields["alternate"] = {"mirror": {"href": http.url_for("s2/B02.tif")}}
    path = tmp_path / "item.json"
    path.write_text(json.dumps(item.to_dict()))
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["download", *args])
    return result.exit_code, result.output


def fetched(http: HttpPeer) -> list[str]:
    return sorted(r["path"] for r in http.log() if r["method"] == "GET")


def test_include_and_exclude(http: HttpPeer, item_file: Path, tmp_path: Path) -> None:
    assert run(str(item_file), str(tmp_path / "a"), "-i", "B02", "-i", "visual")[0] == 0
    assert fetched(http) == ["/s2/B02.tif", "/s2/B04.tif"]
    http.reset()
    assert run(str(item_file), str(tmp_path / "b"), "-x", "B02")[0] == 0
    assert fetched(http) == ["/s2/B03.tif", "/s2/B04.tif"]


def test_path_template_on_a_collection(http: HttpPeer, item_file: Path, tmp_path: Path) -> None:
    collection = pystac.ItemCollection([pystac.Item.from_file(str(item_file))]).to_dict()
    source = tmp_path / "collection.json"
    source.write_text(json.dumps(collection))
    code, output = run(str(source), str(tmp_path / "out"), "-p", "${collection}/${id}")
    assert code == 0, output
    assert (tmp_path / "out" / "s2" / "FLAGS" / "B02.tif").is_file()


def test_overwrite(http: HttpPeer, item_file: Path, tmp_path: Path) -> None:
    assert run(str(item_file), str(tmp_path))[0] == 0
    http.reset()
    assert run(str(item_file), str(tmp_path))[0] == 0
    assert fetched(http) == []  # complete files are skipped
    assert run(str(item_file), str(tmp_path), "--overwrite")[0] == 0
    assert len(fetched(http)) == 3


def test_keep_non_downloaded(http: HttpPeer, item_file: Path, tmp_path: Path) -> None:
    assert run(str(item_file), str(tmp_path), "-i", "B02", "--keep-non-downloaded")[0] == 0
    written = json.loads((tmp_path / "FLAGS.json").read_text())
    assert written["assets"]["B04"]["href"] == http.url_for("s2/B04.tif")
    assert written["assets"]["B02"]["href"] == "B02.tif"


def test_fail_fast_and_keep_going(http: HttpPeer, item_file: Path, tmp_path: Path) -> None:
    http.configure(fail_paths={"/s2/B02.tif": 500}, latency_ms=50)
    code, output = run(str(item_file), str(tmp_path / "k"), "--keep-going")
    assert code == 1 and "FLAGS/B02" in output
    assert (tmp_path / "k" / "B04.tif").is_file()  # the rest still arrived
    code, output = run(
        str(item_file), str(tmp_path / "f"), "--fail-fast", "--max-concurrent-downloads", "1"
    )
    assert code == 1 and "B02" in output
    # One at a time, B02 first: the failure stops the run before the others start.
    assert not (tmp_path / "f" / "B03.tif").exists() and not (tmp_path / "f" / "B04.tif").exists()


def test_max_concurrent_downloads(http: HttpPeer, item_file: Path, tmp_path: Path) -> None:
    http.configure(latency_ms=100)
    assert run(str(item_file), str(tmp_path), "--max-concurrent-downloads", "1")[0] == 0
    assert len({r["client_port"] for r in http.log()}) == 1  # one connection, reused


def test_alternate(http: HttpPeer, item_file: Path, tmp_path: Path) -> None:
    assert run(str(item_file), str(tmp_path), "-i", "B03", "--alternate", "mirror")[0] == 0
    assert fetched(http) == ["/s2/B02.tif"]


def test_quiet(http: HttpPeer, item_file: Path, tmp_path: Path) -> None:
    code, output = run(str(item_file), str(tmp_path), "--quiet")
    assert code == 0 and output == ""
