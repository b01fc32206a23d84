"""The ``stac-asset`` command line: a thin face over the same engine."""

from __future__ import annotations

import json
import shlex
import sys

import click

from . import blocking
from ._secrets import mask_mapping, mask_url
from ._version import __version__
from .errors import StacAssetError
from .items import read_item
from .opening import resolve
from .resolver import Resolver
from .transfer import Fetcher


@click.group()
@click.version_option(__version__, prog_name="stac-asset")
def cli() -> None:
    """Download STAC items' assets, and show how GDAL reaches them."""


@cli.command()
@click.argument("href")
@click.argument("directory", default=".")
@click.option("-i", "--include", multiple=True, help="Asset key or role to download (repeatable).")
@click.option("-x", "--exclude", multiple=True, help="Asset key or role to skip (repeatable).")
@click.option("--overwrite", is_flag=True, help="Download again even if a complete file exists.")
@click.option("--keep-non-downloaded", is_flag=True, help="Keep skipped assets in the item.")
@click.option("--fail-fast", is_flag=True, help="Stop at the first failed asset.")
@click.option(
    "--max-concurrent-downloads", type=click.IntRange(min=1), default=16, show_default=True
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def download(
    href: str,
    directory: str,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    overwrite: bool,
    keep_non_downloaded: bool,
    fail_fast: bool,
    max_concurrent_downloads: int,
    quiet: bool,
) -> None:
    """Download the item at HREF and its assets into DIRECTORY."""
    try:
        item = blocking.download_item_from_href(
            href,
            directory,
            keep_non_downloaded=keep_non_downloaded,
            include=list(include),
            exclude=list(exclude),
            overwrite=overwrite,
            fail_fast=fail_fast,
            max_concurrent_downloads=max_concurrent_downloads,
        )
    except StacAssetError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    if not quiet:
        click.echo(f"{len(item.assets)} asset(s) of {item.id} in {item.get_self_href()}", err=True)


@cli.command()
@click.argument("href")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of export lines.")
@click.option("--show-secrets", is_flag=True, help="Print credentials unmasked.")
def vsi(href: str, key: str, as_json: bool, show_secrets: bool) -> None:
    """Print the GDAL path and config options for asset KEY of the item at HREF."""
    try:
        item = read_item(href, Fetcher(Resolver()))
        access = resolve(item, key)
    except StacAssetError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    options = access.gdal_options if show_secrets else mask_mapping(access.gdal_options)
    path = access.vsi_path if show_secrets else mask_url(access.vsi_path)
    if as_json:
        click.echo(json.dumps({"vsi_path": path, "gdal_options": options}, indent=2))
        return
    for name, value in options.items():
        click.echo(f"export {name}={shlex.quote(value)}")
    click.echo(f"# gdalinfo {shlex.quote(path)}")


def main() -> None:
    """Run the command line."""
    cli()
