"""stac-asset 0.4's settings and call shapes, mapped onto this library's clients and engine.

0.4 configured its clients from :class:`~stac_asset.Config` (``client_override``,
``http_*``, ``s3_*``, ``earthdata_token``, ``oauth2_*``); here clients are
configured objects, so a call whose settings name any of those gets clients
built from them. Like the default clients, they are kept and reused by later
calls with the same settings while the environment they read is unchanged
(so a loop of calls with one ``Config`` fetches one token, not one per
call); 0.4 built them anew for every call. The helpers below also tell apart
the argument orders of 0.4 and of this library where they differ, by the
types of the arguments.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Hashable, Sequence
from typing import Any, TypeVar

from .clients import (
    Client,
    EarthdataClient,
    HttpClient,
    OAuth2Client,
    S3Client,
    get_client_classes,
)
from .clients.defaults import default_client
from .clients.oauth2 import ENV_PREFIX as OAUTH2_ENV_PREFIX
from .config import Config
from .errors import ConfigError
from .kept import Kept
from .resolver import ClientSpec, Resolver
from .retry import RetryPolicy

ClientT = TypeVar("ClientT", bound=Client)


def client_class(name: str) -> type[Client]:
    """The client class called ``name`` (``"http"``, ``"s3"``, ``"planetary-computer"``...)."""
    wanted = name.strip().lower().replace("_", "-")
    classes = get_client_classes()
    for cls in classes:
        if cls.name.replace("_", "-") == wanted:
            return cls
    names = ", ".join(cls.name for cls in classes)
    raise ConfigError(f"no client is called {name!r}; the clients are: {names}")


def _http_settings(config: Config) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if config.http_client_timeout is not None:
        settings["timeout"] = float(config.http_client_timeout)
    if config.http_max_attempts is not None:
        settings["retry"] = RetryPolicy(max_attempts=config.http_max_attempts)
    return settings


EVERY_HOST = "*"
"""The OAuth2 host pattern for 0.4's meaning: the host of every href a call fetches."""


@functools.cache
def _warn_every_host() -> None:
    """Say once per process that the token goes to every host, and how to narrow it."""
    warnings.warn(
        "Config.oauth2_hosts is not set: the OAuth2 token goes to the host of every HTTP "
        "href the call fetches, as in stac-asset 0.4 (never to a redirect target). Name the "
        "hosts that should see it in Config.oauth2_hosts (or STAC_ASSET_OAUTH2_HOSTS).",
        UserWarning,
        stacklevel=2,
    )


def _oauth2(config: Config, http: dict[str, Any]) -> OAuth2Client:
    """The OAuth2 client 0.4's ``oauth2_*`` settings describe.

    It sends its token to ``oauth2_hosts`` (or ``STAC_ASSET_OAUTH2_HOSTS``);
    without either, to the host of every href it takes, as 0.4 did.
    """
    extra = dict(config.oauth2_extra)
    scope = extra.pop("scope", None)
    if not (config.oauth2_token_url or os.environ.get(f"{OAUTH2_ENV_PREFIX}TOKEN_URL")):
        raise ConfigError(
            f"oauth2_grant={config.oauth2_grant!r} needs oauth2_token_url (or OAUTH2_TOKEN_URL)"
        )
    hosts = config.oauth2_hosts or None
    if hosts is None and not os.environ.get(f"{OAUTH2_ENV_PREFIX}HOSTS"):
        hosts = [EVERY_HOST]
    try:
        client = OAuth2Client(
            config.oauth2_token_url,
            hosts=hosts,
            # 0.4 also took the device code grant by its URN.
            grant=(config.oauth2_grant or "").rsplit(":", 1)[-1],
            client_id=config.oauth2_client_id,
            client_secret=config.oauth2_client_secret,
            scope=scope,
            params=extra or None,
            username=config.oauth2_username,
            password=config.oauth2_password,
            device_authorization_url=config.oauth2_device_authorization_url,
            authorization_url=config.oauth2_authorization_url,
            headers=config.http_headers,
            **http,
        )
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return client


def _warn_if_every_host(built: dict[type[Client], Client]) -> dict[type[Client], Client]:
    """``built``, after the every-host warning if its OAuth2 client sends the token everywhere."""
    if any(isinstance(c, OAuth2Client) and c.hosts == [EVERY_HOST] for c in built.values()):
        _warn_every_host()
    return built


def _build(config: Config) -> dict[type[Client], Client]:
    """New clients for the client settings that differ from the defaults."""
    built: dict[type[Client], Client] = {}
    http = _http_settings(config)
    if config.oauth2_grant:
        oauth2 = _oauth2(config, http)
        # For every host it is the catch-all HTTP client: the specific clients go first.
        built[HttpClient if oauth2.hosts == [EVERY_HOST] else OAuth2Client] = oauth2
    if (http or config.http_headers) and HttpClient not in built:
        built[HttpClient] = HttpClient(headers=config.http_headers, **http)
    if http or config.earthdata_token:
        built[EarthdataClient] = EarthdataClient(token=config.earthdata_token, **http)
    if (
        config.s3_region_name
        or config.s3_requester_pays
        or config.s3_endpoint_url
        or config.s3_max_attempts is not None
    ):
        retry = None
        if config.s3_max_attempts is not None:
            retry = RetryPolicy(max_attempts=config.s3_max_attempts)
        built[S3Client] = S3Client(
            region=config.s3_region_name,
            requester_pays=config.s3_requester_pays,
            endpoint_url=config.s3_endpoint_url,
            retry=retry,
        )
    return built


