"""Reading the items a command works on: from an href, or from standard input."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
import pystac

from ..items import features_of, item_from_dict, load_json
from ..resolver import Resolver
from ..transfer import Fetcher
from .errors import CliError


def read_input(href: str | None, resolver: Resolver) -> dict[str, Any]:
    """The JSON at ``href``, or on standard input for ``-`` or none (usage on a terminal)."""
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


def from_stdin(href: str | None) -> bool:
    """Whether the command reads standard input (``-`` or no HREF)."""
    return href in (None, "-")


def untrusted_input(href: str | None, base: str | None) -> bool:
    """Whether the items are remote whatever their links say.

    Items on stdin are, unless a local ``--base`` says they came from this
    machine (a URL base makes them remote anyway).
    """
    return from_stdin(href) and base is None


def items_of(
    data: dict[str, Any], href: str | None, base: str | None = None
) -> tuple[list[pystac.Item], bool]:
    """The items in ``data`` and whether it was a collection.

    Items read from standard input have no href of their own: ``base`` (the
    ``--base`` option) stands for it, and without one, relative asset hrefs
    are an error saying so.
    """
    stdin = from_stdin(href)
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
