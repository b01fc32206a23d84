"""``stac-asset download``: items and item collections into a directory, with progress."""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any

import click
import pystac

from .. import blocking, compat
from ..clip_spec import Clip
from ..config import DEFAULT_MAX_CONCURRENT_PER_HOST, Config
from ..errors import AssetFailure, DownloadError, DownloadWarning, StacAssetError
from ..messages import Message, Progress, SkipAssetDownload
from ..plan import selected
from ..resolver import Resolver
from ..strategy import ErrorStrategy, FileNameStrategy
from .errors import EXIT_INTERRUPTED, fail
from .inputs import items_of, read_input, untrusted_input
from .options import (
    allow_local_option,
    alternate_option,
    azure_clients,
    base_option,
    client_option,
    client_options,
    client_settings,
    oauth2_client,
    oauth2_options,
    parse_bbox,
)
from .progress import Bars, JsonEvents


def _progress(quiet: bool, as_json: bool, files: int) -> tuple[Progress | None, Bars | None]:
    if as_json:
        return JsonEvents(), None
    if quiet or not sys.stderr.isatty():
        return None, None
    bars = Bars(files)
    return bars, bars


@click.command()
@click.argument("href", required=False)
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@client_option
@click.option("-i", "--include", multiple=True, help="Asset key or role to download (repeatable).")
@click.option("-x", "--exclude", multiple=True, help="Asset key or role to skip (repeatable).")
@click.option(
    "-p", "--path-template", help="Where each item's files go, e.g. '${collection}/${id}'."
)
@click.option(
    "-f",
    "--file-name",
    help="File name of the written item (default: <id>.json) or item collection "
    "(default: item-collection.json) in DIRECTORY.",
)
@click.option(
    "--file-name-strategy",
    type=click.Choice([strategy.value for strategy in FileNameStrategy]),
    default=FileNameStrategy.FILE_NAME.value,
    show_default=True,
    help="Name each file after its href's file name, or after its asset key.",
)
@click.option(
    "--on-collision",
    type=click.Choice(["error", "rename"]),
    default="error",
    show_default=True,
    help="When two assets would get the same path: an error before any byte moves, "
    "or rename the later one '<name>-<key>'.",
)
@click.option("--overwrite", is_flag=True, help="Download again even if a complete file exists.")
@click.option(
    "-k",
    "--keep",
    is_flag=True,
    help="Keep assets that failed in the written items, with their original hrefs.",
)
@click.option(
    "--keep-non-downloaded",
    is_flag=True,
    help="Keep assets that were not downloaded (not included, or failed) in the items.",
)
@click.option("--fail-fast", is_flag=True, help="Stop at the first failed asset; write no item.")
@click.option(
    "--keep-going",
    is_flag=True,
    help="Download every asset that can be, write the items, then report all failures "
    "(the default).",
)
@base_option
@alternate_option
@click.option(
    "--max-concurrent-downloads",
    type=click.IntRange(min=1),
    default=32,
    show_default=True,
    help="How many files are transferred at once "
    f"(at most {DEFAULT_MAX_CONCURRENT_PER_HOST} from any one host).",
)
@client_options
@allow_local_option
@click.option(
    "--stream",
    type=click.Choice(["true", "false", "defer"]),
    default="defer",
    help="Accepted for stac-asset 0.4: bytes are always streamed to disk.",
)
@click.option(
    "--bbox",
    callback=lambda _ctx, _param, value: parse_bbox(value),
    help="Clip raster assets to WEST,SOUTH,EAST,NORTH (a windowed copy).",
)
@click.option("--bbox-crs", default="EPSG:4326", show_default=True, help="The CRS of --bbox.")
@click.option(
    "--stdout",
    "to_stdout",
    is_flag=True,
    help="Print the written items as a FeatureCollection (even on a terminal).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON event per line on stderr.")
