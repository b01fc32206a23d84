"""Exceptions raised by stac-asset, and the one mapping of HTTP statuses to them.

Every message is passed through the secret registry before it is stored, so
no token, key or signature reaches a traceback, a log line or a terminal.

Every client reports a failed request with the same class for the same
cause (:func:`error_for_status` for statuses; transport exceptions go
through :func:`stac_asset.clients.failures.mapped_errors`):

=============================================  ==================================
cause                                          class
=============================================  ==================================
connection refused or lost, timeout            :class:`TransientError`
HTTP 408, 429, 5xx                             :class:`TransientError`
HTTP 401, 403                                  :class:`AccessDeniedError`
HTTP 404, 410                                  :class:`NotFoundError`
any other HTTP 4xx                             :class:`AccessError`
=============================================  ==================================
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import pystac

from ._secrets import mask_url, redact


class StacAssetError(Exception):
    """Base class of every error raised by stac-asset (catch it to catch them all)."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


class ResolveError(StacAssetError, ValueError):
    """An href cannot be resolved: unknown scheme, malformed href, or no client takes it."""


class LocalHrefError(ResolveError):
    """An item that came from the network names a local file or a special GDAL path.

    Raised before any byte is read, for an asset href of a remote item (read
    from a URL, or declared remote) that is a local path, a ``file:`` URL, a
    ``/vsi...`` path or a GDAL driver prefix, unless ``allow_local=True``
    (``--allow-local``). See the Security page of the documentation.
    """

    def __init__(
        self, href: str, reason: str, *, item: str | None = None, key: str | None = None
    ) -> None:
        self.href = mask_url(href)
        self.reason = reason
        self.item = item
        self.key = key
        where = ", ".join(
            part
            for part in (
                f"item {item!r}" if item is not None else "",
                f"asset {key!r}" if key is not None else "",
            )
            if part
        )
        super().__init__(
            f"{where + ': ' if where else ''}href {self.href!r} refused: the item came from "
            f"the network, and {reason}; if you trust the item, pass allow_local=True "
            "(--allow-local on the command line)"
        )


class AssetKeyError(StacAssetError, LookupError):
    """An asset key is not on the item; the message lists the keys it has."""


class NotAnItemError(StacAssetError, ValueError):
    """An href or object is not a STAC item (or item collection) where one was expected."""


class AccessError(StacAssetError):
    """A request to a storage system failed; names the href and the client.

    Raised as such for failures that are neither transient, nor a refusal,
    nor a missing object: HTTP 400 and other 4xx statuses, malformed answers,
    too many redirects, a client that cannot write.
    """

    def __init__(
        self,
        href: str,
        client: str,
        reason: str,
        *,
        status: int | None = None,
    ) -> None:
        self.href = mask_url(href)
        self.client = client
        self.status = status
        self.reason = redact(reason)
        super().__init__(f"{client}: {self.href}: {self.reason}")


class NotFoundError(AccessError, FileNotFoundError):
    """The object does not exist (HTTP 404 or 410, S3 NoSuchKey, a missing file or container)."""


class AccessDeniedError(AccessError, PermissionError):
    """The storage system (or a token endpoint) refused the request: HTTP 401 or 403.

    Credentials are missing, wrong, expired, or lack a permission; the message
    says which credentials were sent and how to give others.
    """


