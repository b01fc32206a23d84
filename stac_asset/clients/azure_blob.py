"""Azure Blob Storage through its SDK: key-signed SAS, block uploads and server-side copies.

``azure-storage-blob`` (``pip install 'stac-asset[azure]'``) signs with the
account key (SharedKey requests and SAS tokens), uploads blocks and copies
blobs server-side; none of that is written here. Reading anonymously, with a
SAS or with a Planetary Computer token needs no SDK: those are plain HTTP
GETs of the blob URL (see :mod:`.azure`), so the SDK is an optional extra.
"""

from __future__ import annotations

import base64
import functools
import logging
import mimetypes
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ..access import Access
from ..errors import AccessDeniedError, AccessError, NotFoundError
from ..retry import call_with_retries
from .azure_hints import denial_hint
from .base import ByteWriter
from .failures import map_exception

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient

    from .azure import AzureClient
    from .azure_location import BlobLocation

T = TypeVar("T")

MAX_BLOCK_SIZE = 4000 * 1024 * 1024
"""The largest block of the Blob service (versions 2019-12-12 and later)."""
_BLOCKS_PER_DOUBLING = 5000
_COPY_POLL_LIMIT = 600.0  # seconds to wait for an asynchronous copy
NEEDS_SDK = (
    "needs azure-storage-blob: pip install 'stac-asset[azure]' (reading public "
    "containers, with a SAS or from the Planetary Computer does not)"
)


def _sdk() -> Any:
    try:
        import azure.storage.blob
    except ImportError:
        return None
    return azure.storage.blob


@functools.cache
def sdk_version(fallback: str = "2022-11-02") -> str:
    """The Blob service version the SDK speaks (``fallback`` without the SDK).

    Sent as ``x-ms-version`` with bearer tokens, which need a recent version.
    """
    sdk = _sdk()
    if sdk is None:
        return fallback
    version: str = sdk.BlobServiceClient("https://account.blob.core.windows.net").api_version
    return version


def sign_blob_sas(
    location: BlobLocation,
    account_key: str,
    expiry: datetime,
    start: datetime,
    permissions: str = "r",
) -> str:
    """A service SAS for one blob, signed with the account key by the SDK (read-only by default).

    ``permissions`` in Azure's order, e.g. ``"r"`` or ``"cw"`` (create, write).
    """
    sdk = _sdk()
    if sdk is None:
        raise AccessError(location.url, "azure", f"an account key {NEEDS_SDK}")
    sas: str = sdk.generate_blob_sas(
        location.account,
        location.container,
        location.blob,
        account_key=account_key,
        permission=sdk.BlobSasPermissions.from_string(permissions),
        expiry=expiry,
        start=start,
    )
    return sas


def _credential(client: AzureClient, access: Access) -> Any:
    """The SDK credential for the blob of ``access``: key, Entra ID, its SAS, or none."""
    key = access.gdal_options.get("AZURE_STORAGE_ACCESS_KEY")
    if key:
        return {"account_name": access.extra["account"], "account_key": key}
    if access.gdal_options.get("AZURE_STORAGE_ACCESS_TOKEN"):
        return client.entra_credential
    return (access.url or "").partition("?")[2] or None


def blob_client(client: AzureClient, access: Access, what: str) -> BlobClient:
    """The SDK's client for the blob of ``access``, with its credential, our timeouts and pool.

    The SDK does not retry: :func:`blob_call` does, as every client does.
    """
    sdk = _sdk()
    if sdk is None:
        raise AccessError(access.href, client.name, f"{what} {NEEDS_SDK}")
    from azure.core.pipeline.transport import RequestsTransport

    assert access.url is not None
    base = access.url.partition("?")[0]
    return sdk.BlobClient.from_blob_url(  # type: ignore[no-any-return]
        base,
        credential=_credential(client, access),
        retry_total=0,
        connection_timeout=client.timeout,
        read_timeout=client.timeout,
        # The transport passes its own certificate setting with every request: the session's.
        transport=RequestsTransport(
            session=client.session, session_owner=False, connection_verify=client.session.verify
        ),
    )


def blob_call(
    client: AzureClient, access: Access, what: str, call: Callable[[], T], *, writing: bool = False
) -> T:
    """Make one SDK call about the blob of ``access``, retried, failures mapped to our errors.

    ``writing`` chooses the hint given when the request is refused.
    """

    def attempt() -> T:
        try:
            return call()
        except Exception as error:
            mapped = map_exception(error, access.href, client.name, what)
            if mapped is None:
                raise
            code = getattr(error, "error_code", None)
            if isinstance(mapped, AccessDeniedError):
                reason = f"{mapped.reason}: {denial_hint(access, writing=writing)}"
                mapped = AccessDeniedError(access.href, client.name, reason, status=mapped.status)
            elif isinstance(mapped, NotFoundError) and code == "ContainerNotFound":
                reason = f"no such container {access.bucket!r}"
                mapped = NotFoundError(access.href, client.name, reason, status=mapped.status)
            raise mapped from None

    return call_with_retries(attempt, client.retry)


