"""The blocking face for single assets and hrefs: download, clip, read and check them."""

from __future__ import annotations

import os
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

import pystac

from .. import compat
from ..clients import ByteStream, Client
from ..clip_spec import WindowLike
from ..config import Config
from ..engine import download_one
from ..errors import AccessError, LocalHrefError, StacAssetError
from ..items import checked_href
from ..resolver import ClientSpec, Resolver
from ..retry import call_with_retries
from ..transfer import Fetcher, Transfer

PathLike = str | os.PathLike[str]


def _open(
    resolver: Resolver, target: str | pystac.Asset, alternate_assets: list[str] | None = None
) -> ByteStream:
    """Open an href, or an asset's href under the trust rule of its item."""
    untrusted = False
    if isinstance(target, pystac.Asset):
        asset: pystac.Asset | None = target
        href, untrusted = checked_href(target, resolver, alternate_assets)
    else:
        asset, href = None, target
    chosen = resolver.client_for(href, untrusted=untrusted)
    access = chosen.resolve(href, asset)
    return call_with_retries(lambda: chosen.open_stream(access), chosen.retry)


def download_asset(
    key: str,
    asset: pystac.Asset,
    path: PathLike,
    config: Config | None = None,
    messages: Any = None,
    clients: Sequence[Client] | None = None,
    stream: bool | None = None,
    *,
    client: ClientSpec | None = None,
    **options: Any,
) -> pystac.Asset:
    """Download one asset to ``path`` and return a copy whose href is that path.

    With ``bbox=`` or ``window=`` (see :func:`clip_asset`) a raster asset is
    clipped instead, and the returned asset describes the clip. ``stream`` is
    accepted for stac-asset 0.4 (bytes are always streamed to disk); a
    complete file already at ``path`` is kept unless ``overwrite=True``.
    """
    settings, resolver = compat.call_settings(config, options, clients, client)
    return download_one(key, asset, path, settings, resolver, messages)


def clip_asset(
    key: str,
    asset: pystac.Asset,
    path: PathLike,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    bbox_crs: str = "EPSG:4326",
    window: WindowLike | None = None,
    overviews: bool = False,
    compress: str | None = None,
    clients: Sequence[Client] | None = None,
    client: ClientSpec | None = None,
) -> pystac.Asset:
    """Copy the part of a raster asset inside ``bbox`` (or a pixel ``window``) to a local COG.

    Only the tiles that intersect are read, through the same access as
    :func:`stac_asset.open`. The output keeps the source's dtype, nodata,
    band descriptions, colour interpretation, scales and offsets; a bbox that
    crosses the raster's edge gives the intersection, one that misses it is
    an error naming the asset and both extents.

    Args:
        key: The asset key (for messages).
        asset: The raster asset.
        path: Where the COG is written (complete, or not at all).
        bbox: ``(west, south, east, north)`` in ``bbox_crs``.
        bbox_crs: The CRS of ``bbox``; EPSG:4326 by default.
        window: A :class:`rasterio.windows.Window` or
            ``((row_start, row_stop), (col_start, col_stop))``, instead of a bbox.
        overviews: Build overviews in the output.
        compress: The output's compression; the source's by default.
        clients: Clients to try before the default ones.
        client: A client (or class) for every href.

    Returns:
        A copy of the asset pointing at ``path``, with ``proj:shape``,
        ``proj:transform``, ``proj:bbox`` and ``file:size`` of the clip.

    """
    return download_asset(
        key,
        asset,
        path,
        clients=clients,
        client=client,
        overwrite=True,
        bbox=bbox,
        bbox_crs=bbox_crs,
        window=window,
        overviews=overviews,
        compress=compress,
    )


