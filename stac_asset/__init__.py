"""Open, download and copy the assets of STAC items across storage systems and auth regimes.

Resolve once, use twice: a client per storage system or auth regime turns
each asset href into an :class:`Access` (a GDAL view and a byte view), which
:func:`open` reads in place with rasterio and the download functions copy.
"""

from . import blocking, compat, coroutines
from ._version import __version__
from .access import Access
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
from .clients.base import Faces, use_faces
from .config import Config, ErrorStrategy, FileNameStrategy
from .coroutines import (
    assert_asset_exists,
    assert_href_exists,
    asset_exists,
    clip_asset,
    copy_item,
    download_asset,
    download_collection,
    download_file,
    download_item,
    download_item_collection,
    download_item_from_href,
    href_exists,
    open_href,
    read_href,
)
from .datacube import CubeAccess
from .errors import (
    AccessDeniedError,
    AccessError,
    AssetKeyError,
    AssetOverwriteError,
    CannotIncludeAndExclude,
    ConfigError,
    ContentTypeError,
    DownloadError,
    DownloadWarning,
    LocalHrefError,
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

# The clients' stac-asset 0.4 methods (client.download_item, ...) forward to the async face.
use_faces(
    Faces(
        download_item=coroutines.download_item,
        download_file=coroutines.download_file,
        read_href=coroutines.read_href,
        open_href=coroutines.open_href,
        href_exists=coroutines.href_exists,
        assert_href_exists=coroutines.assert_href_exists,
        client_from_config=compat.client_from_config,
    )
)

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
    "ConfigError",
    "ContentTypeError",
    "CubeAccess",
    "DownloadError",
    "DownloadWarning",
    "EarthdataClient",
    "ErrorAssetDownload",
    "ErrorStrategy",
    "FileNameStrategy",
    "FilesystemClient",
    "FinishAssetDownload",
    "GcsClient",
    "HttpClient",
    "LocalHrefError",
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
    "download_collection",
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
