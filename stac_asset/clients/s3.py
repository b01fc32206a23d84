"""Amazon S3 and S3-compatible stores (MinIO, Ceph): ``s3://`` hrefs and AWS S3 URLs.

The GDAL view is ``/vsis3/bucket/key`` with the credentials, region,
endpoint and request payer in GDAL options; the byte view is a boto3
``get_object`` with the same settings. Both views sign with the credentials
carried in the access's GDAL options, so an access is self-contained (it can
be pickled to another process) while its ``extra`` holds nothing secret.

As a destination, an object is written by a multipart upload holding one
part in memory at a time (a single ``put_object`` for small objects), and
copied server-side when the source is on the same endpoint.
"""

from __future__ import annotations

import mimetypes
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast
from urllib.parse import unquote, urlsplit

import boto3
import botocore.exceptions
import pystac
import urllib3.exceptions
from boto3.s3.transfer import TransferConfig
from botocore import UNSIGNED
from botocore.config import Config
from botocore.credentials import RefreshableCredentials

from .. import gdal
from .._secrets import logger, register
from .._version import __version__
from ..access import Access
from ..errors import AccessDeniedError, AccessError, NotFoundError, ResolveError, TransientError
from ..retry import RetryPolicy, call_with_retries
from ..storage import storage_info
from .base import ByteStream, ByteWriter, Client, decided_per_directory
from .environment import PROXY_AND_CA, home_file
from .failures import map_exception, s3_error_details

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client as Boto3S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef, CopySourceTypeDef

_CHUNK = 1024 * 1024
_POOL_SIZE = 64
DEFAULT_PART_SIZE = 8 * 1024 * 1024
"""Bytes per part of a multipart upload (and what a writer holds in memory)."""
MIN_PART_SIZE = 5 * 1024 * 1024
"""S3's smallest part (but for the last one)."""
MAX_PART_SIZE = 5 * 1024**3
"""S3's largest part."""
_PARTS_PER_DOUBLING = 1000
# Parts of one server-side multipart copy in flight at once.
_COPY_CONCURRENCY = 4
T = TypeVar("T")
_MAX_CACHED_CLIENTS = 32
DEFAULT_REGION = "us-east-1"
# Read a COG's whole header in the first GET (GDAL's default of 16 KiB often
# falls short by a few bytes, which costs a second request).
_INGESTED_BYTES_AT_OPEN = "65536"

# A region name such as us-east-1, eu-central-1 or us-gov-west-1.
_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d+"
# AWS S3 REST endpoints: s3.amazonaws.com, s3.<region>.amazonaws.com, the legacy
# s3-<region> form and dualstack, each either path-style or with a bucket in front.
_AWS_HOST = re.compile(
    rf"^(?:(?P<bucket>.+)\.)?s3(?:[.-](?:dualstack\.)?(?P<region>{_REGION}))?"
    r"\.amazonaws\.com(?:\.cn)?$"
)
# Bucket names S3 (and S3-compatible stores) accept, loosely.
_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$")

_WRONG_REGION = {
    "AuthorizationHeaderMalformed",
    "IllegalLocationConstraintException",
    "PermanentRedirect",
    "TemporaryRedirect",
    "301",
    "307",
}

_NO_CREDENTIALS = "no credentials found"
_ANONYMOUS = "anonymous"
_HOW_TO_SIGN = (
    "provide AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, "
    "~/.aws/credentials, or S3Client(session=boto3.Session(...)))"
)


@dataclass(frozen=True)
class S3Location:
    """Where an S3 href points: a bucket, a key, and the region its URL names (if any)."""

    bucket: str
    key: str
    region: str | None = None


def _checked(href: str, bucket: str, key: str, region: str | None = None) -> S3Location:
    if not bucket:
        raise ResolveError(f"s3: {href!r} names no bucket; an S3 href is s3://bucket/key")
    if not _BUCKET.match(bucket):
        raise ResolveError(f"s3: {href!r}: {bucket!r} is not a valid bucket name")
    if not key or key.endswith("/"):
        raise ResolveError(
            f"s3: {href!r} names no object (an empty key or a prefix); "
            "an S3 href is s3://bucket/key"
        )
    return S3Location(bucket, key, region)


