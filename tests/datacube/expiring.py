"""A client whose credential expires: a header read from a token file the HTTP peer serves."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pystac
import requests

from stac_asset import Access, HttpClient


class TokenFileClient(HttpClient):
    """Sends ``X-Key: <the token file's text>``, a token that expires ``lifetime`` seconds later.

    Each resolve fetches the token again, as a client of a real token API
    would once its token is about to expire.
    """

    def __init__(self, token_url: str, lifetime: float) -> None:
        super().__init__()
        self.token_url = token_url
        self.lifetime = lifetime

    def resolve(self, href: str, asset: pystac.Asset | None = None) -> Access:
        token = requests.get(self.token_url, timeout=5).text.strip()
        access = self.access_for_url(href, href, {"X-Key": token})
        expires_at = datetime.now(timezone.utc) + timedelta(seconds=self.lifetime)
        return replace(access, expires_at=expires_at)
