"""Why S3 refused a request, in words that say what to do (region, credentials, payer)."""

from __future__ import annotations

from typing import Any

import botocore.exceptions

from ..access import Access
from ..errors import AccessDeniedError, AccessError, NotFoundError
from .failures import map_exception, s3_error_details

NAME = "s3"
NO_CREDENTIALS = "no credentials found"
"""``Access.extra["signing"]`` when no credentials were found (requests go unsigned)."""
ANONYMOUS = "anonymous"
"""``Access.extra["signing"]`` with ``S3Client(anonymous=True)``."""
_WRONG_REGION = {
    "AuthorizationHeaderMalformed",
    "IllegalLocationConstraintException",
    "PermanentRedirect",
    "TemporaryRedirect",
    "301",
    "307",
}
_HOW_TO_SIGN = (
    "provide AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, "
    "~/.aws/credentials, or S3Client(session=boto3.Session(...)))"
)


def access_error(
    access: Access, error: botocore.exceptions.ClientError, action: str = "s3:GetObject"
) -> AccessError:
    """The error to raise for a failed request, with a hint where one helps."""
    code, status, message = s3_error_details(error)
    reason = f"{code or status}: {message}" if message else f"{code or status}"
    if code == "NoSuchBucket":
        return NotFoundError(access.href, NAME, f"no such bucket {access.bucket!r}", status=status)
    if code in _WRONG_REGION or status in (301, 307):
        response: Any = error.response
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        actual = headers.get("x-amz-bucket-region") or response.get("Error", {}).get("Region")
        region = access.extra.get("region")
        found = f" but the bucket is in {actual}" if actual else ""
        return AccessError(
            access.href,
            NAME,
            f"{reason}; the request was sent to region {region}{found}: set the item's "
            "storage:region or S3Client(region=...)",
            status=status,
        )
    mapped = map_exception(error, access.href, NAME, action)
    assert mapped is not None, "a ClientError always maps"
    if isinstance(mapped, NotFoundError):
        where = f"s3://{access.bucket}/{access.key}"
        return NotFoundError(access.href, NAME, f"no such key: {where}", status=status)
    if isinstance(mapped, AccessDeniedError):
        hint = _denied_hint(access, action)
        return AccessDeniedError(access.href, NAME, f"{reason}; {hint}", status=status)
    return mapped


def _denied_hint(access: Access, action: str) -> str:
    signing = access.extra.get("signing")
    if signing == NO_CREDENTIALS:
        return (
            "no AWS credentials were found, so the request was unsigned and only public "
            f"objects can be read; {_HOW_TO_SIGN}"
        )
    if signing == ANONYMOUS:
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
