"""Per-asset work on other executors (process pools, dask.distributed), and the async face."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pystac
import pytest

import stac_asset
from stac_asset import HttpClient, blocking
from tests.conftest import make_item
from tests.peers.http_peer import HttpPeer

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def files(http_root: Path) -> dict[str, bytes]:
    folder = http_root / "exec"
    folder.mkdir(exist_ok=True)
    data = {}
    for index in range(24):
        payload = os.urandom(200_000 + index)
        (folder / f"e{index:02d}.bin").write_bytes(payload)
        data[f"e{index:02d}.bin"] = payload
    return data


def collection(http: HttpPeer, files: dict[str, bytes], per_item: int = 4) -> list[pystac.Item]:
    names = sorted(files)
    return [
        make_item(
            f"item{start}", {n: http.url_for(f"exec/{n}") for n in names[start : start + per_item]}
        )
        for start in range(0, len(names), per_item)
    ]


def assert_complete(out: Path, items: list[pystac.Item], files: dict[str, bytes]) -> None:
    for item in items:
        for name in item.assets:
            assert (out / item.id / name).read_bytes() == files[name]
    assert not list(out.rglob(".*.part"))


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client


def test_process_pool_executor(http: HttpPeer, files: dict[str, bytes], tmp_path: Path) -> None:
    items = collection(http, files)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        result = blocking.download_item_collection(items, tmp_path, executor=pool)
    assert_complete(tmp_path, items, files)
    assert len(result.items) == len(items)


def test_dask_every_asset_once_and_failures_per_asset(
    http: HttpPeer, files: dict[str, bytes], cluster: object, tmp_path: Path
) -> None:
    items = collection(http, files)
    items[0].add_asset("gone", pystac.Asset(http.url_for("exec/gone.bin")))
    # Shipped clients keep their settings (headers), not their connections.
    client = HttpClient(headers={"X-Worker": "yes"})
    with pytest.raises(stac_asset.DownloadError) as info:
        blocking.download_item_collection(items, tmp_path, executor=cluster, clients=[client])
    assert [(f.item_id, f.key) for f in info.value.failures] == [("item0", "gone")]
    assert "404" in str(info.value)
    assert_complete(tmp_path, [i for i in items if i.id != "item0"], files)
    gets = [r for r in http.log() if r["path"].startswith("/exec/e")]
    assert len(gets) == len(files)  # each asset fetched once
    assert all(r["headers"].get("X-Worker") == "yes" for r in gets)


def test_dask_worker_killed_mid_run(
    http: HttpPeer, files: dict[str, bytes], cluster: object, tmp_path: Path
) -> None:
    items = collection(http, files, per_item=2)
    http.configure(latency_ms=300)
    pids = cluster.run(os.getpid)  # type: ignore[attr-defined]
    victim = next(iter(pids.values()))

    async def kill_soon() -> None:
        await asyncio.sleep(0.8)
        os.kill(victim, signal.SIGKILL)

    async def run() -> None:
        killer = asyncio.create_task(kill_soon())
        await stac_asset.download_item_collection(items, tmp_path, executor=cluster)
        await killer

    asyncio.run(run())
    assert_complete(tmp_path, items, files)
    # The killed worker's tasks were run again elsewhere; none was lost.
    assert {r["path"] for r in http.log()} >= {f"/exec/{n}" for n in files}


def test_async_face_does_not_block_the_loop(
    http: HttpPeer, files: dict[str, bytes], tmp_path: Path
) -> None:
    http.configure(latency_ms=20)
    names = sorted(files)
    items = [
        make_item(f"a{i}", {names[i % len(names)]: http.url_for(f"exec/{names[i % len(names)]}")})
        for i in range(100)
    ]

    async def run() -> list[int]:
        finished = 0
        seen: list[int] = []  # downloads finished at each heartbeat
        stop = asyncio.Event()

        async def heartbeat() -> None:
            while not stop.is_set():
                seen.append(finished)
                await asyncio.sleep(0.005)

        async def one(item: pystac.Item) -> None:
            nonlocal finished
            await stac_asset.download_item(item, tmp_path / item.id)
            finished += 1

        beat = asyncio.create_task(heartbeat())
        await asyncio.gather(*(one(item) for item in items))
        stop.set()
        await beat
        return seen

    seen = asyncio.run(run())
    for index, item in enumerate(items):
        name = names[index % len(names)]
        assert (tmp_path / item.id / name).read_bytes() == files[name]
    # The heartbeat ran while downloads were under way; a face that blocked the
    # loop would run them one after another with no tick in between.
    assert any(0 < count < len(items) for count in seen), seen