def parse_s3_href(href: str, endpoint_url: str | None = None) -> S3Location | None:
    """The bucket and key of an S3 href, ``None`` if it is not one.

    Takes ``s3://bucket/key``, AWS URLs (``https://bucket.s3.<region>.amazonaws.com/key``,
    ``https://bucket.s3.amazonaws.com/key``, ``https://s3.<region>.amazonaws.com/bucket/key``)
    and path-style URLs on ``endpoint_url``. URLs with a query string (presigned
    URLs) are left to the HTTP client. Raises :class:`~stac_asset.errors.ResolveError`
    for an S3 href without a bucket or a key.
    """
    if href[:5].lower() == "s3://":
        bucket, _, key = href[5:].partition("/")
        return _checked(href, bucket, key)
    parts = urlsplit(href)
    if parts.scheme not in ("http", "https") or parts.query or not parts.hostname:
        return None
    path = unquote(parts.path).lstrip("/")
    if endpoint_url is not None:
        endpoint = urlsplit(endpoint_url)
        prefix = endpoint.path.strip("/")
        if (parts.scheme, parts.netloc.lower()) == (endpoint.scheme, endpoint.netloc.lower()) and (
            not prefix or path.startswith(f"{prefix}/")
        ):
            bucket, _, key = path[len(prefix) :].lstrip("/").partition("/")
            return _checked(href, bucket, key)
    match = _AWS_HOST.match(parts.hostname)
    if match is None:
        return None
    if match["bucket"]:
        return _checked(href, match["bucket"], path, match["region"])
    bucket, _, key = path.partition("/")
    return _checked(href, bucket, key, match["region"])


def _endpoint_from_environment() -> str | None:
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return None
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def gdal_endpoint_options(endpoint_url: str) -> dict[str, str]:
    """GDAL options that send ``/vsis3/`` to a custom endpoint, path-style."""
    parts = urlsplit(endpoint_url)
    return {
        "AWS_S3_ENDPOINT": parts.netloc + parts.path.rstrip("/"),
        "AWS_HTTPS": "YES" if parts.scheme == "https" else "NO",
        "AWS_VIRTUAL_HOSTING": "FALSE",
    }


class _ClientKey(NamedTuple):
    """What a boto3 client is bound to; never shown (it holds the secret key)."""

    access_key: str | None
    secret_key: str | None
    token: str | None
    region: str
    endpoint_url: str | None


