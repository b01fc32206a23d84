"""The ``stac-asset`` command line: a thin face over the same engine.

Bars, messages and errors go to stderr; stdout carries only data (the
written items when it is not a terminal or with ``--stdout``, ``info`` and
``vsi`` output), so commands chain in pipes. The options of stac-asset 0.4's
command line are here too, with their meaning.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import traceback
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import click
import pystac

from . import blocking, compat, report
from ._secrets import mask_mapping, mask_url
from ._version import __version__
from .clients import Client, get_client_classes
from .clients.oauth2 import CLI_OPTIONS as OAUTH2_OPTIONS
from .clients.oauth2 import client_from_options
from .clip import Clip
from .config import DEFAULT_MAX_CONCURRENT_PER_HOST, S3_RETRY_MODES, Config
from .download import selected
from .errors import AssetFailure, DownloadError, DownloadWarning, StacAssetError
from .items import checked_href, features_of, get_asset, item_from_dict, load_json
from .messages import Message, Progress, SkipAssetDownload
from .progress import Bars, JsonEvents
from .resolver import Resolver
from .strategy import ErrorStrategy, FileNameStrategy
from .transfer import Fetcher

F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130

# An HTTP header name: a token (RFC 9110, section 5.1).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class CliError(click.ClickException):
    """A readable one-line error (exit status 1)."""

    def show(self, file: Any = None) -> None:
        """Print ``error: <message>`` to stderr."""
        click.echo(f"error: {self.message}", err=True)


def _fail(error: BaseException) -> CliError:
    context = click.get_current_context()
    if context.find_root().params.get("verbose"):
        traceback.print_exception(error)
    return CliError(_as_flags(str(error), context.command))


# A hint in Python's terms: file_name_strategy='key', on_collision='rename', overwrite=True.
_KEYWORD_HINT = re.compile(r"\b([a-z][a-z0-9_]*)=('[^']*'|True)")


def _as_flags(message: str, command: click.Command) -> str:
    """The message with keyword hints the command has options for, as its flags."""
    flags = {
        param.name: max(param.opts, key=len)
        for param in command.params
        if isinstance(param, click.Option) and param.name
    }

    def flag(match: re.Match[str]) -> str:
        name, value = match[1], match[2]
        if name not in flags:
            return match[0]
        return flags[name] if value == "True" else f"{flags[name]} {value.strip(chr(39))}"

    return _KEYWORD_HINT.sub(flag, message)


@click.group()
@click.version_option(__version__, prog_name="stac-asset")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks with errors.")
def cli(verbose: bool) -> None:
    """Download STAC items' assets, and show how GDAL reaches them."""


def _parse_header(text: str) -> tuple[str, str]:
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
    if href is None and sys.stdin.isatty():
        # Nothing piped in: say what is wanted rather than wait for a Ctrl-D.
        raise click.UsageError(
            "give an HREF, or pipe an item or item collection in "
            "(stac-client search ... | stac-asset download)"
        )
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


def _from_stdin(href: str | None) -> bool:
    return href in (None, "-")


def _untrusted_input(href: str | None, base: str | None) -> bool:
    """Whether the items are remote whatever their links say.

    Items on stdin are, unless a local ``--base`` says they came from this
    machine (a URL base makes them remote anyway).
    """
    return _from_stdin(href) and base is None


def _items(
    data: dict[str, Any], href: str | None, base: str | None = None
) -> tuple[list[pystac.Item], bool]:
    """The items in ``data`` and whether it was a collection.

    Items read from standard input have no href of their own: ``base`` (the
    ``--base`` option) stands for it, and without one, relative asset hrefs
    are an error saying so.
    """
    stdin = _from_stdin(href)
    source = base if stdin else href
    if data.get("type") == "FeatureCollection":
        items, is_collection = features_of(data, source), True
    else:
        items, is_collection = [item_from_dict(data, source)], False
    if stdin and source is None:
        relative = [
            asset.href
            for item in items
            if item.get_self_href() is None
            for asset in item.assets.values()
            if not pystac.utils.is_absolute_href(asset.href)
        ]
        if relative:
            raise click.UsageError(
                f"the items on standard input have relative asset hrefs ({relative[0]!r}) "
                "and no self link to resolve them against: give where they came from with "
                "--base (their file or URL, or its directory), or pass that HREF instead of '-'"
            )
    return items, is_collection


