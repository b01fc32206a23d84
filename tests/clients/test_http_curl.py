"""libcurl as the byte view's sender: only http(s), whatever URL reaches it."""

from __future__ import annotations

from pathlib import Path

import pycurl
import pytest

from stac_asset.clients import http_curl
from stac_asset.clients.http_curl_errors import CurlError
from stac_asset.clients.http_curl_options import Settings


def test_only_http_and_https_reach_libcurl(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("canary")
    settings = Settings(timeout=5, proxy=None, verify=True, cert=None)
    with pytest.raises(CurlError) as info:
        http_curl.get(http_curl.Pool(), "file", secret.as_uri(), [], settings)
    # Refused before the file is opened, not read and then found not to be HTTP.
    assert info.value.code == pycurl.E_UNSUPPORTED_PROTOCOL
    assert info.value.malformed  # not retried: it would never become HTTP
    assert "canary" not in str(info.value)
