"""Opening assets in place with rasterio, through the client's GDAL view. Read-only."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pystac
import rasterio
import rasterio.errors
from rasterio.io import DatasetReader

from .access import Access
from .clients import Client
from .errors import AccessDeniedError, AccessError, ResolveError, StacAssetError
from .gdal import rasterio_env
from .items import checked_href, get_asset, read_item
from .resolver import ClientSpec, Resolver
from .transfer import Fetcher

# What opening adds to every access's options: no .aux.xml is ever written next
# to a source (GDAL writes one on close when statistics or metadata were set).
READ_ONLY_OPTIONS = {"GDAL_PAM_ENABLED": "NO"}

# rasterio.open's arguments that only make sense when writing a dataset.
_WRITE_ARGUMENTS = ("width", "height", "count", "crs", "transform", "dtype", "nodata")

_HOW_TO_COPY = (
    "stac_asset.open opens assets read-only; to make a copy you can change, use "
    "stac_asset.download_item (or copy_item, or clip_asset for a window)"
)


def resolve(
    target: pystac.Item | pystac.Asset | str,
    key: str | None = None,
    *,
    clients: Sequence[Client] | None = None,
    client: ClientSpec | None = None,
    allow_local: bool = False,
) -> Access:
    """Resolve an item's asset, an asset, or an href into an :class:`~stac_asset.Access`.

    Examples:
        ``resolve(item, "B04")``, ``resolve(item.assets["B04"])``,
        ``resolve("https://example.com/a.tif")``, and an item's href with a
        key, ``resolve("https://example.com/item.json", "B04")``.

    The asset of an item that came from the network (see the Security page)
    may not reach local files: a :class:`~stac_asset.LocalHrefError` is
    raised before anything is read, unless ``allow_local``. An href given on
    its own is the caller's, and is resolved whatever it is.

    Both views are final: ``rasterio.open(access.vsi_path)`` inside
    ``rasterio_env(access.gdal_options)`` works. Where finishing the GDAL view
    takes a request (a secret header GDAL would send on a redirect: see
    :meth:`Client.gdal_access <stac_asset.Client.gdal_access>`), it is made
    here; a client's own ``resolve`` leaves it to whatever uses the GDAL view.

    """
    resolver = Resolver(clients or (), force=client, allow_local=allow_local)
    return _resolve_with(resolver, _named(target, key, clients))


def _named(
    target: pystac.Item | pystac.Asset | str, key: str | None, clients: Sequence[Client] | None
) -> pystac.Asset | str:
    """The asset (or the plain href) that ``target`` and ``key`` name."""
    if isinstance(target, str) and key is not None:
        # The item's own href is the caller's; its asset hrefs are the item's.
        target = read_item(target, Fetcher(Resolver(clients or ())))
    if isinstance(target, pystac.Item):
        if key is None:
            raise TypeError("resolve(item, key) needs the asset key")
        return get_asset(target, key)
    if isinstance(target, (pystac.Asset, str)):
        return target
    raise TypeError(f"cannot resolve a {type(target).__name__}; give an item, asset or href")


def _resolve_with(resolver: Resolver, target: pystac.Asset | str) -> Access:
    """The access of ``target``, its GDAL view finished (what resolving in public promises)."""
    if isinstance(target, pystac.Asset):
        href, untrusted = checked_href(target, resolver)
        return resolver.gdal_access(resolver.resolve(href, target, untrusted=untrusted))
    return resolver.gdal_access(resolver.resolve(target))


def _check_read_only(kwargs: dict[str, Any]) -> None:
    mode = kwargs.pop("mode", "r")
    if mode != "r":
        raise StacAssetError(f"mode={mode!r} refused: {_HOW_TO_COPY}")
    writing = sorted(name for name in _WRITE_ARGUMENTS if name in kwargs)
    if writing:
        raise StacAssetError(f"{', '.join(writing)} refused: {_HOW_TO_COPY}")


@contextmanager
def open_resolved(
    access: Access, client: Client, asset: pystac.Asset | None = None, **kwargs: Any
) -> Iterator[DatasetReader]:
    """As :func:`open`, for an access ``client`` resolved (for ``asset``), which renews it."""
    _check_read_only(kwargs)
    with _opened(access, Resolver(force=client), asset, kwargs) as dataset:
        yield dataset


# GDAL's message for a refusal, e.g. "HTTP response code: 403" (for some storage, its
# own words: see Client.gdal_refusal).
_REFUSED = re.compile(r"\b(401|403)\b")


@contextmanager
def _opened(
    access: Access, resolver: Resolver, asset: pystac.Asset | None, kwargs: dict[str, Any]
) -> Iterator[DatasetReader]:
    """``rasterio.open`` the GDAL view read-only; refused (HTTP 401/403), re-resolve once.

    Only for credentials that expire (``access.expires_at``), with the client
    that resolved the access: it forgets the refused credential, and the retry
    keeps GDAL from answering with the 401/403 it cached for the path.
    """
    access = resolver.gdal_access(access)
    options = {**access.gdal_options, **READ_ONLY_OPTIONS}
    taker = _taker(access, resolver)
    try:
        dataset = _open(access, options, kwargs, taker)
    except AccessDeniedError as refused:
        owner = _owner(access, taker)
        if owner is None:
            raise
        owner.refused(access, refused)
        access = owner.gdal_access(owner.resolve(access.href, asset))
        options = {**access.gdal_options, **READ_ONLY_OPTIONS}
        cached = options.get("CPL_VSIL_CURL_NON_CACHED")
        options["CPL_VSIL_CURL_NON_CACHED"] = ":".join(filter(None, [cached, access.vsi_path]))
        dataset = _open(access, options, kwargs, owner)
    # GDAL reads lazily: the dataset is read inside the options it was opened with.
    with rasterio_env(options), dataset:
        yield dataset


def _open(
    access: Access, options: dict[str, str], kwargs: dict[str, Any], client: Client | None
) -> DatasetReader:
    """``rasterio.open`` the GDAL view; a refusal (in ``client``'s words too) is AccessDenied."""
    try:
        with rasterio_env(options):
            return rasterio.open(access.vsi_path, "r", **kwargs)
    except rasterio.errors.RasterioIOError as error:
        reason = f"GDAL could not open it: {error}"
        refused = _REFUSED.search(str(error))
        if refused is not None or (client is not None and client.gdal_refusal(str(error))):
            status = int(refused[1]) if refused is not None else None
            raise AccessDeniedError(access.href, access.client, reason, status=status) from None
        raise AccessError(access.href, access.client, reason) from None


def _owner(access: Access, taker: Client | None) -> Client | None:
    """The client to renew ``access`` with: ``taker`` (that takes its href), if it made it."""
    if access.expires_at is None or taker is None:
        return None
    return taker if taker.made(access) else None


def _taker(access: Access, resolver: Resolver) -> Client | None:
    """The client that takes ``access``'s href, if any."""
    try:
        return resolver.client_for(access.href)
    except ResolveError:
        return None


class Opening:
    """What :func:`open` returns: use it in a ``with`` statement to get the dataset.

    The GDAL options of the asset (credentials, headers) are set for the
    calling thread while the ``with`` block runs, and the dataset is closed
    at its end. Used without ``with`` it refuses at once, saying so: a
    dataset outliving the options it needs would fail, later and obscurely,
    on its next read.
    """

    def __init__(
        self,
        access: Access,
        resolver: Resolver,
        asset: pystac.Asset | None,
        kwargs: dict[str, Any],
    ) -> None:
        self.access = access
        self._resolver = resolver
        self._asset = asset
        self._kwargs = kwargs
        self._context: Any = None

    def __enter__(self) -> DatasetReader:
        self._context = _opened(self.access, self._resolver, self._asset, self._kwargs)
        dataset: DatasetReader = self._context.__enter__()
        return dataset

    def __exit__(self, *exc: Any) -> None:
        context, self._context = self._context, None
        context.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError(
            f"stac_asset.open(...) has no {name!r}: use it in a with statement, "
            '`with stac_asset.open(item, "B04") as ds: ds.read(1)`, which keeps the '
            "asset's GDAL options in force while the dataset is open"
        )


def open(  # noqa: A001 - the rasterio verb, on purpose
    target: pystac.Item | pystac.Asset | str | Access,
    key: str | None = None,
    *,
    clients: Sequence[Client] | None = None,
    client: ClientSpec | None = None,
    allow_local: bool = False,
    **kwargs: Any,
) -> Opening:
    """Open an asset in place, read-only, with rasterio, inside its client's GDAL options.

    Use it in a ``with`` statement: ``with stac_asset.open(item, "B04") as ds:``
    gives a :class:`rasterio.io.DatasetReader`. The options (credentials,
    headers, request-minimising settings) are set for this thread only and
    stay in force until the dataset is closed at the end of the block, so
    datasets opened at once with different credentials do not interfere.

    Opening never writes: ``mode`` other than ``"r"`` and rasterio's
    arguments for creating a dataset are refused, and GDAL writes no
    ``.aux.xml`` beside the source.

    Args:
        target: An item (with ``key``), an asset, an href, an item's href
            (with ``key``), or an Access.
        key: The asset key, with an item or an item's href.
        clients: Clients to try before the default ones.
        client: A client (or class) to use whatever the href.
        allow_local: Let the asset of an item that came from the network
            reach local files (see :func:`resolve`).
        **kwargs: Passed to :func:`rasterio.open` (e.g. ``sharing=False``, ``driver=``).

    Returns:
        An :class:`Opening`, whose ``with`` block yields the open dataset.

    """
    _check_read_only(kwargs)
    resolver = Resolver(clients or (), force=client, allow_local=allow_local)
    if isinstance(target, Access):
        return Opening(target, resolver, None, kwargs)
    named = _named(target, key, clients)
    asset = named if isinstance(named, pystac.Asset) else None
    return Opening(_resolve_with(resolver, named), resolver, asset, kwargs)


__all__ = ["Opening", "open", "resolve"]
