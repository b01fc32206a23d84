"""The OAuth2 peer follows the RFCs, so the client tests prove something (raw HTTP, no client)."""

from __future__ import annotations

import base64
import hashlib
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from tests.oauth2 import server
from tests.oauth2.peer import OAuth2Peer

CONFIDENTIAL = (server.CONFIDENTIAL_ID, server.CONFIDENTIAL_SECRET)


def token(peer: OAuth2Peer, auth: Any = None, **form: str) -> requests.Response:
    return requests.post(peer.token_url, data=form, auth=auth, timeout=10)


def challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_client_authentication(oauth: OAuth2Peer) -> None:
    ok = token(oauth, CONFIDENTIAL, grant_type="client_credentials")
    assert ok.status_code == 200 and ok.headers["Cache-Control"] == "no-store"
    body = ok.json()
    assert body["token_type"] == "Bearer" and "refresh_token" not in body  # RFC 6749 4.4.3
    post = token(
        oauth,
        grant_type="client_credentials",
        client_id=server.CONFIDENTIAL_ID,
        client_secret=server.CONFIDENTIAL_SECRET,
    )
    assert post.status_code == 200
    wrong = token(oauth, (server.CONFIDENTIAL_ID, "nope"), grant_type="client_credentials")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    public = token(oauth, grant_type="client_credentials", client_id=server.PUBLIC_ID)
    assert public.json()["error"] == "unauthorized_client"
    both = token(oauth, CONFIDENTIAL, grant_type="client_credentials", client_secret="x" * 8)
    assert both.json()["error"] == "invalid_request"
    assert token(oauth, CONFIDENTIAL, grant_type="magic").json()["error"] == (
        "unsupported_grant_type"
    )
    scope = token(oauth, CONFIDENTIAL, grant_type="client_credentials", scope="admin")
    assert scope.json()["error"] == "invalid_scope"


def test_password_and_rotating_refresh(oauth: OAuth2Peer) -> None:
    public = {"client_id": server.PUBLIC_ID}
    bad = token(oauth, grant_type="password", username="alice", password="guess", **public)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    first = token(
        oauth,
        grant_type="password",
        username=server.USERNAME,
        password=server.ALICE_PASSWORD,
        **public,
    ).json()
    second = token(
        oauth, grant_type="refresh_token", refresh_token=first["refresh_token"], **public
    ).json()
    assert second["access_token"] != first["access_token"]
    reused = token(
        oauth, grant_type="refresh_token", refresh_token=first["refresh_token"], **public
    )
    assert reused.json()["error"] == "invalid_grant"


def test_authorization_code_with_pkce(oauth: OAuth2Peer) -> None:
    verifier = "v" * 50
    redirect = "http://127.0.0.1:1/callback"
    query = {
        "response_type": "code",
        "client_id": server.PUBLIC_ID,
        "redirect_uri": redirect,
        "state": "st4te",
        "code_challenge": challenge(verifier),
        "code_challenge_method": "S256",
    }

    def authorize(**changes: str) -> dict[str, list[str]]:
        response = requests.get(
            oauth.authorization_url,
            params={**query, **changes},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302
        location = response.headers["Location"]
        assert location.startswith(redirect)
        return parse_qs(urlsplit(location).query)

    assert authorize(code_challenge_method="plain")["error"] == ["invalid_request"]
    reply = authorize()
    assert reply["state"] == ["st4te"]
    code = reply["code"][0]
    exchange = {
        "grant_type": "authorization_code",
        "client_id": server.PUBLIC_ID,
        "redirect_uri": redirect,
        "code": code,
    }
    wrong = token(oauth, **exchange, code_verifier="w" * 50)
    assert wrong.json() == {
        "error": "invalid_grant",
        "error_description": "PKCE verification failed",
    }
    # The failed attempt used the code up (single use), so a new one is needed.
    code = authorize()["code"][0]
    assert token(oauth, **{**exchange, "code": code}, code_verifier=verifier).status_code == 200
    reused = token(oauth, **{**exchange, "code": code}, code_verifier=verifier)
    assert reused.json()["error"] == "invalid_grant"
    unregistered = requests.get(
        oauth.authorization_url,
        params={**query, "redirect_uri": "https://evil.example/cb"},
        allow_redirects=False,
        timeout=10,
    )
    assert unregistered.status_code == 400  # never redirected to an unknown URI


def test_device_flow(oauth: OAuth2Peer) -> None:
    oauth.settings(device_interval=0.2, slow_down_step=0.3)
    start = requests.post(
        oauth.device_authorization_url, data={"client_id": server.PUBLIC_ID}, timeout=10
    ).json()
    assert {"device_code", "user_code", "verification_uri", "expires_in", "interval"} <= set(start)
    poll = {"grant_type": server.DEVICE_GRANT, "client_id": server.PUBLIC_ID}
    pending = token(oauth, **poll, device_code=start["device_code"])
    assert pending.json()["error"] == "authorization_pending"
    too_fast = token(oauth, **poll, device_code=start["device_code"])
    assert too_fast.json()["error"] == "slow_down"
    requests.get(start["verification_uri_complete"], timeout=10).raise_for_status()
    time.sleep(0.5)  # the interval grew by the slow_down step (RFC 8628 3.5)
    assert token(oauth, **poll, device_code=start["device_code"]).status_code == 200
    time.sleep(0.5)
    again = token(oauth, **poll, device_code=start["device_code"])
    assert again.json()["error"] == "invalid_grant"


def test_resource_server_checks_bearer_tokens(
    oauth: OAuth2Peer, small_cogs: dict[str, Path]
) -> None:
    url = oauth.url_for("s2/B02.tif")
    missing = requests.get(url, timeout=10)
    assert (
        missing.status_code == 401 and missing.headers["WWW-Authenticate"] == 'Bearer realm="stac"'
    )
    forged = requests.get(url, headers={"Authorization": "Bearer at-forged"}, timeout=10)
    assert 'error="invalid_token"' in forged.headers["WWW-Authenticate"]
    oauth.settings(access_token_lifetime=0.3)
    access = token(oauth, CONFIDENTIAL, grant_type="client_credentials").json()["access_token"]
    headers = {"Authorization": f"Bearer {access}"}
    assert requests.get(url, headers=headers, timeout=10).content == small_cogs["B02"].read_bytes()
    time.sleep(0.35)
    expired = requests.get(url, headers=headers, timeout=10)
    assert expired.status_code == 401 and "expired" in expired.headers["WWW-Authenticate"]
    oauth.settings()
    write_only = token(oauth, CONFIDENTIAL, grant_type="client_credentials", scope="write").json()
    denied = requests.get(
        url, headers={"Authorization": f"Bearer {write_only['access_token']}"}, timeout=10
    )
    assert denied.status_code == 403
