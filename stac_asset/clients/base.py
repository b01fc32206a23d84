"""The client contract: decide whether an href is yours, resolve it, and stream its bytes."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import pystac

from ..access import Access
from ..config import Config
from ..errors import AccessDeniedError, AccessError
from ..retry import RetryPolicy
from . import environment, shipping

if TYPE_CHECKING:
    from typing_extensions import Self


Matches = TypeVar("Matches", bound=Callable[..., bool])


def decided_per_directory(matches: Matches) -> Matches:
    """Declare that a client's ``matches`` answers alike for every href of a directory.

    That is, for all hrefs with the same :func:`~stac_asset.paths.href_directory`
    (and the same client configuration): the resolver then asks once per directory. The
    declaration holds for the class that defines ``matches`` only: a subclass
    is asked for every href unless its own ``matches`` is declared too.
    """
    setattr(matches, "decided_per_directory", True)  # noqa: B010 - a plain function attribute
    return matches


def is_decided_per_directory(client: Client) -> bool:
    """Whether the own ``matches`` of ``client``'s class is :func:`decided_per_directory`."""
    own = type(client).__dict__.get("matches")
    return bool(getattr(own, "decided_per_directory", False)) and "matches" not in getattr(
        client, "__dict__", {}
    )


class ByteStream(ABC):
    """An open read of one object's bytes, from :attr:`start` to its end."""

    start: int
    """The offset of the first byte this stream yields (0 when a range was ignored)."""

    size: int | None
    """The whole object's size in bytes, when the storage system tells it."""

    validator: str | None
    """What identifies this version of the object (an ETag or Last-Modified), if known."""

    @abstractmethod
    def chunks(self) -> Iterator[bytes]:
        """Yield the bytes; a lost connection raises :class:`~stac_asset.errors.TransientError`."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection or file handle."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ByteWriter(ABC):
    """Bytes on their way to one object; they appear at its final place only on :meth:`commit`."""

    @abstractmethod
    def write(self, chunk: bytes) -> None:
        """Add the next bytes."""

    @abstractmethod
    def restart(self) -> None:
        """Drop everything written so far (the source started over from byte 0)."""

    @abstractmethod
    def commit(self) -> None:
        """Make the complete object appear at its final place."""

    @abstractmethod
    def abort(self) -> None:
        """Give up: leave nothing at the final place and no partial object behind."""


class Client(ABC):
    """One storage system or auth regime.

    A client decides for itself whether it takes an href (:meth:`matches`),
    turns an href into an :class:`~stac_asset.Access` once (:meth:`resolve`),
    and streams the bytes of an access (:meth:`open_stream`). It owns its
    session and credential cache and is safe to share between threads.

    Use it with ``with`` or ``async with`` to close its sessions; the
    coroutine methods (:meth:`download_item`, :meth:`read_href`, ...) keep
    the vocabulary of stac-asset 0.4.
    """

    name: ClassVar[str]
    """A short name used in messages and in ``Access.client``, e.g. ``"http"``."""

    retry: RetryPolicy = RetryPolicy()
    """How failed requests are retried."""

    timeout: float = 60.0
    """Seconds to wait for a connection or for the next bytes of a response."""

    environment: ClassVar[tuple[str, ...]] = environment.PROXY_AND_CA
    """The environment variables a default instance is configured from (``X_*``: a prefix)."""

    @classmethod
    def environment_files(cls) -> list[str]:
        """The configuration files a default instance reads (``~/.aws/config``, ``~/.netrc``...)."""
        return []

    @classmethod
    def environment_state(cls) -> Hashable:
        """What a default instance is configured from, now: a changed state gives a new one."""
        return environment.state(cls.environment, cls.environment_files())

    @classmethod
    async def default(cls) -> Self:
        """Create a client configured from the environment (awaitable, as in stac-asset 0.4)."""
        return cls()

    @abstractmethod
    def matches(self, href: str) -> bool:
        """Whether this client takes ``href`` (an absolute href) when no client is forced."""

    @abstractmethod
    def resolve(self, href: str, asset: pystac.Asset | None = None) -> Access:
        """Compute how ``href`` is reached: its GDAL view and its byte view.

        ``asset`` gives context (its owner's ``storage:*`` fields, for
        instance). Resolving may fetch credentials or tokens but never moves
        the object's bytes.
        """

    def gdal_access(self, access: Access) -> Access:
        """``access`` with its GDAL view finished (see :attr:`~stac_asset.Access.gdal_ready`).

        Called by whatever hands the GDAL view to GDAL, never by downloads, so
        a request only GDAL's view needs is made only when it is used. Most
        clients finish the view in :meth:`resolve`: the access comes back as it is.
        """
        return access

    @abstractmethod
    def open_stream(
        self, access: Access, start: int = 0, validator: str | None = None
    ) -> ByteStream:
        """Start reading the bytes of ``access`` from offset ``start``.

        With ``validator``, a resumed read must return the same version of the
        object, or else start again from offset 0 (``ByteStream.start == 0``).
        """

    def open_writer(self, access: Access, content_type: str | None = None) -> ByteWriter:
        """Start writing the object at ``access`` (for clients of writable stores)."""
        raise AccessError(access.href, self.name, "this client cannot write objects")

    def size_of(self, access: Access) -> int | None:
        """The size of the object at ``access``, or None if there is none (or cannot tell)."""
        return None

    def copy_from(self, source: Access, source_client: Client, target: Access) -> bool:
        """Copy ``source`` to ``target`` inside the store, if this client can; else False."""
        return False

    def made(self, access: Access) -> bool:
        """Whether this client resolved ``access`` (or had it resolved for it), so can renew it."""
        return access.client == self.name

    def gdal_refusal(self, message: str) -> bool:
        """Whether GDAL's error ``message`` says the storage refused this client's credentials.

        GDAL names the HTTP status (401, 403) in most messages, and
        :func:`stac_asset.open` looks for it itself; a client whose storage
        says so in other words (S3's ``ExpiredToken`` is a 400) recognises them here.
        """
        return False

    def refused(self, access: Access, error: AccessDeniedError) -> None:  # noqa: B027
        """The storage refused ``access`` (``error``): forget the credential it carried.

        Clients whose credentials expire or can be revoked (see
        :mod:`stac_asset.clients.tokens`) forget it, so that resolving the href
        again renews it; others hold nothing to forget.
        """

    def close(self) -> None:  # noqa: B027 - most clients hold nothing to close
        """Close sessions and connection pools held by this client."""

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its settings; one live instance per receiving process (see .shipping)."""
        key = shipping.key_of(self.__dict__)
        return (shipping.revive, (type(self), key), self._shipped_state())

    def __setstate__(self, state: dict[str, Any]) -> None:
        shipping.arrive(self, state, self._arrived)

    def _shipped_state(self) -> dict[str, Any]:
        """What goes to another process: the settings, not this process's locks, pools or tokens."""
        return dict(self.__dict__)

    def _arrived(self) -> None:  # noqa: B027 - most clients have nothing to remake
        """Make, in the receiving process, what :meth:`_shipped_state` left out."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    # stac-asset 0.4 vocabulary: the client as the entry point for transfers. The
    # engine sits above the clients, so these forward to the faces registered
    # with use_faces (by the package, on import) rather than import them.

    @classmethod
    async def from_config(cls, config: Config) -> Self:
        """A new client set up by stac-asset 0.4's ``Config`` (``http_*``, ``s3_*``...)."""
        client = _faces().client_from_config(cls, config)
        assert isinstance(client, cls)
        return client

    async def download_item(
        self, item: pystac.Item, directory: str | os.PathLike[str], **kwargs: Any
    ) -> pystac.Item:
        """Download an item's assets with this client; see :func:`stac_asset.download_item`."""
        return await _faces().download_item(item, directory, clients=[self], **kwargs)

    async def download_href(
        self,
        href: str,
        path: str | os.PathLike[str],
        clean: bool = True,
        content_type: str | None = None,
        messages: Any = None,
        stream: bool | None = None,
        **kwargs: Any,
    ) -> None:
        """Download one href to ``path``; see :func:`stac_asset.download_file`.

        ``clean``, ``content_type`` and ``stream`` are stac-asset 0.4's: a
        failed download never leaves a file (``clean=False`` is refused),
        content types are not checked, and bytes are always streamed.
        """
        if not clean:
            Config(clean=False).validate()
        await _faces().download_file(href, path, clients=[self], messages=messages, **kwargs)

    async def read_href(self, href: str) -> bytes:
        """Read all the bytes of ``href`` into memory."""
        return await _faces().read_href(href, clients=[self])

    async def open_href(
        self, href: str, content_type: str | None = None, stream: bool | None = None
    ) -> AsyncIterator[bytes]:
        """Yield the bytes of ``href`` chunk by chunk.

        ``content_type`` and ``stream`` are accepted for stac-asset 0.4: content
        types are not checked, and bytes are always streamed.
        """
        async for chunk in _faces().open_href(href, clients=[self]):
            yield chunk

    async def href_exists(self, href: str) -> bool:
        """Whether ``href`` can be read with this client."""
        return await _faces().href_exists(href, clients=[self])

    async def assert_href_exists(self, href: str) -> None:
        """Raise an :class:`~stac_asset.errors.AccessError` unless ``href`` can be read."""
        await _faces().assert_href_exists(href, clients=[self])


@dataclass(frozen=True)
class Faces:
    """The calls the 0.4-style client methods forward to: the async face, and building from Config.

    The engine and its faces import the clients, never the other way round;
    :mod:`stac_asset` registers these with :func:`use_faces` when imported.
    """

    download_item: Callable[..., Awaitable[pystac.Item]]
    download_file: Callable[..., Awaitable[None]]
    read_href: Callable[..., Awaitable[bytes]]
    open_href: Callable[..., AsyncIterator[bytes]]
    href_exists: Callable[..., Awaitable[bool]]
    assert_href_exists: Callable[..., Awaitable[None]]
    client_from_config: Callable[[type[Client], Config], Client]


_registered: list[Faces] = []


def use_faces(faces: Faces) -> None:
    """Register the calls the clients' 0.4-style methods forward to (see :class:`Faces`)."""
    _registered[:] = [faces]


def _faces() -> Faces:
    if not _registered:
        raise RuntimeError("import stac_asset before using a client's transfer methods")
    return _registered[0]
