"""The blocking face: the same calls as the async functions of :mod:`stac_asset`, no event loop.

These run the transfer engine on the calling thread (fanning out to a
thread pool for concurrent files), so they also work where an event loop is
already running, such as a Jupyter notebook. Each function keeps its public
signature (stac-asset 0.4's included), folds its settings and 0.4 arguments
once (:func:`stac_asset.compat.call_settings`) and forwards to the engine
(:mod:`stac_asset.engine`).
"""

from .assets import (
    assert_asset_exists,
    assert_href_exists,
    asset_exists,
    clip_asset,
    download_asset,
    download_file,
    href_exists,
    open_href,
    read_href,
)
from .items import (
    ITEM_COLLECTION_FILE_NAME,
    copy_item,
    download_collection,
    download_item,
    download_item_collection,
    download_item_from_href,
)

__all__ = [
    "ITEM_COLLECTION_FILE_NAME",
    "assert_asset_exists",
    "assert_href_exists",
    "asset_exists",
    "clip_asset",
    "copy_item",
    "download_asset",
    "download_collection",
    "download_file",
    "download_item",
    "download_item_collection",
    "download_item_from_href",
    "href_exists",
    "open_href",
    "read_href",
]
