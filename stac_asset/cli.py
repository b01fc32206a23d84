"""The ``stac-asset`` command line: a thin face over the same engine.

Bars, messages and errors go to stderr; stdout carries only data (the
written item collection with ``--stdout``, or ``vsi`` output), so commands
chain in pipes.
"""

from __future__ import annotations

import json
import shlex
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click
import pystac

from . import blocking
from ._secrets import mask_mapping, mask_url
from ._version import __version__
from .clients import Client, HttpClient, S3Client
from .clients.oauth2 import CLI_OPTIONS as OAUTH2_OPTIONS
from .clients.oauth2 import client_from_options
from .clip import Clip
from .config import Config
from .download import selected
from .errors import StacAssetError
from .items import asset_href, item_from_dict, load_json
from .messages import Progress
from .opening import resolve
from .progress import Bars, JsonEvents
from .resolver import Resolver
from .transfer import Fetcher

F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


class CliError(click.ClickException):
    """A readable one-line error (exit status 1)."""

    def show(self, file: Any = None) -> None:
        """Print ``error: <message>`` to stderr."""
        click.echo(f"error: {self.message}", err=True)


def _fail(error: BaseException) -> CliError:
    context = click.get_current_context()
    if context.find_root().params.get("verbose"):
        traceback.print_exception(error)
    return CliError(str(error))


@click.group()
@click.version_option(__version__, prog_name="stac-asset")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks with errors.")
def cli(verbose: bool) -> None:
    """Download STAC items' assets, and show how GDAL reaches them."""


def _parse_header(text: str) -> tuple[str, str]:
    # "Name: value" (ours) or "Name=value" (stac-asset 0.4's form).
    for separator in (":", "="):
        name, found, value = text.partition(separator)
        if found and name.strip():
            return name.strip(), value.strip()
    raise click.BadParameter(f"{text!r} is not 'Name: value'", param_hint="--http-header")


def _parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not WEST,SOUTH,EAST,NORTH", param_hint="--bbox"
        ) from None
    return (west, south, east, north)


def _read_input(href: str | None, resolver: Resolver) -> dict[str, Any]:
    if href in (None, "-"):
        text = sys.stdin.read()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise CliError(f"standard input is not JSON: {error}") from None
        if not isinstance(data, dict):
            raise CliError("standard input is not a STAC item or item collection")
        return data
    return load_json(href, Fetcher(resolver), "item or item collection")


def _items(data: dict[str, Any], href: str | None) -> tuple[list[pystac.Item], bool]:
    """The items in ``data`` and whether it was a collection."""
    source = None if href in (None, "-") else href
    if data.get("type") == "FeatureCollection":
        items = [item_from_dict(feature, None) for feature in data.get("features", [])]
        for item in items:
            if source and item.get_self_href() is None:
                item.set_self_href(source)
        return items, True
    return [item_from_dict(data, source)], False


def _progress(quiet: bool, as_json: bool, files: int) -> tuple[Progress | None, Bars | None]:
    if as_json:
        return JsonEvents(), None
    if quiet or not sys.stderr.isatty():
        return None, None
    bars = Bars(files)
    return bars, bars


def _clients(headers: Sequence[str], requester_pays: bool) -> list[Client]:
    clients: list[Client] = []
    if headers:
        clients.append(HttpClient(headers=dict(_parse_header(h) for h in headers)))
    if requester_pays:
        clients.append(S3Client(requester_pays=True))
    return clients


def _oauth2_options(command: F) -> F:
    """Add the ``--oauth2-*`` options; each falls back to its ``STAC_ASSET_OAUTH2_*`` variable."""
    for name, text in reversed(OAUTH2_OPTIONS):
        command = click.option(f"--oauth2-{name}", multiple=name in ("host", "param"), help=text)(
            command
        )
    return command


def _oauth2_client(values: dict[str, Any]) -> list[Client]:
    try:
        client = client_from_options(**{k.removeprefix("oauth2_"): v for k, v in values.items()})
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    return [client] if client else []