def download_file(
    href: str,
    destination: PathLike | None = None,
    config: Config | None = None,
    clients: Sequence[Client] | None = None,
    messages: Any = None,
    *,
    path: PathLike | None = None,
    client: ClientSpec | None = None,
) -> None:
    """Download the single file at ``href`` to ``destination`` (complete, or not at all).

    The positional order is stac-asset 0.4's; ``path=`` (this library's name
    for ``destination``) and the order ``(href, path, config, messages,
    clients)`` work too.
    """
    if (destination is None) == (path is None):
        raise TypeError("download_file takes one destination (or path=)")
    target = destination if destination is not None else path
    assert target is not None
    clients, messages = compat.split_messages(clients, messages)
    download_asset(
        Path(target).name, pystac.Asset(href), target, config, messages, clients, client=client
    )


def _read_settings(
    config: Config | Sequence[Client] | None,
    clients: Sequence[Client] | None,
    client: ClientSpec | None,
    **options: Any,
) -> tuple[Config, Resolver]:
    """The settings and resolver of a read; 0.4 passed ``config`` where this library had clients."""
    settings, clients = compat.split_config(config, clients)
    return compat.call_settings(settings, options, clients, client)


def read_href(
    href: str,
    config: Config | Sequence[Client] | None = None,
    clients: Sequence[Client] | None = None,
    *,
    client: ClientSpec | None = None,
) -> bytes:
    """Read all the bytes at ``href`` into memory.

    ``config``'s client settings (``http_headers``, ``s3_requester_pays``...)
    configure the clients; a list of clients in its place is taken as ``clients``.
    """
    _, resolver = _read_settings(config, clients, client)
    return Fetcher(resolver).read(Transfer(href))


def open_href(
    href: str,
    config: Config | Sequence[Client] | None = None,
    clients: Sequence[Client] | None = None,
    *,
    client: ClientSpec | None = None,
) -> Generator[bytes, None, None]:
    """Yield the bytes at ``href`` chunk by chunk, without holding the whole object.

    Takes ``config`` and ``clients`` as :func:`read_href` does.
    """
    _, resolver = _read_settings(config, clients, client)
    with _open(resolver, href) as stream:
        yield from stream.chunks()


def href_exists(
    href: str, clients: Sequence[Client] | None = None, *, client: ClientSpec | None = None
) -> bool:
    """Whether ``href`` can be read (exists, and the credentials are accepted)."""
    try:
        assert_href_exists(href, clients, client=client)
    except AccessError:
        return False
    return True


def assert_href_exists(
    href: str, clients: Sequence[Client] | None = None, *, client: ClientSpec | None = None
) -> None:
    """Raise an :class:`~stac_asset.errors.AccessError` unless ``href`` can be read."""
    with _open(Resolver(clients or (), force=client), href):
        pass


def asset_exists(
    asset: pystac.Asset,
    config: Config | Sequence[Client] | None = None,
    clients: Sequence[Client] | None = None,
    *,
    client: ClientSpec | None = None,
    allow_local: bool = False,
) -> bool:
    """Whether the asset's href (or preferred alternate) can be read.

    Takes ``config``, ``clients`` and ``allow_local`` as :func:`assert_asset_exists`
    does; an href the trust rule refuses raises its :class:`~stac_asset.LocalHrefError`
    rather than answering ``False``.
    """
    try:
        assert_asset_exists(asset, config, clients, client=client, allow_local=allow_local)
    except LocalHrefError:
        raise
    except StacAssetError:
        return False
    return True


def assert_asset_exists(
    asset: pystac.Asset,
    config: Config | Sequence[Client] | None = None,
    clients: Sequence[Client] | None = None,
    *,
    client: ClientSpec | None = None,
    allow_local: bool = False,
) -> None:
    """Raise an :class:`~stac_asset.errors.AccessError` unless the asset's href can be read.

    With ``config``, its ``alternate_assets`` choose the href and its client
    settings configure the clients; a list of clients in its place is taken
    as ``clients``. The asset of an item that came from the network may not
    reach local files (:class:`~stac_asset.LocalHrefError`) unless
    ``allow_local`` (or ``config.allow_local``).
    """
    options = {"allow_local": True} if allow_local else {}
    settings, resolver = _read_settings(config, clients, client, **options)
    with _open(resolver, asset, settings.alternate_assets):
        pass
