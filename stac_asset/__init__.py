"""Open, download and copy the assets of STAC items across storage systems and auth regimes.

Resolve once, use twice: a client per storage system or auth regime turns
each asset href into an :class:`Access` (a GDAL view and a byte view), which
:func:`open` reads in place with rasterio and the download functions copy.
"""

from . import blocking
from ._version import __version__
from .access import Access
from .api import (
    assert_asset_exists,
    assert_href_exists,
    asset_exists,
    clip_asset,
    copy_item,
    download_asset,
    download_file,
    download_item,
    download_item_collection,
    download_item_from_href,
    href_exists,
    open_href,
    read_href,
)
from .clients import (
    AzureClient,
    ByteStream,
    Client,
    EarthdataClient,
    FilesystemClient,
    GcsClient,
    HttpClient,
    OAuth2Client,
    PlanetaryComputerClient,
    S3Client,
    UsgsErosClient,
    get_client_classes,
)
from .config import Config, FileNameStrategy
from .errors import (
    AccessDeniedError,
    AccessError,
    AssetKeyError,
    AssetOverwriteError,
    CannotIncludeAndExclude,
    DownloadError,
    NotAnItemError,
    NotFoundError,
    ResolveError,
    StacAssetError,
    TransientError,
    UnsafePathError,
    VerificationError,
)
from .messages import (
    ErrorAssetDownload,
    FinishAssetDownload,
    Message,
    OpenUrl,
    SkipAssetDownload,
    StartAssetDownload,
    WriteChunk,
)
from .opening import open, resolve
from .retry import RetryPolicy

__all__ = [
    "Access",
    "AccessDeniedError",
    "AccessError",
    "AssetKeyError",
    "AssetOverwriteError",
    "AzureClient",
    "ByteStream",
    "CannotIncludeAndExclude",
    "Client",
    "Config",
    "DownloadError",
    "EarthdataClient",
    "ErrorAssetDownload",
    "FileNameStrategy",
    "FilesystemClient",
    "FinishAssetDownload",
    "GcsClient",
    "HttpClient",
    "Message",
    "NotAnItemError",
    "NotFoundError",
    "OAuth2Client",
    "OpenUrl",
    "PlanetaryComputerClient",
    "ResolveError",
    "RetryPolicy",
    "S3Client",
    "SkipAssetDownload",
    "StacAssetError",
    "StartAssetDownload",
    "TransientError",
    "UnsafePathError",
    "UsgsErosClient",
    "VerificationError",
    "WriteChunk",
    "__version__",
    "assert_asset_exists",
    "assert_href_exists",
    "asset_exists",
    "blocking",
    "clip_asset",
    "copy_item",
    "download_asset",
    "download_file",
    "download_item",
    "download_item_collection",
    "download_item_from_href",
    "get_client_classes",
    "href_exists",
    "open",
    "open_href",
    "read_href",
    "resolve",
]
