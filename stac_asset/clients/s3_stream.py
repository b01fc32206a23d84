"""S3 objects as bytes: a streamed ``get_object``, a multipart upload, a server-side copy."""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar, cast

import botocore.exceptions
import urllib3.exceptions
from boto3.s3.transfer import TransferConfig

from ..access import Access
from ..errors import AccessDeniedError, AccessError, NotFoundError, TransientError
from .base import ByteStream, ByteWriter

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef, CopySourceTypeDef

    from .s3 import S3Client

T = TypeVar("T")
# Parts of one server-side multipart copy in flight at once.
_COPY_CONCURRENCY = 4
_CHUNK = 1024 * 1024
DEFAULT_PART_SIZE = 8 * 1024 * 1024
"""Bytes per part of a multipart upload (and what a writer holds in memory)."""
MIN_PART_SIZE = 5 * 1024 * 1024
"""S3's smallest part (but for the last one)."""
MAX_PART_SIZE = 5 * 1024**3
"""S3's largest part."""
_PARTS_PER_DOUBLING = 1000


def object_size(response: Any) -> int | None:
    """The whole object's size, from a ``get_object`` response (ranged or not)."""
    content_range = response.get("ContentRange") or ""
    if "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        return int(total) if total.isdigit() else None
    length = response.get("ContentLength")
    return length if isinstance(length, int) else None


class S3Stream(ByteStream):
    """A streamed ``get_object`` body."""

    def __init__(
        self, body: StreamingBody, start: int, size: int | None, validator: str | None, href: str
    ) -> None:
        self._body = body
        self._href = href
        self.start = start
        self.size = size
        self.validator = validator

    @classmethod
    def of(cls, response: Any, start: int, href: str) -> S3Stream:
        """The stream of a ``get_object`` response whose first byte is at ``start``."""
        return cls(response["Body"], start, object_size(response), response.get("ETag"), href)

    def chunks(self) -> Iterator[bytes]:
        """Yield the body in chunks; a lost connection becomes a TransientError."""
        try:
            yield from self._body.iter_chunks(_CHUNK)
        except (botocore.exceptions.BotoCoreError, urllib3.exceptions.HTTPError, OSError) as error:
            # Whatever the library says, a body cut short is worth resuming.
            raise TransientError(
                self._href, "s3", f"connection lost mid-body ({type(error).__name__})"
            ) from None

    def close(self) -> None:
        """Release the connection."""
        self._body.close()


