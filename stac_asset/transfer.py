"""The byte engine: one href to one file, complete and verified, or nothing at the final path."""

from __future__ import annotations

import errno
import io
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from stat import S_ISREG
from urllib.parse import urlsplit

import pystac

from . import ranged
from .access import Access
from .checksum import Verifier
from .clients import ByteStream, ByteWriter, Client
from .errors import Cancelled, StacAssetError, VerificationError
from .host_limits import HostLimit, HostLimits, Slot
from .messages import OpenUrl, Progress, WriteChunk
from .paths import href_directory
from .resolver import Resolver
from .spans import RangeIgnored, Span

logger = logging.getLogger(__name__)

# What Path.is_file takes for "no file there" rather than an error (errno, Windows error).
_NO_FILE = (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP)
_NO_FILE_WINDOWS = (21, 123, 1921)


@dataclass
class Transfer:
    """One object to fetch: its href, the asset it belongs to, and what the item says of it."""

    href: str
    asset: pystac.Asset | None = None
    size: int | None = None
    checksum: str | None = None
    untrusted: bool = False
    """Whether the href comes from a remote item, and must not reach local files."""
    first_failure: BaseException | None = None
    """How a first attempt made elsewhere failed: the first of the retries (see :mod:`.express`)."""
    first_wait: float | None = None
    """The pause after that attempt, if it has passed already: the next is made at once."""
    resume: Resume | None = None
    """What that attempt wrote, to go on from (a local file's bytes so far)."""
    ranged_from: tuple[int, str] | None = None
    """The size and version that attempt's answer gave of an object to fetch as ranged parts."""

    def of_href(self, href: str) -> Transfer:
        """The same object from another href (an alternate), nothing of that attempt kept."""
        return replace(
            self, href=href, first_failure=None, first_wait=None, resume=None, ranged_from=None
        )


@dataclass
class Resume:
    """The bytes an attempt made elsewhere wrote: the writer, verified so far, and their version."""

    writer: ByteWriter
    verifier: Verifier
    validator: str | None
    """The ETag or Last-Modified of the bytes written (for ``If-Range``)."""


class _Sequential:
    """A span's sink that writes an object in order, verifying it as it goes."""

    def __init__(
        self,
        fetcher: Fetcher,
        transfer: Transfer,
        out: ByteWriter,
        verifier: Verifier,
        path: Path | None,
    ) -> None:
        self._fetcher = fetcher
        self._transfer = transfer
        self._out = out
        self._verifier = verifier
        self._path = path
        self.ranged_to: str | None = None
        """A local file to fetch a large object into as parallel ranges, if possible."""
        self.ranged: tuple[int, str | None] | None = None
        """The size and validator of an object to fetch as ranges, once decided."""

    def opened(self, stream: ByteStream) -> bool:
        progress, path, transfer = self._fetcher.progress, self._path, self._transfer
        if progress and path is not None:
            progress(OpenUrl(transfer.href, path, stream.size))
        accepts = getattr(stream, "accepts_ranges", False)
        if (
            self.ranged_to is not None
            and stream.start == 0
            and ranged.worth_ranges(stream.size, stream.validator, accepts, transfer.size)
        ):
            assert stream.size is not None and stream.validator is not None
            self.ranged = (stream.size, stream.validator)
            return True
        return False

    def restart(self) -> None:
        self._out.restart()
        self._verifier.reset()

    def write(self, offset: int, chunk: bytes) -> None:
        self._out.write(chunk)
        transfer = self._transfer
        self._verifier.update_within(chunk, transfer.href)
        progress = self._fetcher.progress
        if progress and self._path is not None:
            progress(WriteChunk(transfer.href, self._path, len(chunk)))


class _Enough(Exception):
    """A read into memory has all the bytes its caller wants."""


