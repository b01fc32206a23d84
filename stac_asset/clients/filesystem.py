"""Local files: absolute paths, ``file://`` URLs, and hrefs made absolute against a local item."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from stat import S_ISDIR
from urllib.parse import unquote, urlsplit

import pystac

from ..access import Access
from ..errors import AccessDeniedError, NotFoundError, ResolveError
from .base import ByteStream, ByteWriter, Client, decided_per_directory

_CHUNK = 1024 * 1024


def local_path(href: str) -> str | None:
    """The local path an href names, or ``None`` if it is not a local href."""
    if href.startswith("/"):
        return href  # no scheme (the common case, told without parsing)
    if href.startswith("file://"):
        parts = urlsplit(href)
        if parts.netloc not in ("", "localhost"):
            return None
        return unquote(parts.path)
    scheme = urlsplit(href).scheme
    # A one-letter "scheme" is a Windows drive letter.
    if scheme and len(scheme) > 1:
        return None
    return href


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)

# Plain descriptor calls, here and in _FileWriter: each system call lets other
# threads take the GIL, and a buffered file costs three more per file (fstat,
# isatty, lseek) and pathlib more CPU, which slows many small files.


class _FileStream(ByteStream):
    def __init__(self, fd: int, start: int, size: int, validator: str) -> None:
        self._fd: int | None = fd
        self.start = start
        self.size = size
        self.validator = validator

    def chunks(self) -> Iterator[bytes]:
        assert self._fd is not None
        while chunk := os.read(self._fd, _CHUNK):
            yield chunk

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


class _FileWriter(ByteWriter):
    """A hidden partial file beside the target, renamed into place on commit.

    The parent directory is made only when the first open finds it missing.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._part = partial_path(path)
        try:
            self._fd = os.open(self._part, _WRITE_FLAGS, 0o666)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            self._fd = os.open(self._part, _WRITE_FLAGS, 0o666)
        self._open = True

    def write(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            view = view[os.write(self._fd, view) :]

    def restart(self) -> None:
        os.lseek(self._fd, 0, os.SEEK_SET)
        os.ftruncate(self._fd, 0)

    def commit(self) -> None:
        self._close()
        os.replace(self._part, self._path)

    def abort(self) -> None:
        self._close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._part)

    def _close(self) -> None:
        if self._open:
            self._open = False
            os.close(self._fd)


def partial_path(path: str | os.PathLike[str]) -> str:
    """Where ``path`` is written until it is complete: a hidden name beside it."""
    head, name = os.path.split(path)
    return os.path.join(head, f".{name}.part")


class FilesystemClient(Client):
    """Reads files on the local filesystem (or any mounted one).

    Relative asset hrefs are made absolute against the item's self href
    before a client is chosen, so a relative href of a local item lands here
    and a relative href of a remote item goes to the remote item's client.
    """

    name = "filesystem"
    environment = ()

    @decided_per_directory
    def matches(self, href: str) -> bool:
        """Whether ``href`` is a local path or a ``file://`` URL."""
        return local_path(href) is not None

    def resolve(self, href: str, asset: pystac.Asset | None = None) -> Access:
        """Resolve to the file's absolute path, which is both the GDAL and the byte view."""
        path = local_path(href)
        if path is None:
            raise ResolveError(f"{self.name}: not a local path: {href}")
        path = os.path.abspath(path)
        return Access(href=href, client=self.name, vsi_path=path, path=path)

    def open_stream(
        self, access: Access, start: int = 0, validator: str | None = None
    ) -> ByteStream:
        """Open the file at ``start``, or from 0 if it changed since ``validator`` was taken."""
        if access.path is None:
            raise ResolveError(f"{self.name}: {access.href} is not a local path")
        try:
            fd = os.open(access.path, _READ_FLAGS)
        except FileNotFoundError:
            raise NotFoundError(access.href, self.name, "no such file") from None
        except IsADirectoryError:
            raise NotFoundError(access.href, self.name, "is a directory, not a file") from None
        except PermissionError:
            raise AccessDeniedError(access.href, self.name, "permission denied") from None
        try:
            stat = os.fstat(fd)
            if S_ISDIR(stat.st_mode):
                raise NotFoundError(access.href, self.name, "is a directory, not a file")
            current = f"{stat.st_size}-{stat.st_mtime_ns}"
            if validator is not None and validator != current:
                start = 0
            if start:
                os.lseek(fd, start, os.SEEK_SET)
        except BaseException:
            os.close(fd)
            raise
        return _FileStream(fd, start, stat.st_size, current)

    def open_writer(self, access: Access, content_type: str | None = None) -> ByteWriter:
        """Write to a hidden partial file beside the path, renamed into place on commit."""
        if access.path is None:
            raise ResolveError(f"{self.name}: {access.href} is not a local path")
        return _FileWriter(access.path)

    def size_of(self, access: Access) -> int | None:
        """The file's size, or None if there is no file."""
        path = Path(access.path or access.href)
        return path.stat().st_size if path.is_file() else None
