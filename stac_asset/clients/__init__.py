"""One client per storage system or auth regime; each decides whether it takes an href."""

from __future__ import annotations

from .base import ByteStream, Client
from .filesystem import FilesystemClient
from .http import HttpClient
from .oauth2 import OAuth2Client

# The order in which clients are asked whether they take an href when none is
# forced: specific ones first, the catch-all HTTP client last.
CLIENT_CLASSES: list[type[Client]] = [
    FilesystemClient,
    OAuth2Client,
    HttpClient,
]


def get_client_classes() -> list[type[Client]]:
    """The client classes tried, in order, for an href when no client is given."""
    return list(CLIENT_CLASSES)


__all__ = [
    "CLIENT_CLASSES",
    "ByteStream",
    "Client",
    "FilesystemClient",
    "HttpClient",
    "OAuth2Client",
    "get_client_classes",
]
