"""The blocking face: the same calls as the async functions of :mod:`stac_asset`, no event loop.

These run the transfer engine on the calling thread (fanning out to a
thread pool for concurrent files), so they also work where an event loop is
already running, such as a Jupyter notebook. Each function keeps its public
signature (stac-asset 0.4's included), folds its settings and 0.4 arguments
once (:func:`stac_asset.compat.call_settings`) and forwards to the engine
(:mod:`stac_asset.engine`).
"""

from __future__ import annotations

import os
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

import pystac

from . import compat
from .clients import ByteStream, Client
from .clip_spec import WindowLike
from .config import Config
from .engine import destination_of, download_one, download_owners
from .errors import AccessError, LocalHrefError, NotAnItemError, StacAssetError
from .items import checked_href, read_item, read_item_collection
from .layout import item_directory
from .paths import check_component
from .resolver import ClientSpec, Resolver
from .retry import call_with_retries
from .transfer import Fetcher, Transfer

PathLike = str | os.PathLike[str]

ITEM_COLLECTION_FILE_NAME = "item-collection.json"


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


def _check_item(item: object, call: str) -> pystac.Item:
    if isinstance(item, pystac.Item):
        return item
    if isinstance(item, (str, os.PathLike)):
        raise NotAnItemError(f"{call} takes a pystac.Item; for an href use {call}_from_href")
    raise NotAnItemError(f"{call} takes a pystac.Item, not {type(item).__name__}")


def download_item(
    item: pystac.Item,
    directory: PathLike,
    file_name: str | None = None,
    infer_file_name: bool = True,
    config: Config | None = None,
    messages: Any = None,
    clients: Sequence[Client] | None = None,
    keep_non_downloaded: bool = False,
    max_concurrent_downloads: int | None = None,
    stream: bool | None = None,
    *,
    client: ClientSpec | None = None,
    executor: Any = None,
    **options: Any,
) -> pystac.Item:
    """Download an item's assets into ``directory`` and write the item beside them.

    Args:
        item: The item; it is not modified.
        directory: Where the assets and the item JSON go (created if needed).
        file_name: The item JSON's file name; by default ``<item id>.json``.
        infer_file_name: With no ``file_name``, name the item file after its id;
            if false (and no ``file_name``), no item JSON is written.
        config: Download settings; ``**options`` override its fields
            (``include=["B04"]``, ``overwrite=True``, ...).
        messages: Progress events go to this callable or queue.
        clients: Clients to use before the default ones (e.g. a configured
            :class:`~stac_asset.HttpClient`).
        keep_non_downloaded: Keep assets that were not downloaded in the
            written item (with their original hrefs).
        max_concurrent_downloads: How many files are transferred at once
            (``config.max_concurrent_downloads`` by default).
        stream: Accepted for stac-asset 0.4; bytes are always streamed to disk.
        client: A client (or client class) to use for every href.
        executor: A :class:`concurrent.futures.Executor` or a dask.distributed
            ``Client`` to run the per-asset work on (the destination must be
            reachable from its workers); by default a local thread pool.
        **options: Fields of :class:`~stac_asset.Config`.

    Returns:
        A copy of the item whose asset hrefs are the absolute paths (or
        object store hrefs) of the downloaded files, each keeping its original
        href as the ``origin`` alternate, whose self href is the written item
        file and which has a ``derived_from`` link to the item's own self href.
        The item file written has the same links, and asset hrefs relative
        to itself, so it can move with its files.

    Raises:
        DownloadError: Some assets failed; each is listed with its href and
            the reason. Files that did complete stay in place. (With
            ``warn=True`` each failure is a ``DownloadWarning`` instead.)

    """
    settings, resolver = compat.call_settings(
        config, options, clients, client, max_concurrent_downloads=max_concurrent_downloads
    )
    item = _check_item(item, "download_item")
    destination = destination_of(directory, settings)
    name = file_name or (f"{item.id}.json" if infer_file_name else None)
    json_name = check_component(name or f"{item.id}.json", "item file name")
    template = settings.path_template or ""

    def layout(root: Path, copy: pystac.Item | pystac.Collection) -> tuple[Path, Path]:
        assert isinstance(copy, pystac.Item)
        directory = item_directory(root, copy, template)
        return directory, directory / json_name

    (placed,), failure = download_owners(
        [item],
        destination,
        layout,
        settings,
        resolver,
        write_json=bool(name),
        keep_non_downloaded=keep_non_downloaded,
        messages=messages,
        executor=executor,
    )
    copy = placed.owner
    assert isinstance(copy, pystac.Item)
    if failure is not None:
        failure.item = copy
        raise failure
    return copy


def copy_item(
    item: pystac.Item,
    destination: PathLike,
    file_name: str | None = None,
    infer_file_name: bool = True,
    config: Config | None = None,
    messages: Any = None,
    clients: Sequence[Client] | None = None,
    keep_non_downloaded: bool = False,
    *,
    client: ClientSpec | None = None,
    executor: Any = None,
    **options: Any,
) -> pystac.Item:
    """Copy an item's assets to ``destination`` and write the item JSON beside them.

    ``destination`` is a local directory or an object store prefix:
    ``s3://bucket/prefix/``, ``az://container/prefix/`` (or an Azure blob
    URL), written by the client that takes that href (pass a configured
    :class:`~stac_asset.S3Client` or :class:`~stac_asset.AzureClient` in
    ``clients`` for credentials or a custom endpoint). Bytes stream from the
    source to the store without a local copy (multipart uploads for large
    objects; a server-side copy when source and destination are in the same
    store), and an object appears only when complete and verified. Layout,
    include/exclude, checksum and collision rules are those of
    :func:`download_item`, whose arguments these are.
    """
    return download_item(
        item,
        destination,
        file_name,
        infer_file_name,
        config,
        messages,
        clients,
        keep_non_downloaded,
        client=client,
        executor=executor,
        **options,
    )


