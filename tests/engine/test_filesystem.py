"""Local files through plain descriptors: errors, resumed reads, partial files, completeness."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import stac_asset
from stac_asset import FilesystemClient
from stac_asset.clients import ByteStream
from stac_asset.resolver import Resolver
from stac_asset.transfer import Fetcher, Transfer

DATA = bytes(range(256)) * 40


@pytest.fixture
def client() -> FilesystemClient:
    return FilesystemClient()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "source.bin"
    path.write_bytes(DATA)
    return path


def read(
    client: FilesystemClient, path: Path, start: int = 0, validator: str | None = None
) -> tuple[ByteStream, bytes]:
    access = client.resolve(str(path))
    with client.open_stream(access, start, validator) as stream:
        return stream, b"".join(stream.chunks())


def test_read_and_resume(client: FilesystemClient, source: Path) -> None:
    stream, data = read(client, source)
    assert data == DATA and stream.start == 0 and stream.size == len(DATA)
    resumed, rest = read(client, source, 1000, stream.validator)
    assert resumed.start == 1000 and rest == DATA[1000:]
    os.utime(source, ns=(0, 12345))
    changed, again = read(client, source, 1000, stream.validator)
    assert changed.start == 0 and again == DATA


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing.bin", "no such file"), ("folder", "is a directory, not a file")],
)
def test_read_errors(client: FilesystemClient, tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / "folder").mkdir()
    with pytest.raises(stac_asset.NotFoundError, match=message) as error:
        read(client, tmp_path / name)
    assert str(tmp_path / name) in str(error.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_read_permission_denied(client: FilesystemClient, source: Path) -> None:
    source.chmod(0)
    with pytest.raises(stac_asset.AccessDeniedError, match="permission denied"):
        read(client, source)


def test_stream_closes_its_descriptor(client: FilesystemClient, source: Path) -> None:
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        stream, _data = read(client, source)
        stream.close()  # a second close is harmless
    assert len(os.listdir("/proc/self/fd")) == before


def test_writer_commit_abort_restart(client: FilesystemClient, tmp_path: Path) -> None:
    target = tmp_path / "new" / "deeper" / "out.bin"
    part = target.with_name(".out.bin.part")
    writer = client.open_writer(client.resolve(str(target)))
    writer.write(b"wrong")
    writer.restart()
    writer.write(DATA)
    assert part.exists() and not target.exists()
    writer.commit()
    assert target.read_bytes() == DATA and not part.exists()
    aborted = client.open_writer(client.resolve(str(target)))
    aborted.write(b"partial")
    aborted.abort()
    aborted.abort()
    assert target.read_bytes() == DATA and not part.exists()


def sha256(data: bytes) -> str:
    return "1220" + hashlib.sha256(data).hexdigest()


def test_is_complete(tmp_path: Path, source: Path) -> None:
    fetcher = Fetcher(Resolver())
    (tmp_path / "folder").mkdir()
    (tmp_path / "link.bin").symlink_to(source)
    (tmp_path / "dangling.bin").symlink_to(tmp_path / "nothing.bin")
    (tmp_path / "loop.bin").symlink_to("loop.bin")
    size = len(DATA)
    cases = [
        ("missing.bin", None, None, False),
        ("folder", None, None, False),
        ("dangling.bin", None, None, False),
        ("loop.bin", None, None, False),
        ("source.bin/below", None, None, False),
        ("source.bin", None, None, True),
        ("link.bin", None, None, True),
        ("source.bin", size, None, True),
        ("source.bin", size + 1, None, False),
        ("source.bin", None, sha256(DATA), True),
        ("source.bin", size, sha256(DATA), True),
        ("source.bin", None, sha256(b"other"), False),
        ("link.bin", size, sha256(b"other"), False),
    ]
    for name, expected_size, checksum, complete in cases:
        transfer = Transfer("unused", size=expected_size, checksum=checksum)
        assert fetcher.is_complete(transfer, str(tmp_path / name)) is complete, name
