"""Options shared by the commands: client settings (stac-asset 0.4's), OAuth2, trust, input."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..clients import AzureClient, Client, get_client_classes
from ..clients.oauth2_cli import CLI_OPTIONS as OAUTH2_OPTIONS
from ..clients.oauth2_cli import client_from_options
from ..config import S3_RETRY_MODES

F = TypeVar("F", bound=Callable[..., Any])

# An HTTP header name: a token (RFC 9110, section 5.1).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def parse_header(text: str) -> tuple[str, str]:
    """``--http-header``: ``Name: value``, ``Name=value`` (0.4's) or a name alone (empty)."""
    # "Name: value" (ours) or "Name=value" (stac-asset 0.4's form): a header name
    # holds neither character, so the first one found separates. A name alone is
    # an empty header, as in 0.4.
    found = [i for i in (text.find(":"), text.find("=")) if i > 0]
    index = min(found) if found else len(text)
    name = text[:index].strip()
    if not _HEADER_NAME.fullmatch(name):
        raise click.BadParameter(
            f"{text!r} is not 'Name: value', 'Name=value' or a name alone",
            param_hint="--http-header",
        )
    return name, text[index + 1 :].strip()


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``--bbox``: ``WEST,SOUTH,EAST,NORTH``."""
    if text is None:
        return None
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not WEST,SOUTH,EAST,NORTH", param_hint="--bbox"
        ) from None
    return (west, south, east, north)


def absolute_base(
    _context: click.Context, _param: click.Parameter, value: str | None
) -> str | None:
    """``--base``: a local path made absolute; a directory ends with '/' (pystac's start)."""
    if value is None:
        return None
    if "://" not in value:
        directory = value.endswith(("/", os.sep)) or os.path.isdir(value)
        value = os.path.abspath(value) + (os.sep if directory else "")
    return value


base_option = click.option(
    "--base",
    callback=absolute_base,
    help="Where the JSON on standard input came from (its file or URL, or its directory "
    "ending in '/'): relative asset hrefs resolve against it.",
)


allow_local_option = click.option(
    "--allow-local",
    is_flag=True,
    help="Let items read from the network or standard input reach local files "
    "(file://, /paths, /vsi..., driver prefixes); refused by default.",
)


alternate_option = click.option(
    "-a",
    "--alternate-assets",
    "--alternate",
    "alternate",
    multiple=True,
    help="Alternate href name to prefer (repeatable).",
)


def client_options(command: F) -> F:
    """Add the options that configure clients (stac-asset 0.4's, with their meaning)."""
    options = [
        click.option(
            "--s3-requester-pays", is_flag=True, help="Pay for requests to requester-pays buckets."
        ),
        click.option(
            "--s3-retry-mode",
            type=click.Choice(S3_RETRY_MODES, case_sensitive=False),
            help="Accepted for stac-asset 0.4: S3 requests retry with backoff and jitter.",
        ),
        click.option(
            "--s3-max-attempts",
            type=click.IntRange(min=1),
            help="Attempts in all for a failed S3 request [default: 5].",
        ),
        click.option(
            "--http-max-attempts",
            type=click.IntRange(min=1),
            help="Attempts in all for a failed HTTP request [default: 5].",
        ),
        click.option(
            "--http-timeout",
            type=click.FloatRange(min=0, min_open=True),
            help="Seconds to wait to connect, and between bytes, over HTTP [default: 60].",
        ),
        click.option(
            "--http-header",
            multiple=True,
            help="'Name: value' or 'Name=value' sent with HTTP requests (repeatable); "
            "a name alone is sent empty.",
        ),
        click.option(
            "--azure-entra-id",
            is_flag=True,
            help="Sign in to Azure Blob Storage with Microsoft Entra ID (azure-identity's "
            "DefaultAzureCredential: environment, workload or managed identity, Azure CLI).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def client_settings(values: dict[str, Any]) -> dict[str, Any]:
    """The :class:`Config` fields of the ``client_options`` values (taken out of ``values``)."""
    return {
        "s3_requester_pays": values.pop("s3_requester_pays"),
        "s3_retry_mode": (values.pop("s3_retry_mode") or "").lower() or None,
        "s3_max_attempts": values.pop("s3_max_attempts"),
        "http_max_attempts": values.pop("http_max_attempts"),
        "http_client_timeout": values.pop("http_timeout"),
        "http_headers": dict(parse_header(h) for h in values.pop("http_header")),
    }


def azure_clients(values: dict[str, Any]) -> list[Client]:
    """An Azure client signing in with Entra ID, for ``--azure-entra-id`` (popped)."""
    return [AzureClient(entra_id=True)] if values.pop("azure_entra_id") else []


def oauth2_options(command: F) -> F:
    """Add the ``--oauth2-*`` options; each falls back to its ``STAC_ASSET_OAUTH2_*`` variable."""
    for name, text in reversed(OAUTH2_OPTIONS):
        command = click.option(f"--oauth2-{name}", multiple=name in ("host", "param"), help=text)(
            command
        )
    return command


def oauth2_client(values: dict[str, Any]) -> list[Client]:
    """The OAuth2 client the ``--oauth2-*`` values (or their variables) ask for, if any."""
    try:
        client = client_from_options(**{k.removeprefix("oauth2_"): v for k, v in values.items()})
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    return [client] if client else []


client_option = click.option(
    "-c",
    "--client",
    "client_name",
    type=click.Choice([cls.name for cls in get_client_classes()]),
    help="The client for every asset href (by default each href finds its own).",
)
