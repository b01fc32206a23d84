"""One mapping of transport exceptions to stac-asset's errors, shared by every client.

libcurl (pycurl), requests, urllib3, botocore, azure-core, google-auth and Authlib each raise
their own exceptions; :func:`mapped_errors` turns them into the classes of
:mod:`stac_asset.errors` by one rule (see its table), so the same cause gives
the same class whatever the client. The optional libraries are looked up
only when an exception is not one of the always-installed ones.
"""

from __future__ import annotations

import functools
import http.client
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import botocore.exceptions
import requests
import urllib3.exceptions

from ..errors import (
    AccessDeniedError,
    AccessError,
    NotFoundError,
    TransientError,
    error_for_status,
)
from .answers import AnswerTooLargeError
from .http_curl_errors import CurlError

# S3 error codes (botocore's ClientError) that say more than the HTTP status.
_S3_NOT_FOUND = {"NoSuchKey", "NoSuchBucket", "NotFound", "NoSuchVersion", "NoSuchUpload"}
_S3_DENIED = {
    "AccessDenied",
    "AllAccessDisabled",
    "ExpiredToken",
    "InvalidAccessKeyId",
    "InvalidToken",
    "SignatureDoesNotMatch",
    "TokenRefreshRequired",
}
_S3_TRANSIENT = {
    "InternalError",
    "RequestTimeout",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
}
# OAuth2 error codes (RFC 6749 5.2, RFC 8628 3.5), as Authlib raises them.
_OAUTH_RETRY_LATER = {"server_error", "temporarily_unavailable"}
_OAUTH_DENIED = {
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "access_denied",
    "invalid_scope",
    "expired_token",
}


@contextmanager
def mapped_errors(href: str, client: str, doing: str = "request") -> Iterator[None]:
    """Raise stac-asset's error for any transport exception raised inside the block.

    ``doing`` names what failed in the message (e.g. ``"token request to
    https://..."``). Errors of :mod:`stac_asset.errors` pass through; exceptions
    no transport library raised (bugs) are not touched.
    """
    try:
        yield
    except AccessError:
        raise
    except Exception as error:
        mapped = map_exception(error, href, client, doing)
        if mapped is None:
            raise
        raise mapped from None


def map_exception(
    error: BaseException, href: str, client: str, doing: str = "request"
) -> AccessError | None:
    """The error of :mod:`stac_asset.errors` that ``error`` stands for, or None if unknown."""
    name = type(error).__name__
    too_large = next((c for c in _causes(error) if isinstance(c, AnswerTooLargeError)), None)
    if too_large is not None:
        # Wrapped by google-auth as a TransportError, which is otherwise transient.
        return AccessError(href, client, f"{doing} failed: {too_large}")
    if isinstance(error, CurlError):
        return _curl_error(error, href, client, doing)
    if isinstance(error, requests.HTTPError) and error.response is not None:
        response = error.response
        return _status(response.status_code, href, client, doing, response.headers)
    malformed = _malformed(error)
    if malformed is not None:
        # Asking again would only get the same answer.
        return AccessError(href, client, f"the server's answer is not valid HTTP ({malformed})")
    if isinstance(error, (requests.ConnectionError, requests.Timeout)):
        return TransientError(href, client, f"{doing} failed ({_connection_failure(error)})")
    if isinstance(error, requests.RequestException):
        return AccessError(href, client, f"{doing} failed: {error}")
    if isinstance(error, botocore.exceptions.ClientError):
        return _s3_error(error, href, client, doing)
    if isinstance(error, botocore.exceptions.NoCredentialsError):
        return AccessDeniedError(href, client, f"{doing} failed: {error}")
    if isinstance(
        error, (botocore.exceptions.HTTPClientError, botocore.exceptions.ConnectionError)
    ):
        return TransientError(href, client, f"{doing} failed ({_connection_failure(error)})")
    if isinstance(error, botocore.exceptions.BotoCoreError):
        return AccessError(href, client, f"{doing} failed: {error}")
    if isinstance(error, (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError)):
        return TransientError(href, client, f"{doing} failed ({name})")
    for mapper in _optional_mappers():
        mapped = mapper(error, href, client, doing)
        if mapped is not None:
            return mapped
    return None


def _connection_failure(error: Exception) -> str:
    """``connection refused by host:port`` when it was that, else the exception's name."""
    if any(isinstance(cause, ConnectionRefusedError) for cause in _causes(error)):
        request = getattr(error, "request", None)  # requests
        url = getattr(request, "url", None) or getattr(error, "kwargs", {}).get("endpoint_url")
        return _refused_by(url)
    return type(error).__name__


def _refused_by(url: str | None) -> str:
    """``connection refused by host:port`` of ``url`` (the default port if it names none)."""
    parts = urlsplit(url or "")
    if not parts.hostname:
        return "connection refused"
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return f"connection refused by {parts.hostname}:{port}"


def _curl_error(error: CurlError, href: str, client: str, doing: str) -> AccessError:
    if error.refused:
        return TransientError(href, client, f"{doing} failed ({_refused_by(error.url)})")
    if error.transient or error.kind == "SSLError":  # as requests' SSLError, a ConnectionError
        return TransientError(href, client, f"{doing} failed ({error.kind}): {error}")
    if error.malformed:
        return AccessError(href, client, f"the server's answer is not valid HTTP ({error})")
    # Anything else would only recur on asking again.
    return AccessError(href, client, f"{doing} failed: {error}")


