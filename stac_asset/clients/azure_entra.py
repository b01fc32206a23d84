"""Microsoft Entra ID (Azure AD) sign-in for Azure Blob Storage: tokens from a TokenCredential.

Any ``azure.core`` ``TokenCredential`` gives the tokens (``azure.identity``'s
``DefaultAzureCredential``, a service principal, a managed identity...); the
token layer (:mod:`.tokens`) asks for one at a time and renews it before it
expires. The byte view sends it as ``Authorization: Bearer``, the GDAL view as
``AZURE_STORAGE_ACCESS_TOKEN``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from .._secrets import register
from .failures import mapped_errors
from .tokens import Token, Tokens

logger = logging.getLogger(__name__)

STORAGE_SCOPE = "https://storage.azure.com/.default"
"""The scope of Azure Storage tokens."""

SETTING = "STAC_ASSET_AZURE_ENTRA_ID"
"""Set to ``YES`` to sign the default Azure client in with ``DefaultAzureCredential``."""

IDENTITY_VARIABLES = (
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_USERNAME",
)
"""Variables that name a Microsoft Entra identity (service principal, workload identity...)."""


def wanted(environ: Mapping[str, str]) -> bool:
    """Whether the environment asks for Entra ID: the setting, or a variable naming an identity."""
    setting = environ.get(SETTING, "").strip().upper()
    if setting in ("NO", "FALSE", "OFF", "0"):
        return False
    return setting in ("YES", "TRUE", "ON", "1") or any(environ.get(n) for n in IDENTITY_VARIABLES)


def can_sign_in() -> bool:
    """Whether azure-identity is installed (looked up, not imported)."""
    try:
        return importlib.util.find_spec("azure.identity") is not None
    except ModuleNotFoundError:  # no azure namespace at all
        return False


def default_credential(environ: Mapping[str, str] = os.environ) -> Any:
    """``DefaultAzureCredential()`` when the environment asks for Entra ID, else None.

    Creating it does no I/O (it looks for an identity when the first token is
    asked for). Without azure-identity installed, a warning says what to install.
    """
    if not wanted(environ):
        return None
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        logger.warning(
            "azure: the environment names a Microsoft Entra identity, but azure-identity "
            "is not installed: pip install 'stac-asset[azure]'"
        )
        return None
    return DefaultAzureCredential()


class EntraTokens:
    """Storage tokens of one ``TokenCredential``, through the token layer."""

    def __init__(self, credential: Any, client: str) -> None:
        self.credential = credential
        self._client = client
        self.tokens: Tokens[str, str] = Tokens(self._fetch)

    def get(self, href: str) -> Token[str]:
        """A fresh storage token (one request for all threads)."""
        return self.tokens.get(STORAGE_SCOPE, href)

    def _fetch(self, scope: str, href: str) -> Token[str]:
        with mapped_errors(href, self._client, "Microsoft Entra ID token request"):
            access = self.credential.get_token(scope)
        register(access.token)
        return Token(access.token, datetime.fromtimestamp(access.expires_on, timezone.utc))
