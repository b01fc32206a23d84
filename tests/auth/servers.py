"""Loopback stand-ins for the auth regimes of NASA Earthdata, USGS EROS and Google Cloud Storage.

Run as ``python -m tests.auth.servers ROLE --host 127.0.0.N --settings JSON``.
Each role follows the real protocol closely enough that a client which works
here speaks the real one:

* ``login``: Earthdata Login (URS). ``GET /oauth/authorize`` with HTTP Basic
  credentials answers 302 back to the app's ``redirect_uri`` with ``?code=``;
  without them, 401 and a Basic challenge. ``POST /oauth/token`` (the data
  host's client credentials + the code) answers ``{"access_token": ...}``.
* ``data``: an Earthdata data host (TEA-like). A valid ``Bearer`` token or
  session cookie gets a 307 to a presigned URL on the ``s3`` host (or, under
  ``/direct/``, the bytes themselves); no credential gets a 302 to the login
  host; ``/login?code=`` exchanges the code with the login host, sets the
  session cookie and redirects back to the object.
* ``s3``: serves files for presigned URLs only (``X-Amz-Signature`` is an
  HMAC shared with ``data``); any ``Authorization`` header is refused, as S3
  refuses two auth mechanisms.
* ``m2m``: the USGS M2M API. ``POST {base}login-token`` with
  ``{"username", "token"}`` answers ``{"data": <api key>, "errorCode": null,
  "errorMessage": null}``, or an ``AUTH_INVALID`` error payload.
* ``landsatlook``: serves files to requests whose ``X-Auth-Token`` the ``m2m``
  peer knows (it asks ``/_control/validate``); under ``/redirect/`` it sends a
  presigned URL on ``s3`` instead.
* ``files``: plain files; ``/r/...`` redirects to ``settings["redirect_to"]``
  (required headers are the base's ``require_headers`` fault).
* ``gcs``: the GCS XML API, ``GET /{bucket}/{object}``; the bucket ``public``
  is readable by anyone, others need ``Authorization: Bearer`` with a token
  from ``POST /token``, Google's OAuth2 endpoint for service accounts (a JWT
  assertion, verified with the service account's public key).

Every role is a :mod:`tests.peers.base` peer (log with request bodies, faults,
``/_control/settings`` over the start settings) and adds these controls:
``POST /_control/expire`` with ``{"keys": true}`` and/or ``{"sessions": true}``
forgets every API key, token or session issued; ``GET /_control/state`` counts
logins and keys; ``GET /_control/validate?key=K`` (Landsat Look asking M2M)
answers 200 for a key it issued, else 401. ``reset`` keeps issued keys and
sessions (clients hold them across tests) but zeroes the login count.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from tests.peers.base import ControlError, PeerHandler, PeerServer, arguments, serve

ROLES = ["login", "data", "s3", "m2m", "landsatlook", "gcs", "files"]
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def presign(secret: str, path: str, lifetime: int = 3600) -> str:
    """A query string that makes ``path`` readable on the ``s3`` peer for ``lifetime`` s."""
    date = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    signature = hmac.new(secret.encode(), f"{path}\n{date}\n{lifetime}".encode(), "sha256")
    return urlencode(
        {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Date": date,
            "X-Amz-Expires": str(lifetime),
            "X-Amz-Signature": signature.hexdigest(),
        }
    )


class Server(PeerServer):
    """A peer with a role; holds the codes, sessions and keys it issued."""

    def __init__(self, address: tuple[str, int], role: str, settings: dict[str, Any]) -> None:
        self.role = role
        self.state: dict[str, Any] = {"codes": {}, "sessions": set(), "keys": set(), "logins": 0}
        root = Path(settings["root"]) if "root" in settings else None
        super().__init__(address, Handler, root, settings)

    def reset_state(self) -> None:
        """Zero the login count; issued keys and sessions stay valid."""
        with self.lock:
            self.state["logins"] = 0


class Handler(PeerHandler):
    """Dispatches to the role's handler."""

    log_bodies = True  # tests look for secrets in what clients send
    server: Server

    def respond(self, path: str, body: bytes, entry: dict[str, Any]) -> None:
        """Answer as the server's role."""
        self.entry = entry
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        getattr(self, f"_{self.server.role}")(path, query, body)

    def control(self, name: str, body: bytes) -> Any:
        """``expire``, ``state`` and ``validate`` (see the module docstring)."""
        server = self.server
        with server.lock:
            if name == "validate":
                key = parse_qs(urlsplit(self.path).query).get("key", [""])[0]
                if key not in server.state["keys"]:
                    raise ControlError("unknown key", 401)
                return {"ok": True}
            if name == "expire" and self.command == "POST":
                what = json.loads(body or b"{}")
                if what.get("keys"):
                    server.state["keys"].clear()
                if what.get("sessions"):
                    server.state["sessions"].clear()
                return {"ok": True}
            if name == "state":
                return {"logins": server.state["logins"], "keys": len(server.state["keys"])}
        return super().control(name, body)

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send(status, self.entry, headers, body)

    def _redirect(
        self, location: str, status: int = 302, extra: dict[str, str] | None = None
    ) -> None:
        self._send(status, b"", {"Location": location, **(extra or {})})

    def _basic(self) -> tuple[str, str] | None:
        value = self.headers.get("Authorization", "")
        if not value.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(value[6:]).decode().partition(":")
        return user, password

    def _bearer(self) -> str | None:
        value = self.headers.get("Authorization", "")
        return value[7:] if value.startswith("Bearer ") else None

    def _cookie(self, name: str) -> str | None:
        for part in self.headers.get("Cookie", "").split(";"):
            key, _, value = part.strip().partition("=")
            if key == name:
                return value
        return None

    # -- Earthdata Login ------------------------------------------------------------------------

    def _login(self, path: str, query: dict[str, str], body: bytes) -> None:
        settings, state = self.server.settings, self.server.state
        if path == "/oauth/authorize":
            if self._basic() != (settings["username"], settings["password"]):
                challenge = 'Basic realm="Please enter your Earthdata Login credentials"'
                self._send(401, b"unauthorized", {"WWW-Authenticate": challenge})
                return
            code = secrets.token_urlsafe(16)
            with self.server.lock:
                state["codes"][code] = query.get("redirect_uri")
                state["logins"] += 1
            back = {"code": code, "state": query.get("state", "")}
            self._redirect(f"{query['redirect_uri']}?{urlencode(back)}")
        elif path == "/oauth/token" and self.command == "POST":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            client = self._basic()
            with self.server.lock:
                known = state["codes"].pop(form.get("code", ""), None)
            if client != (settings["client_id"], settings["client_secret"]) or known is None:
                self.send_json(400, {"error": "invalid_grant"}, self.entry)
                return
            self.send_json(
                200, {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer"}, self.entry
            )
        else:
            self._send(404, b"not found")

    # -- Earthdata data host (TEA-like) ----------------------------------------------------------

    def _data(self, path: str, query: dict[str, str], body: bytes) -> None:
        settings, state = self.server.settings, self.server.state
        origin = f"http://{self.headers['Host']}"
        if path == "/login":
            self._exchange(origin, query)
            return
        token = self._bearer()
        session = self._cookie("urs-session")
        if token is not None:
            if token != settings["token"]:
                self._send(401, b"invalid token")
                return
        elif session is None or session not in state["sessions"]:
            authorize = {
                "client_id": settings["client_id"],
                "response_type": "code",
                "redirect_uri": f"{origin}/login",
                "state": path,
            }
            self._redirect(f"{settings['login_url']}/oauth/authorize?{urlencode(authorize)}")
            return
        if path.startswith("/direct/"):
            self.serve_file(path, self.entry)
            return
        signed = f"/bucket{path}"
        self._redirect(
            f"{settings['s3_url']}{signed}?{presign(settings['s3_secret'], signed)}", 307
        )

    def _exchange(self, origin: str, query: dict[str, str]) -> None:
        """The OAuth code exchange TEA does with Earthdata Login, server to server."""
        settings = self.server.settings
        client = f"{settings['client_id']}:{settings['client_secret']}".encode()
        form = {
            "grant_type": "authorization_code",
            "code": query.get("code", ""),
            "redirect_uri": f"{origin}/login",
        }
        request = urllib.request.Request(
            f"{settings['login_url']}/oauth/token",
            data=urlencode(form).encode(),
            headers={"Authorization": f"Basic {base64.b64encode(client).decode()}"},
        )
        try:
            with _OPENER.open(request, timeout=5) as response:
                json.load(response)
        except OSError:
            self._send(401, b"code exchange failed")
            return
        session = secrets.token_urlsafe(24)
        with self.server.lock:
            self.server.state["sessions"].add(session)
        cookie = f"urs-session={session}; Path=/; HttpOnly"
        self._redirect(quote(query.get("state", "/")), 302, {"Set-Cookie": cookie})

    # -- presigned object store -------------------------------------------------------------------

    def _s3(self, path: str, query: dict[str, str], body: bytes) -> None:
        secret = self.server.settings["s3_secret"]
        if "Authorization" in self.headers:
            self._send(400, b"InvalidArgument: Only one auth mechanism allowed")
            return
        date, lifetime = query.get("X-Amz-Date", ""), query.get("X-Amz-Expires", "0")
        expected = hmac.new(secret.encode(), f"{path}\n{date}\n{lifetime}".encode(), "sha256")
        if not hmac.compare_digest(expected.hexdigest(), query.get("X-Amz-Signature", "")):
            self._send(403, b"SignatureDoesNotMatch")
            return
        self.serve_file(path.removeprefix("/bucket"), self.entry)

    # -- USGS M2M API and Landsat Look -------------------------------------------------------------

    def _m2m(self, path: str, query: dict[str, str], body: bytes) -> None:
        settings, state = self.server.settings, self.server.state
        base = settings.get("base_path", "/api/api/json/stable/")
        if path == f"{base}login-token" and self.command == "POST":
            try:
                request = json.loads(body)
            except ValueError:
                request = {}
            with self.server.lock:
                state["logins"] += 1
            if (request.get("username"), request.get("token")) != (
                settings["username"],
                settings["pat"],
            ):
                payload = {"errorCode": "AUTH_INVALID", "errorMessage": "User credential denied"}
                self.send_json(200, {"requestId": 1, "data": None, **payload}, self.entry)
                return
            key = secrets.token_hex(16)
            with self.server.lock:
                state["keys"].add(key)
            self.send_json(
                200,
                {"requestId": 1, "data": key, "errorCode": None, "errorMessage": None},
                self.entry,
            )
        else:
            self.send_json(404, {"errorCode": "NOT_FOUND", "errorMessage": path}, self.entry)

    def _landsatlook(self, path: str, query: dict[str, str], body: bytes) -> None:
        settings = self.server.settings
        key = self.headers.get("X-Auth-Token", "")
        check = f"{settings['m2m_url']}/_control/validate?{urlencode({'key': key})}"
        try:
            with _OPENER.open(check, timeout=5):
                pass
        except OSError:
            self._send(401, b"invalid or expired X-Auth-Token")
            return
        if path.startswith("/redirect/"):
            signed = f"/bucket/{path.removeprefix('/redirect/')}"
            self._redirect(f"{settings['s3_url']}{signed}?{presign(settings['s3_secret'], signed)}")
            return
        self.serve_file(path, self.entry)

    # -- plain files, with an optional redirect elsewhere ----------------------------------

    def _files(self, path: str, query: dict[str, str], body: bytes) -> None:
        target = self.server.settings.get("redirect_to")
        if target and path.startswith("/r/"):
            self._redirect(f"{target}{path[2:]}")
            return
        self.serve_file(path, self.entry)

    # -- Google Cloud Storage (XML API) -----------------------------------------------------

    def _gcs(self, path: str, query: dict[str, str], body: bytes) -> None:
        if path == "/token" and self.command == "POST":
            self._service_account_token(body)
            return
        bucket, _, name = path.lstrip("/").partition("/")
        with self.server.lock:
            known = self._bearer() in self.server.state["keys"]
        if bucket != "public" and not known:
            self._send(403, b"<Error><Code>AccessDenied</Code></Error>")
            return
        if not name:
            self._send(404, b"<Error><Code>NoSuchKey</Code></Error>")
            return
        self.serve_file(f"{bucket}/{name}", self.entry)

    def _service_account_token(self, body: bytes) -> None:
        """Google's OAuth2 token endpoint for service accounts: a JWT signed with the key."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding

        settings = self.server.settings
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        try:
            header, claims, signature = form["assertion"].split(".")
            key = serialization.load_pem_public_key(settings["sa_public_key"].encode())
            key.verify(
                _b64(signature),
                f"{header}.{claims}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
            payload = json.loads(_b64(claims))
        except (KeyError, ValueError, InvalidSignature):
            self.send_json(
                400, {"error": "invalid_grant", "error_description": "bad assertion"}, self.entry
            )
            return
        if payload.get("iss") != settings["sa_email"] or payload.get("exp", 0) < time.time():
            self.send_json(
                400, {"error": "invalid_grant", "error_description": "bad claims"}, self.entry
            )
            return
        token = "ya29." + secrets.token_urlsafe(24)
        with self.server.lock:
            self.server.state["keys"].add(token)
            self.server.state["logins"] += 1
        self.send_json(
            200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}, self.entry
        )


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve until SIGTERM."""
    parser = arguments(__doc__)
    parser.add_argument("role", choices=ROLES)
    parser.add_argument("--settings", default="{}")
    args = parser.parse_args(argv)
    serve(Server((args.host, args.port), args.role, json.loads(args.settings)))


if __name__ == "__main__":
    main()