class TransientError(AccessError):
    """A failure worth retrying: refused or lost connection, timeout, HTTP 408, 429 or 5xx.

    ``retry_after`` is the server's ``Retry-After`` in seconds, when it sent one.
    """

    def __init__(
        self,
        href: str,
        client: str,
        reason: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(href, client, reason, status=status)
        self.retry_after = retry_after


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (seconds or an HTTP date), if any."""
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def error_for_status(
    status: int,
    href: str,
    client: str,
    reason: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> AccessError | None:
    """The error an HTTP ``status`` stands for, or None below 400 (see the module's table).

    ``reason`` defaults to ``HTTP <status>``; ``headers`` give ``Retry-After``.
    """
    if status < 400:
        return None
    reason = reason or f"HTTP {status}"
    if status in (404, 410):
        return NotFoundError(href, client, reason, status=status)
    if status in (401, 403):
        return AccessDeniedError(href, client, reason, status=status)
    if status in (408, 429) or status >= 500:
        wait = retry_after(headers) if headers is not None else None
        return TransientError(href, client, reason, status=status, retry_after=wait)
    return AccessError(href, client, reason, status=status)


class Cancelled(StacAssetError):
    """A transfer was cancelled: another asset failed with ``fail_fast``, or Ctrl-C."""


class VerificationError(StacAssetError):
    """A downloaded file does not match the item's ``file:size`` or ``file:checksum``."""


class UnsafePathError(StacAssetError, ValueError):
    """A destination path built from untrusted input would leave the destination directory."""


class ConfigError(StacAssetError, ValueError):
    """Download settings that contradict each other or cannot be honoured."""


class CannotIncludeAndExclude(ConfigError):
    """``include`` and ``exclude`` were both given."""

    def __init__(self, include: Sequence[str], exclude: Sequence[str]) -> None:
        super().__init__(
            f"include and exclude are mutually exclusive (include={list(include)}, "
            f"exclude={list(exclude)})"
        )


class TemplateError(StacAssetError, ValueError):
    """A path template names a value the item does not have (raised when laying out files)."""


class ClipError(StacAssetError, ValueError):
    """A bbox or window misses the raster, or the clip cannot be written (windowed copies)."""


class OptionsConflictError(StacAssetError, ValueError):
    """Two assets need GDAL options that cannot hold at once (the error names both hrefs)."""


class AssetOverwriteError(StacAssetError, ValueError):
    """Two assets would be written to the same path."""


class ContentTypeError(StacAssetError):
    """A server's content type is not the one the asset declares (stac-asset 0.4's name).

    Kept so that code written for stac-asset 0.4 can still catch it; content
    types are not checked any more, so it is never raised.
    """

    def __init__(self, actual: str, expected: str) -> None:
        self.actual = actual
        self.expected = expected
        super().__init__(
            f"the actual content type does not match the expected: actual={actual}, "
            f"expected={expected}"
        )


@dataclass(frozen=True)
class AssetFailure:
    """One asset that could not be downloaded."""

    item_id: str | None
    key: str
    href: str
    error: BaseException

    def __str__(self) -> str:
        where = f"{self.item_id}/{self.key}" if self.item_id else self.key
        return redact(f"{where} ({mask_url(self.href)}): {self.error}")

    def __repr__(self) -> str:
        return (
            f"AssetFailure(item_id={self.item_id!r}, key={self.key!r}, "
            f"href={mask_url(self.href)!r}, error={redact(repr(self.error))})"
        )


class DownloadError(StacAssetError):
    """One or more assets failed to download; ``failures`` lists each with its reason."""

    item: pystac.Item | None = None
    """For :func:`~stac_asset.download_item`: the item as far as it was downloaded."""

    item_collection: pystac.ItemCollection | None = None
    """For :func:`~stac_asset.download_item_collection`: the items as far as downloaded."""

    collection: pystac.Collection | None = None
    """For :func:`~stac_asset.download_collection`: the collection as far as downloaded."""

    def __init__(self, failures: Sequence[AssetFailure]) -> None:
        self.failures = list(failures)
        lines = "\n".join(f"  - {failure}" for failure in self.failures)
        super().__init__(f"{len(self.failures)} asset(s) failed to download:\n{lines}")

    @property
    def exceptions(self) -> list[BaseException]:
        """The error of each failed asset, as stac-asset 0.4's ``DownloadError`` had them."""
        return [failure.error for failure in self.failures]


class DirectoryNotFoundError(DownloadError, FileNotFoundError):
    """The destination directory does not exist, and ``make_directory=False``.

    Raised before any byte moves; a :class:`DownloadError` (and a
    :class:`FileNotFoundError`), as stac-asset 0.4 raised for it.
    """

    def __init__(self, directory: str) -> None:
        self.failures = []
        StacAssetError.__init__(
            self, f"destination directory {directory} does not exist (make_directory=False)"
        )

    @property
    def exceptions(self) -> list[BaseException]:
        """The error itself: no asset was tried."""
        return [self]


class DownloadWarning(Warning):
    """An asset failed while failures only warn (``Config(warn=True)``); ``failure`` says which."""

    def __init__(self, failure: AssetFailure) -> None:
        super().__init__(str(failure))
        self.failure = failure
