"""Opening assets in place with rasterio, through the client's GDAL view."""

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
from .clients import AzureClient, Client, PlanetaryComputerClient
from .errors import AccessDeniedError, AccessError, ResolveError
from .gdal import rasterio_env
from .items import asset_href, get_asset
from .resolver import ClientSpec, Resolver


def resolve(
    target: pystac.Item | pystac.Asset | str,
    key: str | None = None,
    *,
    clients: Sequence[Client] | None = None,
    client: ClientSpec | None = None,
) -> Access:
    """Resolve an item's asset, an asset, or an href into an :class:`~stac_asset.Access`.

    Examples:
        ``resolve(item, "B04")``, ``resolve(item.assets["B04"])``,
        ``resolve("https://example.com/a.tif")``.

    """
    resolver = Resolver(clients or (), force=client)
    if isinstance(target, pystac.Item):
        if key is None:
            raise TypeError("resolve(item, key) needs the asset key")
        asset = get_asset(target, key)
        return resolver.resolve(asset_href(asset), asset)
    if isinstance(target, pystac.Asset):
        return resolver.resolve(asset_href(target), target)
    if isinstance(target, str):
        if key is not None:
            raise TypeError("resolve(href) takes no key")
        return resolver.resolve(target)
    raise TypeError(f"cannot resolve a {type(target).__name__}; give an item, asset or href")


@contextmanager
def open(  # noqa: A001 - the rasterio verb, on purpose
    target: pystac.Item | pystac.Asset | str | Access,
    key: str | None = None,
    *,
    clients: Sequence[Client] | None = None,
    client: ClientSpec | None = None,
    **kwargs: Any,
) -> Iterator[DatasetReader]:
    """Open an asset in place with rasterio, inside its client's GDAL options.

    The options (credentials, headers, request-minimising settings) are set
    for this thread only and stay in force until the dataset is closed, so
    datasets opened at once with different credentials do not interfere.
    When the storage refuses credentials that expire (HTTP 401/403), the
    client that resolved them forgets them and the asset is resolved and
    opened again, once, as downloads do.

    Args:
        target: An item (with ``key``), an asset, an href, or an Access.
        key: The asset key, with an item.
        clients: Clients to try before the default ones.
        client: A client (or class) to use whatever the href.
        **kwargs: Passed to :func:`rasterio.open`.

    Yields:
        The open :class:`rasterio.io.DatasetReader`.

    """
    if isinstance(target, Access):
        access, asset = target, None
    else:
        access = resolve(target, key, clients=clients, client=client)
        asset = target if isinstance(target, pystac.Asset) else None
        if isinstance(target, pystac.Item) and key is not None:
            asset = get_asset(target, key)
    resolver = Resolver(clients or (), force=client)
    with _open_renewing(access, resolver, asset, kwargs) as dataset:
        yield dataset


@contextmanager
def open_resolved(
    access: Access, client: Client, asset: pystac.Asset | None = None, **kwargs: Any
) -> Iterator[DatasetReader]:
    """As :func:`open`, for an access ``client`` resolved (for ``asset``), which renews it."""
    with _open_renewing(access, Resolver(force=client), asset, kwargs) as dataset:
        yield dataset


# GDAL's message for a refusal, e.g. "HTTP response code: 403".
_REFUSED = re.compile(r"\b(401|403)\b")


@contextmanager
def _open_renewing(
    access: Access, resolver: Resolver, asset: pystac.Asset | None, kwargs: dict[str, Any]
) -> Iterator[DatasetReader]:
    """``rasterio.open`` the GDAL view; refused (HTTP 401/403), re-resolve once and retry.

    Only for credentials that expire (``access.expires_at``), with the client
    that resolved the access: it forgets the refused credential, and the retry
    keeps GDAL from answering with the 401/403 it cached for the path.
    """
    options = access.gdal_options
    try:
        dataset = _open(access, options, kwargs)
    except AccessDeniedError as refused:
        owner = _owner(access, resolver)
        if owner is None:
            raise
        owner.refused(access, refused)
        access = owner.resolve(access.href, asset)
        options = dict(access.gdal_options)
        cached = options.get("CPL_VSIL_CURL_NON_CACHED")
        options["CPL_VSIL_CURL_NON_CACHED"] = ":".join(filter(None, [cached, access.vsi_path]))
        dataset = _open(access, options, kwargs)
    # GDAL reads lazily: the dataset is read inside the options it was opened with.
    with rasterio_env(options), dataset:
        yield dataset


def _open(access: Access, options: dict[str, str], kwargs: dict[str, Any]) -> DatasetReader:
    try:
        with rasterio_env(options):
            return rasterio.open(access.vsi_path, **kwargs)
    except rasterio.errors.RasterioIOError as error:
        reason = f"GDAL could not open it: {error}"
        refused = _REFUSED.search(str(error))
        if refused is not None:
            status = int(refused[1])
            raise AccessDeniedError(access.href, access.client, reason, status=status) from None
        raise AccessError(access.href, access.client, reason) from None


def _owner(access: Access, resolver: Resolver) -> Client | None:
    """The client to renew ``access`` with: the one that takes its href, if it made it."""
    if access.expires_at is None:
        return None
    try:
        owner = resolver.client_for(access.href)
    except ResolveError:
        return None
    made_it = owner.name == access.client or (
        isinstance(owner, AzureClient) and access.client == PlanetaryComputerClient.name
    )
    return owner if made_it else None


__all__ = ["open", "resolve"]
