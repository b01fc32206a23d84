"""The trust rule: an item from the network (or stdin) reaches nothing on this machine.

Each hostile item is served by the HTTP peer; its ``bad`` asset names a
canary file on this machine in one of the forms GDAL or the filesystem client
would read. Every entry point must refuse it before a byte is read, name the
item, the key, the href and the escape hatch, and still download the item's
good asset under keep-going; the canary's content must appear nowhere.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pystac
import pytest
from click.testing import CliRunner

import stac_asset
from stac_asset import LocalHrefError, blocking
from stac_asset.cli import cli
from tests.conftest import make_item
from tests.peers.http_peer import HttpPeer
from tests.test_cli import stac_asset_command


@dataclass
class Canary:
    path: Path
    content: str


@pytest.fixture
def canary(tmp_path_factory: pytest.TempPathFactory) -> Canary:
    content = f"CANARY-{uuid.uuid4().hex}"
    path = tmp_path_factory.mktemp("secret-home") / "passwd"
    path.write_text(content)
    return Canary(path, content)


def hostile_forms(canary: Path) -> dict[str, str]:
    """Every form of href that reaches the local machine, by name."""
    return {
        "file-url": canary.as_uri(),
        "file-url-upper": "FILE://" + str(canary),
        "absolute-path": str(canary),
        "vsi-subfile": f"/vsisubfile/0_40,{canary}",
        "vsi-zip": f"/vsizip/{canary}.zip/x.tif",
        "vsistdin": "/vsistdin/",
        "driver-prefix": f'HDF5:"{canary}"://band',
        "gtiff-prefix": f"GTiff:{canary}",
        "windows-drive": "C:\\Windows\\win.ini",
        "unc-path": "\\\\server\\share\\x.tif",
    }


FORMS = list(hostile_forms(Path("/x")))


@dataclass
class Hostile:
    url: str
    href: str
    item: pystac.Item


def serve_hostile(http: HttpPeer, href: str, name: str = "hostile.json") -> Hostile:
    item = make_item("HOSTILE", {"good": "./B02.tif", "bad": href})
    data = item.to_dict(include_self_link=False, transform_hrefs=False)
    (http.root / "s2" / name).write_text(json.dumps(data))
    url = http.url_for(f"s2/{name}")
    return Hostile(url, href, pystac.Item.from_dict(data, href=url))


@pytest.fixture(autouse=True)
def served(small_cogs: dict[str, Path]) -> None:
    """The HTTP peer serves s2/B02.tif (the good asset) and its neighbours."""


@pytest.fixture(params=FORMS)
def hostile(request: pytest.FixtureRequest, http: HttpPeer, canary: Canary) -> Hostile:
    return serve_hostile(http, hostile_forms(canary.path)[request.param])


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog


def assert_refused(error: BaseException, hostile: Hostile) -> None:
    text = str(error)
    assert "HOSTILE" in text and "'bad'" in text and "allow_local=True" in text
    assert "refused" in text


def assert_no_canary(canary: Canary, *places: object, directory: Path | None = None) -> None:
    for place in places:
        assert canary.content not in str(place)
    if directory is not None and directory.exists():
        for path in directory.rglob("*"):
            if path.is_file():
                assert canary.content not in path.read_text(errors="replace"), path


def good_was_downloaded(http: HttpPeer) -> bool:
    return any(r["path"] == "/s2/B02.tif" and r["status"] in (200, 206) for r in http.log())


def test_blocking_download_from_href_refuses_and_keeps_going(
    hostile: Hostile, http: HttpPeer, canary: Canary, tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(stac_asset.DownloadError) as caught:
        blocking.download_item_from_href(hostile.url, tmp_path)
    (failure,) = caught.value.failures
    assert failure.key == "bad" and isinstance(failure.error, LocalHrefError)
    assert_refused(failure.error, hostile)
    assert (tmp_path / "B02.tif").is_file() and good_was_downloaded(http)
    assert_no_canary(
        canary, caught.value, repr(caught.value.failures), logs.text, directory=tmp_path
    )


def test_async_download_item_refuses(
    hostile: Hostile, http: HttpPeer, canary: Canary, tmp_path: Path
) -> None:
    with pytest.raises(stac_asset.DownloadError) as caught:
        asyncio.run(stac_asset.download_item(hostile.item, tmp_path))
    assert_refused(caught.value.failures[0].error, hostile)
    assert good_was_downloaded(http)
    assert_no_canary(canary, caught.value, directory=tmp_path)


def test_fail_fast_refuses_before_anything_is_written(
    hostile: Hostile, http: HttpPeer, canary: Canary, tmp_path: Path
) -> None:
    destination = tmp_path / "new"
    with pytest.raises(LocalHrefError) as caught:
        blocking.download_item(hostile.item, destination, fail_fast=True)
    assert_refused(caught.value, hostile)
    assert not destination.exists()  # the destination is exactly as it was
    assert not http.requests_for(lambda r: r["path"].endswith(".tif"))


def test_item_collection_and_copy_item_refuse(
    hostile: Hostile, http: HttpPeer, canary: Canary, tmp_path: Path
) -> None:
    collection = {"type": "FeatureCollection", "features": [hostile.item.to_dict()]}
    # A self link to a local file in a feature from the network does not make it trusted.
    collection["features"][0]["links"] = [{"rel": "self", "href": str(tmp_path / "i.json")}]
    (http.root / "s2" / "collection.json").write_text(json.dumps(collection))
    with pytest.raises(stac_asset.DownloadError) as caught:
        blocking.download_item_collection(http.url_for("s2/collection.json"), tmp_path / "c")
    assert isinstance(caught.value.failures[0].error, LocalHrefError)
    with pytest.raises(stac_asset.DownloadError) as copied:
        blocking.copy_item(hostile.item, tmp_path / "copy")
    assert isinstance(copied.value.failures[0].error, LocalHrefError)
    assert_no_canary(canary, caught.value, copied.value, directory=tmp_path)


def test_resolve_open_and_asset_exists_refuse(hostile: Hostile, canary: Canary) -> None:
    for call in (
        lambda: stac_asset.resolve(hostile.item, "bad"),
        lambda: stac_asset.resolve(hostile.url, "bad"),  # the item's href with a key
        lambda: stac_asset.open(hostile.item, "bad"),
        lambda: blocking.asset_exists(hostile.item.assets["bad"]),
        lambda: blocking.assert_asset_exists(hostile.item.assets["bad"]),
        lambda: asyncio.run(stac_asset.asset_exists(hostile.item.assets["bad"])),
    ):
        with pytest.raises(LocalHrefError) as caught:
            call()
        assert_refused(caught.value, hostile)
        assert_no_canary(canary, caught.value)


def test_cli_download_info_and_vsi_refuse(
    hostile: Hostile, http: HttpPeer, canary: Canary, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    download = subprocess.run(
        stac_asset_command("download", hostile.url, str(out)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert download.returncode == 1
    assert "HOSTILE" in download.stderr and "--allow-local" in download.stderr
    assert (out / "B02.tif").is_file() and good_was_downloaded(http)
    info = CliRunner().invoke(cli, ["info", hostile.url, "--json"])
    rows = {row["key"]: row for row in json.loads(info.output)}
    assert rows["bad"]["exists"] is False and "--allow-local" in rows["bad"]["note"]
    vsi = CliRunner().invoke(cli, ["vsi", hostile.url, "bad"])
    assert vsi.exit_code == 1 and "refused" in vsi.output
    assert_no_canary(
        canary, download.stdout, download.stderr, info.output, vsi.output, directory=tmp_path
    )


def test_cli_items_on_stdin_are_remote(canary: Canary, tmp_path: Path) -> None:
    # An item on stdin is untrusted whatever its self link says.
    item = make_item("STDIN", {"bad": str(canary.path)}, self_href=str(tmp_path / "i.json"))
    text = json.dumps(item.to_dict())
    result = subprocess.run(
        stac_asset_command("download", "-", str(tmp_path / "out")),
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "refused" in result.stderr
    assert_no_canary(canary, result.stdout, result.stderr, directory=tmp_path / "out")
    allowed = subprocess.run(
        stac_asset_command("download", "-", str(tmp_path / "ok"), "--allow-local"),
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert allowed.returncode == 0, allowed.stderr
    assert (tmp_path / "ok" / "passwd").read_text() == canary.content


def test_allow_local_is_the_escape_hatch(http: HttpPeer, canary: Canary, tmp_path: Path) -> None:
    hostile = serve_hostile(http, canary.path.as_uri())
    item = blocking.download_item_from_href(hostile.url, tmp_path, allow_local=True)
    assert (tmp_path / "passwd").read_text() == canary.content
    assert item.assets["bad"].href == str(tmp_path / "passwd")
    assert stac_asset.resolve(hostile.item, "bad", allow_local=True).path == str(canary.path)


def test_local_items_and_explicit_hrefs_keep_working(canary: Canary, tmp_path: Path) -> None:
    # Built in Python, without a self href; read from a local file; an href the caller gives.
    built = make_item("LOCAL", {"a": str(canary.path)})
    blocking.download_item(built, tmp_path / "built")
    source = tmp_path / "item.json"
    source.write_text(json.dumps(built.to_dict()))
    blocking.download_item(pystac.Item.from_file(str(source)), tmp_path / "file")
    assert blocking.read_href(str(canary.path)) == canary.content.encode()
    assert stac_asset.resolve(canary.path.as_uri()).path == str(canary.path)
    blocking.download_file(str(canary.path), tmp_path / "explicit")
    for name in ("built", "file"):
        assert (tmp_path / name / "passwd").read_text() == canary.content


def test_relative_hrefs_resolve_against_the_item_url_never_the_cwd(
    http: HttpPeer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "B03.tif").write_text("local, must not be read")
    hostile = serve_hostile(http, "B03.tif")
    access = stac_asset.resolve(hostile.item, "bad")
    assert access.href == http.url_for("s2/B03.tif") and access.client == "http"
    out = tmp_path / "out"
    blocking.download_item(hostile.item, out)
    assert (out / "B03.tif").read_bytes() == (http.root / "s2" / "B03.tif").read_bytes()


@pytest.mark.parametrize("scheme", ["file", "s3"])
def test_redirects_go_only_to_http_in_both_views(
    http: HttpPeer, canary: Canary, scheme: str
) -> None:
    location = canary.path.as_uri() if scheme == "file" else "s3://bucket/passwd"
    http.configure(redirects={"/s2/moved.tif": location})
    url = http.url_for("s2/moved.tif")
    with pytest.raises(stac_asset.StacAssetError) as byte_view:
        blocking.read_href(url)
    with pytest.raises(stac_asset.StacAssetError) as gdal_view, stac_asset.open(url) as ds:
        ds.read(1)
    assert "redirect" in str(byte_view.value).lower()
    assert_no_canary(canary, byte_view.value, gdal_view.value)


@pytest.mark.parametrize("call", ["item", "collection"])
def test_bad_json_names_are_refused_before_any_byte(
    http: HttpPeer, remote_item: pystac.Item, tmp_path: Path, call: str
) -> None:
    destination = tmp_path / "dest"
    with pytest.raises(stac_asset.UnsafePathError):
        if call == "item":
            blocking.download_item(remote_item, destination, file_name="../../escape.json")
        else:
            blocking.download_item_collection([remote_item], destination, file_name="../x.json")
    assert not destination.exists() and not list(tmp_path.rglob("*.json"))
    assert not http.requests_for(lambda r: r["path"].endswith(".tif"))
