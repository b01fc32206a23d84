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
from urllib.parse import urlsplit, urlunsplit

MASK = "***"

_lock = threading.Lock()
_secrets: set[str] = set()

# Names (of headers, GDAL options, query parameters) whose values are secret.
_SENSITIVE_NAME = re.compile(
    r"authori[sz]ation|token|secret|password|passwd|credential|cookie|signature|"
    r"(^|[_-])key($|[_-])|access_key|api[_-]?key|subscription|sas|^sig$|bearer|"
    r"connection_string|headers$",
    re.IGNORECASE,
)


def register(*values: str | None) -> None:
    """Remember secret values so that :func:`redact` masks them from now on."""
    with _lock:
        for value in values:
            # Very short strings would mask ordinary text; no real secret is that short.
            if value and len(value) >= 6:
                _secrets.add(value)


def is_sensitive(name: str) -> bool:
    """Whether a header, option or parameter name usually carries a secret."""
    return bool(_SENSITIVE_NAME.search(name))


# The query string of a URL inside free text (signatures, SAS tokens, codes).
_URL_QUERY = re.compile(r"((?:https?|s3|gs|az)://[^\s?#'\"]+)\?[^\s#'\"]+")


def redact(text: str) -> str:
    """Return ``text`` with registered secrets and URL query strings replaced by ``***``."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return _URL_QUERY.sub(rf"\1?{MASK}", text)


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


def mask_mapping(mapping: Mapping[str, str]) -> dict[str, str]:
    """Copy a mapping with the values of sensitive names masked."""
    return {
        name: MASK if is_sensitive(name) else redact(str(value)) for name, value in mapping.items()
    }


class RedactingFilter(logging.Filter):
    """A logging filter that masks registered secrets in every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with secrets masked; never drops a record."""
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


logger = logging.getLogger("stac_asset")
logger.addFilter(RedactingFilter())

# Libraries below us log request lines (with signed query strings) at DEBUG level.
for _name in ("urllib3.connectionpool", "rasterio._env"):
    logging.getLogger(_name).addFilter(RedactingFilter())