def download_item_from_href(
    href: str,
    directory: PathLike,
    file_name: str | None = None,
    infer_file_name: bool = True,
    config: Config | None = None,
    messages: Any = None,
    clients: Sequence[Client] | None = None,
    keep_non_downloaded: bool = False,
    *,
    client: ClientSpec | None = None,
    executor: Any = None,
    **options: Any,
) -> pystac.Item:
    """Read the item at ``href`` with any client, then :func:`download_item` it."""
    # The clients config asks for read the item (an href the caller gave), then its assets.
    _, resolver = compat.call_settings(config, options, clients, client)
    item = read_item(href, Fetcher(resolver))
    return download_item(
        item,
        directory,
        file_name,
        infer_file_name,
        config,
        messages,
        clients,
        keep_non_downloaded,
        client=client,
        executor=executor,
        **options,
    )


def download_item_collection(
    item_collection: pystac.ItemCollection | Sequence[pystac.Item] | str,
    directory: PathLike,
    path_template: str | None = None,
    file_name: str | None = ITEM_COLLECTION_FILE_NAME,
    config: Config | None = None,
    messages: Any = None,
    clients: Sequence[Client] | None = None,
    keep_non_downloaded: bool = False,
    max_concurrent_downloads: int | None = None,
    stream: bool | None = None,
    *,
    infer_file_name: bool = True,
    client: ClientSpec | None = None,
    executor: Any = None,
    **options: Any,
) -> pystac.ItemCollection:
    """Download every item of a collection, each into ``directory/${path_template}``.

    The default template is ``${id}``: one directory per item.

    The items' assets are fetched together, ``max_concurrent_downloads`` at
    a time. Each item's JSON is written into its own directory, and the item
    collection into ``directory/item-collection.json`` (or ``file_name``; with
    ``file_name=None``, or ``infer_file_name=False``, none is written).
    ``item_collection`` may also be an href to a FeatureCollection. With
    ``executor`` (a :class:`concurrent.futures.Executor` or a dask.distributed
    ``Client``) the per-asset work runs on its workers; see
    :func:`download_item` for the other arguments. The positional order is
    stac-asset 0.4's.
    """
    path_template, file_name, infer_file_name = compat.collection_args(
        path_template, file_name, infer_file_name, ITEM_COLLECTION_FILE_NAME
    )
    settings, resolver = compat.call_settings(
        config,
        options,
        clients,
        client,
        path_template=path_template,
        max_concurrent_downloads=max_concurrent_downloads,
    )
    if isinstance(item_collection, str):
        item_collection = read_item_collection(item_collection, Fetcher(resolver))
    items = [_check_item(i, "download_item_collection") for i in item_collection]
    destination = destination_of(directory, settings)
    name = file_name or (ITEM_COLLECTION_FILE_NAME if infer_file_name else None)
    collection_file = destination.root / check_component(name, "file name") if name else None
    template = settings.path_template or "${id}"

    def layout(root: Path, copy: pystac.Item | pystac.Collection) -> tuple[Path, Path]:
        assert isinstance(copy, pystac.Item)
        directory = item_directory(root, copy, template)
        return directory, directory / f"{check_component(copy.id, 'item id')}.json"

    placed, failure = download_owners(
        items,
        destination,
        layout,
        settings,
        resolver,
        write_json=True,
        keep_non_downloaded=keep_non_downloaded,
        messages=messages,
        executor=executor,
        collection_file=collection_file,
    )
    result = pystac.ItemCollection(
        [e.owner for e in placed if isinstance(e.owner, pystac.Item)], clone_items=False
    )
    if failure is not None:
        failure.item_collection = result
        raise failure
    return result


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


def download_collection(
    collection: pystac.Collection,
    directory: PathLike,
    file_name: str | None = "collection.json",
    config: Config | None = None,
    messages: Any = None,
    clients: Sequence[Client] | None = None,
    keep_non_downloaded: bool = False,
    max_concurrent_downloads: int | None = None,
    stream: bool | None = None,
    *,
    client: ClientSpec | None = None,
    executor: Any = None,
    **options: Any,
) -> pystac.Collection:
    """Download a collection's own assets into ``directory`` and write the collection beside them.

    The collection's items are not downloaded (see :func:`download_item_collection`).
    Arguments are those of :func:`download_item` (``file_name=None`` writes
    no collection JSON).

    Returns:
        A copy of the collection whose asset hrefs point at the downloaded
        files, each keeping its original href as the ``origin`` alternate.

    """
    settings, resolver = compat.call_settings(
        config, options, clients, client, max_concurrent_downloads=max_concurrent_downloads
    )
    destination = destination_of(directory, settings)
    json_name = check_component(file_name or "collection.json", "collection file name")
    (placed,), failure = download_owners(
        [collection],
        destination,
        lambda root, _copy: (root, root / json_name),
        settings,
        resolver,
        write_json=bool(file_name),
        keep_non_downloaded=keep_non_downloaded,
        messages=messages,
        executor=executor,
    )
    copy = placed.owner
    assert isinstance(copy, pystac.Collection)
    if failure is not None:
        failure.collection = copy
        raise failure
    return copy
