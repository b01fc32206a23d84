"""The ``--oauth2-*`` command line options, and the OAuth2 client they describe."""

from __future__ import annotations

from collections.abc import Sequence

from .oauth2 import OAuth2Client
from .oauth2_grants import GRANTS

CLI_OPTIONS: tuple[tuple[str, str], ...] = (
    ("token-url", "OAuth2 token endpoint; enables OAuth2 for the --oauth2-host hosts."),
    (
        "host",
        "Host the OAuth2 token is sent to (repeatable; host:port allowed, and a "
        "subdomain wildcard as in the OAuth2Client docs).",
    ),
    ("grant", f"OAuth2 grant: {', '.join(GRANTS)} (guessed from the other settings if not set)."),
    ("client-id", "OAuth2 client id."),
    ("client-secret", "OAuth2 client secret (prefer STAC_ASSET_OAUTH2_CLIENT_SECRET)."),
    ("scope", "OAuth2 scopes, space-separated."),
    ("param", "Extra OAuth2 request parameter 'name=value', e.g. audience (repeatable)."),
    ("username", "User name for the password grant (password: STAC_ASSET_OAUTH2_PASSWORD)."),
    ("device-authorization-url", "Device authorization endpoint (device_code grant)."),
    ("authorization-url", "Authorization endpoint (authorization_code grant, with PKCE)."),
)
"""The ``--oauth2-*`` command line options: (name, help); see :func:`client_from_options`."""


def client_from_options(
    token_url: str | None = None,
    host: Sequence[str] = (),
    grant: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    scope: str | None = None,
    param: Sequence[str] = (),
    username: str | None = None,
    device_authorization_url: str | None = None,
    authorization_url: str | None = None,
) -> OAuth2Client | None:
    """Build the client from the ``--oauth2-*`` option values (the environment fills the rest).

    Returns ``None`` when no option is given (the default client, configured
    from the environment alone, then applies).
    """
    values = (token_url, host, grant, client_id, client_secret, scope, param, username)
    if not any(values) and not device_authorization_url and not authorization_url:
        return None
    params: dict[str, str] = {}
    for item in param:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--oauth2-param takes name=value, not {item!r}")
        params[name.strip()] = value
    return OAuth2Client(
        token_url,
        hosts=list(host) or None,
        grant=grant,
        client_id=client_id,
        client_secret=client_secret,
        scope=scope,
        params=params or None,
        username=username,
        device_authorization_url=device_authorization_url,
        authorization_url=authorization_url,
    )
