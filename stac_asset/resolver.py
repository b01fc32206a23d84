"""Choosing the client for an href and turning the href into an :class:`~stac_asset.Access`."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from urllib.parse import urlsplit

import pystac

from .access import Access
from .clients import Client, get_client_classes
from .errors import ResolveError

ClientSpec = Client | type[Client]


def absolute_href(asset: pystac.Asset) -> str:
    """The asset's href made absolute against its owner's self href."""
    href = asset.get_absolute_href()
    if href is None:
        raise ResolveError(
            f"asset href {asset.href!r} is relative and its item has no self href to resolve "
            "it against; set one with item.set_self_href(...)"
        )
    return href


_defaults: dict[type[Client], Client] = {}
_defaults_lock = threading.Lock()


def default_client(cls: type[Client]) -> Client:
    """The process-wide default instance of a client class, configured from the environment."""
    with _defaults_lock:
        client = _defaults.get(cls)
        if client is None:
            client = _defaults[cls] = cls()
        return client


class Resolver:
    """Picks a client per href and resolves hrefs into accesses.

    Clients handed in are asked first, in order; then the default instance
    of each client class in :func:`~stac_asset.get_client_classes` order. The
    default instances are created on first use and shared by every resolver
    in the process, so sessions, credentials and tokens are reused across
    calls. With ``force``, that client (or class) takes every href.
    Thread-safe.
    """

    def __init__(self, clients: Sequence[Client] = (), *, force: ClientSpec | None = None) -> None:
        self._given = list(clients)
        self._forced = force

    @property
    def clients(self) -> list[Client]:
        """The clients handed in, asked before the defaults."""
        return list(self._given)

    def _instance(self, cls: type[Client]) -> Client:
        for client in self._given:
            if type(client) is cls:
                return client
        return default_client(cls)

    def client_for(self, href: str) -> Client:
        """The client that takes ``href``."""
        if self._forced is not None:
            if isinstance(self._forced, Client):
                return self._forced
            return self._instance(self._forced)
        for client in self._given:
            if client.matches(href):
                return client
        for cls in get_client_classes():
            client = self._instance(cls)
            if client.matches(href):
                return client
        scheme = urlsplit(href).scheme
        raise ResolveError(f"no client takes {href!r} (unknown scheme {scheme!r})")

    def resolve(self, href: str, asset: pystac.Asset | None = None) -> Access:
        """Resolve ``href`` with the client that takes it."""
        return self.client_for(href).resolve(href, asset)
