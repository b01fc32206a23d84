"""An OAuth2 authorization server and a protected resource server, in one test process.

Run as ``python -m tests.oauth2.server --root DIR``; a :mod:`tests.peers.base`
peer (log, faults, file serving, controls).

Authorization server (RFC 6749, RFC 7636, RFC 8628, RFC 6750):

* ``POST /oauth/token``: grants ``client_credentials``, ``password``,
  ``authorization_code`` (PKCE ``S256`` checked, codes single-use),
  ``refresh_token`` (rotated) and ``urn:ietf:params:oauth:grant-type:device_code``.
  Clients authenticate with HTTP Basic or ``client_secret`` in the body;
  errors are JSON ``{"error": ...}`` with 400, or 401 for ``invalid_client``.
* ``GET /oauth/authorize``: approves at once (no login page) and redirects
  to the client's ``redirect_uri`` with ``code`` and ``state``; any loopback
  redirect URI is accepted (RFC 8252), and ``https://app.example/callback``.
* ``POST /oauth/device_authorization`` and ``GET /oauth/device?user_code=...``
  (the page the user visits, which approves).

Protected resources: every other path is a file under ``--root``, served only
with a valid, unexpired ``Authorization: Bearer`` token holding the ``read`` scope.

Registered clients: ``stac-confidential`` (secret ``CONFIDENTIAL_SECRET``, all
grants) and ``stac-public`` (no secret, PKCE required, no client credentials).
User: ``alice`` / ``ALICE_PASSWORD``.

Its settings (``POST /_control/settings``) are :class:`OAuthConfig`; ``reset``
also forgets every token, code and device authorization. Its own controls:

* ``GET /_control/oauth/log``: token, authorize and device endpoint calls.
* ``POST /_control/oauth/revoke``: revoke every access token (and, with
  ``{"refresh": true}``, every refresh token).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from tests.peers.base import PeerHandler, PeerServer, arguments, serve

CONFIDENTIAL_ID = "stac-confidential"
CONFIDENTIAL_SECRET = "confidential-s3cret-7f3a9c"
PUBLIC_ID = "stac-public"
USERNAME = "alice"
ALICE_PASSWORD = "alice-pa55word-c0ffee"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SCOPES = {"read", "write"}
EXTRA_REDIRECT_URI = "https://app.example/callback"

_CLIENTS: dict[str, str | None] = {CONFIDENTIAL_ID: CONFIDENTIAL_SECRET, PUBLIC_ID: None}
_USERS = {USERNAME: ALICE_PASSWORD}


@dataclass(frozen=True)
class OAuthConfig:
    """Lifetimes and behaviours; the defaults are a well-behaved server."""

    access_token_lifetime: float = 300.0
    refresh_token_lifetime: float = 3600.0
    code_lifetime: float = 60.0
    device_code_lifetime: float = 60.0
    device_interval: float = 0.05
    slow_down_step: float = 5.0
    device_pending_polls: int = 0
    device_slow_down_polls: int = 0
    deny: bool = False
    required_params: dict[str, str] = field(default_factory=dict)
    delay_first: dict[str, float] = field(default_factory=dict)


@dataclass
class Grant:
    """A token (access or refresh), a code, or a device authorization."""

    client_id: str
    scope: str
    expires_at: float
    used: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class OAuthError(Exception):
    """An RFC 6749 error response."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _is_allowed_redirect(uri: str) -> bool:
    if uri == EXTRA_REDIRECT_URI:
        return True
    parts = urlsplit(uri)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