@click.option(
    "-q", "--quiet", is_flag=True, help="No progress bars, messages or JSON output, only errors."
)
@oauth2_options
def download(
    href: str | None,
    directory: str,
    client_name: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    path_template: str | None,
    file_name: str | None,
    file_name_strategy: str,
    on_collision: str,
    overwrite: bool,
    keep: bool,
    keep_non_downloaded: bool,
    fail_fast: bool,
    keep_going: bool,
    base: str | None,
    alternate: tuple[str, ...],
    max_concurrent_downloads: int,
    allow_local: bool,
    stream: str,
    bbox: tuple[float, float, float, float] | None,
    bbox_crs: str,
    to_stdout: bool,
    as_json: bool,
    quiet: bool,
    **values: Any,
) -> None:
    """Download the item or item collection at HREF (or on stdin) into DIRECTORY.

    HREF may be '-' or left out to read JSON from standard input, so
    `stac-client search ... | stac-asset download - out/` works. DIRECTORY is
    the current one by default; the items of a collection each go in
    '${id}' under it.

    When standard output is not a terminal, the written item (or item
    collection) is printed there as JSON, as stac-asset 0.4 did:
    `stac-asset download item.json > out.json`. Not with -q or -f.

    Assets that fail are left out of the written items (kept with -k), and
    the command exits with status 1 after listing them.
    """
    if fail_fast and keep_going:
        raise click.UsageError("--fail-fast and --keep-going contradict each other")
    clients = azure_clients(values)
    clients += oauth2_client({k: v for k, v in values.items() if k.startswith("oauth2_")})
    config = Config(
        include=list(include),
        exclude=list(exclude),
        path_template=path_template,
        file_name_strategy=FileNameStrategy(file_name_strategy),
        on_collision=on_collision,
        overwrite=overwrite,
        fail_fast=fail_fast,
        warn=not fail_fast,
        error_strategy=ErrorStrategy.KEEP if keep else ErrorStrategy.DELETE,
        alternate_assets=list(alternate),
        max_concurrent_downloads=max_concurrent_downloads,
        clip=Clip(bbox=bbox, bbox_crs=bbox_crs) if bbox else None,
        client_override=client_name,
        allow_local=allow_local,
        remote_items=untrusted_input(href, base),
        **client_settings(values),
    )
    bars = None
    try:
        config.validate()
        # The same clients read the input and fetch the assets; the forced
        # client (-c) is for asset hrefs only.
        clients = compat.call_clients(config, clients, None)[0]
        resolver = Resolver(clients)
        items, is_collection = items_of(read_input(href, resolver), href, base)
        files = sum(selected(k, a, config) for i in items for k, a in i.assets.items())
        progress, bars = _progress(quiet, as_json, files)
        skipped: list[SkipAssetDownload] = []

        def messages(message: Message) -> None:
            if isinstance(message, SkipAssetDownload):
                skipped.append(message)  # from worker threads; list.append is atomic
            if progress:
                progress(message)

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DownloadWarning)
            if is_collection:
                result = blocking.download_item_collection(
                    pystac.ItemCollection(items, clone_items=False),
                    directory,
                    file_name=file_name or blocking.ITEM_COLLECTION_FILE_NAME,
                    config=config,
                    messages=messages,
                    clients=clients,
                    keep_non_downloaded=keep_non_downloaded,
                )
                written = result.to_dict(transform_hrefs=False)
                collection = written
            else:
                item = blocking.download_item(
                    items[0],
                    directory,
                    file_name=file_name,
                    config=config,
                    messages=messages,
                    clients=clients,
                    keep_non_downloaded=keep_non_downloaded,
                )
                written = item.to_dict(transform_hrefs=False)
                collection = pystac.ItemCollection([item]).to_dict(transform_hrefs=False)
    except KeyboardInterrupt:
        click.echo("interrupted: no partial file was left at a final path", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except (StacAssetError, OSError, ValueError) as error:
        raise fail(error) from None
    finally:
        if bars:
            bars.close()
    failures = _failures(caught)
    if to_stdout:
        click.echo(json.dumps(collection))
    elif not quiet and not file_name and not sys.stdout.isatty():
        click.echo(json.dumps(written))
    if not quiet and not as_json:
        count = sum(len(feature["assets"]) for feature in collection["features"])
        where = f"{directory}/{file_name}" if file_name else directory
        done = f"; {len(skipped)} already complete, skipped" if skipped else ""
        click.echo(f"{count} asset(s) of {len(items)} item(s) in {where}{done}", err=True)
    if failures:
        raise fail(DownloadError(failures))


def _failures(caught: list[warnings.WarningMessage]) -> list[AssetFailure]:
    """The failed assets among the warnings; the other warnings are shown as usual."""
    failures = []
    for warning in caught:
        if isinstance(warning.message, DownloadWarning):
            failures.append(warning.message.failure)
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return failures
