"""``stac-asset info``: each asset's client, whether it can be read, its size."""

from __future__ import annotations

import json
from typing import Any

import click

from .. import compat
from ..config import Config
from ..errors import StacAssetError
from ..resolver import Resolver
from .errors import fail
from .inputs import items_of, read_input, untrusted_input
from .options import (
    allow_local_option,
    alternate_option,
    azure_clients,
    base_option,
    client_options,
    client_settings,
)
from .report import HEADERS, check_items, format_table, merged


@click.command()
@click.argument("href", required=False)
@base_option
@alternate_option
@client_options
@allow_local_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON row per asset instead.")
def info(
    href: str | None,
    base: str | None,
    alternate: tuple[str, ...],
    allow_local: bool,
    as_json: bool,
    **values: Any,
) -> None:
    """Show the assets of the item or item collection at HREF (or on stdin).

    For each asset: the client that takes it, whether it can be read (Exists,
    and the error in Note when not), its media type, size and roles. The
    assets of a collection's items are merged by key: Exists 'Sometimes',
    'Various' clients or types.
    """
    config = Config(alternate_assets=list(alternate), **client_settings(values))
    try:
        config.validate()
        clients = compat.call_clients(config, azure_clients(values), None)[0]
        items, _ = items_of(read_input(href, Resolver(clients)), href, base)
        resolver = Resolver(
            clients, allow_local=allow_local, remote_items=untrusted_input(href, base)
        )
    except (StacAssetError, ValueError) as error:
        raise fail(error) from None
    rows = check_items(items, resolver, config.alternate_assets)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(format_table(HEADERS, merged(rows)))