class _MemoryWriter(ByteWriter):
    """Collects an object in memory (item JSON, small files), up to ``limit`` bytes and one more."""

    def __init__(self, limit: int | None = None) -> None:
        self._buffer = io.BytesIO()
        self._limit = limit

    def write(self, chunk: bytes) -> None:
        self._buffer.write(chunk)
        if self._limit is not None and self._buffer.tell() > self._limit:
            self._buffer.truncate(self._limit + 1)
            raise _Enough

    def restart(self) -> None:
        self._buffer = io.BytesIO()

    def commit(self) -> None:
        pass

    def abort(self) -> None:
        self._buffer = io.BytesIO()

    def getvalue(self) -> bytes:
        return self._buffer.getvalue()


def netloc_of(href: str, known: dict[str, str]) -> str:
    """``urlsplit(href).netloc``, remembered per directory (which holds it) in ``known``."""
    directory = href_directory(href)
    if directory is None:
        return urlsplit(href).netloc
    netloc = known.get(directory)
    if netloc is None:
        netloc = known[directory] = urlsplit(href).netloc
    return netloc


class Fetcher:
    """Fetches objects through a :class:`Resolver`, retrying and resuming as needed."""

    def __init__(
        self,
        resolver: Resolver,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        max_per_host: int | None = None,
        on_wait: Callable[[float], None] | None = None,
    ) -> None:
        self.resolver = resolver
        # Targets (where bytes are written) take the same clients, but a client
        # forced for the sources never applies to them.
        self.targets = Resolver(resolver.clients)
        self.progress = progress
        self.cancel = cancel or threading.Event()
        # Requests in flight per host adapt to its answers, under this ceiling.
        self._hosts = HostLimits(max_per_host) if max_per_host is not None else None
        self._netlocs: dict[str, str] = {}
        self.on_wait = on_wait
        """Told how long each request waited for its answer (the pool grows on it)."""

    def waited(self, seconds: float) -> None:
        """Count the time one request waited for its answer (the pool grows on it)."""
        if self.on_wait is not None:
            self.on_wait(seconds)

    def host_limit(self, href: str, client: Client) -> HostLimit | None:
        """The limit of requests in flight to the href's host (None: no limit).

        A client's own ``max_per_host``, when it has one, is that host's ceiling.
        """
        if self._hosts is None:
            return None
        return self._hosts.of(netloc_of(href, self._netlocs), getattr(client, "max_per_host", None))

    def host_slot(self, href: str, client: Client) -> Slot | None:
        """Wait for a place among the requests in flight to the href's host (None: no limit)."""
        limit = self.host_limit(href, client)
        if limit is None:
            return None
        slot = limit.acquire(self.cancel)
        if slot is None:
            raise Cancelled(f"cancelled: {href}")
        return slot

    def _stream_into(
        self,
        client: Client,
        transfer: Transfer,
        out: ByteWriter,
        verifier: Verifier,
        path: Path | None,
        access: Access | None = None,
        local: str | None = None,
    ) -> None:
        """Write the object into ``out`` from byte 0, resuming after connection loss.

        ``access`` is the source's, when the caller has just resolved it.
        ``local`` is the local file ``out`` writes, if it is one: a large
        object whose host takes ranges then comes as parallel ranged GETs
        (see :mod:`stac_asset.ranged`).
        """
        if access is None:
            access = client.resolve(transfer.href, transfer.asset)
        sink = _Sequential(self, transfer, out, verifier, path)
        if local is not None and ranged.takes_ranges(client):
            sink.ranged_to = local
        span = Span(self, client, transfer, access)
        resume = transfer.resume
        if resume is not None:
            span.fetch(sink, verifier.size, validator=resume.validator)
            return
        if transfer.ranged_from is not None and sink.ranged_to is not None:
            sink.ranged = transfer.ranged_from  # a first answer elsewhere decided it
        else:
            span.fetch(sink)
        if sink.ranged is not None and local is not None:
            size, validator = sink.ranged
            try:
                download = ranged.RangedDownload(
                    span, local, size, validator, verifier, self.progress, path
                )
                download.run()
            except RangeIgnored:
                logger.info("%s: ranges not honoured; fetching it in one stream", transfer.href)
                out.restart()
                verifier.reset()
                sink.ranged_to = None
                span.fetch(sink)

    def read(self, transfer: Transfer, limit: int | None = None) -> bytes:
        """Fetch the whole object into memory (for item JSON and small files).

        With ``limit``, reading stops one byte past it: a longer answer is
        cut to ``limit + 1`` bytes (unverified), for the caller to refuse.
        """
        client = self.resolver.client_for(transfer.href, untrusted=transfer.untrusted)
        buffer = _MemoryWriter(limit)
        verifier = Verifier(transfer.size, transfer.checksum)
        try:
            self._stream_into(client, transfer, buffer, verifier, None)
        except _Enough:
            return buffer.getvalue()
        verifier.check(transfer.href)
        return buffer.getvalue()

    def target(self, href: str) -> tuple[Client, Access]:
        """The client and access for writing ``href`` (hrefs are never forced to a client)."""
        client = self.targets.client_for(href)
        return client, client.resolve(href)

    def copy(
        self,
        transfer: Transfer,
        target: str,
        path: Path | None = None,
        resolved: tuple[Client, Access] | None = None,
    ) -> None:
        """Copy the object to ``target`` (a local path or a store's href), verified.

        The object appears at ``target`` only when complete and verified: a
        local file is renamed into place, a multipart upload is completed.
        Inside one store, a server-side copy is used when the store allows.
        ``path`` names the asset in progress events; ``resolved`` is
        :meth:`target`'s answer for ``target``, when the caller has it.
        """
        client = self.resolver.client_for(transfer.href, untrusted=transfer.untrusted)
        target_client, target_access = resolved or self.target(target)
        resume = transfer.resume
        if resume is not None:
            writer, verifier = resume.writer, resume.verifier
        try:
            source = client.resolve(transfer.href, transfer.asset)
        except BaseException:
            if resume is not None:
                writer.abort()
            raise
        if resume is None:
            if target_client.copy_from(source, client, target_access):
                self._check_copied(transfer, target_client, target_access)
                return
            verifier = Verifier(transfer.size, transfer.checksum)
            media_type = transfer.asset.media_type if transfer.asset else None
            writer = target_client.open_writer(target_access, media_type)
        try:
            local = target_access.path if ranged.can_write_at(target_access.path) else None
            self._stream_into(client, transfer, writer, verifier, path, source, local)
            verifier.check(transfer.href)
            writer.commit()
        except BaseException:
            writer.abort()
            raise

    def _check_copied(self, transfer: Transfer, client: Client, access: Access) -> None:
        size = client.size_of(access)
        if transfer.size is not None and size != transfer.size:
            raise VerificationError(
                f"{transfer.href}: the copy is {size} bytes, file:size says {transfer.size}"
            )

    def is_complete(
        self, transfer: Transfer, target: str, resolved: tuple[Client, Access] | None = None
    ) -> bool:
        """Whether ``target`` already holds the object, as far as the item can tell.

        Without ``file:size`` or ``file:checksum`` an existing file counts as
        complete (partial files never sit at a final path, and objects appear
        only when their upload is committed). In an object store only the size
        is compared: checking a checksum would mean reading the object back.
        ``resolved`` is :meth:`target`'s answer for ``target``, when the caller has it.
        """
        client, access = resolved or self.target(target)
        if access.path is None:
            size = client.size_of(access)
            return size is not None and (transfer.size is None or size == transfer.size)
        found = _file_stat(access.path)
        if found is None:
            return False
        verifier = Verifier(transfer.size, transfer.checksum)
        if transfer.size is not None and found.st_size != transfer.size:
            return False
        if verifier.hashing:
            with open(access.path, "rb") as file:
                while chunk := file.read(1024 * 1024):
                    verifier.update(chunk)
        else:
            verifier.size = found.st_size
        try:
            verifier.check(access.path)
        except StacAssetError:
            return False
        return True


def _file_stat(path: str) -> os.stat_result | None:
    """The stat of a regular file at ``path`` (symlinks followed), or None (as Path.is_file)."""
    try:
        found = os.stat(path)
    except OSError as error:
        if error.errno in _NO_FILE or getattr(error, "winerror", None) in _NO_FILE_WINDOWS:
            return None
        raise
    except ValueError:
        return None
    return found if S_ISREG(found.st_mode) else None
