"""Opening assets in place with rasterio, through the client's GDAL view."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pystac
import rasterio
import rasterio.errors
from rasterio.io import DatasetReader

from .access import Access
from .clients import Client
from .errors import AccessError
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
        access = target
    else:
        access = resolve(target, key, clients=clients, client=client)
    with rasterio_env(access.gdal_options):
        try:
            dataset = rasterio.open(access.vsi_path, **kwargs)
        except rasterio.errors.RasterioIOError as error:
            raise AccessError(
                access.href, access.client, f"GDAL could not open it: {error}"
            ) from None
        with dataset:
            yield dataset


__all__ = ["open", "resolve"]
