"""Download settings, with the field names of stac-asset 0.4's ``Config``."""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ._secrets import is_sensitive, register
from .clip_spec import Clip
from .errors import CannotIncludeAndExclude, ConfigError
from .strategy import ErrorStrategy, FileNameStrategy

DEFAULT_MAX_CONCURRENT_DOWNLOADS = 128
"""Downloads in flight at most: transfers on the express lane
(:mod:`stac_asset.express`) and threads of the pool, each. Where latency
rules (20 ms or more per request), files go about as fast as requests are
in flight: 1,000 small files 100 ms away take about 1,000 / 128 round trips.
A thread costs little memory, and the pool grows to this only while its
threads wait on servers (see :mod:`stac_asset.workers`)."""

DEFAULT_MAX_CONCURRENT_PER_HOST = 128
"""The ceiling of requests in flight to one host (stac-asset 0.4 kept 100
from the first request). Each host starts at 64 and doubles per round trip
only while every place is busy and the doubling brings more answers per
second, halving on overload signs (429, 503, resets; see
:mod:`stac_asset.host_limits`), or cut to what the host took of a first burst
it refused in part, so a small or busy server is not held to this; object
stores (S3, Azure, GCS) serve far more in parallel."""


CLIP_OPTIONS = ("bbox", "bbox_crs", "window", "overviews", "compress")

S3_RETRY_MODES = ("standard", "legacy", "adaptive")
"""The values stac-asset 0.4 (botocore) took for ``s3_retry_mode``."""


def _env(name: str) -> str | None:
    """stac-asset 0.4's ``OAUTH2_<name>`` environment variable, if set."""
    return os.environ.get(f"OAUTH2_{name}") or None


