"""Where an S3 href points (bucket, key, region), and the endpoint settings of both views."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ..errors import ResolveError

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


def endpoint_from_environment() -> str | None:
    """The endpoint the AWS SDKs take from the environment (``AWS_ENDPOINT_URL(_S3)``)."""
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
