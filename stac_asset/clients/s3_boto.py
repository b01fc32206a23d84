"""The boto3 clients of an S3 client: one per credentials, region and endpoint, kept for reuse."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import boto3
from botocore import UNSIGNED
from botocore.config import Config

from .._version import __version__
from ..config import DEFAULT_MAX_CONCURRENT_PER_HOST
from ..kept import Kept
from .s3_credentials import AwsKeys

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client as Boto3S3Client

_POOL_SIZE = DEFAULT_MAX_CONCURRENT_PER_HOST  # botocore warns when it lets one more go
_MAX_CACHED_CLIENTS = 32


class ClientKey(NamedTuple):
    """What a boto3 client is bound to: its credentials (None: unsigned), region and endpoint."""

    keys: AwsKeys | None
    region: str
    endpoint_url: str | None


class Boto3Clients:
    """boto3 S3 clients made from ``session()``, the last :data:`_MAX_CACHED_CLIENTS` kept.

    Each has ``timeout`` for connecting (at most 30 s) and reading, no retries
    of its own (the engine retries and resumes), and a pool of
    :data:`_POOL_SIZE` connections. Thread-safe.
    """

    def __init__(self, session: Callable[[], boto3.Session], timeout: float) -> None:
        self._session = session
        self._timeout = timeout
        self._clients: Kept[ClientKey, Boto3S3Client] = Kept(
            _MAX_CACHED_CLIENTS, drop=lambda client: client.close()
        )

    def get(self, key: ClientKey) -> Boto3S3Client:
        """The client bound to ``key`` (made on first use)."""
        session = self._session()
        return self._clients.get(key, lambda: self._new(session, key))

    def _new(self, session: boto3.Session, key: ClientKey) -> Boto3S3Client:
        config = Config(
            connect_timeout=min(self._timeout, 30.0),
            read_timeout=self._timeout,
            # The engine retries (and resumes) with self.retry; botocore must not multiply it.
            retries={"mode": "standard", "total_max_attempts": 1},
            max_pool_connections=_POOL_SIZE,
            user_agent_extra=f"stac-asset/{__version__}",
            s3={"addressing_style": "path"} if key.endpoint_url else None,
        )
        keys = key.keys
        if keys is None:
            config = config.merge(Config(signature_version=UNSIGNED))
        return session.client(
            "s3",
            region_name=key.region,
            endpoint_url=key.endpoint_url,
            aws_access_key_id=keys.access_key if keys else None,
            aws_secret_access_key=keys.secret_key if keys else None,
            aws_session_token=keys.token if keys else None,
            config=config,
        )

    def close(self) -> None:
        """Close the connection pools of every client."""
        for client in self._clients.take_all():
            client.close()