@dataclass
class Config:
    """What to download and how; the fields of stac-asset 0.4 keep their names."""

    include: list[str] = field(default_factory=list)
    """Asset keys or roles to download; all when empty. Exclusive with ``exclude``."""

    exclude: list[str] = field(default_factory=list)
    """Asset keys or roles to leave out. Exclusive with ``include``."""

    file_name_strategy: FileNameStrategy = FileNameStrategy.FILE_NAME
    """Name files after the href (default) or after the asset key."""

    alternate_assets: list[str] = field(default_factory=list)
    """Names of ``alternate`` hrefs to prefer, in order, when an asset has them."""

    overwrite: bool = False
    """Download again even when a complete file is already at the path."""

    make_directory: bool = True
    """Create the destination directory when it does not exist."""

    fail_fast: bool = False
    """Stop at the first failed asset (cleaning partial files); else report all at the end."""

    max_concurrent_downloads: int = DEFAULT_MAX_CONCURRENT_DOWNLOADS
    """How many files are transferred at once."""

    max_concurrent_per_host: int = DEFAULT_MAX_CONCURRENT_PER_HOST
    """The most requests in flight to any one host; below it, each host's
    limit adapts to its answers (see :mod:`stac_asset.host_limits`)."""

    path_template: str | None = None
    """Where each item's files go under the destination, e.g. ``${collection}/${id}``.

    Names in ``${...}`` are ``id``, ``collection``, ``year``, ``month``,
    ``day``, ``date`` and any item property (``${proj:code}``). By default an
    item's files go in the destination itself, and the items of a collection
    each in ``${id}``.
    """

    clip: Clip | None = None
    """Cut raster assets to a bbox or pixel window instead of copying them whole."""

    non_raster: str = "copy"
    """With ``clip``: ``"copy"`` assets that are not rasters whole, or ``"skip"`` them."""

    on_collision: str = "error"
    """When two assets would be written to the same path: ``"error"`` (before
    any byte moves) or ``"rename"`` (append ``-<asset key>`` to the later one)."""

    allow_local: bool = False
    """Let the assets of items that came from the network reach local files and GDAL's
    special paths (``file://``, ``/abs/path``, ``/vsi...``, driver prefixes). Refused by
    default: see the Security page. Items read from local files are never restricted."""

    remote_items: bool = False
    """Treat every item as one that came from the network, whatever its self href (the
    command line does this for items on standard input)."""

    # stac-asset 0.4's settings. Those of clients (client_override, http_*,
    # s3_*, earthdata_token) configure the clients a call builds; see
    # stac_asset.compat.

    warn: bool = False
    """Warn (:class:`~stac_asset.errors.DownloadWarning`) for each failed asset instead of
    raising; the item is then written without them (or, with ``error_strategy=KEEP``,
    with their original hrefs). Exclusive with ``fail_fast``."""

    error_strategy: ErrorStrategy = ErrorStrategy.DELETE
    """With ``warn``: leave failed assets out of the written item, or keep them."""

    clean: bool = True
    """Always true here: a failed download never leaves a file at its path."""

    client_override: str | None = None
    """The name of the client (``"http"``, ``"s3"``, ...) to use for every asset href."""

    http_client_timeout: float | None = None
    """Seconds to wait to connect and between bytes over HTTP (clients' default: 60)."""

    http_max_attempts: int | None = None
    """Attempts in all for a failed HTTP request (clients' default: 5)."""

    http_assert_content_type: bool = False
    """Not supported (content types are not checked; ``file:*`` fields are)."""

    http_headers: dict[str, str] = field(default_factory=dict, repr=False)
    """Headers sent with every HTTP request of the plain HTTP client."""

    earthdata_token: str | None = field(default=None, repr=False)
    """The Earthdata Login token; by default ``EARTHDATA_TOKEN`` or ``EARTHDATA_PAT``."""

    s3_region_name: str | None = None
    """The S3 region; by default the bucket's (from ``storage:*`` or the bucket itself)."""

    s3_requester_pays: bool = False
    """Pay for requests to requester-pays buckets."""

    s3_retry_mode: str | None = None
    """One of ``standard``, ``legacy``, ``adaptive``; all retry with backoff and jitter."""

    s3_max_attempts: int | None = None
    """Attempts in all for a failed S3 request (the client's default: 5)."""

    s3_endpoint_url: str | None = None
    """An S3-compatible endpoint, e.g. ``http://localhost:9000``."""

    oauth2_grant: str | None = field(default_factory=lambda: _env("GRANT"))
    """An OAuth2 grant (``client_credentials``, ``password``, ``device_code``,
    ``authorization_code``) for an :class:`~stac_asset.clients.oauth2.OAuth2Client`
    whose token goes to :attr:`oauth2_hosts`. This and the other ``oauth2_*``
    fields default to stac-asset 0.4's ``OAUTH2_*`` environment variables."""

    oauth2_hosts: list[str] = field(default_factory=list)
    """Hosts the OAuth2 token is sent to (``STAC_ASSET_OAUTH2_HOSTS`` by default).

    Without any, the token goes to the host of every HTTP href a call fetches
    (never to a redirect target), as in stac-asset 0.4, with a warning."""

    oauth2_token_url: str | None = field(default_factory=lambda: _env("TOKEN_URL"))
    """The OAuth2 token endpoint."""

    oauth2_authorization_url: str | None = field(default_factory=lambda: _env("AUTHORIZATION_URL"))
    """The OAuth2 authorization endpoint (authorization code grant)."""

    oauth2_device_authorization_url: str | None = field(
        default_factory=lambda: _env("DEVICE_AUTHORIZATION_URL")
    )
    """The OAuth2 device authorization endpoint (device code grant)."""

    oauth2_client_id: str | None = field(default_factory=lambda: _env("CLIENT_ID"))
    """The OAuth2 client id."""

    oauth2_client_secret: str | None = field(
        default_factory=lambda: _env("CLIENT_SECRET"), repr=False
    )
    """The OAuth2 client secret."""

    oauth2_pkce: bool = field(
        default_factory=lambda: (_env("PKCE") or "true").lower() not in ("false", "0")
    )
    """Accepted for stac-asset 0.4: PKCE is always used with the authorization code grant."""

    oauth2_username: str | None = field(default_factory=lambda: _env("USERNAME"))
    """The resource owner's name (password grant)."""

    oauth2_password: str | None = field(default_factory=lambda: _env("PASSWORD"), repr=False)
    """The resource owner's password (password grant)."""

    oauth2_extra: dict[str, str] = field(default_factory=dict, repr=False)
    """Extra parameters of the token requests (``scope`` among them)."""

    @property
    def keep_failed(self) -> bool:
        """Whether written items keep the assets that failed (``error_strategy=KEEP``)."""
        return self.error_strategy == ErrorStrategy.KEEP

    def __post_init__(self) -> None:
        register(self.earthdata_token, self.oauth2_client_secret, self.oauth2_password)
        register(*(value for name, value in self.http_headers.items() if is_sensitive(name)))

    def copy(self) -> Config:
        """A deep copy of these settings."""
        return copy.deepcopy(self)

    def validate(self) -> None:
        """Raise a clear error for settings that contradict each other or cannot be honoured."""
        if self.include and self.exclude:
            raise CannotIncludeAndExclude(self.include, self.exclude)
        if self.warn and self.fail_fast:
            raise ConfigError("cannot warn and fail fast at the same time")
        self._validate_04()
        if self.max_concurrent_downloads < 1 or self.max_concurrent_per_host < 1:
            raise ValueError("max_concurrent_downloads and max_concurrent_per_host must be >= 1")
        if self.non_raster not in ("copy", "skip"):
            raise ValueError(f"non_raster must be 'copy' or 'skip', not {self.non_raster!r}")
        if self.on_collision not in ("error", "rename"):
            raise ValueError(f"on_collision must be 'error' or 'rename', not {self.on_collision!r}")

    def _validate_04(self) -> None:
        """Refuse the stac-asset 0.4 settings that cannot be honoured, saying why."""
        if not self.clean:
            raise ConfigError(
                "clean=False cannot be honoured: bytes go to a hidden partial file that is "
                "renamed into place only when complete, and removed if the download fails"
            )
        if self.http_assert_content_type:
            raise ConfigError(
                "http_assert_content_type=True cannot be honoured: content types are not "
                "checked (downloads are verified against file:size and file:checksum instead)"
            )
        if self.s3_retry_mode is not None and self.s3_retry_mode not in S3_RETRY_MODES:
            raise ConfigError(
                f"s3_retry_mode must be one of {', '.join(S3_RETRY_MODES)}, "
                f"not {self.s3_retry_mode!r}"
            )
        for name in ("http_max_attempts", "s3_max_attempts"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be >= 1, not {value}")
        if self.http_client_timeout is not None and self.http_client_timeout <= 0:
            raise ConfigError(f"http_client_timeout must be > 0, not {self.http_client_timeout}")

    def with_options(self, **options: Any) -> Config:
        """A copy with some fields replaced; unknown names are a clear error.

        ``bbox``, ``bbox_crs``, ``window``, ``overviews`` and ``compress`` are
        gathered into :attr:`clip`.
        """
        clip_fields = {k: options.pop(k) for k in CLIP_OPTIONS if k in options}
        if clip_fields.get("bbox") is not None or clip_fields.get("window") is not None:
            options["clip"] = Clip(**{k: v for k, v in clip_fields.items() if v is not None})
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise TypeError(f"unknown download option(s) {unknown}; known: {sorted(names)}")
        for name in ("include", "exclude", "alternate_assets", "oauth2_hosts"):
            value = options.get(name)
            if isinstance(value, str):
                options[name] = [value]
            elif isinstance(value, Sequence):
                options[name] = list(value)
        if "file_name_strategy" in options:
            options["file_name_strategy"] = FileNameStrategy(options["file_name_strategy"])
        if "error_strategy" in options:
            options["error_strategy"] = ErrorStrategy(options["error_strategy"])
        return dataclasses.replace(self, **options)


__all__ = ["Config", "ErrorStrategy", "FileNameStrategy"]