def _size(response: Any) -> int | None:
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

    def chunks(self) -> Iterator[bytes]:
        """Yield the body in chunks; a lost connection becomes a TransientError."""
        try:
            yield from self._body.iter_chunks(_CHUNK)
        except (botocore.exceptions.BotoCoreError, urllib3.exceptions.HTTPError, OSError) as error:
            # Whatever the library says, a body cut short is worth resuming.
            raise TransientError(
                self._href, S3Client.name, f"connection lost mid-body ({type(error).__name__})"
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


class S3Client(Client):
    """Amazon S3 and S3-compatible object stores, through boto3 and GDAL's ``/vsis3/``.

    Credentials come from the standard boto3 chain (environment variables,
    ``AWS_PROFILE``, the config and credentials files, SSO, assumed roles,
    instance metadata) or from the ``session`` handed in; they are looked up
    once per client, and temporary ones are refreshed whenever an href is
    resolved. With no credentials found, requests go unsigned (public
    buckets).

    Args:
        session: The :class:`boto3.Session` whose credentials and region are used.
        anonymous: Send unsigned requests even when credentials exist, so
            credentials meant for private buckets are never sent to public data.
        region: The region for buckets whose item does not name one
            (``storage:region``); by default the session's, else ``us-east-1``.
        requester_pays: Agree to pay for requests to requester-pays buckets
            (otherwise only items whose ``storage:requester_pays`` is true are).
        endpoint_url: An S3-compatible endpoint such as ``http://localhost:9000``
            (MinIO); by default ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``.
            Path-style URLs on this endpoint are taken as S3 hrefs too.
        timeout: Seconds to wait to connect and between bytes.
        retry: How transient failures are retried.
        part_size: Bytes per part when uploading (at least 5 MiB): what a
            writer holds in memory.

    """

    name = "s3"
    environment = (*PROXY_AND_CA, "AWS_*")

    @classmethod
    def environment_files(cls) -> list[str]:
        """The shared credentials and config files of the AWS SDKs."""
        return [
            home_file("AWS_SHARED_CREDENTIALS_FILE", ".aws", "credentials"),
            home_file("AWS_CONFIG_FILE", ".aws", "config"),
        ]

    def __init__(
        self,
        session: boto3.Session | None = None,
        *,
        anonymous: bool = False,
        region: str | None = None,
        requester_pays: bool = False,
        endpoint_url: str | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        part_size: int = DEFAULT_PART_SIZE,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum)")
        self.part_size = part_size
        self._session = session
        self.anonymous = anonymous
        self.region = region
        self.requester_pays = requester_pays
        self.endpoint_url = (endpoint_url or _endpoint_from_environment() or "").rstrip("/") or None
        if self.endpoint_url is not None:
            parts = urlsplit(self.endpoint_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(
                    f"endpoint_url must be an http(s) URL such as http://localhost:9000, "
                    f"not {self.endpoint_url!r}"
                )
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._lock = threading.Lock()
        self._credentials_looked_up = False
        self._credentials: Any = None
        self._clients: OrderedDict[_ClientKey, Boto3S3Client] = OrderedDict()

    @decided_per_directory
    def matches(self, href: str) -> bool:
        """Whether ``href`` is ``s3://...``, an AWS S3 URL, or a URL on this client's endpoint."""
        try:
            return parse_s3_href(href, self.endpoint_url) is not None
        except ResolveError:
            return True  # ours, but malformed: resolve says why

    @property
    def session(self) -> boto3.Session:
        """The boto3 session whose credentials and region are used (created when first needed)."""
        with self._lock:
            if self._session is None:
                self._session = boto3.Session()
            return self._session

    def _lookup_credentials(self) -> Any:
        # Looked up once: with none configured, the chain probes instance metadata each time.
        session = self.session
        with self._lock:
            if not self._credentials_looked_up:
                self._credentials = session.get_credentials()
                self._credentials_looked_up = True
            return self._credentials

    def _sign(self, options: dict[str, str], extra: dict[str, str]) -> datetime | None:
        """Put the credentials (or the unsigned flag) into ``options``; return their expiry."""
        source = None if self.anonymous else self._lookup_credentials()
        frozen = source.get_frozen_credentials() if source is not None else None
        if frozen is None or not frozen.access_key or not frozen.secret_key:
            options["AWS_NO_SIGN_REQUEST"] = "YES"
            extra["signing"] = _ANONYMOUS if self.anonymous else _NO_CREDENTIALS
            return None
        register(frozen.secret_key, frozen.token)
        options.update(
            AWS_NO_SIGN_REQUEST="NO",
            AWS_ACCESS_KEY_ID=frozen.access_key,
            AWS_SECRET_ACCESS_KEY=frozen.secret_key,
        )
        if frozen.token:
            options["AWS_SESSION_TOKEN"] = frozen.token
        extra["signing"] = str(getattr(source, "method", None) or "credentials")
        # Temporary credentials (assumed roles, SSO, ...): the engine re-resolves before this.
        expiry = getattr(source, "_expiry_time", None)
        if isinstance(source, RefreshableCredentials) and isinstance(expiry, datetime):
            return expiry
        return None

    def resolve(self, href: str, asset: pystac.Asset | None = None) -> Access:
        """Resolve to ``/vsis3/bucket/key``, with the credentials, region and payer for both views.

        The region is the one the href's URL names, else the item's
        (``storage:region`` or its ``storage:schemes``), else this client's,
        else the session's (``AWS_DEFAULT_REGION``, the profile's), else
        ``AWS_REGION``, else ``us-east-1``.
        """
        location = parse_s3_href(href, self.endpoint_url)
        if location is None:
            raise ResolveError(f"{self.name}: not an S3 href: {href}")
        info = storage_info(asset, location.bucket)
        options = gdal.network_options(self.timeout, self.retry.max_attempts)
        options["GDAL_INGESTED_BYTES_AT_OPEN"] = _INGESTED_BYTES_AT_OPEN
        extra: dict[str, str] = {}
        try:
            region = (
                location.region
                or info.region
                or self.region
                or self.session.region_name
                or os.environ.get("AWS_REGION")
                or DEFAULT_REGION
            )
            expires_at = self._sign(options, extra)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
            kind = type(map_exception(error, href, self.name) or AccessError(href, "", ""))
            raise kind(href, self.name, f"could not get AWS credentials: {error}") from None
        options["AWS_REGION"] = extra["region"] = region
        if self.endpoint_url is not None:
            options.update(gdal_endpoint_options(self.endpoint_url))
            extra["endpoint_url"] = self.endpoint_url
        else:
            # Pinned, so a stray AWS_S3_ENDPOINT for GDAL cannot part the two views.
            options.update(AWS_S3_ENDPOINT="s3.amazonaws.com", AWS_HTTPS="YES")
        if self.requester_pays or info.requester_pays:
            options["AWS_REQUEST_PAYER"] = "requester"
            extra["requester_pays"] = "true"
        return Access(
            href=href,
            client=self.name,
            vsi_path=f"/vsis3/{location.bucket}/{location.key}",
            gdal_options=options,
            bucket=location.bucket,
            key=location.key,
            extra=extra,
            expires_at=expires_at,
        )

    def _boto3_client(self, key: _ClientKey) -> Boto3S3Client:
        """The boto3 client bound to ``key``'s credentials, region and endpoint (cached)."""
        session = self.session
        with self._lock:
            client = self._clients.get(key)
            if client is not None:
                self._clients.move_to_end(key)
                return client
            config = Config(
                connect_timeout=min(self.timeout, 30.0),
                read_timeout=self.timeout,
                # The engine retries (and resumes) with self.retry; botocore must not multiply it.
                retries={"mode": "standard", "total_max_attempts": 1},
                max_pool_connections=_POOL_SIZE,
                user_agent_extra=f"stac-asset/{__version__}",
                s3={"addressing_style": "path"} if key.endpoint_url else None,
            )
            if key.access_key is None:
                config = config.merge(Config(signature_version=UNSIGNED))
            client = session.client(
                "s3",
                region_name=key.region,
                endpoint_url=key.endpoint_url,
                aws_access_key_id=key.access_key,
                aws_secret_access_key=key.secret_key,
                aws_session_token=key.token,
                config=config,
            )
            self._clients[key] = client
            while len(self._clients) > _MAX_CACHED_CLIENTS:
                self._clients.popitem(last=False)[1].close()
            return client

    def _client_for(self, access: Access) -> Boto3S3Client:
        options = access.gdal_options
        signed = options.get("AWS_NO_SIGN_REQUEST") != "YES"
        return self._boto3_client(
            _ClientKey(
                access_key=options.get("AWS_ACCESS_KEY_ID") if signed else None,
                secret_key=options.get("AWS_SECRET_ACCESS_KEY") if signed else None,
                token=options.get("AWS_SESSION_TOKEN") if signed else None,
                region=access.extra.get("region") or DEFAULT_REGION,
                endpoint_url=access.extra.get("endpoint_url"),
            )
        )

    def open_stream(
        self, access: Access, start: int = 0, validator: str | None = None
    ) -> ByteStream:
        """``get_object`` from ``start`` (a Range request guarded by ``If-Match``).

        If the object changed since ``validator`` was taken, the read starts
        again from offset 0.
        """
        if access.bucket is None or access.key is None:
            raise ResolveError(f"{self.name}: {access.href} was not resolved by an S3 client")
        params: dict[str, Any] = {"Bucket": access.bucket, "Key": access.key}
        if access.extra.get("requester_pays") == "true":
            params["RequestPayer"] = "requester"
        client = self._client_for(access)
        ranged = dict(params)
        if start:
            ranged["Range"] = f"bytes={start}-"
            if validator:
                ranged["IfMatch"] = validator
        try:
            try:
                response = client.get_object(**ranged)
            except botocore.exceptions.ClientError as error:
                if not start or s3_error_details(error)[0] not in ("PreconditionFailed", "412"):
                    raise
                # The object changed since the first bytes were read: start over.
                start = 0
                response = client.get_object(**params)
        except botocore.exceptions.ClientError as error:
            raise self._access_error(access, error) from None
        except botocore.exceptions.BotoCoreError as error:
            raise map_exception(error, access.href, self.name) or error from None
        return S3Stream(response["Body"], start, _size(response), response.get("ETag"), access.href)

    def request(
        self, access: Access, action: str, call: Callable[[], T], *, retried: bool = False
    ) -> T:
        """Make one boto3 call for ``access``, its failures mapped to our errors.

        ``action`` names the S3 action in a refusal's hint; with ``retried``,
        transient failures are retried with this client's policy.
        """

        def attempt() -> T:
            try:
                return call()
            except botocore.exceptions.ClientError as error:
                raise self._access_error(access, error, action) from None
            except botocore.exceptions.BotoCoreError as error:
                raise map_exception(error, access.href, self.name, action) or error from None

        return call_with_retries(attempt, self.retry) if retried else attempt()

    def _check_target(self, access: Access) -> tuple[str, str]:
        if access.bucket is None or access.key is None or access.client != self.name:
            raise ResolveError(f"{self.name}: {access.href} was not resolved by an S3 client")
        return access.bucket, access.key

    def open_writer(self, access: Access, content_type: str | None = None) -> ByteWriter:
        """Start writing the object at ``access``: see :class:`S3Writer`.

        Signs with the same credentials, region and endpoint as reads.
        """
        self._check_target(access)
        return S3Writer(self, access, content_type)

    def size_of(self, access: Access) -> int | None:
        """The object's size (``head_object``), or None if there is no such object."""
        bucket, key = self._check_target(access)
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if access.extra.get("requester_pays") == "true":
            params["RequestPayer"] = "requester"
        client = self._client_for(access)
        try:
            response = self.request(
                access, "s3:GetObject", lambda: client.head_object(**params), retried=True
            )
        except NotFoundError:
            return None
        return response["ContentLength"]

    def copy_from(self, source: Access, source_client: Client, target: Access) -> bool:
        """Copy server-side when ``source`` is an S3 object on this target's endpoint.

        The copy is signed with the target's credentials (which must be able
        to read the source); when the store refuses it (or finds no source),
        returns False so that the bytes are streamed instead, read with the
        source's credentials.
        Large objects are copied part by part (``upload_part_copy``).
        """
        bucket, key = self._check_target(target)
        if (
            not isinstance(source_client, S3Client)
            or source.client != self.name
            or source.bucket is None
            or source.key is None
            or source.extra.get("endpoint_url") != target.extra.get("endpoint_url")
        ):
            return False
        client = self._client_for(target)
        extra: dict[str, Any] = {}
        if "true" in (source.extra.get("requester_pays"), target.extra.get("requester_pays")):
            extra["RequestPayer"] = "requester"
        config = TransferConfig(
            multipart_threshold=self.part_size,
            multipart_chunksize=self.part_size,
            max_concurrency=_COPY_CONCURRENCY,
        )
        copy_source: CopySourceTypeDef = {"Bucket": source.bucket, "Key": source.key}

        def copy() -> None:
            client.copy(copy_source, bucket, key, ExtraArgs=extra, Config=config)

        try:
            self.request(target, "s3:GetObject on the source or s3:PutObject", copy, retried=True)
        except AccessDeniedError as error:
            logger.info("server-side copy refused (%s); streaming instead", error)
            return False
        except NotFoundError:
            # Which of the two is missing? The streamed copy's errors say it precisely.
            return False
        return True

    def _access_error(
        self, access: Access, error: botocore.exceptions.ClientError, action: str = "s3:GetObject"
    ) -> AccessError:
        """The error to raise for a failed request, with a hint where one helps."""
        code, status, message = s3_error_details(error)
        reason = f"{code or status}: {message}" if message else f"{code or status}"
        if code == "NoSuchBucket":
            return NotFoundError(
                access.href, self.name, f"no such bucket {access.bucket!r}", status=status
            )
        if code in _WRONG_REGION or status in (301, 307):
            response: Any = error.response
            headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
            actual = headers.get("x-amz-bucket-region") or response.get("Error", {}).get("Region")
            region = access.extra.get("region")
            found = f" but the bucket is in {actual}" if actual else ""
            return AccessError(
                access.href,
                self.name,
                f"{reason}; the request was sent to region {region}{found}: set the item's "
                "storage:region or S3Client(region=...)",
                status=status,
            )
        mapped = map_exception(error, access.href, self.name, action)
        assert mapped is not None, "a ClientError always maps"
        if isinstance(mapped, NotFoundError):
            where = f"s3://{access.bucket}/{access.key}"
            return NotFoundError(access.href, self.name, f"no such key: {where}", status=status)
        if isinstance(mapped, AccessDeniedError):
            hint = self._denied_hint(access, action)
            return AccessDeniedError(access.href, self.name, f"{reason}; {hint}", status=status)
        return mapped

    def _denied_hint(self, access: Access, action: str) -> str:
        signing = access.extra.get("signing")
        if signing == _NO_CREDENTIALS:
            return (
                "no AWS credentials were found, so the request was unsigned and only public "
                f"objects can be read; {_HOW_TO_SIGN}"
            )
        if signing == _ANONYMOUS:
            return (
                "S3Client(anonymous=True) sends unsigned requests, which only public objects "
                "allow; use S3Client() to sign with your credentials"
            )
        hint = f"the credentials (from {signing}) were refused or lack {action}"
        if access.extra.get("requester_pays") != "true":
            hint += (
                "; if the bucket is requester-pays, use S3Client(requester_pays=True) "
                "or set the item's storage:requester_pays"
            )
        return hint

    def close(self) -> None:
        """Close the connection pools of the boto3 clients."""
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for client in clients:
            client.close()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(anonymous={self.anonymous!r}, region={self.region!r}, "
            f"requester_pays={self.requester_pays!r}, endpoint_url={self.endpoint_url!r}, "
            f"timeout={self.timeout!r})"
        )
