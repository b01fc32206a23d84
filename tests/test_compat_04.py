"""stac-asset 0.4 usage, from its README, docs and tests, run against the loopback peers.

Each test is written as a 0.4 user wrote it (the async functions, the
blocking twins, ``Config``, progress messages on an ``asyncio.Queue``, the
command line); where this library adds to it, the test says so.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pystac
import pytest
import rasterio
from click.testing import CliRunner

import stac_asset
import stac_asset.blocking
from stac_asset import (
    AssetOverwriteError,
    Config,
    ConfigError,
    DownloadError,
    DownloadWarning,
    ErrorAssetDownload,
    ErrorStrategy,
    FileNameStrategy,
    FinishAssetDownload,
    HttpClient,
    OpenUrl,
    SkipAssetDownload,
    StartAssetDownload,
    WriteChunk,
    compat,
)
from stac_asset.cli import cli
from stac_asset.strategy import ErrorStrategy as StrategyModuleErrorStrategy
from tests.conftest import make_item
from tests.peers.http_peer import HttpPeer
from tests.peers.process import PeerProcess

# The positional parameters of stac-asset 0.4.8's public functions, in order
# (from its source); ours must accept the same positions with the same meaning.
SIGNATURES_048 = {
    "download_item": [
        "item",
        "directory",
        "file_name",
        "infer_file_name",
        "config",
        "messages",
        "clients",
        "keep_non_downloaded",
        "max_concurrent_downloads",
        "stream",
    ],
    "download_collection": [
        "collection",
        "directory",
        "file_name",
        "config",
        "messages",
        "clients",
        "keep_non_downloaded",
        "max_concurrent_downloads",
        "stream",
    ],
    "download_item_collection": [
        "item_collection",
        "directory",
        "path_template",
        "file_name",
        "config",
        "messages",
        "clients",
        "keep_non_downloaded",
        "max_concurrent_downloads",
        "stream",
    ],
    "download_asset": ["key", "asset", "path", "config", "messages", "clients", "stream"],
    "assert_asset_exists": ["asset", "config", "clients"],
    "asset_exists": ["asset", "config", "clients"],
    "open_href": ["href", "config", "clients"],
    "read_href": ["href", "config", "clients"],
    "download_file": ["href", "destination", "config", "clients"],
}
# The blocking module of 0.4.8 had no stream parameter, nor open_href.
BLOCKING_048 = {
    name: [p for p in params if p != "stream"]
    for name, params in SIGNATURES_048.items()
    if name != "open_href"
}


def positional(function: Any) -> list[str]:
    return [
        p.name
        for p in inspect.signature(function).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "stac_asset", *args]


def run(args: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def item_href(remote_item: pystac.Item, http: HttpPeer) -> str:
    """An item served by the HTTP peer, its three COG assets beside it."""
    return http.url_for("s2/item.json")


@pytest.fixture
def features(http: HttpPeer, small_cogs: dict[str, Path]) -> dict[str, Any]:
    """A FeatureCollection of two items of collection ``s2-test``, on the HTTP peer."""
    items = [
        make_item("one", {"B02": http.url_for("s2/B02.tif")}),
        make_item("two", {"B03": http.url_for("s2/B03.tif"), "B04": http.url_for("s2/B04.tif")}),
    ]
    for item in items:
        item.collection_id = "s2-test"
        item.assets[next(iter(item.assets))].roles = ["data", "rendered_preview"]
    return pystac.ItemCollection(items).to_dict()


@pytest.fixture
def stac_api(features: dict[str, Any], tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "features.json"
    path.write_text(json.dumps(features))
    with PeerProcess("tests.peers.stac_api", ["--items", str(path)]) as api:
        yield f"http://127.0.0.1:{api.port}/"


def test_public_functions_keep_048_positions() -> None:
    for name, params in SIGNATURES_048.items():
        ours = positional(getattr(stac_asset, name))
        assert ours[: len(params)] == params, name
    for name, params in BLOCKING_048.items():
        ours = positional(getattr(stac_asset.blocking, name))
        assert ours[: len(params)] == params, name
    assert inspect.isasyncgenfunction(stac_asset.open_href)
    assert stac_asset.HttpClient in stac_asset.get_client_classes()
    assert stac_asset.S3Client in stac_asset.get_client_classes()


def test_048_exports_exist() -> None:
    for name in [
        "AssetOverwriteError",
        "Client",
        "Config",
        "ConfigError",
        "ContentTypeError",
        "DownloadError",
        "DownloadWarning",
        "EarthdataClient",
        "ErrorStrategy",
        "FileNameStrategy",
        "FilesystemClient",
        "HttpClient",
        "Message",
        "PlanetaryComputerClient",
        "S3Client",
    ]:
        assert hasattr(stac_asset, name), name
    assert StrategyModuleErrorStrategy is ErrorStrategy
    assert issubclass(stac_asset.CannotIncludeAndExclude, ConfigError)


# -- the README ------------------------------------------------------------------


def test_readme_async(
    item_href: str, small_cogs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    async def main() -> pystac.Item:
        item = pystac.read_file(item_href)
        assert isinstance(item, pystac.Item)
        item = await stac_asset.download_item(item, ".")
        return item

    item = asyncio.run(main())
    for band, path in small_cogs.items():
        assert (tmp_path / f"{band}.tif").read_bytes() == path.read_bytes()
        assert item.assets[band].get_absolute_href() == str(tmp_path / f"{band}.tif")
    # infer_file_name: the item is written as <id>.json
    assert pystac.Item.from_file(str(tmp_path / "S2-TEST.json")).id == "S2-TEST"


def test_readme_blocking(
    item_href: str, small_cogs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    item = pystac.read_file(item_href)
    assert isinstance(item, pystac.Item)
    item = stac_asset.blocking.download_item(item, ".")
    assert (tmp_path / "B04.tif").read_bytes() == small_cogs["B04"].read_bytes()


def test_blocking_inside_a_running_loop_needs_no_nest_asyncio(
    remote_item: pystac.Item, tmp_path: Path
) -> None:
    # 0.4's README: "will not work in ... Jupyter notebooks"; here it does.
    async def notebook_cell() -> pystac.Item:
        return stac_asset.blocking.download_item(remote_item, tmp_path)

    item = asyncio.run(notebook_cell())
    assert set(item.assets) == {"B02", "B03", "B04"}


def test_docs_client_as_context_manager(remote_item: pystac.Item, tmp_path: Path) -> None:
    async def main() -> pystac.Item:
        async with await HttpClient.default() as client:
            return await client.download_item(remote_item, tmp_path)

    item = asyncio.run(main())
    assert (tmp_path / "B02.tif").is_file() and "B02" in item.assets


def test_client_from_config(item_href: str, http: HttpPeer, tmp_path: Path) -> None:
    http.configure(require_headers={"/s2/B0": {"X-Api-Key": "k1"}})

    async def main() -> None:
        config = Config(http_headers={"X-Api-Key": "k1"}, http_max_attempts=2)
        async with await HttpClient.from_config(config) as client:
            assert client.retry.max_attempts == 2
            await client.download_href(http.url_for("s2/B02.tif"), tmp_path / "B02.tif")

    asyncio.run(main())
    assert (tmp_path / "B02.tif").is_file()


# -- download functions (0.4's tests/test_functions.py, on the HTTP peer) ----------


def test_download_item_with_file_name(remote_item: pystac.Item, tmp_path: Path) -> None:
    asyncio.run(stac_asset.download_item(remote_item, tmp_path, file_name="item.json"))
    item = pystac.Item.from_file(str(tmp_path / "item.json"))
    assert item.assets["B02"].get_absolute_href() == str(tmp_path / "B02.tif")
    assert not (tmp_path / "S2-TEST.json").exists()


def test_download_item_positional_048(remote_item: pystac.Item, tmp_path: Path) -> None:
    # item, directory, file_name, infer_file_name, config, messages, clients,
    # keep_non_downloaded, max_concurrent_downloads, stream
    queue: asyncio.Queue[Any] = asyncio.Queue()

    async def main() -> pystac.Item:
        return await stac_asset.download_item(
            remote_item, tmp_path, None, False, Config(include=["B02"]), queue, None, True, 2, False
        )

    item = asyncio.run(main())
    assert not list(tmp_path.glob("*.json"))  # infer_file_name=False, no file name
    assert set(item.assets) == {"B02", "B03", "B04"}  # keep_non_downloaded
    assert item.assets["B02"].get_absolute_href() == str(tmp_path / "B02.tif")
    assert item.assets["B03"].href.startswith("http")
    assert not queue.empty()


def with_missing(item: pystac.Item, http: HttpPeer) -> pystac.Item:
    item = item.clone()
    item.assets["does-not-exist"] = pystac.Asset(http.url_for("s2/not-a-file.md5"))
    return item


def test_missing_asset_raises_download_error(
    remote_item: pystac.Item, http: HttpPeer, tmp_path: Path
) -> None:
    item = with_missing(remote_item, http)
    with pytest.raises(DownloadError) as raised:
        asyncio.run(stac_asset.download_item(item, tmp_path, config=Config(warn=False)))
    (error,) = raised.value.exceptions
    assert isinstance(error, stac_asset.NotFoundError) and "404" in str(error)


def test_missing_asset_warns_and_is_deleted(
    remote_item: pystac.Item, http: HttpPeer, tmp_path: Path
) -> None:
    item = with_missing(remote_item, http)
    with pytest.warns(DownloadWarning, match="does-not-exist"):
        item = asyncio.run(stac_asset.download_item(item, tmp_path, config=Config(warn=True)))
    assert "does-not-exist" not in item.assets
    written = pystac.Item.from_file(str(tmp_path / "S2-TEST.json"))
    assert set(written.assets) == {"B02", "B03", "B04"}


def test_missing_asset_kept_with_its_href(
    remote_item: pystac.Item, http: HttpPeer, tmp_path: Path
) -> None:
    item = with_missing(remote_item, http)
    config = Config(error_strategy=ErrorStrategy.KEEP, warn=True)
    with pytest.warns(DownloadWarning):
        item = asyncio.run(stac_asset.download_item(item, tmp_path, config=config))
    assert item.assets["does-not-exist"].href == http.url_for("s2/not-a-file.md5")
    assert item.assets["B02"].get_absolute_href() == str(tmp_path / "B02.tif")


def test_missing_asset_fail_fast_raises_the_error(
    remote_item: pystac.Item, http: HttpPeer, tmp_path: Path
) -> None:
    item = with_missing(remote_item, http)
    with pytest.raises(FileNotFoundError):
        asyncio.run(stac_asset.download_item(item, tmp_path, config=Config(fail_fast=True)))


def test_download_item_collection(
    features: dict[str, Any], small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    collection = pystac.ItemCollection.from_dict(features)
    result = asyncio.run(stac_asset.download_item_collection(collection, tmp_path))
    assert (tmp_path / "one" / "B02.tif").read_bytes() == small_cogs["B02"].read_bytes()
    assert result.items[1].assets["B04"].href == str(tmp_path / "two" / "B04.tif")
    written = pystac.ItemCollection.from_file(str(tmp_path / "item-collection.json"))
    # pystac resolves every feature's hrefs to the files written (as 0.4.8's did not).
    opened = {}
    for item in written:
        for key, asset in item.assets.items():
            href = asset.get_absolute_href()
            assert href is not None and href.startswith(str(tmp_path / item.id)), href
            with rasterio.open(href) as dataset:
                opened[key] = dataset.read(1)
            assert Path(href).read_bytes() == small_cogs[key].read_bytes()
    assert sorted(opened) == ["B02", "B03", "B04"]


def test_download_item_collection_positional_048(features: dict[str, Any], tmp_path: Path) -> None:
    # item_collection, directory, path_template, file_name
    collection = pystac.ItemCollection.from_dict(features)
    stac_asset.blocking.download_item_collection(collection, tmp_path, "${collection}", None)
    assert (tmp_path / "s2-test" / "B04.tif").is_file()
    assert not (tmp_path / "item-collection.json").exists()  # file_name=None: none written


def test_download_item_collection_keeps_our_order(features: dict[str, Any], tmp_path: Path) -> None:
    # This library's (file_name, infer_file_name) order, told apart by the bool.
    collection = pystac.ItemCollection.from_dict(features)
    stac_asset.blocking.download_item_collection(collection, tmp_path, "ic.json", True)
    assert (tmp_path / "ic.json").is_file() and (tmp_path / "one" / "B02.tif").is_file()
    stac_asset.blocking.download_item_collection(
        collection, tmp_path / "none", infer_file_name=False, path_template="${id}"
    )
    assert not (tmp_path / "none" / "item-collection.json").exists()


def test_download_collection(http: HttpPeer, small_cogs: dict[str, Path], tmp_path: Path) -> None:
    collection = pystac.Collection(
        "coll",
        "A collection with an asset of its own",
        pystac.Extent(
            pystac.SpatialExtent([[9, 45, 9.1, 45.1]]), pystac.TemporalExtent([[None, None]])
        ),
    )
    collection.add_asset("data", pystac.Asset(http.url_for("s2/B03.tif"), roles=["data"]))
    queue: asyncio.Queue[Any] = asyncio.Queue()
    result = asyncio.run(
        stac_asset.download_collection(
            collection, tmp_path, file_name="collection.json", messages=queue
        )
    )
    assert (tmp_path / "B03.tif").read_bytes() == small_cogs["B03"].read_bytes()
    written = pystac.Collection.from_file(str(tmp_path / "collection.json"))
    assert written.assets["data"].href == "B03.tif"
    assert result.assets["data"].get_absolute_href() == str(tmp_path / "B03.tif")
    assert collection.assets["data"].href == http.url_for("s2/B03.tif")  # not modified
    starts = [m for m in drain(queue) if isinstance(m, StartAssetDownload)]
    assert [m.owner_id for m in starts] == ["coll"]


def test_file_name_strategy_key(remote_item: pystac.Item, tmp_path: Path) -> None:
    config = Config(file_name_strategy=FileNameStrategy.KEY, include=["B02"])
    asyncio.run(stac_asset.download_item(remote_item, tmp_path, config=config))
    assert (tmp_path / "B02.tif").is_file()
    item = remote_item.clone()
    item.assets["data"] = item.assets.pop("B03")
    asyncio.run(
        stac_asset.download_item(
            item, tmp_path, config=Config(file_name_strategy=FileNameStrategy.KEY, include=["data"])
        )
    )
    assert (tmp_path / "data.tif").is_file()


def test_same_file_name_is_an_overwrite_error(remote_item: pystac.Item, tmp_path: Path) -> None:
    item = remote_item.clone()
    item.assets["other-data"] = item.assets["B02"].clone()
    with pytest.raises(AssetOverwriteError):
        asyncio.run(stac_asset.download_item(item, tmp_path))


def test_include_exclude(remote_item: pystac.Item, tmp_path: Path) -> None:
    item = asyncio.run(
        stac_asset.download_item(remote_item, tmp_path / "i", config=Config(include=["B02"]))
    )
    assert list(item.assets) == ["B02"]
    item = asyncio.run(
        stac_asset.download_item(remote_item, tmp_path / "x", config=Config(exclude=["B02"]))
    )
    assert sorted(item.assets) == ["B03", "B04"]
    with pytest.raises(ConfigError):
        asyncio.run(
            stac_asset.download_item(
                remote_item, tmp_path, config=Config(include=["B02"], exclude=["B03"])
            )
        )


def test_make_directory_false(remote_item: pystac.Item, tmp_path: Path) -> None:
    with pytest.raises(stac_asset.StacAssetError, match="does not exist"):
        asyncio.run(
            stac_asset.download_item(
                remote_item, tmp_path / "doesnt-exist", config=Config(make_directory=False)
            )
        )


def test_make_directory_false_is_a_download_error(remote_item: pystac.Item, tmp_path: Path) -> None:
    # As 0.4.8's users caught it.
    async def main() -> str:
        try:
            await stac_asset.download_item(
                remote_item, tmp_path / "doesnt-exist", config=Config(make_directory=False)
            )
        except stac_asset.DownloadError as error:
            return "; ".join(str(e) for e in error.exceptions)
        return "no error"

    assert "doesnt-exist does not exist" in asyncio.run(main())
    assert not (tmp_path / "doesnt-exist").exists()
    with pytest.raises(FileNotFoundError):
        stac_asset.blocking.download_item(
            remote_item, tmp_path / "doesnt-exist", make_directory=False, fail_fast=True
        )
    with pytest.raises(stac_asset.DownloadError, match="does not exist"):
        asyncio.run(
            stac_asset.download_asset(
                "B02",
                remote_item.assets["B02"],
                tmp_path / "doesnt-exist" / "B02.tif",
                Config(make_directory=False),
            )
        )
    assert not (tmp_path / "doesnt-exist").exists()


def test_download_asset_048(
    remote_item: pystac.Item, small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    asset = remote_item.assets["B03"]
    result = asyncio.run(
        stac_asset.download_asset("B03", asset, tmp_path / "b3.tif", Config(), None, None, True)
    )
    assert Path(result.href) == tmp_path / "b3.tif"
    assert (tmp_path / "b3.tif").read_bytes() == small_cogs["B03"].read_bytes()
    result = stac_asset.blocking.download_asset("B04", remote_item.assets["B04"], tmp_path / "4")
    assert (tmp_path / "4").is_file()


def test_download_file_both_orders(
    http: HttpPeer, small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    href = http.url_for("s2/B02.tif")
    client = HttpClient()
    seen: list[Any] = []
    # 0.4: (href, destination, config, clients)
    asyncio.run(stac_asset.download_file(href, tmp_path / "a.tif", Config(), [client]))
    stac_asset.blocking.download_file(href, tmp_path / "b.tif", None, [client])
    # this library: (href, path, config, messages, clients), and path=
    stac_asset.blocking.download_file(href, tmp_path / "c.tif", None, seen.append, [client])
    stac_asset.blocking.download_file(href, path=tmp_path / "d.tif")
    for name in "abcd":
        assert (tmp_path / f"{name}.tif").read_bytes() == small_cogs["B02"].read_bytes()
    assert any(isinstance(m, FinishAssetDownload) for m in seen)


def test_read_open_and_exists(
    remote_item: pystac.Item, http: HttpPeer, small_cogs: dict[str, Path]
) -> None:
    href = http.url_for("s2/B02.tif")
    expected = small_cogs["B02"].read_bytes()

    async def main() -> None:
        assert await stac_asset.read_href(href) == expected
        assert await stac_asset.read_href(href, Config(), [HttpClient()]) == expected
        chunks = [chunk async for chunk in stac_asset.open_href(href, Config())]
        assert b"".join(chunks) == expected
        assert await stac_asset.asset_exists(remote_item.assets["B02"])
        assert await stac_asset.asset_exists(remote_item.assets["B02"], Config(), [HttpClient()])
        missing = pystac.Asset(http.url_for("s2/nope.tif"))
        assert not await stac_asset.asset_exists(missing)
        with pytest.raises(stac_asset.NotFoundError):
            await stac_asset.assert_asset_exists(missing)

    asyncio.run(main())
    # This library's order, clients second, still works.
    assert stac_asset.blocking.read_href(href, [HttpClient()]) == expected
    assert stac_asset.blocking.asset_exists(remote_item.assets["B03"], None, [HttpClient()])
    with pytest.raises(TypeError, match="Config"):
        stac_asset.blocking.read_href(href, "not a config")  # type: ignore[arg-type]


def test_asset_exists_prefers_the_configured_alternate(
    http: HttpPeer, small_cogs: dict[str, Path]
) -> None:
    asset = pystac.Asset(http.url_for("s2/gone.tif"))
    asset.extra_fields["alternate"] = {"mirror": {"href": http.url_for("s2/B02.tif")}}
    assert not stac_asset.blocking.asset_exists(asset)
    assert stac_asset.blocking.asset_exists(asset, Config(alternate_assets=["mirror"]))
    assert stac_asset.blocking.read_href(http.url_for("s2/B02.tif"), Config(alternate_assets=[]))


# -- progress messages on an asyncio.Queue -----------------------------------------


def drain(queue: asyncio.Queue[Any]) -> list[Any]:
    messages = []
    while not queue.empty():
        messages.append(queue.get_nowait())
    return messages


def test_messages_on_an_asyncio_queue(
    remote_item: pystac.Item, http: HttpPeer, small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    item = with_missing(remote_item, http)

    async def main() -> list[Any]:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        with pytest.warns(DownloadWarning):
            await stac_asset.download_item(item, tmp_path, messages=queue, warn=True)
        return drain(queue)

    messages = asyncio.run(main())
    starts = {m.key: m for m in messages if isinstance(m, StartAssetDownload)}
    assert set(starts) == {"B02", "B03", "B04", "does-not-exist"}
    start = starts["B02"]
    assert (start.owner_id, start.href, start.path) == (
        "S2-TEST",
        http.url_for("s2/B02.tif"),
        tmp_path / "B02.tif",
    )
    size = small_cogs["B02"].stat().st_size
    opened = [m for m in messages if isinstance(m, OpenUrl) and m.path.name == "B02.tif"]
    assert [(str(m.url), m.size) for m in opened] == [(http.url_for("s2/B02.tif"), size)]
    written = sum(
        m.size for m in messages if isinstance(m, WriteChunk) and m.path.name == "B02.tif"
    )
    assert written == size
    finished = {m.key for m in messages if isinstance(m, FinishAssetDownload)}
    assert finished == {"B02", "B03", "B04"}
    (error,) = [m for m in messages if isinstance(m, ErrorAssetDownload)]
    assert error.key == "does-not-exist" and isinstance(error.error, stac_asset.NotFoundError)
    assert type(error.error).__name__ == "NotFoundError" and "404" in str(error.error)
    for message in messages:
        assert isinstance(message, stac_asset.Message)

    # Again: every complete file is skipped.
    async def again() -> list[Any]:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        await stac_asset.download_item(remote_item, tmp_path, messages=queue)
        return drain(queue)

    skipped = [m for m in asyncio.run(again()) if isinstance(m, SkipAssetDownload)]
    assert sorted((m.key, m.path.name) for m in skipped) == [
        ("B02", "B02.tif"),
        ("B03", "B03.tif"),
        ("B04", "B04.tif"),
    ]


def test_messages_reach_a_consumer_while_the_download_runs(
    remote_item: pystac.Item, http: HttpPeer, tmp_path: Path
) -> None:
    # 0.4's command line read the queue in a task beside the download.
    http.configure(latency_ms=100)

    async def main() -> tuple[list[Any], list[bool]]:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        received: list[Any] = []
        during: list[bool] = []
        done = False

        async def report_progress() -> None:
            while True:
                message = await queue.get()
                if message is None:
                    return
                received.append(message)
                during.append(not done)

        task = asyncio.create_task(report_progress())
        await stac_asset.download_item(remote_item, tmp_path, messages=queue)
        done = True
        await queue.put(None)
        await task
        return received, during

    received, during = asyncio.run(main())
    assert sum(isinstance(m, FinishAssetDownload) for m in received) == 3
    assert any(during), "no message reached the consumer before the download returned"


def test_blocking_fills_an_asyncio_queue_without_a_loop(
    remote_item: pystac.Item, tmp_path: Path
) -> None:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    stac_asset.blocking.download_item(remote_item, tmp_path, messages=queue)
    messages = drain(queue)
    assert sum(isinstance(m, FinishAssetDownload) for m in messages) == 3


# -- Config: 0.4's fields, mapped onto clients ---------------------------------------


def test_config_048_fields_and_defaults() -> None:
    config = Config(
        alternate_assets=["s3"],
        file_name_strategy=FileNameStrategy.KEY,
        warn=True,
        error_strategy=ErrorStrategy.KEEP,
        exclude=["thumbnail"],
        make_directory=False,
        clean=True,
        overwrite=True,
        client_override="http",
        http_client_timeout=30,
        http_max_attempts=3,
        http_assert_content_type=False,
        http_headers={"Authorization": "Bearer t0ps3cret"},
        earthdata_token="edl-t0ken",
        s3_region_name="us-west-2",
        s3_requester_pays=True,
        s3_retry_mode="adaptive",
        s3_max_attempts=4,
        s3_endpoint_url="http://127.0.0.1:9",
    )
    config.validate()
    copy = config.copy()
    assert copy == config and copy is not config and copy.http_headers is not config.http_headers
    assert "t0ps3cret" not in repr(config) and "edl-t0ken" not in repr(config)
    clients = {type(c): c for c in compat.configured_clients(config)}
    http = clients[stac_asset.HttpClient]
    assert isinstance(http, HttpClient)
    assert (http.timeout, http.retry.max_attempts) == (30.0, 3)
    assert http.headers == {"Authorization": "Bearer t0ps3cret"}
    s3 = clients[stac_asset.S3Client]
    assert isinstance(s3, stac_asset.S3Client)
    assert (s3.region, s3.requester_pays, s3.retry.max_attempts) == ("us-west-2", True, 4)
    assert s3.endpoint_url == "http://127.0.0.1:9"
    earthdata = clients[stac_asset.EarthdataClient]
    assert isinstance(earthdata, stac_asset.EarthdataClient)
    assert earthdata.token == "edl-t0ken" and earthdata.timeout == 30.0
    # The catch-all HTTP client comes last, after every specific client.
    assert list(clients)[-1] is stac_asset.HttpClient
    assert compat.configured_clients(Config()) == []


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"clean": False}, "clean=False"),
        ({"http_assert_content_type": True}, "content type"),
        ({"s3_retry_mode": "bogus"}, "s3_retry_mode"),
        ({"warn": True, "fail_fast": True}, "warn and fail fast"),
        ({"http_max_attempts": 0}, "http_max_attempts"),
        ({"client_override": "nope"}, "planetary-computer"),
        ({"oauth2_grant": "client_credentials"}, "oauth2_token_url"),
    ],
)
def test_config_settings_that_cannot_be_honoured(
    remote_item: pystac.Item, tmp_path: Path, settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        stac_asset.blocking.download_item(remote_item, tmp_path, config=Config(**settings))
    assert not list(tmp_path.iterdir())


def test_config_http_settings_reach_the_server(
    remote_item: pystac.Item, http: HttpPeer, tmp_path: Path
) -> None:
    http.configure(require_headers={"/s2/B0": {"X-One": "1"}})
    with pytest.raises(DownloadError, match="403|401|400"):
        stac_asset.blocking.download_item(remote_item, tmp_path / "none")
    stac_asset.blocking.download_item(
        remote_item, tmp_path, config=Config(http_headers={"X-One": "1"})
    )
    assert (tmp_path / "B02.tif").is_file()


def test_config_http_max_attempts(remote_item: pystac.Item, http: HttpPeer, tmp_path: Path) -> None:
    http.configure(fail_first_n={"/s2/B02.tif": 2})
    config = Config(http_max_attempts=2, include=["B02"])
    with pytest.raises(DownloadError, match="503"):
        stac_asset.blocking.download_item(remote_item, tmp_path, config=config)
    assert len(http.requests_for("/s2/B02.tif")) == 2
    http.configure(fail_first_n={"/s2/B02.tif": 2})
    config = Config(http_max_attempts=3, include=["B02"])
    stac_asset.blocking.download_item(remote_item, tmp_path, config=config)
    assert (tmp_path / "B02.tif").is_file()


def test_config_client_override(remote_item: pystac.Item, tmp_path: Path) -> None:
    item = stac_asset.blocking.download_item(
        remote_item, tmp_path, config=Config(client_override="http", include=["B02"])
    )
    assert list(item.assets) == ["B02"]
    with pytest.raises(DownloadError, match="s3"):
        stac_asset.blocking.download_item(
            remote_item, tmp_path / "s3", config=Config(client_override="s3", include=["B02"])
        )


def test_config_reads_048_oauth2_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTH2_GRANT", "password")
    monkeypatch.setenv("OAUTH2_TOKEN_URL", "http://127.0.0.1:9/token")
    monkeypatch.setenv("OAUTH2_PASSWORD", "pw-s3cret")
    monkeypatch.setenv("OAUTH2_PKCE", "false")
    config = Config()
    assert config.oauth2_grant == "password" and config.oauth2_token_url.endswith("/token")
    assert not config.oauth2_pkce and "pw-s3cret" not in repr(config)


def test_earthdata_pat_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EARTHDATA_TOKEN", raising=False)
    monkeypatch.setenv("EARTHDATA_PAT", "pat-t0ken")
    assert stac_asset.EarthdataClient().token == "pat-t0ken"


# -- the command line (0.4's README and tests/test_cli.py) ----------------------------


def test_cli_download_item_to_the_current_directory(
    item_href: str, small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    result = run(command("download", item_href), tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "B04.tif").read_bytes() == small_cogs["B04"].read_bytes()
    printed = json.loads(result.stdout)  # stdout is not a terminal: the item, as in 0.4
    assert printed["type"] == "Feature" and printed["id"] == "S2-TEST"


def test_cli_download_item_stdin_stdout(remote_item: pystac.Item, tmp_path: Path) -> None:
    data = json.dumps(remote_item.to_dict(include_self_link=True, transform_hrefs=False))
    result = run(command("download"), tmp_path, stdin=data)
    assert result.returncode == 0, result.stderr
    pystac.Item.from_dict(json.loads(result.stdout))
    assert (tmp_path / "B02.tif").is_file()


def test_cli_search_piped_to_a_file(
    stac_api: str, small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    # stac-client search ... | stac-asset download > item-collection.json
    search = run(["stac-client", "search", stac_api, "--max-items", "1"], tmp_path)
    assert search.returncode == 0, search.stderr
    result = run(command("download"), tmp_path, stdin=search.stdout)
    assert result.returncode == 0, result.stderr
    (tmp_path / "item-collection.json").write_text(result.stdout)
    collection = pystac.ItemCollection.from_file(str(tmp_path / "item-collection.json"))
    assert [item.id for item in collection] == ["one"]
    assert (tmp_path / "one" / "B02.tif").read_bytes() == small_cogs["B02"].read_bytes()


def test_cli_include_quiet_and_path_template(stac_api: str, tmp_path: Path) -> None:
    search = run(["stac-client", "search", stac_api], tmp_path)
    quiet = run(command("download", "-i", "rendered_preview", "-q"), tmp_path, search.stdout)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == "" and quiet.stderr == ""
    assert (tmp_path / "one" / "B02.tif").is_file() and (tmp_path / "two" / "B03.tif").is_file()
    assert not (tmp_path / "two" / "B04.tif").exists()
    out = tmp_path / "templated"
    templated = run(
        command("download", "-", str(out), "-i", "rendered_preview", "-p", "${collection}"),
        tmp_path,
        search.stdout,
    )
    assert templated.returncode == 0, templated.stderr
    assert sorted(p.name for p in (out / "s2-test").glob("*.tif")) == ["B02.tif", "B03.tif"]


def test_cli_file_name(features: dict[str, Any], tmp_path: Path) -> None:
    source = tmp_path / "features.json"
    source.write_text(json.dumps(features))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["download", str(source), str(out), "--file-name", "item-collection.json"]
    )
    assert result.exit_code == 0, result.output
    assert pystac.ItemCollection.from_file(str(out / "item-collection.json"))
    assert '"FeatureCollection"' not in result.stdout  # written, not printed
    single = CliRunner().invoke(
        cli, ["download", str(source.parent / "features.json"), str(out), "-f", "x.json", "-q"]
    )
    assert single.exit_code == 0 and (out / "x.json").is_file()


def test_cli_client_alternate_and_http_options(
    http: HttpPeer, small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    item = make_item("ALT", {"B02": http.url_for("s2/gone.tif")})
    item.assets["B02"].extra_fields["alternate"] = {"mirror": {"href": http.url_for("s2/B02.tif")}}
    source = tmp_path / "item.json"
    source.write_text(json.dumps(item.to_dict()))
    http.configure(
        require_headers={"/s2/B0": {"X-Trace": "a=b:c"}}, fail_first_n={"/s2/B02.tif": 1}
    )
    args = ["download", str(source), str(tmp_path / "out"), "-c", "http", "-a", "mirror"]
    args += ["--http-header", "X-Trace=a=b:c", "--http-max-attempts", "2", "--http-timeout", "5"]
    args += ["--s3-retry-mode", "standard", "--s3-max-attempts", "2", "--stream", "false", "-q"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "B02.tif").read_bytes() == small_cogs["B02"].read_bytes()
    assert [r["status"] for r in http.requests_for("/s2/B02.tif")] == [503, 200]
    assert CliRunner().invoke(cli, [*args[:3], "-c", "nope"]).exit_code == 2
    assert CliRunner().invoke(cli, [*args[:3], "--s3-retry-mode", "x"]).exit_code == 2


def test_cli_http_header_name_alone_is_empty(
    http: HttpPeer, remote_item: pystac.Item, small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    # 0.4: `--http-header x-empty` sent "x-empty" with an empty value.
    http.configure(require_headers={"/s2/B0": {"X-Empty": ""}})
    args = ["download", http.url_for("s2/item.json"), str(tmp_path), "-q"]
    result = CliRunner().invoke(cli, [*args, "--http-header", "x-empty"])
    assert result.exit_code == 0, result.output
    gets = http.requests_for(lambda r: r["path"].endswith(".tif"))
    assert len(gets) == 3 and {r["status"] for r in gets} == {200}
    assert all(r["headers"].get("x-empty") == "" for r in gets), gets
    # GDAL's view sends it too.
    access = HttpClient(headers={"x-empty": ""}).resolve(http.url_for("s2/B04.tif"))
    with rasterio.Env(**access.gdal_options), rasterio.open(access.vsi_path) as dataset:
        assert dataset.read(1).shape == (512, 512)


@pytest.mark.parametrize("keep", [True, False])
def test_cli_keep_failed_assets(http: HttpPeer, tmp_path: Path, keep: bool) -> None:
    item = make_item("K", {"ok": http.url_for("s2/B02.tif"), "gone": http.url_for("s2/gone.tif")})
    source = tmp_path / "item.json"
    source.write_text(json.dumps(item.to_dict()))
    out = tmp_path / "out"
    result = run(command("download", str(source), str(out), *(["-k"] if keep else [])), tmp_path)
    assert result.returncode == 1  # failures exit non-zero (0.4 exited 0 after warning)
    assert "K/gone" in result.stderr and "404" in result.stderr
    written = pystac.Item.from_file(str(out / "K.json"))
    printed = json.loads(result.stdout)
    for assets in (written.assets, printed["assets"]):
        assert ("gone" in assets) is keep
    if keep:
        assert written.assets["gone"].href == http.url_for("s2/gone.tif")
    assert (out / "B02.tif").is_file()


def test_cli_keep_non_downloaded_still_works(remote_item: pystac.Item, tmp_path: Path) -> None:
    source = tmp_path / "item.json"
    source.write_text(json.dumps(remote_item.clone().make_asset_hrefs_absolute().to_dict()))
    args = ["download", str(source), str(tmp_path / "out"), "-i", "B02", "--keep-non-downloaded"]
    result = CliRunner().invoke(cli, [*args, "--stdout"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["type"] == "FeatureCollection"  # --stdout: always a FeatureCollection
    assert sorted(printed["features"][0]["assets"]) == ["B02", "B03", "B04"]


def test_cli_info_table(http: HttpPeer, small_cogs: dict[str, Path], tmp_path: Path) -> None:
    item = make_item("I", {"B02": http.url_for("s2/B02.tif"), "gone": http.url_for("s2/gone.tif")})
    source = tmp_path / "item.json"
    source.write_text(json.dumps(item.to_dict()))
    result = CliRunner().invoke(cli, ["info", str(source)])
    assert result.exit_code == 0, result.output
    header, rule, *rows = result.stdout.splitlines()
    assert header.split()[:5] == ["Asset", "Client", "Exists", "Media", "type"]
    assert set(rule) <= {"-", " "}
    b02 = rows[0].split()
    assert b02[:3] == ["B02", "http", "True"]
    assert f"{small_cogs['B02'].stat().st_size:,}" in rows[0]
    assert rows[1].split()[:3] == ["gone", "http", "False"] and "404" in rows[1]


def test_cli_info_collection_from_stdin(
    features: dict[str, Any], http: HttpPeer, tmp_path: Path
) -> None:
    features["features"][1]["assets"]["B02"] = {"href": http.url_for("s2/gone.tif")}
    result = CliRunner().invoke(
        cli, ["info", "--http-max-attempts", "1"], input=json.dumps(features)
    )
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[2:]}
    assert rows["B02"][:3] == ["B02", "http", "Sometimes"]
    assert rows["B04"][:3] == ["B04", "http", "True"]
    as_json = CliRunner().invoke(cli, ["info", "-", "--json"], input=json.dumps(features))
    items = {(row["item"], row["key"]): row for row in json.loads(as_json.stdout)}
    assert items[("two", "B02")]["exists"] is False
    assert items[("one", "B02")]["reachable"] == "yes"
