"""The blocking face for items, item collections and collections: download and copy them."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pystac

from .. import compat
from ..clients import Client
from ..config import Config
from ..engine import destination_of, download_owners
from ..errors import NotAnItemError
from ..items import read_item, read_item_collection
from ..layout import item_directory
from ..paths import check_component
from ..resolver import ClientSpec
from ..transfer import Fetcher

PathLike = str | os.PathLike[str]

ITEM_COLLECTION_FILE_NAME = "item-collection.json"


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
