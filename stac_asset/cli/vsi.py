"""``stac-asset vsi``: the GDAL path and options of an asset, for gdalinfo or QGIS."""

from __future__ import annotations

import json
import shlex
from typing import Any

import click

from .. import compat
from .._secrets import mask_mapping, mask_url
from ..config import Config
from ..errors import StacAssetError
from ..items import checked_href, get_asset, item_from_dict, load_json
from ..resolver import Resolver
from ..transfer import Fetcher
from .errors import fail
from .options import (
    allow_local_option,
    alternate_option,
    azure_clients,
    client_option,
    client_options,
    client_settings,
    oauth2_client,
    oauth2_options,
)


@click.command()
@click.argument("href")
@click.argument("key")
@client_option
@alternate_option
@client_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of export lines.")
@click.option("--show-secrets", is_flag=True, help="Print credentials unmasked.")
@oauth2_options
@allow_local_option
def vsi(
    href: str,
    key: str,
    client_name: str | None,
    alternate: tuple[str, ...],
    as_json: bool,
    show_secrets: bool,
    allow_local: bool,
    **values: Any,
) -> None:
    """Print the GDAL path and config options for asset KEY of the item at HREF.

    Use them with gdalinfo or QGIS: `eval "$(stac-asset vsi --show-secrets ITEM B04)"`,
    then `gdalinfo "$STAC_ASSET_VSI_PATH"`. The client options are those of
    `download`.
    """
    clients = azure_clients(values)
    clients += oauth2_client({k: v for k, v in values.items() if k.startswith("oauth2_")})
    config = Config(
        alternate_assets=list(alternate),
        client_override=client_name,
        **client_settings(values),
    )
    try:
        config.validate()
        clients, forced = compat.call_clients(config, clients, None)
        item = item_from_dict(load_json(href, Fetcher(Resolver(clients)), "item"), href)
        asset = get_asset(item, key)
        resolver = Resolver(clients, force=forced, allow_local=allow_local)
        target, untrusted = checked_href(asset, resolver, config.alternate_assets)
        access = resolver.gdal_access(resolver.resolve(target, asset, untrusted=untrusted))
    except (StacAssetError, ValueError) as error:
        raise fail(error) from None
    options = access.gdal_options if show_secrets else mask_mapping(access.gdal_options)
    path = access.vsi_path if show_secrets else mask_url(access.vsi_path)
    if as_json:
        click.echo(json.dumps({"vsi_path": path, "gdal_options": options}, indent=2))
        return
    for name, value in options.items():
        click.echo(f"export {name}={shlex.quote(value)}")
    click.echo(f"export STAC_ASSET_VSI_PATH={shlex.quote(path)}")
