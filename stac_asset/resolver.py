"""Choosing the client for an href and turning the href into an :class:`~stac_asset.Access`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

import pystac

from .access import Access
from .clients import Client, get_client_classes
from .clients.base import is_decided_per_directory
from .clients.defaults import default_client
from .errors import ResolveError
from .paths import href_directory
from .trust import check_href, is_untrusted

ClientSpec = Client | type[Client]


# A URL's scheme, as urllib parses it (no leading blanks, no tabs or newlines).
_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def absolute_href(asset: pystac.Asset) -> str:
    """The asset's href made absolute against its owner's self href."""
    if plainly_absolute(asset):
        return asset.href
    href = asset.get_absolute_href()
    if href is None:
        raise ResolveError(
            f"asset href {asset.href!r} is relative and its item has no self href to resolve "
            "it against; set one with item.set_self_href(...)"
        )
    return href


def plainly_absolute(asset: pystac.Asset) -> bool:
    """Whether pystac takes the href as absolute, told without parsing URLs (which is slow).

    A URL of another scheme than ``file``, or a path from ``/`` in an item
    with no self href or a local one, is; otherwise pystac is asked.
    """
    href = asset.href
    url = _URL.match(href)
    if url is not None:
        return url[1].lower() != "file"
    if not href.startswith("/") or href.startswith("//"):
        return False
    start = asset.owner.get_self_href() if asset.owner is not None else None
    return start is None or start.startswith("/")


class Resolver:
    """Picks a client per href and resolves hrefs into accesses.

    Clients handed in are asked first, in order; then the default instance
    of each client class in :func:`~stac_asset.get_client_classes` order. The
    default instances are created on first use and shared by every resolver
    in the process, so sessions, credentials and tokens are reused across
    calls (see :func:`default_client` for when they are built anew). With
    ``force``, that client (or class) takes every href.
    The trust rule (:mod:`stac_asset.trust`) is enforced here: an href
    resolved with ``untrusted=True`` that reaches the local machine is
    refused before any client sees it; :meth:`untrusted` tells which items
    that applies to (remote ones, or all with ``remote_items``; none with
    ``allow_local``).
    Clients whose ``matches`` answers alike for a whole directory (see
    :func:`~stac_asset.clients.base.decided_per_directory`) are asked once
    per directory. Thread-safe.
    """

    def __init__(
        self,
        clients: Sequence[Client] = (),
        *,
        force: ClientSpec | None = None,
        allow_local: bool = False,
        remote_items: bool = False,
    ) -> None:
        self._given = list(clients)
        self._forced = force
        self.allow_local = allow_local
        self.remote_items = remote_items
        # For these client classes, per directory: the client that takes its
        # hrefs, or how many clients (in asking order) are known to refuse them.
        self._known: tuple[list[type[Client]], dict[str, Client | int]] = ([], {})

    def __getstate__(self) -> dict[str, object]:
        # Shipped to other processes without the cache, which holds default clients.
        return {**self.__dict__, "_known": ([], {})}

    @property
    def clients(self) -> list[Client]:
        """The clients handed in, asked before the defaults."""
        return list(self._given)

    def _instance(self, cls: type[Client]) -> Client:
        for client in self._given:
            if type(client) is cls:
                return client
        return default_client(cls)

    def untrusted(self, owner: object) -> bool:
        """Whether the hrefs of ``owner``'s assets must stay off the local machine."""
        return is_untrusted(owner, allow_local=self.allow_local, remote_items=self.remote_items)

    def client_for(self, href: str, *, untrusted: bool = False) -> Client:
        """The client that takes ``href`` (refused if ``untrusted`` and it reaches local files)."""
        if untrusted:
            check_href(href)
        if self._forced is not None:
            if isinstance(self._forced, Client):
                return self._forced
            return self._instance(self._forced)
        classes = get_client_classes()
        cached_for, known = self._known
        if cached_for != classes:
            known = {}
            self._known = (classes, known)
        directory = href_directory(href)
        answer = known.get(directory) if directory is not None else None
        if isinstance(answer, Client):
            return answer
        # The clients before this index refuse every href of the directory.
        index = answer or 0
        given = len(self._given)
        while index < given + len(classes):
            client = self._given[index] if index < given else self._instance(classes[index - given])
            if client.matches(href):
                if directory is not None:
                    known[directory] = client if is_decided_per_directory(client) else index
                return client
            if directory is not None:
                if is_decided_per_directory(client):
                    known[directory] = index + 1
                else:
                    directory = None  # the next clients' answers hold for this href only
            index += 1
        scheme = urlsplit(href).scheme
        raise ResolveError(f"no client takes {href!r} (unknown scheme {scheme!r})")

    def resolve(
        self, href: str, asset: pystac.Asset | None = None, *, untrusted: bool = False
    ) -> Access:
        """Resolve ``href`` with the client that takes it (see :meth:`client_for`)."""
        return self.client_for(href, untrusted=untrusted).resolve(href, asset)

    def gdal_access(self, access: Access) -> Access:
        """``access`` with its GDAL view finished by the client that takes its href.

        See :meth:`Client.gdal_access <stac_asset.Client.gdal_access>`: what
        hands an access to GDAL calls this first; downloads never do.
        """
        if access.gdal_ready:
            return access
        client = self.client_for(access.href)
        finished = client.gdal_access(access)
        if not finished.gdal_ready:
            raise ResolveError(
                f"the {client.name} client cannot finish the GDAL view of an access "
                f"the {access.client} client resolved"
            )
        return finished
