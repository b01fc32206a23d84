"""The AWS credentials an S3 client signs with: static keys as they are, temporary ones as tokens.

Credentials come from a boto3 session (its standard chain) and are looked up
once. Static keys never expire: they are read as they are. Temporary
credentials (assumed roles, SSO, container or instance metadata,
``credential_process``: botocore's ``RefreshableCredentials``) go through the
token layer (:mod:`.tokens`): frozen once for every thread, renewed shortly
before they expire, and, when S3 answers that they expired or are invalid
(``ExpiredToken``, ``InvalidToken``, ``TokenRefreshRequired``,
``InvalidAccessKeyId``), forgotten and renewed once. A refusal for lack of a
permission (``AccessDenied``) renews nothing: new credentials would not have it
either.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import boto3
import botocore.exceptions
from botocore.credentials import CachedCredentialFetcher, RefreshableCredentials

from .._secrets import register
from ..errors import AccessDeniedError, AccessError
from ..retry import RetryPolicy, call_with_retries
from .failures import map_exception
from .tokens import Token, TokenIn, Tokens

# S3's refusals of temporary credentials that renewing them can cure: code and message
# (GDAL reports the message alone, and no status: ExpiredToken is a 400).
_EXPIRED = {
    "ExpiredToken": "The provided token has expired",
    "InvalidToken": "The provided token is malformed or otherwise invalid",
    "TokenRefreshRequired": "The provided token must be refreshed",
    "InvalidAccessKeyId": "The AWS Access Key Id you provided does not exist in our records",
}

_KEY = "aws"  # one set of credentials per client: one key in its token layer


@dataclass(frozen=True, repr=False)
class AwsKeys:
    """Frozen AWS credentials: the key id, its secret, and the session token of temporary ones."""

    access_key: str
    secret_key: str
    token: str | None = None

    def __repr__(self) -> str:
        return f"AwsKeys(access_key={self.access_key!r}, secret_key='***', token='***')"


class AwsCredentials:
    """The credentials of one S3 client, looked up once from its session.

    Args:
        session: Gives the boto3 session (created when first needed).
        client: The client's name, for messages.
        retry: How a failed credentials request is retried.

    """

    def __init__(
        self, session: Callable[[], boto3.Session], client: str, retry: RetryPolicy
    ) -> None:
        self._session = session
        self._client = client
        self._retry = retry
        self._lock = threading.Lock()
        self._looked_up = False
        self._source: Any = None
        self._last: AwsKeys | None = None
        self.tokens: Tokens[str, AwsKeys] = Tokens(self._fetch)

    def source(self) -> Any:
        """The session's credentials object, or None if it has none.

        Looked up once: with none configured, the chain probes instance
        metadata each time.
        """
        session = self._session()
        with self._lock:
            if not self._looked_up:
                self._source = session.get_credentials()
                self._looked_up = True
            return self._source

    def current(self, href: str) -> tuple[AwsKeys, datetime | None] | None:
        """The credentials to sign ``href``'s requests with and their expiry, or None if none.

        Temporary credentials come from the token layer (fetched once for all
        threads, renewed before they expire); static keys as they are.
        """
        source = self.source()
        if source is None:
            return None
        if isinstance(source, RefreshableCredentials):
            token = self.tokens.get(_KEY, href)
            return token.value, token.expires_at
        keys = _frozen(source, href, self._client)
        return None if keys is None else (keys, None)

    def _fetch(self, key: str, href: str) -> Token[AwsKeys]:
        source = self._source

        def attempt() -> AwsKeys | None:
            keys = _frozen(source, href, self._client)
            if keys is not None and keys == self._last:
                # Asked to renew what botocore still holds as valid (S3 refused it).
                keys = _frozen(source, href, self._client, force=True)
            return keys

        keys = call_with_retries(attempt, self._retry)
        if keys is None:
            raise AccessDeniedError(href, self._client, "the AWS credentials came back empty")
        self._last = keys
        return Token(keys, _expiry(source))

    def token_in(self, options: dict[str, str]) -> TokenIn | None:
        """Where the temporary credentials in these GDAL options live, if they are ours."""
        if not isinstance(self._source, RefreshableCredentials):
            return None
        keys = keys_in(options)
        return None if keys is None else TokenIn(self.tokens, _KEY, keys)

    def refused(self, options: dict[str, str], error: AccessDeniedError) -> None:
        """S3 refused these credentials: if it said they expired or are invalid, renew them once."""
        found = self.token_in(options)
        if found is not None and says_expired(error.reason):
            self.tokens.refused(_KEY, found.value, error)

    def accepted(self, options: dict[str, str]) -> None:
        """S3 accepted these credentials: a later refusal renews them again."""
        if self.token_in(options) is not None:
            self.tokens.accepted(_KEY)


def says_expired(text: str) -> bool:
    """Whether an S3 refusal says the credentials expired or are no longer valid.

    ``text`` names S3's error code, or gives its message (as GDAL tells it).
    """
    return any(code in text or message in text for code, message in _EXPIRED.items())


def keys_in(options: dict[str, str]) -> AwsKeys | None:
    """The credentials GDAL options sign with, or None for unsigned requests."""
    access_key = options.get("AWS_ACCESS_KEY_ID")
    secret_key = options.get("AWS_SECRET_ACCESS_KEY")
    if options.get("AWS_NO_SIGN_REQUEST") == "YES" or not access_key or not secret_key:
        return None
    return AwsKeys(access_key, secret_key, options.get("AWS_SESSION_TOKEN"))


def _frozen(source: Any, href: str, client: str, force: bool = False) -> AwsKeys | None:
    """``source``'s credentials now (after a forced refresh, with ``force``), or None if empty."""
    try:
        if force:
            _force_refresh(source)
        frozen = source.get_frozen_credentials()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        kind = type(map_exception(error, href, client) or AccessError(href, "", ""))
        raise kind(href, client, f"could not get AWS credentials: {error}") from None
    except RuntimeError as error:  # botocore: "refreshed credentials are still expired"
        raise AccessDeniedError(href, client, f"could not get AWS credentials: {error}") from None
    if not frozen.access_key or not frozen.secret_key:
        return None
    register(frozen.secret_key, frozen.token)
    return AwsKeys(frozen.access_key, frozen.secret_key, frozen.token or None)


# botocore refreshes temporary credentials on its own schedule only, and says
# when they expire only in private attributes: these two functions are the one
# place that reaches into it.


def _expiry(source: Any) -> datetime | None:
    expiry = getattr(source, "_expiry_time", None)
    return expiry if isinstance(expiry, datetime) else None


def _force_refresh(source: Any) -> None:
    """Make botocore fetch new temporary credentials now, though it holds them as valid."""
    if not isinstance(source, RefreshableCredentials):
        return
    source = cast(Any, source)
    fetcher: Any = getattr(source._refresh_using, "__self__", None)
    if isinstance(fetcher, CachedCredentialFetcher):
        # The assume-role fetcher keeps its answer until 15 minutes before expiry.
        fetcher = cast(Any, fetcher)
        if fetcher._cache_key in fetcher._cache:
            del fetcher._cache[fetcher._cache_key]
    with source._refresh_lock:
        source._protected_refresh(is_mandatory=True)