def _malformed(error: BaseException) -> str | None:
    """The http.client parse error behind ``error``, described, if there is one.

    An over-long or malformed status or header line, too many headers, an
    unknown protocol: an answer that is not HTTP.
    """
    for cause in _causes(error):
        # RemoteDisconnected is a BadStatusLine and a ConnectionResetError: a lost connection.
        if isinstance(cause, http.client.HTTPException) and not isinstance(
            cause, (ConnectionError, http.client.IncompleteRead)
        ):
            text = str(cause)
            if len(text) > 80:
                text = text[:80] + "..."
            return f"{type(cause).__name__}: {text}" if text else type(cause).__name__
    return None


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error``, what it wraps (urllib3 and requests put the cause in ``args``), and so on."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        pending.extend(c for c in (current.__cause__, current.__context__) if c is not None)
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            pending.append(reason)


def _status(
    status: int, href: str, client: str, doing: str, headers: Mapping[str, str] | None = None
) -> AccessError | None:
    return error_for_status(status, href, client, f"{doing} failed: HTTP {status}", headers)


def s3_error_details(error: botocore.exceptions.ClientError) -> tuple[str, int | None, str]:
    """The S3 error code, HTTP status and message of a botocore ``ClientError``."""
    response: Any = error.response
    details = response.get("Error", {})
    metadata = response.get("ResponseMetadata", {})
    code = str(details.get("Code", ""))
    status = metadata.get("HTTPStatusCode")
    message = str(details.get("Message", "")).strip()
    return code, status if isinstance(status, int) else None, message


def _s3_error(
    error: botocore.exceptions.ClientError, href: str, client: str, doing: str
) -> AccessError:
    code, status, message = s3_error_details(error)
    reason = f"{doing} failed: {code or status}" + (f": {message}" if message else "")
    if code in _S3_NOT_FOUND:
        return NotFoundError(href, client, reason, status=status)
    if code in _S3_DENIED:
        return AccessDeniedError(href, client, reason, status=status)
    if code in _S3_TRANSIENT:
        return TransientError(href, client, reason, status=status)
    if status is None and code.isdigit():
        status = int(code)  # botocore's code for an answer without a body
    response: Any = error.response
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    mapped = error_for_status(status or 0, href, client, reason, headers)
    return mapped or AccessError(href, client, reason, status=status)


Mapper = Callable[[BaseException, str, str, str], "AccessError | None"]


@functools.cache
def _optional_mappers() -> tuple[Mapper, ...]:
    """The mappers of the optional libraries that are installed."""
    mappers: list[Mapper] = []
    try:
        import azure.core.exceptions  # noqa: F401
    except ImportError:
        pass
    else:
        mappers.append(_azure_error)
    try:
        import google.auth.exceptions  # noqa: F401
    except ImportError:
        pass
    else:
        mappers.append(_google_error)
    try:
        import authlib.common.errors  # noqa: F401
    except ImportError:
        pass
    else:
        mappers.append(_authlib_error)
    return tuple(mappers)


def _azure_error(error: BaseException, href: str, client: str, doing: str) -> AccessError | None:
    from azure.core import exceptions as azure

    name = type(error).__name__
    if isinstance(error, (azure.ServiceRequestError, azure.ServiceResponseError)):
        return TransientError(href, client, f"{doing} failed ({name})")
    if isinstance(error, azure.HttpResponseError):
        status = error.status_code
        error_code = getattr(error, "error_code", None)  # set by the storage SDKs
        code = f" ({error_code})" if error_code else ""
        reason = f"{doing} failed: HTTP {status}{code}"
        if status is not None:
            headers = getattr(error.response, "headers", None)
            mapped = error_for_status(status, href, client, reason, headers)
            if mapped is not None:
                return mapped
        if isinstance(error, azure.ClientAuthenticationError):
            return AccessDeniedError(href, client, f"{doing} failed: {error.message}")
        if isinstance(error, azure.ResourceNotFoundError):
            return NotFoundError(href, client, reason, status=status)
        return AccessError(href, client, reason, status=status)
    if isinstance(error, azure.ClientAuthenticationError):
        return AccessDeniedError(href, client, f"{doing} failed: {error}")
    if isinstance(error, azure.AzureError):
        return AccessError(href, client, f"{doing} failed: {error}")
    return None


def _google_error(error: BaseException, href: str, client: str, doing: str) -> AccessError | None:
    from google.auth import exceptions as google

    if isinstance(error, google.TransportError):
        return TransientError(href, client, f"{doing} failed: {error}")
    if isinstance(error, google.RefreshError):
        if getattr(error, "retryable", False):
            return TransientError(href, client, f"{doing} failed: {error}")
        return AccessDeniedError(href, client, f"{doing} refused: {error}")
    if isinstance(error, google.DefaultCredentialsError):
        return AccessDeniedError(href, client, f"{doing}: no usable credentials: {error}")
    if isinstance(error, google.GoogleAuthError):
        return AccessError(href, client, f"{doing} failed: {error}")
    return None


def _authlib_error(error: BaseException, href: str, client: str, doing: str) -> AccessError | None:
    from authlib.common.errors import AuthlibBaseError

    if not isinstance(error, AuthlibBaseError):
        return None
    code = str(error.error)
    description = getattr(error, "description", None)
    reason = f"{doing} failed: {code}" + (f" ({description})" if description else "")
    status = getattr(error, "status_code", None)
    if code in _OAUTH_RETRY_LATER:
        return TransientError(href, client, reason)
    if code in _OAUTH_DENIED:
        return AccessDeniedError(href, client, reason, status=status)
    return AccessError(href, client, reason)
