"""Keeping secrets out of text.

Clients register every secret they handle (tokens, keys, passwords, SAS
strings); :func:`redact` replaces them wherever they would otherwise reach an
exception message, a log line or a ``repr()``. Header names and GDAL option
names that usually carry secrets are masked by name as well, so a secret that
was never registered is still hidden where it is most likely to appear.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

MASK = "***"

_lock = threading.Lock()
_secrets: set[str] = set()
# The same, longest first (so a secret containing another is masked whole); rebuilt on register.
_longest_first: tuple[str, ...] = ()

# Names (of headers, GDAL options, query parameters) whose values are secret.
_SENSITIVE_NAME = re.compile(
    r"authori[sz]ation|token|secret|password|passwd|credential|cookie|signature|"
    r"(^|[_-])key($|[_-])|access_key|api[_-]?key|subscription|sas|^sig$|bearer|"
    r"connection_string|headers$",
    re.IGNORECASE,
)


def register(*values: str | None) -> None:
    """Remember secret values so that :func:`redact` masks them from now on.

    Each is remembered as given and percent-encoded (as it appears in URLs and
    GDAL's debug output).
    """
    global _longest_first
    with _lock:
        for value in values:
            # Very short strings would mask ordinary text; no real secret is that short.
            if value and len(value) >= 6:
                _secrets.update({value, quote(value, safe=""), quote_plus(value, safe="")})
        if len(_secrets) != len(_longest_first):
            _longest_first = tuple(sorted(_secrets, key=len, reverse=True))


def is_sensitive(name: str) -> bool:
    """Whether a header, option or parameter name usually carries a secret."""
    return bool(_SENSITIVE_NAME.search(name))


# The query string of a URL inside free text (signatures, SAS tokens, codes); it
# ends before blanks, quotes and the punctuation that closes a sentence or a bracket.
_URL_QUERY = re.compile(r"((?:https?|s3|gs|az)://[^\s?#'\"<>]+)\?[^\s#'\"<>]*[^\s#'\"<>.,;:!)\]}]")

# A signed URL's secret parameter anywhere in text (e.g. GDAL's debug lines
# quoting a query without its URL): its value is masked.
_SECRET_PARAM = re.compile(
    r"(?i)\b(sig|signature|x-(?:amz|goog)-(?:signature|credential|security-token)|"
    r"access_token|refresh_token|id_token|token|api_key|apikey)=[^&\s'\"<>]+"
)


def redact(text: str) -> str:
    """Return ``text`` with registered secrets, URL queries and signature parameters masked."""
    for secret in _longest_first:  # a tuple, replaced whole: no lock needed to read it
        if secret in text:
            text = text.replace(secret, MASK)
    text = _URL_QUERY.sub(rf"\1?{MASK}", text)
    return _SECRET_PARAM.sub(rf"\1={MASK}", text)


def mask_url(url: str) -> str:
    """Hide a URL's query string and user info, which is where signatures live."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if netloc != parts.netloc:
        netloc = f"{MASK}@{netloc}"
    query = MASK if parts.query else ""
    return redact(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))


# Query parameters of signed URLs, by the parameter that marks each kind:
# Azure SAS (sig), AWS SigV4 and GCS V4 (X-Amz-/X-Goog-Signature), SigV2 and
# CloudFront (Signature). They are dropped together, so an unsigned href stays.
_SIGNED_URL_PARAMS = {
    "sig": {
        "sig",
        "se",
        "st",
        "sp",
        "spr",
        "sv",
        "sr",
        "srt",
        "ss",
        "si",
        "skoid",
        "sktid",
        "skt",
        "ske",
        "sks",
        "skv",
        "saoid",
        "suoid",
        "scid",
        "sdd",
        "ses",
    },
    "x-amz-signature": {
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-expires",
        "x-amz-signedheaders",
        "x-amz-signature",
        "x-amz-security-token",
        "x-amz-user-agent",
    },
    "x-goog-signature": {
        "x-goog-algorithm",
        "x-goog-credential",
        "x-goog-date",
        "x-goog-expires",
        "x-goog-signedheaders",
        "x-goog-signature",
    },
    "signature": {
        "signature",
        "expires",
        "awsaccesskeyid",
        "key-pair-id",
        "policy",
        "x-amz-security-token",
    },
}


def unsigned(href: str) -> str:
    """The href without the signature of a presigned URL (and without secret parameters).

    For hrefs that are written out (item JSON): ``...blob.tif?sv=...&sig=...``
    becomes ``...blob.tif``; other query parameters are kept.
    """
    if "?" not in href:
        return href  # no query (and parsing every href costs)
    parts = urlsplit(href)
    if not parts.query:
        return href
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    names = {name.lower() for name, _ in pairs}
    drop: set[str] = set()
    for marker, params in _SIGNED_URL_PARAMS.items():
        if marker in names:
            drop |= params
    kept = [(n, v) for n, v in pairs if n.lower() not in drop and not is_sensitive(n)]
    if len(kept) == len(pairs):
        return href
    return urlunsplit(parts._replace(query=urlencode(kept)))


# Values that are flags, never secrets, whatever the option's name
# (CPL_VSIL_CURL_AUTHORIZATION_HEADER_ALLOWED_IF_REDIRECT=IF_SAME_HOST).
_FLAGS = frozenset({"YES", "NO", "TRUE", "FALSE", "ON", "OFF", "IF_SAME_HOST"})


def mask_mapping(mapping: Mapping[str, str]) -> dict[str, str]:
    """Copy a mapping with the values of sensitive names masked (flags such as YES stay)."""
    return {name: _masked(name, str(value)) for name, value in mapping.items()}


def _masked(name: str, value: str) -> str:
    if is_sensitive(name) and value.upper() not in _FLAGS:
        return MASK
    return redact(value)


# Every library a download or an open can log through, by top-level logger name:
# request lines with signed query strings, GDAL's debug output (rasterio._err),
# headers. Their records (and any traceback attached) are masked when made.
LOGGERS = frozenset(
    {
        "stac_asset",
        "rasterio",
        "urllib3",
        "requests",
        "botocore",
        "boto3",
        "s3transfer",
        "azure",
        "google",
        "authlib",
        "planetary_computer",
        "pystac",
        "pystac_client",
    }
)

_make_record = logging.getLogRecordFactory()


def _masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Make a log record as before; mask it if one of :data:`LOGGERS` made it."""
    record = _make_record(*args, **kwargs)
    if record.name.partition(".")[0] in LOGGERS:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    return record


logging.setLogRecordFactory(_masked_record)
