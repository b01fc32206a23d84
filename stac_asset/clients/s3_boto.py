"""The boto3 clients of an S3 client: one per credentials, region and endpoint, kept for reuse."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import boto3
from botocore import UNSIGNED
from botocore.config import Config

from .._version import __version__
from .s3_credentials import AwsKeys

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client as Boto3S3Client

_POOL_SIZE = 64
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
        self._lock = threading.Lock()
        self._clients: OrderedDict[ClientKey, Boto3S3Client] = OrderedDict()

    def get(self, key: ClientKey) -> Boto3S3Client:
        """The client bound to ``key`` (made on first use)."""
        session = self._session()
        with self._lock:
            client = self._clients.get(key)
            if client is not None:
                self._clients.move_to_end(key)
                return client
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
            client = session.client(
                "s3",
                region_name=key.region,
                endpoint_url=key.endpoint_url,
                aws_access_key_id=keys.access_key if keys else None,
                aws_secret_access_key=keys.secret_key if keys else None,
                aws_session_token=keys.token if keys else None,
                config=config,
            )
            self._clients[key] = client
            while len(self._clients) > _MAX_CACHED_CLIENTS:
                self._clients.popitem(last=False)[1].close()
            return client

    def close(self) -> None:
        """Close the connection pools of every client."""
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for client in clients:
            client.close()
