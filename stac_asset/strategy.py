"""How files are named and what happens to failed assets (the names of stac-asset 0.4)."""

from __future__ import annotations

from enum import Enum


class FileNameStrategy(str, Enum):
    """How an asset's file name is chosen."""

    FILE_NAME = "file_name"
    """The last part of the href's path (the default)."""

    KEY = "key"
    """The asset key, plus the href's file extension."""


class ErrorStrategy(str, Enum):
    """What a written item says of an asset that failed, when failures only warn."""

    KEEP = "keep"
    """Keep the asset, with its original href."""

    DELETE = "delete"
    """Leave the asset out of the item (the default)."""


__all__ = ["ErrorStrategy", "FileNameStrategy"]