def client_from_config(cls: type[ClientT], config: Config) -> ClientT:
    """A new ``cls`` set up by ``config``'s client settings (its defaults where none apply).

    As in 0.4, the ``HttpClient`` of a config with ``oauth2_*`` settings sends the token.
    """
    config.validate()
    built = _warn_if_every_host(_build(config))
    oauth2 = next((c for c in built.values() if isinstance(c, OAuth2Client)), None)
    client = oauth2 if oauth2 and cls in (HttpClient, OAuth2Client) else built.get(cls)
    return client if isinstance(client, cls) else cls()


def configured_clients(config: Config) -> list[Client]:
    """The clients ``config``'s 0.4 client settings ask for, in the order hrefs try them.

    Empty when every such setting has its default. Otherwise one instance of
    every client class, in :func:`~stac_asset.get_client_classes` order: the
    configured ones where settings apply, the default instances elsewhere, so
    a configured catch-all :class:`~stac_asset.HttpClient` never takes the
    hrefs of a more specific client.
    """
    built = _warn_if_every_host(_kept(config))
    if not built:
        return []
    return [built.get(cls) or default_client(cls) for cls in get_client_classes()]


_CLIENT_SETTINGS = (
    "http_client_timeout",
    "http_max_attempts",
    "http_headers",
    "earthdata_token",
    "s3_region_name",
    "s3_requester_pays",
    "s3_endpoint_url",
    "s3_max_attempts",
)
_KEEP = 8
"""How many sets of configured clients are kept (the most recently used)."""

_kept_clients: Kept[Hashable, dict[type[Client], Client]] = Kept(_KEEP)


def _hashable(value: Any) -> Hashable:
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    return value  # type: ignore[no-any-return]


def _kept(config: Config) -> dict[type[Client], Client]:
    """:func:`_build`'s clients for ``config``, built once per settings and environment."""
    names = [*_CLIENT_SETTINGS, *(n for n in vars(config) if n.startswith("oauth2_"))]
    settings = tuple((name, _hashable(getattr(config, name))) for name in sorted(names))
    states = tuple(
        cls.environment_state() for cls in (HttpClient, OAuth2Client, EarthdataClient, S3Client)
    )
    return _kept_clients.get((settings, states), lambda: _build(config))


def call_clients(
    config: Config | None, clients: Sequence[Client] | None, client: ClientSpec | None
) -> tuple[list[Client], ClientSpec | None]:
    """The clients and the forced client of one call.

    Clients handed in come first, then those built from ``config``; a client
    handed in as ``client`` wins over ``config.client_override``.
    """
    given = list(clients or ())
    if config is None:
        return given, client
    forced = client
    if forced is None and config.client_override:
        forced = client_class(config.client_override)
    return [*given, *configured_clients(config)], forced


def call_settings(
    config: Config | None,
    options: dict[str, Any],
    clients: Sequence[Client] | None,
    client: ClientSpec | None,
    **fields: Any,
) -> tuple[Config, Resolver]:
    """The validated settings and the resolver of one call, built once.

    ``options`` override ``config``'s fields; ``fields`` are 0.4 parameters
    that are :class:`~stac_asset.Config` fields here (``max_concurrent_downloads``,
    ``path_template``), ``None`` meaning not given. The resolver asks the
    clients handed in, then those the settings configure (0.4's client
    settings), and holds the trust settings; a bad setting fails before any
    client is built.
    """
    options = {**options, **{name: value for name, value in fields.items() if value is not None}}
    settings = (config or Config()).with_options(**options) if options else (config or Config())
    settings.validate()
    given, forced = call_clients(settings, clients, client)
    resolver = Resolver(
        given,
        force=forced,
        allow_local=settings.allow_local,
        remote_items=settings.remote_items,
    )
    return settings, resolver


def _is_clients(value: object) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(c, Client) for c in value)


def split_config(
    config: Config | Sequence[Client] | None, clients: Sequence[Client] | None
) -> tuple[Config | None, Sequence[Client] | None]:
    """``(config, clients)`` from 0.4's order, or this library's ``(clients,)``."""
    if config is None or isinstance(config, Config):
        return config, clients
    if clients is None and _is_clients(config):
        return None, config
    raise TypeError(
        f"expected a Config (or a list of clients), not {type(config).__name__}; "
        "pass clients=[...] by name"
    )


def split_messages(clients: Any, messages: Any) -> tuple[Sequence[Client] | None, Any]:
    """``(clients, messages)`` for ``download_file``, whose two orders differ.

    0.4 took ``(href, destination, config, clients)``; this library took
    ``(href, path, config, messages, clients)``. A queue or callable where the
    clients go is the messages.
    """
    if (
        clients is not None
        and not _is_clients(clients)
        and (messages is None or _is_clients(messages))
    ):
        return messages, clients
    return clients, messages


def collection_args(
    path_template: str | None, file_name: str | bool | None, infer_file_name: bool, default: str
) -> tuple[str | None, str | None, bool]:
    """``(path_template, file_name, infer_file_name)`` of ``download_item_collection``.

    0.4's order is ``(path_template, file_name)``, and it wrote no collection
    file for ``file_name=None`` (its default was the name itself). This
    library's order was ``(file_name, infer_file_name)``, recognised by a bool
    in second place, and it writes no file for ``infer_file_name=False``
    without an explicit name. ``file_name`` comes back ``None`` (with
    ``infer_file_name`` false) when no file is to be written.
    """
    if isinstance(file_name, bool):
        name = path_template if path_template is not None else (default if file_name else None)
        return collection_args(None, name, file_name, default)
    if file_name is None or (not infer_file_name and file_name == default):
        return path_template, None, False
    return path_template, file_name, True