class S3Writer(ByteWriter):
    """An object on its way to S3: one part in memory at a time, visible only on commit.

    The first full part starts a multipart upload; an object smaller than a
    part goes up in one ``put_object`` on :meth:`commit`. Each request is
    retried with the client's policy (a part is re-sent from memory). A
    failed :meth:`write` keeps nothing of its chunk, so it can be written
    again (after the engine resumed its source). Parts double in size every
    1,000 parts, so S3's 10,000-part limit is never reached.
    """

    def __init__(self, client: S3Client, access: Access, content_type: str | None) -> None:
        assert access.bucket is not None and access.key is not None
        self._client = client
        self._access = access
        self._s3 = client._client_for(access)
        self._target: dict[str, Any] = {"Bucket": access.bucket, "Key": access.key}
        if access.extra.get("requester_pays") == "true":
            self._target["RequestPayer"] = "requester"
        content_type = content_type or mimetypes.guess_type(access.key)[0]
        self._object_args: dict[str, Any] = {"ContentType": content_type} if content_type else {}
        # As boto3's own uploads do: an end-to-end CRC32 unless checksums are turned off.
        config = self._s3.meta.config
        self._checksum = getattr(config, "request_checksum_calculation", None) == "when_supported"
        self._part_size = client.part_size
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[CompletedPartTypeDef] = []

    def _current_part_size(self) -> int:
        grown = self._part_size << (len(self._parts) // _PARTS_PER_DOUBLING)
        return min(grown, MAX_PART_SIZE)

    def write(self, chunk: bytes) -> None:
        """Buffer ``chunk``; every full part is uploaded at once."""
        buffer, kept, parts = self._buffer, len(self._buffer), len(self._parts)
        try:
            view = memoryview(chunk)
            while view:
                part_size = self._current_part_size()
                room = part_size - len(self._buffer)
                self._buffer += view[:room]
                view = view[room:]
                if len(self._buffer) >= part_size:
                    self._upload_part()
        except BaseException:
            # Back to the state before this chunk (a part number uploaded again is replaced).
            self._buffer, self._parts = buffer[:kept], self._parts[:parts]
            raise

    def _upload_part(self) -> None:
        if self._upload_id is None:
            extra: dict[str, Any] = {"ChecksumAlgorithm": "CRC32"} if self._checksum else {}
            created = self._call(
                "s3:PutObject",
                lambda: self._s3.create_multipart_upload(
                    **self._target, **self._object_args, **extra
                ),
            )
            self._upload_id = created["UploadId"]
        # botocore sends a bytearray as it is (its stubs say bytes): no copy of the part.
        body = cast(bytes, self._buffer)
        self._buffer = bytearray()
        number = len(self._parts) + 1
        upload_id = self._upload_id
        response = self._call(
            "s3:PutObject",
            lambda: self._s3.upload_part(
                **self._target, UploadId=upload_id, PartNumber=number, Body=body
            ),
        )
        part: CompletedPartTypeDef = {"PartNumber": number, "ETag": response["ETag"]}
        if "ChecksumCRC32" in response:
            part["ChecksumCRC32"] = response["ChecksumCRC32"]
        self._parts.append(part)

    def _call(self, action: str, request: Callable[[], T]) -> T:
        return self._client.request(self._access, action, request, retried=True)

    def restart(self) -> None:
        """Drop the buffered bytes and the uploaded parts (the upload is aborted)."""
        self.abort()

    def commit(self) -> None:
        """Upload what is left and complete the upload (or put the small object)."""
        if self._upload_id is None:
            body = bytes(self._buffer)
            self._call(
                "s3:PutObject",
                lambda: self._s3.put_object(**self._target, **self._object_args, Body=body),
            )
            self._buffer = bytearray()
            return
        if self._buffer:
            self._upload_part()
        upload_id, parts = self._upload_id, self._parts
        self._call(
            "s3:PutObject",
            lambda: self._s3.complete_multipart_upload(
                **self._target, UploadId=upload_id, MultipartUpload={"Parts": parts}
            ),
        )
        self._upload_id, self._parts = None, []

    def abort(self) -> None:
        """Abort the multipart upload, if any; nothing appears at the key."""
        self._buffer = bytearray()
        self._parts = []
        upload_id, self._upload_id = self._upload_id, None
        if upload_id is None:
            return
        try:
            self._call(
                "s3:AbortMultipartUpload",
                lambda: self._s3.abort_multipart_upload(**self._target, UploadId=upload_id),
            )
        except AccessError as error:
            # Raising here would hide the error that made us abort.
            logger.warning(
                "could not abort multipart upload %s of %s: %s", upload_id, self._access.href, error
            )


def copy_object(client: S3Client, source: Access, target: Access) -> bool:
    """Copy ``source`` to ``target`` inside the store, signed with the target's credentials.

    Large objects are copied part by part (``upload_part_copy``); returns
    False when the store refuses the copy or finds no source.
    """
    assert source.bucket is not None and source.key is not None
    assert target.bucket is not None and target.key is not None
    bucket, key = target.bucket, target.key
    s3 = client._client_for(target)
    extra: dict[str, Any] = {}
    if "true" in (source.extra.get("requester_pays"), target.extra.get("requester_pays")):
        extra["RequestPayer"] = "requester"
    config = TransferConfig(
        multipart_threshold=client.part_size,
        multipart_chunksize=client.part_size,
        max_concurrency=_COPY_CONCURRENCY,
    )
    copy_source: CopySourceTypeDef = {"Bucket": source.bucket, "Key": source.key}

    def copy() -> None:
        s3.copy(copy_source, bucket, key, ExtraArgs=extra, Config=config)

    try:
        client.request(target, "s3:GetObject on the source or s3:PutObject", copy, retried=True)
    except AccessDeniedError as error:
        logger.info("server-side copy refused (%s); streaming instead", error)
        return False
    except NotFoundError:
        # Which of the two is missing? The streamed copy's errors say it precisely.
        return False
    return True
