"""Amazon S3 and S3-compatible stores (MinIO, Ceph): ``s3://`` hrefs and AWS S3 URLs.

The GDAL view is ``/vsis3/bucket/key`` with the credentials, region,
endpoint and request payer in GDAL options; the byte view is a boto3
``get_object`` with the same settings. Both views sign with the credentials
carried in the access's GDAL options, so an access is self-contained (it can
be pickled to another process) while its ``extra`` holds nothing secret.

As a destination, an object is written by a multipart upload (one part in
memory at a time), and copied server-side on the same endpoint.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import boto3
import botocore.exceptions
import pystac

from .. import gdal
from ..access import Access
from ..errors import AccessDeniedError, AccessError, NotFoundError, ResolveError
from ..retry import RetryPolicy, call_with_retries
from ..storage import storage_info
from .base import ByteStream, ByteWriter, Client, decided_per_directory
from .environment import PROXY_AND_CA, home_file
from .failures import map_exception, s3_error_details
from .s3_boto import Boto3Clients, ClientKey
from .s3_credentials import AwsCredentials, keys_in, says_expired
from .s3_errors import ANONYMOUS, NO_CREDENTIALS, access_error
from .s3_location import endpoint_from_environment, gdal_endpoint_options, parse_s3_href
from .s3_stream import DEFAULT_PART_SIZE, MIN_PART_SIZE, S3Stream, S3Writer, copy_object

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client as Boto3S3Client

T = TypeVar("T")
DEFAULT_REGION = "us-east-1"
# Read a COG's whole header in the first GET (GDAL's default of 16 KiB often
# falls short by a few bytes, which costs a second request).
_INGESTED_BYTES_AT_OPEN = "65536"


class S3Client(Client):
    """Amazon S3 and S3-compatible object stores, through boto3 and GDAL's ``/vsis3/``.

    Credentials come from the standard boto3 chain (environment variables,
    ``AWS_PROFILE``, the config and credentials files, SSO, assumed roles,
    instance metadata) or from the ``session`` handed in; they are looked up
    once per client. Temporary ones go through the token layer
    (:mod:`stac_asset.clients.s3_credentials`): one set for every thread,
    renewed before they expire, and renewed once when S3 says they expired.
    With no credentials found, requests go unsigned (public buckets).

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
        self.endpoint_url = (endpoint_url or endpoint_from_environment() or "").rstrip("/") or None
        if self.endpoint_url is not None:
            parts = urlsplit(self.endpoint_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(
                    f"endpoint_url must be an http(s) URL such as http://localhost:9000, "
                    f"not {self.endpoint_url!r}"
                )
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._own_session = session is None
        self._start()

    def _start(self) -> None:
        """Make the lock, credentials and boto3 clients of this process (anew in a worker)."""
        self._lock = threading.Lock()
        self._credentials = AwsCredentials(lambda: self.session, self.name, self.retry)
        self._clients = Boto3Clients(lambda: self.session, self.timeout)

    def _shipped_state(self) -> dict[str, object]:
        if not self._own_session:
            raise TypeError(
                "an S3Client made with a boto3 session cannot go to another process; "
                "give it region=/endpoint_url= and the worker's environment the credentials"
            )
        kept = {
            k: v for k, v in super()._shipped_state().items() if k not in ("_lock", "_credentials")
        }
        return {**kept, "_session": None, "_clients": None}

    def _arrived(self) -> None:
        self._start()

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

    def _sign(self, href: str, options: dict[str, str], extra: dict[str, str]) -> datetime | None:
        """Put the credentials (or the unsigned flag) into ``options``; return their expiry."""
        found = None if self.anonymous else self._credentials.current(href)
        if found is None:
            options["AWS_NO_SIGN_REQUEST"] = "YES"
            extra["signing"] = ANONYMOUS if self.anonymous else NO_CREDENTIALS
            return None
        keys, expires_at = found
        options.update(
            AWS_NO_SIGN_REQUEST="NO",
            AWS_ACCESS_KEY_ID=keys.access_key,
            AWS_SECRET_ACCESS_KEY=keys.secret_key,
        )
        if keys.token:
            options["AWS_SESSION_TOKEN"] = keys.token
        extra["signing"] = str(getattr(self._credentials.source(), "method", None) or "credentials")
        return expires_at

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
            expires_at = self._sign(href, options, extra)
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
        if expires_at is not None:
            # GDAL caches a refusal per path, whatever credentials come next: don't cache.
            options["CPL_VSIL_CURL_NON_CACHED"] = f"/vsis3/{location.bucket}/"
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

    def _client_for(self, access: Access) -> Boto3S3Client:
        return self._clients.get(
            ClientKey(
                keys=keys_in(access.gdal_options),
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
            raise self._refusal(access, access_error(access, error)) from None
        except botocore.exceptions.BotoCoreError as error:
            raise map_exception(error, access.href, self.name) or error from None
        self._credentials.accepted(access.gdal_options)
        return S3Stream.of(response, start, access.href)

    def _refusal(self, access: Access, error: AccessError) -> AccessError:
        """``error``, after telling the credentials layer if S3 refused the credentials."""
        if isinstance(error, AccessDeniedError):
            self.refused(access, error)
        return error

    def gdal_refusal(self, message: str) -> bool:
        """Whether GDAL's ``message`` gives S3's words for expired or invalid credentials."""
        return says_expired(message)

    def refused(self, access: Access, error: AccessDeniedError) -> None:
        """Forget the temporary credentials ``access`` signs with, if S3 said they expired."""
        self._credentials.refused(access.gdal_options, error)

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
                raise self._refusal(access, access_error(access, error, action)) from None
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
        self._check_target(target)
        if (
            not isinstance(source_client, S3Client)
            or source.client != self.name
            or source.bucket is None
            or source.key is None
            or source.extra.get("endpoint_url") != target.extra.get("endpoint_url")
        ):
            return False
        return copy_object(self, source, target)

    def close(self) -> None:
        """Close the connection pools of the boto3 clients."""
        self._clients.close()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(anonymous={self.anonymous!r}, region={self.region!r}, "
            f"requester_pays={self.requester_pays!r}, endpoint_url={self.endpoint_url!r}, "
            f"timeout={self.timeout!r})"
        )