@cli.command()
@click.argument("href", required=False)
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("-i", "--include", multiple=True, help="Asset key or role to download (repeatable).")
@click.option("-x", "--exclude", multiple=True, help="Asset key or role to skip (repeatable).")
@click.option(
    "-p", "--path-template", help="Where each item's files go, e.g. '${collection}/${id}'."
)
@click.option("--overwrite", is_flag=True, help="Download again even if a complete file exists.")
@click.option("--keep-non-downloaded", is_flag=True, help="Keep skipped assets in the items.")
@click.option("--fail-fast", is_flag=True, help="Stop at the first failed asset.")
@click.option(
    "--keep-going",
    is_flag=True,
    help="Download every asset that can be, then report all failures (the default).",
)
@click.option("--alternate", multiple=True, help="Alternate href name to prefer (repeatable).")
@click.option(
    "--max-concurrent-downloads", type=click.IntRange(min=1), default=32, show_default=True
)
@click.option(
    "--s3-requester-pays", is_flag=True, help="Pay for requests to requester-pays buckets."
)
@click.option(
    "--http-header", multiple=True, help="'Name: value' sent with HTTP requests (repeatable)."
)
@click.option(
    "--bbox",
    callback=lambda _ctx, _param, value: _parse_bbox(value),
    help="Clip raster assets to WEST,SOUTH,EAST,NORTH (a windowed copy).",
)
@click.option("--bbox-crs", default="EPSG:4326", show_default=True, help="The CRS of --bbox.")
@click.option("--stdout", "to_stdout", is_flag=True, help="Print the written items as JSON.")
@click.option("--json", "as_json", is_flag=True, help="One JSON event per line on stderr.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or messages, only errors.")
@_oauth2_options
def download(
    href: str | None,
    directory: str,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    path_template: str | None,
    overwrite: bool,
    keep_non_downloaded: bool,
    fail_fast: bool,
    keep_going: bool,
    alternate: tuple[str, ...],
    max_concurrent_downloads: int,
    s3_requester_pays: bool,
    http_header: tuple[str, ...],
    bbox: tuple[float, float, float, float] | None,
    bbox_crs: str,
    to_stdout: bool,
    as_json: bool,
    quiet: bool,
    **oauth2: Any,
) -> None:
    """Download the item or item collection at HREF (or on stdin) into DIRECTORY.

    HREF may be '-' or left out to read JSON from standard input, so
    `stac-client search ... | stac-asset download - out/` works.
    """
    if fail_fast and keep_going:
        raise click.UsageError("--fail-fast and --keep-going contradict each other")
    clients = _oauth2_client(oauth2) + _clients(http_header, s3_requester_pays)
    resolver = Resolver(clients)
    config = Config(
        include=list(include),
        exclude=list(exclude),
        path_template=path_template,
        overwrite=overwrite,
        fail_fast=fail_fast,
        alternate_assets=list(alternate),
        max_concurrent_downloads=max_concurrent_downloads,
        clip=Clip(bbox=bbox, bbox_crs=bbox_crs) if bbox else None,
    )
    bars = None
    try:
        config.validate()
        items, is_collection = _items(_read_input(href, resolver), href)
        files = sum(selected(k, a, config) for i in items for k, a in i.assets.items())
        progress, bars = _progress(quiet, as_json, files)
        if is_collection:
            result = blocking.download_item_collection(
                pystac.ItemCollection(items, clone_items=False),
                directory,
                config=config,
                messages=progress,
                clients=clients,
                keep_non_downloaded=keep_non_downloaded,
            )
            written = result.to_dict(transform_hrefs=False)
        else:
            item = blocking.download_item(
                items[0],
                directory,
                config=config,
                messages=progress,
                clients=clients,
                keep_non_downloaded=keep_non_downloaded,
            )
            written = pystac.ItemCollection([item]).to_dict(transform_hrefs=False)
    except KeyboardInterrupt:
        click.echo("interrupted: no partial file was left at a final path", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except (StacAssetError, OSError, ValueError) as error:
        raise _fail(error) from None
    finally:
        if bars:
            bars.close()
    if to_stdout:
        click.echo(json.dumps(written))
    if not quiet and not as_json:
        count = sum(len(feature["assets"]) for feature in written["features"])
        click.echo(f"{count} asset(s) of {len(items)} item(s) in {directory}", err=True)


@cli.command()
@click.argument("href")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def info(href: str, as_json: bool) -> None:
    """Show the assets of the item at HREF, the client each uses, and whether it is reachable."""
    resolver = Resolver()
    try:
        item = item_from_dict(load_json(href, Fetcher(resolver), "item"), href)
    except StacAssetError as error:
        raise _fail(error) from None
    rows = []
    for key, asset in item.assets.items():
        row: dict[str, Any] = {
            "key": key,
            "roles": asset.roles or [],
            "type": asset.media_type,
            "size": asset.extra_fields.get("file:size"),
        }
        try:
            target = asset_href(asset)
            client = resolver.client_for(target)
            row["client"] = client.name
            with client.open_stream(client.resolve(target, asset)) as stream:
                row["size"] = row["size"] or stream.size
            row["reachable"] = "yes"
        except StacAssetError as error:
            row.setdefault("client", "-")
            row["reachable"] = f"no: {error}"
        rows.append(row)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        size = f"{row['size']:,} B" if isinstance(row["size"], int) else "size unknown"
        roles = ",".join(row["roles"]) or "-"
        click.echo(
            f"{row['key']}\t{roles}\t{row['type'] or '-'}\t{size}\t{row['client']}\t"
            f"{row['reachable']}"
        )


@cli.command()
@click.argument("href")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of export lines.")
@click.option("--show-secrets", is_flag=True, help="Print credentials unmasked.")
def vsi(href: str, key: str, as_json: bool, show_secrets: bool) -> None:
    """Print the GDAL path and config options for asset KEY of the item at HREF.

    Use them with gdalinfo or QGIS: `eval "$(stac-asset vsi --show-secrets ITEM B04)"`,
    then `gdalinfo "$STAC_ASSET_VSI_PATH"`.
    """
    try:
        item = item_from_dict(load_json(href, Fetcher(Resolver()), "item"), href)
        access = resolve(item, key)
    except StacAssetError as error:
        raise _fail(error) from None
    options = access.gdal_options if show_secrets else mask_mapping(access.gdal_options)
    path = access.vsi_path if show_secrets else mask_url(access.vsi_path)
    if as_json:
        click.echo(json.dumps({"vsi_path": path, "gdal_options": options}, indent=2))
        return
    for name, value in options.items():
        click.echo(f"export {name}={shlex.quote(value)}")
    click.echo(f"export STAC_ASSET_VSI_PATH={shlex.quote(path)}")


def main() -> None:
    """Run the command line."""
    cli()