class OAuthServer(PeerServer):
    """A file server plus OAuth2 state."""

    def __init__(self, address: tuple[str, int], root: Path) -> None:
        self.oauth_lock = threading.Lock()
        super().__init__(address, OAuthHandler, root, asdict(OAuthConfig()))

    @property
    def oauth(self) -> OAuthConfig:
        """The current settings."""
        return OAuthConfig(**self.settings)

    def configure_settings(self, settings: dict[str, Any]) -> None:
        """Replace the settings; ``delay_first`` delays each path once more."""
        super().configure_settings(settings)
        with self.oauth_lock:
            self.delayed.clear()

    def reset_state(self) -> None:
        """Forget every token, code and device authorization; empty the OAuth log."""
        with self.oauth_lock:
            self.access_tokens: dict[str, Grant] = {}
            self.refresh_tokens: dict[str, Grant] = {}
            self.codes: dict[str, Grant] = {}
            self.devices: dict[str, Grant] = {}
            self.user_codes: dict[str, str] = {}
            self.oauth_log: list[dict[str, Any]] = []
            self.delayed: set[str] = set()

    def log_oauth(self, entry: dict[str, Any]) -> None:
        """Append an entry to the OAuth log."""
        with self.oauth_lock:
            self.oauth_log.append(entry)

    def issue(self, client_id: str, scope: str, refresh: bool) -> dict[str, Any]:
        """Mint an access token (and a refresh token) and return the token response."""
        now = time.time()
        config = self.oauth
        access = "at-" + secrets.token_urlsafe(24)
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": config.access_token_lifetime,
            "scope": scope,
        }
        with self.oauth_lock:
            self.access_tokens[access] = Grant(client_id, scope, now + config.access_token_lifetime)
            if refresh:
                token = "rt-" + secrets.token_urlsafe(24)
                self.refresh_tokens[token] = Grant(
                    client_id, scope, now + config.refresh_token_lifetime
                )
                body["refresh_token"] = token
        return body

    def check_bearer(self, authorization: str | None) -> str:
        """``"ok"``, ``"missing"``, ``"invalid"`` or ``"expired"`` for an Authorization header."""
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return "missing"
        with self.oauth_lock:
            grant = self.access_tokens.get(value.strip())
        if grant is None or grant.used:
            return "invalid"
        if grant.expires_at <= time.time():
            return "expired"
        if "read" not in grant.scope.split():
            return "insufficient_scope"
        return "ok"


