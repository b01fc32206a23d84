"""One client per storage system or auth regime; each decides whether it takes an href."""

from __future__ import annotations

from .azure import AzureClient
from .base import ByteStream, ByteWriter, Client
from .earthdata import EarthdataClient
from .filesystem import FilesystemClient
from .gcs import GcsClient
from .http import HttpClient
from .oauth2 import OAuth2Client
from .planetary_computer import PlanetaryComputerClient
from .s3 import S3Client
from .usgs_eros import UsgsErosClient

# The order in which clients are asked whether they take an href when none is
# forced: specific ones first, the catch-all HTTP client last.
# AzureClient takes every Azure Blob href and hands the Planetary Computer's to
# its default PlanetaryComputerClient; that one, listed too, takes hrefs under an
# endpoint it was configured with.
CLIENT_CLASSES: list[type[Client]] = [
    FilesystemClient,
    OAuth2Client,
    EarthdataClient,
    UsgsErosClient,
    GcsClient,
    S3Client,
    AzureClient,
    PlanetaryComputerClient,
    HttpClient,
]


def get_client_classes() -> list[type[Client]]:
    """The client classes tried, in order, for an href when no client is given."""
    return list(CLIENT_CLASSES)


__all__ = [
    "CLIENT_CLASSES",
    "AzureClient",
    "ByteStream",
    "ByteWriter",
    "Client",
    "EarthdataClient",
    "FilesystemClient",
    "GcsClient",
    "HttpClient",
    "UsgsErosClient",
    "S3Client",
    "PlanetaryComputerClient",
    "OAuth2Client",
    "get_client_classes",
]
