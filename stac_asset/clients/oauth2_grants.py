"""The interactive OAuth2 grants: device code (RFC 8628) and authorization code with PKCE.

Both need the user: :class:`~.oauth2.OAuth2Client` runs them (once for all
threads, through the token layer) when its grant says so; the protocol is Authlib's.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import requests

from .._secrets import mask_url, register
from ..errors import AccessDeniedError, AccessError

if TYPE_CHECKING:
    from .oauth2 import OAuth2Client

GRANTS = ("client_credentials", "password", "device_code", "authorization_code")
"""The grant types an :class:`OAuth2Client` can use."""

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SLOW_DOWN_INCREMENT = 5.0
"""Seconds added to the device polling interval on each ``slow_down`` (RFC 8628 3.5)."""

AUTHORIZATION_TIMEOUT = 300.0
"""Seconds to wait for the user to authorize (authorization code grant)."""


@dataclass(frozen=True)
class DeviceCode:
    """What the user needs to approve a device code grant (RFC 8628 section 3.2)."""

    verification_uri: str
    """The page where the user enters :attr:`user_code`."""

    user_code: str
    """The short code the user types."""

    verification_uri_complete: str | None
    """A page that needs no typing (the code is in it), if the server gives one."""

    expires_in: float
    """Seconds before the code expires."""


def print_device_code(device: DeviceCode) -> None:
    """Tell the user on standard error where to approve a device code grant."""
    message = f"To authorize stac-asset, open {device.verification_uri}"
    message += f" and enter the code {device.user_code}"
    if device.verification_uri_complete:
        message += f"\n(or open {device.verification_uri_complete})"
    print(message, file=sys.stderr, flush=True)


def print_authorization_url(url: str) -> None:
    """Ask the user on standard error to open the authorization URL; the redirect is awaited."""
    print(
        f"To authorize stac-asset, open this URL in a browser:\n{url}", file=sys.stderr, flush=True
    )


class RedirectListener:
    """A one-shot loopback HTTP server receiving the authorization redirect (RFC 8252 7.3)."""

    def __init__(self, host: str, port: int, path: str) -> None:
        listener = self
        self.result: str | None = None

        class Handler(BaseHTTPRequestHandler):
            timeout = 10

            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                if urlsplit(self.path).path != path or not ("code" in query or "error" in query):
                    self.send_error(404)
                    return
                listener.result = f"{listener.base}{self.path}"
                body = b"stac-asset is authorized; you can close this window.\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = HTTPServer((host, port), Handler)
        self.base = f"http://{host}:{self._server.server_address[1]}"
        self.uri = f"{self.base}{path}"

    def wait(self, timeout: float) -> str | None:
        """The URL the browser was sent back to, once it comes (None after ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        while self.result is None and (remaining := deadline - time.monotonic()) > 0:
            self._server.timeout = remaining
            self._server.handle_request()
        return self.result

    def close(self) -> None:
        """Stop listening."""
        self._server.server_close()


def device_code(client: OAuth2Client, href: str) -> dict[str, Any]:
    """RFC 8628: get a user code, show it, then poll the token endpoint."""
    oauth = client.oauth_session
    url = str(client.device_authorization_url)
    data = {**client.params, **({"scope": client.scope} if client.scope else {})}

    def start() -> dict[str, Any]:
        response = oauth.post(
            url,
            data=data,
            auth=oauth.client_auth(oauth.token_endpoint_auth_method),
            withhold_token=True,
            headers={
                "Accept": "application/json",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        body = _json(response)
        if "error" in body:
            raise oauth_error(body)
        response.raise_for_status()
        return body

    grant = client.call_token_endpoint(href, start, url)
    try:
        device_code = str(grant["device_code"])
        user_code = str(grant["user_code"])
        verification_uri = str(grant["verification_uri"])
        expires_in = float(grant.get("expires_in", 600))
        interval = float(grant.get("interval", 5))
    except (KeyError, TypeError, ValueError) as error:
        raise AccessError(
            href, client.name, f"request to {mask_url(url)} failed: no {error} in the response"
        ) from None
    register(device_code)
    complete = grant.get("verification_uri_complete")
    client.show_device_code(
        DeviceCode(verification_uri, user_code, complete and str(complete), expires_in)
    )
    deadline = time.monotonic() + expires_in

    def poll() -> dict[str, Any] | str:
        try:
            return dict(
                oauth.fetch_token(
                    client.token_url, grant_type=DEVICE_GRANT, device_code=device_code
                )
            )
        except protocol_error() as error:
            code = getattr(error, "error", None)
            if code in ("authorization_pending", "slow_down"):
                return str(code)
            raise

    while True:
        time.sleep(interval)
        if time.monotonic() > deadline:
            raise AccessDeniedError(
                href, client.name, f"the device code of {mask_url(url)} expired unapproved"
            )
        result = client.call_token_endpoint(href, poll)
        if result == "slow_down":
            interval += SLOW_DOWN_INCREMENT
        elif isinstance(result, dict):
            return result


def authorization_code(client: OAuth2Client, href: str) -> dict[str, Any]:
    """RFC 6749 4.1 with PKCE (RFC 7636): the user authorizes, the code comes back."""
    from authlib.common.security import generate_token

    oauth = client.oauth_session
    listener = _listener(client.redirect_uri)
    redirect_uri = listener.uri if listener is not None else str(client.redirect_uri)
    verifier = generate_token(64)
    register(verifier)
    try:
        url, state = oauth.create_authorization_url(
            client.authorization_url,
            code_verifier=verifier,
            redirect_uri=redirect_uri,
            **client.params,
        )
        response = client.authorize(url)
        if response is None and listener is not None:
            response = listener.wait(AUTHORIZATION_TIMEOUT)
    finally:
        if listener is not None:
            listener.close()
    where = mask_url(str(client.authorization_url))
    if response is None:
        hint = "" if listener else " (authorize= must return the redirect URL)"
        raise AccessDeniedError(href, client.name, f"no authorization came back from {where}{hint}")
    query = {k: v[0] for k, v in parse_qs(urlsplit(response).query).items()}
    if "error" in query:
        raise AccessDeniedError(
            href, client.name, f"authorization at {where} failed: {query['error']}"
        )
    if query.get("state") != state or "code" not in query:
        raise AccessDeniedError(
            href, client.name, f"the redirect from {where} has no code or a wrong state"
        )
    code = query["code"]
    register(code)
    return dict(
        client.call_token_endpoint(
            href,
            lambda: oauth.fetch_token(
                client.token_url,
                grant_type="authorization_code",
                code=code,
                redirect_uri=redirect_uri,
                code_verifier=verifier,
            ),
        )
    )


def _listener(redirect_uri: str | None) -> RedirectListener | None:
    """A loopback listener for the redirect, unless the redirect URI is elsewhere."""
    if redirect_uri is None:
        return RedirectListener("127.0.0.1", 0, "/callback")
    parts = urlsplit(redirect_uri)
    if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost"):
        return RedirectListener(parts.hostname, parts.port or 0, parts.path or "/")
    return None


def oauth_error(body: Mapping[str, Any]) -> Exception:
    """An OAuth2 error response outside the token endpoint (device authorization), as Authlib's."""
    from authlib.integrations.base_client import OAuthError

    error: Exception = OAuthError(
        error=str(body.get("error")), description=body.get("error_description")
    )
    return error


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        response.raise_for_status()
        raise ValueError(f"not JSON (HTTP {response.status_code})") from None
    if not isinstance(body, dict):
        raise ValueError(f"not a JSON object (HTTP {response.status_code})")
    return body


def protocol_error() -> type[Exception]:
    """The base class of Authlib's errors."""
    from authlib.common.errors import AuthlibBaseError

    base: type[Exception] = AuthlibBaseError
    return base