class OAuthHandler(PeerHandler):
    """Routes ``/oauth/*`` to the authorization server; checks bearer tokens elsewhere."""

    server: OAuthServer

    def control(self, name: str, body: bytes) -> Any:
        """``oauth/log`` and ``oauth/revoke``."""
        server = self.server
        if name == "oauth/log" and self.command == "GET":
            with server.oauth_lock:
                return [dict(e) for e in server.oauth_log]
        if name == "oauth/revoke" and self.command == "POST":
            options = json.loads(body or b"{}")
            with server.oauth_lock:
                server.access_tokens.clear()
                if options.get("refresh"):
                    server.refresh_tokens.clear()
            return {"ok": True}
        return super().control(name, body)

    def admit(self, path: str, entry: dict[str, Any]) -> bool:
        """Everything under ``/oauth/``; elsewhere, requests with a valid bearer token."""
        if path.startswith("/oauth/"):
            return True
        verdict = self.server.check_bearer(self.headers.get("Authorization"))
        entry["auth"] = verdict
        if verdict == "ok":
            return True
        challenge = 'Bearer realm="stac"'
        if verdict != "missing":
            error = "insufficient_scope" if verdict == "insufficient_scope" else "invalid_token"
            challenge += f', error="{error}", error_description="token {verdict}"'
        status = 403 if verdict == "insufficient_scope" else 401
        self.send(status, entry, {"WWW-Authenticate": challenge})
        return False

    def respond(self, path: str, body: bytes, entry: dict[str, Any]) -> None:
        """The authorization server under ``/oauth/``, protected files elsewhere."""
        if path.startswith("/oauth/"):
            self._oauth(path, body, entry)
            return
        server = self.server
        delay = server.oauth.delay_first.get(path)
        if delay:
            with server.oauth_lock:
                first = path not in server.delayed
                server.delayed.add(path)
            if first:
                time.sleep(delay)
        super().respond(path, body, entry)

    # -- authorization server -------------------------------------------------

    def _oauth(self, path: str, body: bytes, entry: dict[str, Any]) -> None:
        endpoint = path[len("/oauth/") :]
        log: dict[str, Any] = {"endpoint": endpoint, "time": time.time()}
        try:
            if endpoint == "token":
                self._require_post()
                params = self._form(body)
                log["grant_type"] = params.get("grant_type")
                result = self._token(params, log)
                self._send_oauth_json(200, result, entry)
            elif endpoint == "device_authorization":
                self._require_post()
                result = self._device_authorization(self._form(body), log)
                self._send_oauth_json(200, result, entry)
            elif endpoint == "authorize":
                self._authorize(self._query(), log, entry)
            elif endpoint == "device":
                self._verify_device(self._query(), log, entry)
            else:
                self.send(404, entry)
                return
            log["status"] = entry["status"]
        except OAuthError as error:
            log.update(status=error.status, error=error.error)
            headers = {}
            if error.status == 401:
                headers["WWW-Authenticate"] = 'Basic realm="oauth2"'
            payload = {"error": error.error, "error_description": error.description}
            self._send_oauth_json(error.status, payload, entry, headers)
        finally:
            self.server.log_oauth(log)

    def _require_post(self) -> None:
        if self.command != "POST":
            raise OAuthError("invalid_request", "this endpoint takes POST", 405)

    def _form(self, body: bytes) -> dict[str, str]:
        content_type = self.headers.get("Content-Type", "")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            raise OAuthError("invalid_request", "the body must be form-encoded")
        return self._single(parse_qs(body.decode("utf-8"), keep_blank_values=True))

    def _query(self) -> dict[str, str]:
        return self._single(parse_qs(urlsplit(self.path).query, keep_blank_values=True))

    @staticmethod
    def _single(values: dict[str, list[str]]) -> dict[str, str]:
        repeated = [name for name, items in values.items() if len(items) > 1]
        if repeated:
            raise OAuthError("invalid_request", f"parameters repeated: {repeated}")
        return {name: items[0] for name, items in values.items()}

    def _client(self, params: dict[str, str], log: dict[str, Any]) -> str:
        """Authenticate the client (RFC 6749 section 2.3.1) and return its id."""
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            if "client_secret" in params:
                raise OAuthError("invalid_request", "more than one client authentication method")
            decoded = base64.b64decode(value.strip()).decode("utf-8")
            client_id, _, secret = decoded.partition(":")
            client_id, secret = unquote(client_id), unquote(secret)
            log["client_auth"] = "basic"
        else:
            client_id = params.get("client_id", "")
            secret = params.get("client_secret", "")
            log["client_auth"] = "post" if secret else "none"
        log["client_id"] = client_id
        if client_id not in _CLIENTS:
            raise OAuthError("invalid_client", "unknown client", 401)
        expected = _CLIENTS[client_id]
        if expected is not None and not secrets.compare_digest(secret, expected):
            raise OAuthError("invalid_client", "client authentication failed", 401)
        return client_id

    def _scope(self, params: dict[str, str]) -> str:
        scope = params.get("scope") or "read"
        unknown = set(scope.split()) - SCOPES
        if unknown:
            raise OAuthError("invalid_scope", f"unknown scopes: {sorted(unknown)}")
        return scope

    def _token(self, params: dict[str, str], log: dict[str, Any]) -> dict[str, Any]:
        server = self.server
        client_id = self._client(params, log)
        missing = {
            name: value
            for name, value in server.oauth.required_params.items()
            if params.get(name) != value
        }
        grant_type = params.get("grant_type")
        if missing and grant_type != "refresh_token":
            raise OAuthError("invalid_request", f"missing parameters: {sorted(missing)}")
        if grant_type == "client_credentials":
            if _CLIENTS[client_id] is None:
                raise OAuthError("unauthorized_client", "public clients have no client grant")
            # RFC 6749 section 4.4.3: no refresh token for client credentials.
            return server.issue(client_id, self._scope(params), refresh=False)
        if grant_type == "password":
            user = params.get("username", "")
            password = _USERS.get(user)
            if password is None or not secrets.compare_digest(params.get("password", ""), password):
                raise OAuthError("invalid_grant", "wrong username or password")
            return server.issue(client_id, self._scope(params), refresh=True)
        if grant_type == "refresh_token":
            return self._refresh(client_id, params)
        if grant_type == "authorization_code":
            return self._exchange_code(client_id, params)
        if grant_type == DEVICE_GRANT:
            return self._poll_device(client_id, params, log)
        raise OAuthError("unsupported_grant_type", f"unsupported grant type {grant_type!r}")

    def _refresh(self, client_id: str, params: dict[str, str]) -> dict[str, Any]:
        server = self.server
        with server.oauth_lock:
            grant = server.refresh_tokens.pop(params.get("refresh_token", ""), None)
        if grant is None or grant.client_id != client_id or grant.expires_at <= time.time():
            raise OAuthError("invalid_grant", "unknown, expired or revoked refresh token")
        scope = params.get("scope") or grant.scope
        if not set(scope.split()) <= set(grant.scope.split()):
            raise OAuthError("invalid_scope", "a refresh cannot widen the scope")
        return server.issue(client_id, scope, refresh=True)

    def _exchange_code(self, client_id: str, params: dict[str, str]) -> dict[str, Any]:
        server = self.server
        with server.oauth_lock:
            grant = server.codes.get(params.get("code", ""))
            reused = grant is not None and grant.used
            if grant is not None:
                grant.used = True
        if grant is None or reused or grant.expires_at <= time.time():
            raise OAuthError("invalid_grant", "unknown, used or expired code")
        if grant.client_id != client_id:
            raise OAuthError("invalid_grant", "code issued to another client")
        if params.get("redirect_uri") != grant.extra["redirect_uri"]:
            raise OAuthError("invalid_grant", "redirect_uri differs from the authorization's")
        challenge = grant.extra.get("code_challenge")
        if challenge is not None:
            verifier = params.get("code_verifier")
            if not verifier or not 43 <= len(verifier) <= 128:
                raise OAuthError("invalid_grant", "missing or malformed code_verifier")
            if not secrets.compare_digest(_s256(verifier), challenge):
                raise OAuthError("invalid_grant", "PKCE verification failed")
        return server.issue(client_id, grant.scope, refresh=True)

    def _authorize(
        self, params: dict[str, str], log: dict[str, Any], entry: dict[str, Any]
    ) -> None:
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        log["client_id"] = client_id
        # Errors about the client or its redirect URI are not redirected (section 4.1.2.1).
        if client_id not in _CLIENTS:
            raise OAuthError("invalid_request", "unknown client_id")
        if not _is_allowed_redirect(redirect_uri):
            raise OAuthError("invalid_request", "redirect_uri not registered")
        state = params.get("state")
        config = self.server.oauth
        reply: dict[str, str]
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method", "plain")
        if params.get("response_type") != "code":
            reply = {"error": "unsupported_response_type"}
        elif _CLIENTS[client_id] is None and not challenge:
            reply = {"error": "invalid_request", "error_description": "PKCE required"}
        elif challenge and method != "S256":
            reply = {"error": "invalid_request", "error_description": "only S256 is accepted"}
        elif config.deny:
            reply = {"error": "access_denied"}
        else:
            try:
                scope = self._scope(params)
            except OAuthError as error:
                reply = {"error": error.error}
            else:
                code = "code-" + secrets.token_urlsafe(16)
                extra = {"redirect_uri": redirect_uri, "code_challenge": challenge}
                with self.server.oauth_lock:
                    self.server.codes[code] = Grant(
                        client_id, scope, time.time() + config.code_lifetime, extra=extra
                    )
                reply = {"code": code}
        if state is not None:
            reply["state"] = state
        log["result"] = "code" if "code" in reply else reply["error"]
        separator = "&" if "?" in redirect_uri else "?"
        self.send(302, entry, {"Location": f"{redirect_uri}{separator}{urlencode(reply)}"})

    def _device_authorization(self, params: dict[str, str], log: dict[str, Any]) -> dict[str, Any]:
        server = self.server
        client_id = self._client(params, log)
        scope = self._scope(params)
        config = server.oauth
        device_code = "dc-" + secrets.token_urlsafe(24)
        alphabet = "BCDFGHJKLMNPQRSTVWXZ"
        user_code = "".join(secrets.choice(alphabet) for _ in range(8))
        user_code = f"{user_code[:4]}-{user_code[4:]}"
        grant = Grant(
            client_id,
            scope,
            time.time() + config.device_code_lifetime,
            extra={
                "user_code": user_code,
                "state": "pending",
                "interval": config.device_interval,
                "last_poll": 0.0,
                "pending": config.device_pending_polls,
                "slow_down": config.device_slow_down_polls,
            },
        )
        with server.oauth_lock:
            server.devices[device_code] = grant
            server.user_codes[user_code] = device_code
        base = f"http://{self.headers.get('Host')}/oauth/device"
        return {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": base,
            "verification_uri_complete": f"{base}?{urlencode({'user_code': user_code})}",
            "expires_in": config.device_code_lifetime,
            "interval": config.device_interval,
        }

    def _verify_device(
        self, params: dict[str, str], log: dict[str, Any], entry: dict[str, Any]
    ) -> None:
        server = self.server
        with server.oauth_lock:
            device_code = server.user_codes.get(params.get("user_code", "").upper())
            grant = server.devices.get(device_code or "")
            if grant is not None:
                grant.extra["state"] = "denied" if server.oauth.deny else "approved"
        if grant is None:
            raise OAuthError("invalid_request", "unknown user code")
        log["result"] = grant.extra["state"]
        self.send(200, entry)

    def _poll_device(
        self, client_id: str, params: dict[str, str], log: dict[str, Any]
    ) -> dict[str, Any]:
        server = self.server
        now = time.time()
        with server.oauth_lock:
            grant = server.devices.get(params.get("device_code", ""))
            if grant is None or grant.client_id != client_id:
                raise OAuthError("invalid_grant", "unknown device code")
            extra = grant.extra
            too_fast = now - extra["last_poll"] < extra["interval"] * 0.9
            log["since_last_poll"] = now - extra["last_poll"] if extra["last_poll"] else None
            extra["last_poll"] = now
            if grant.used:
                raise OAuthError("invalid_grant", "device code already used")
            if grant.expires_at <= now:
                raise OAuthError("expired_token", "the device code expired")
            if extra["slow_down"] > 0 or too_fast:
                extra["slow_down"] = max(0, extra["slow_down"] - 1)
                extra["interval"] += server.oauth.slow_down_step
                raise OAuthError("slow_down", "polling too fast")
            if extra["state"] == "denied":
                raise OAuthError("access_denied", "the user denied the request")
            if extra["state"] == "pending" or extra["pending"] > 0:
                extra["pending"] = max(0, extra["pending"] - 1)
                raise OAuthError("authorization_pending", "waiting for the user")
            grant.used = True
        return server.issue(client_id, grant.scope, refresh=True)

    def _send_oauth_json(
        self,
        status: int,
        payload: dict[str, Any],
        entry: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        no_store = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        self.send_json(status, payload, entry, {**no_store, **(headers or {})})


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, serve until SIGTERM/SIGINT."""
    parser = arguments(__doc__)
    parser.add_argument("--root", type=Path, required=True)
    args = parser.parse_args(argv)
    serve(OAuthServer((args.host, args.port), args.root))


if __name__ == "__main__":
    main()
