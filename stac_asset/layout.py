"""Where each item's files go: path templates such as ``${collection}/${id}``."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pystac

from .errors import TemplateError
from .paths import safe_join


class _Template(string.Template):
    # Braced names may hold any character but "}", so "${proj:code}" works.
    braceidpattern = r"[^}]+"


def template_values(item: pystac.Item) -> dict[str, Any]:
    """The values a path template can use: ``id``, ``collection``, date parts, properties."""
    values: dict[str, Any] = {key: value for key, value in item.properties.items()}
    values["id"] = item.id
    if item.collection_id is not None:
        values["collection"] = item.collection_id
    when = item.datetime or item.common_metadata.start_datetime
    if when is not None:
        values.update(
            year=f"{when.year:04d}",
            month=f"{when.month:02d}",
            day=f"{when.day:02d}",
            date=when.date().isoformat(),
        )
    return values


def item_directory(root: Path, item: pystac.Item, template: str) -> Path:
    """The directory for ``item``'s files under ``root``, refusing paths that leave it."""
    if not template:
        return root
    try:
        relative = _Template(template).substitute(template_values(item))
    except KeyError as error:
        raise TemplateError(
            f"path template {template!r} uses {error.args[0]!r}, which item {item.id!r} "
            "does not have"
        ) from None
    except ValueError as error:
        raise TemplateError(f"path template {template!r} is malformed: {error}") from None
    return safe_join(root, relative, f"path template {template!r} for item {item.id!r} gives")