class AzureWriter(ByteWriter):
    """A block blob on its way up: one block in memory at a time, visible only on commit.

    Every full block is staged (Put Block); :meth:`commit` stages the last one
    and commits the block list (or uploads the whole blob at once when it is
    smaller than a block). Blocks never committed are discarded by the
    service, so :meth:`abort` just forgets them. A failed :meth:`write` keeps
    nothing of its chunk, so it can be written again. Blocks double in size
    every 5,000 blocks, so the 50,000-block limit is never reached.
    """

    def __init__(self, client: AzureClient, access: Access, content_type: str | None) -> None:
        assert access.key is not None
        self._client = client
        self._access = access
        self._blob = blob_client(client, access, "writing")
        self._content_type = (
            content_type or mimetypes.guess_type(access.key)[0] or "application/octet-stream"
        )
        self._block_size = client.block_size
        # Block ids of one blob must all have the same length, uncommitted ones of
        # an earlier attempt included: a fixed-length, unique prefix ensures it.
        self._prefix = uuid.uuid4().hex
        self._buffer = bytearray()
        self._blocks: list[str] = []

    def write(self, chunk: bytes) -> None:
        """Buffer ``chunk``; every full block is staged at once."""
        buffer, kept, blocks = self._buffer, len(self._buffer), len(self._blocks)
        try:
            view = memoryview(chunk)
            while view:
                grown = self._block_size << (len(self._blocks) // _BLOCKS_PER_DOUBLING)
                block_size = min(grown, MAX_BLOCK_SIZE)
                room = block_size - len(self._buffer)
                self._buffer += view[:room]
                view = view[room:]
                if len(self._buffer) >= block_size:
                    self._stage_block()
        except BaseException:
            # Back to the state before this chunk (a block id staged again is replaced).
            self._buffer, self._blocks = buffer[:kept], self._blocks[:blocks]
            raise

    def _call(self, what: str, call: Callable[[], T]) -> T:
        return blob_call(self._client, self._access, what, call, writing=True)

    def _stage_block(self) -> None:
        block_id = base64.b64encode(f"{self._prefix}-{len(self._blocks):06d}".encode()).decode()
        body = bytes(self._buffer)
        self._buffer = bytearray()
        self._call("Put Block", lambda: self._blob.stage_block(block_id, body, length=len(body)))
        self._blocks.append(block_id)

    def restart(self) -> None:
        """Forget the buffered bytes and the blocks staged (never committed, they are dropped)."""
        self._buffer = bytearray()
        self._blocks = []

    def commit(self) -> None:
        """Stage what is left and commit the block list (or upload the small blob whole)."""
        sdk = _sdk()
        settings = sdk.ContentSettings(content_type=self._content_type)
        if not self._blocks:
            body = bytes(self._buffer)
            self._call(
                "Put Blob",
                lambda: self._blob.upload_blob(body, overwrite=True, content_settings=settings),
            )
        else:
            if self._buffer:
                self._stage_block()
            blocks = [sdk.BlobBlock(block_id=block) for block in self._blocks]
            self._call(
                "Put Block List",
                lambda: self._blob.commit_block_list(blocks, content_settings=settings),
            )
        self.restart()

    def abort(self) -> None:
        """Give up: nothing was committed, so nothing appears."""
        self.restart()


def size_of(client: AzureClient, access: Access) -> int | None:
    """The blob's size (Get Blob Properties), or None if there is no such blob."""
    blob = blob_client(client, access, "checking a blob")
    try:
        properties = blob_call(client, access, "Get Blob Properties", blob.get_blob_properties)
    except NotFoundError:
        return None
    size: int = properties.size
    return size


def copy_blob(client: AzureClient, source_url: str, target: Access) -> bool:
    """Copy ``source_url`` (readable as it is) to the blob of ``target`` inside the service.

    Returns whether the copy succeeded; a copy that stays pending too long is aborted.
    """
    blob = blob_client(client, target, "copying")
    started = blob_call(
        client, target, "Copy Blob", lambda: blob.start_copy_from_url(source_url), writing=True
    )
    status, copy_id = started.get("copy_status"), str(started.get("copy_id") or "")
    deadline = time.monotonic() + _COPY_POLL_LIMIT
    delay = 0.1
    while status == "pending" and time.monotonic() < deadline:
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
        properties = blob_call(client, target, "Get Blob Properties", blob.get_blob_properties)
        status = properties.copy.status
    if status == "pending":
        try:
            blob_call(client, target, "Abort Copy Blob", lambda: blob.abort_copy(copy_id))
        except AccessError as error:
            logger.warning("could not abort the copy to %s: %s", target.href, error)
        status = "aborted"
    if status != "success":
        logger.warning("Copy Blob to %s ended %s; streaming instead", target.href, status)
    return status == "success"
