"""Item downloads over HTTP and the filesystem, through the async face and the blocking twin."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
import requests

import stac_asset
from stac_asset import HttpClient, blocking
from tests.conftest import make_item
from tests.peers.http_peer import HttpPeer


def pixels(path: Path | str) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read()


def test_download_item_writes_files_and_rewrites_item(
    http: HttpPeer, remote_item: pystac.Item, small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    item = asyncio.run(stac_asset.download_item(remote_item, tmp_path / "out"))

    out = tmp_path / "out"
    for band, source in small_cogs.items():
        assert (out / f"{band}.tif").read_bytes() == source.read_bytes()
    written = json.loads((out / "S2-TEST.json").read_text())
    assert (
        written["assets"]["B04"]["href"] == "./B04.tif"
        or written["assets"]["B04"]["href"] == "B04.tif"
    )
    assert written["assets"]["B04"]["alternate"]["origin"]["href"] == http.url_for("s2/B04.tif")
    # Nothing else is lost.
    assert written["properties"]["platform"] == "sentinel-2a"
    assert written["properties"]["eo:cloud_cover"] == 3.5
    assert written["bbox"] == [9, 45, 9.1, 45.1]
    assert written["assets"]["B04"]["roles"] == ["data"]
    assert written["assets"]["B04"]["title"] == "B04"
    assert any(link["rel"] == "license" for link in written["links"])
    assert item.get_self_href() == str(out / "S2-TEST.json")
    assert Path(item.assets["B02"].get_absolute_href() or "") == out / "B02.tif"
    # No temporary file is left behind.
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_blocking_download_from_href(
    http: HttpPeer, remote_item: pystac.Item, tmp_path: Path
) -> None:
    item = blocking.download_item_from_href(http.url_for("s2/item.json"), tmp_path, include=["B03"])
    assert list(item.assets) == ["B03"]
    assert (tmp_path / "B03.tif").is_file()
    assert not (tmp_path / "B02.tif").exists()


def test_blocking_works_inside_a_running_loop(remote_item: pystac.Item, tmp_path: Path) -> None:
    async def notebook_cell() -> pystac.Item:
        # As in Jupyter: a blocking call made while an event loop runs.
        return blocking.download_item(remote_item, tmp_path)

    item = asyncio.run(notebook_cell())
    assert (tmp_path / "B04.tif").is_file()
    assert item.assets["B04"].href.endswith("B04.tif")


def test_documented_client_usage_with_custom_session(
    http: HttpPeer, remote_item: pystac.Item, tmp_path: Path
) -> None:
    session = requests.Session()
    session.headers["X-Team"] = "geo"

    async def run() -> pystac.Item:
        async with await HttpClient.default() as default_client:
            assert isinstance(default_client, HttpClient)
        client = HttpClient(session)
        return await client.download_item(remote_item, str(tmp_path))

    asyncio.run(run())
    gets = [r for r in http.log() if r["method"] == "GET" and r["path"].endswith(".tif")]
    assert len(gets) == 3
    assert all(r["headers"].get("X-Team") == "geo" for r in gets)


def test_local_item_with_relative_hrefs(small_cogs: dict[str, Path], tmp_path: Path) -> None:
    source = tmp_path / "catalog" / "item.json"
    source.parent.mkdir()
    for band, path in small_cogs.items():
        (source.parent / f"{band}.tif").write_bytes(path.read_bytes())
    item = make_item("LOCAL", {b: f"./{b}.tif" for b in small_cogs})
    source.write_text(json.dumps(item.to_dict(include_self_link=False, transform_hrefs=False)))

    local = blocking.download_item_from_href(str(source), tmp_path / "copy")
    assert (tmp_path / "copy" / "B02.tif").read_bytes() == small_cogs["B02"].read_bytes()
    assert local.assets["B02"].extra_fields["alternate"]["origin"]["href"] == str(
        source.parent / "B02.tif"
    )


def test_file_url_assets(small_cogs: dict[str, Path], tmp_path: Path) -> None:
    item = make_item("FILEURL", {"B04": small_cogs["B04"].as_uri()})
    blocking.download_item(item, tmp_path)
    assert (tmp_path / "B04.tif").read_bytes() == small_cogs["B04"].read_bytes()


def test_temporary_file_then_rename(http: HttpPeer, big_cog: Path, tmp_path: Path) -> None:
    # While the body streams, only the hidden partial file exists.
    http.configure(cut_first_n={"/big/big.tif": 1})
    seen: list[set[str]] = []

    def progress(message: stac_asset.Message) -> None:
        if isinstance(message, stac_asset.WriteChunk):
            seen.append({p.name for p in tmp_path.iterdir()})

    item = make_item("BIG", {"data": http.url_for("big/big.tif")})
    blocking.download_item(item, tmp_path, messages=progress)
    assert seen and all(names <= {".big.tif.part"} for names in seen)
    assert (tmp_path / "big.tif").read_bytes() == big_cog.read_bytes()


def test_memory_does_not_grow_with_file_size(http: HttpPeer, big_cog: Path, tmp_path: Path) -> None:
    import tracemalloc

    tracemalloc.start()
    try:
        blocking.download_file(http.url_for("big/big.tif"), tmp_path / "big.tif")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = big_cog.stat().st_size
    assert (tmp_path / "big.tif").stat().st_size == size
    assert peak < size / 4, f"peak Python memory {peak} for a {size}-byte file"


def test_download_item_on_a_tif_names_download_file(
    http: HttpPeer, small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(stac_asset.NotAnItemError, match=r"download_file") as info:
        blocking.download_item_from_href(http.url_for("s2/B04.tif"), tmp_path)
    assert "TIFF" in str(info.value)
    with pytest.raises(stac_asset.NotAnItemError, match="download_item_from_href"):
        blocking.download_item(http.url_for("s2/item.json"), tmp_path)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("setup", "error", "pattern"),
    [
        (
            "missing",
            stac_asset.NotFoundError,
            r"http: http://127\.0\.0\.1:\d+/nope/item\.json: HTTP 404",
        ),
        ("forbidden", stac_asset.AccessDeniedError, r"HTTP 403"),
        ("malformed", stac_asset.NotAnItemError, r"not a STAC item: it is not JSON"),
        ("collection", stac_asset.NotAnItemError, r"item collection, not an item"),
    ],
)
def test_bad_item_hrefs(
    http: HttpPeer, tmp_path: Path, setup: str, error: type[Exception], pattern: str
) -> None:
    (http.root / "bad").mkdir(exist_ok=True)
    (http.root / "bad" / "malformed.json").write_text('{"type": "Feature", ')
    (http.root / "bad" / "collection.json").write_text(
        '{"type": "FeatureCollection", "features": []}'
    )
    http.configure(fail_paths={"/bad/forbidden.json": 403})
    path = {"missing": "nope/item.json"}.get(setup, f"bad/{setup}.json")
    with pytest.raises(error, match=pattern):
        blocking.download_item_from_href(http.url_for(path), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_unknown_scheme_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(
        stac_asset.ResolveError, match=r"ftp://host/item\.json.*unknown scheme 'ftp'"
    ):
        blocking.download_item_from_href("ftp://host/item.json", tmp_path)


def test_failed_asset_names_href_and_keeps_the_rest(
    http: HttpPeer, small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    item = make_item(
        "PARTIAL",
        {"B02": http.url_for("s2/B02.tif"), "gone": http.url_for("s2/missing.tif")},
    )
    with pytest.raises(stac_asset.DownloadError) as info:
        blocking.download_item(item, tmp_path)
    message = str(info.value)
    assert "PARTIAL/gone" in message and "s2/missing.tif" in message and "404" in message
    assert (tmp_path / "B02.tif").read_bytes() == small_cogs["B02"].read_bytes()
    assert not (tmp_path / "missing.tif").exists()
    assert not list(tmp_path.glob(".*"))


def test_read_href_and_exists(http: HttpPeer, small_cogs: dict[str, Path]) -> None:
    data = asyncio.run(stac_asset.read_href(http.url_for("s2/B02.tif")))
    assert data == small_cogs["B02"].read_bytes()
    item = make_item("E", {"ok": http.url_for("s2/B02.tif"), "no": http.url_for("s2/none.tif")})
    assert asyncio.run(stac_asset.asset_exists(item.assets["ok"]))
    assert not asyncio.run(stac_asset.asset_exists(item.assets["no"]))


def test_retries_transient_errors(
    http: HttpPeer, small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    http.configure(fail_first_n={"/s2/B03.tif": 2}, retry_after=0)
    blocking.download_file(http.url_for("s2/B03.tif"), tmp_path / "B03.tif")
    assert (tmp_path / "B03.tif").read_bytes() == small_cogs["B03"].read_bytes()
    statuses = [r["status"] for r in http.requests_for("/s2/B03.tif")]
    assert statuses == [503, 503, 200]


def test_resumes_a_cut_body_with_a_range(http: HttpPeer, big_cog: Path, tmp_path: Path) -> None:
    http.configure(cut_first_n={"/big/big.tif": 1})
    blocking.download_file(http.url_for("big/big.tif"), tmp_path / "big.tif")
    assert (tmp_path / "big.tif").read_bytes() == big_cog.read_bytes()
    requests_ = http.requests_for("/big/big.tif")
    assert len(requests_) == 2
    # It resumes from what reached the disk: more than nothing, no more than was sent.
    resumed_at = int(requests_[1]["range"].removeprefix("bytes=").removesuffix("-"))
    assert 0 < resumed_at <= requests_[0]["bytes_sent"]
    assert requests_[1]["status"] == 206
    stat = big_cog.stat()
    assert requests_[1]["headers"].get("If-Range") == f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