def _base(_context: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """``--base``: a local path made absolute; a directory ends with '/' (pystac's start)."""
    if value is None:
        return None
    if "://" not in value:
        directory = value.endswith(("/", os.sep)) or os.path.isdir(value)
        value = os.path.abspath(value) + (os.sep if directory else "")
    return value


_base_option = click.option(
    "--base",
    callback=_base,
    help="Where the JSON on standard input came from (its file or URL, or its directory "
    "ending in '/'): relative asset hrefs resolve against it.",
)


_allow_local_option = click.option(
    "--allow-local",
    is_flag=True,
    help="Let items read from the network or standard input reach local files "
    "(file://, /paths, /vsi..., driver prefixes); refused by default.",
)


def _progress(quiet: bool, as_json: bool, files: int) -> tuple[Progress | None, Bars | None]:
    if as_json:
        return JsonEvents(), None
    if quiet or not sys.stderr.isatty():
        return None, None
    bars = Bars(files)
    return bars, bars


_alternate_option = click.option(
    "-a",
    "--alternate-assets",
    "--alternate",
    "alternate",
    multiple=True,
    help="Alternate href name to prefer (repeatable).",
)


def _client_options(command: F) -> F:
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
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _client_settings(values: dict[str, Any]) -> dict[str, Any]:
    """The :class:`Config` fields of the ``_client_options`` values (taken out of ``values``)."""
    return {
        "s3_requester_pays": values.pop("s3_requester_pays"),
        "s3_retry_mode": (values.pop("s3_retry_mode") or "").lower() or None,
        "s3_max_attempts": values.pop("s3_max_attempts"),
        "http_max_attempts": values.pop("http_max_attempts"),
        "http_client_timeout": values.pop("http_timeout"),
        "http_headers": dict(_parse_header(h) for h in values.pop("http_header")),
    }


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


_client_option = click.option(
    "-c",
    "--client",
    "client_name",
    type=click.Choice([cls.name for cls in get_client_classes()]),
    help="The client for every asset href (by default each href finds its own).",
)


@cli.command()
@click.argument("href", required=False)
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@_client_option
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
@_base_option
@_alternate_option
@click.option(
    "--max-concurrent-downloads",
    type=click.IntRange(min=1),
    default=32,
    show_default=True,
    help="How many files are transferred at once "
    f"(at most {DEFAULT_MAX_CONCURRENT_PER_HOST} from any one host).",
)
@_client_options
@_allow_local_option
@click.option(
    "--stream",
    type=click.Choice(["true", "false", "defer"]),
    default="defer",
    help="Accepted for stac-asset 0.4: bytes are always streamed to disk.",
)
@click.option(
    "--bbox",
    callback=lambda _ctx, _param, value: _parse_bbox(value),
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
@_oauth2_options
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
    clients = _oauth2_client({k: v for k, v in values.items() if k.startswith("oauth2_")})
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
        remote_items=_untrusted_input(href, base),
        **_client_settings(values),
    )
    bars = None
    try:
        config.validate()
        # The same clients read the input and fetch the assets; the forced
        # client (-c) is for asset hrefs only.
        clients = compat.call_clients(config, clients, None)[0]
        resolver = Resolver(clients)
        items, is_collection = _items(_read_input(href, resolver), href, base)
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
        raise _fail(error) from None
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
        raise _fail(DownloadError(failures))


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


@cli.command()
@click.argument("href", required=False)
@_base_option
@_alternate_option
@_client_options
@_allow_local_option
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
    config = Config(alternate_assets=list(alternate), **_client_settings(values))
    try:
        config.validate()
        clients = compat.call_clients(config, None, None)[0]
        items, _ = _items(_read_input(href, Resolver(clients)), href, base)
        resolver = Resolver(
            clients, allow_local=allow_local, remote_items=_untrusted_input(href, base)
        )
    except (StacAssetError, ValueError) as error:
        raise _fail(error) from None
    rows = report.check_items(items, resolver, config.alternate_assets)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(report.format_table(report.HEADERS, report.merged(rows)))


@cli.command()
@click.argument("href")
@click.argument("key")
@_client_option
@_alternate_option
@_client_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of export lines.")
@click.option("--show-secrets", is_flag=True, help="Print credentials unmasked.")
@_oauth2_options
@_allow_local_option
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
    clients = _oauth2_client({k: v for k, v in values.items() if k.startswith("oauth2_")})
    config = Config(
        alternate_assets=list(alternate),
        client_override=client_name,
        **_client_settings(values),
    )
    try:
        config.validate()
        clients, forced = compat.call_clients(config, clients, None)
        item = item_from_dict(load_json(href, Fetcher(Resolver(clients)), "item"), href)
        asset = get_asset(item, key)
        resolver = Resolver(clients, force=forced, allow_local=allow_local)
        target, untrusted = checked_href(asset, resolver, config.alternate_assets)
        access = resolver.resolve(target, asset, untrusted=untrusted)
    except (StacAssetError, ValueError) as error:
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
