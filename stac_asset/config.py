"""Download settings, with the field names of stac-asset 0.4's ``Config``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .clip import Clip
from .errors import CannotIncludeAndExclude

DEFAULT_MAX_CONCURRENT_DOWNLOADS = 32
DEFAULT_MAX_CONCURRENT_PER_HOST = 16


CLIP_OPTIONS = ("bbox", "bbox_crs", "window", "overviews", "compress")


class FileNameStrategy(str, Enum):
    """How an asset's file name is chosen."""

    FILE_NAME = "file_name"
    """The last part of the href's path (the default)."""

    KEY = "key"
    """The asset key, plus the href's file extension."""


@dataclass
class Config:
    """What to download and how; the fields of stac-asset 0.4 keep their names."""

    include: list[str] = field(default_factory=list)
    """Asset keys or roles to download; all when empty. Exclusive with ``exclude``."""

    exclude: list[str] = field(default_factory=list)
    """Asset keys or roles to leave out. Exclusive with ``include``."""

    file_name_strategy: FileNameStrategy = FileNameStrategy.FILE_NAME
    """Name files after the href (default) or after the asset key."""

    alternate_assets: list[str] = field(default_factory=list)
    """Names of ``alternate`` hrefs to prefer, in order, when an asset has them."""

    overwrite: bool = False
    """Download again even when a complete file is already at the path."""

    make_directory: bool = True
    """Create the destination directory when it does not exist."""

    fail_fast: bool = False
    """Stop at the first failed asset (cleaning partial files); else report all at the end."""

    max_concurrent_downloads: int = DEFAULT_MAX_CONCURRENT_DOWNLOADS
    """How many files are transferred at once."""

    max_concurrent_per_host: int = DEFAULT_MAX_CONCURRENT_PER_HOST
    """How many files are transferred at once from any one host."""

    path_template: str | None = None
    """Where each item's files go under the destination, e.g. ``${collection}/${id}``.

    Names in ``${...}`` are ``id``, ``collection``, ``year``, ``month``,
    ``day``, ``date`` and any item property (``${proj:code}``). By default an
    item's files go in the destination itself, and the items of a collection
    each in ``${id}``.
    """

    clip: Clip | None = None
    """Cut raster assets to a bbox or pixel window instead of copying them whole."""

    non_raster: str = "copy"
    """With ``clip``: ``"copy"`` assets that are not rasters whole, or ``"skip"`` them."""

    on_collision: str = "error"
    """When two assets would be written to the same path: ``"error"`` (before
    any byte moves) or ``"rename"`` (append ``-<asset key>`` to the later one)."""

    def validate(self) -> None:
        """Raise a clear error for settings that contradict each other."""
        if self.include and self.exclude:
            raise CannotIncludeAndExclude(self.include, self.exclude)
        if self.max_concurrent_downloads < 1 or self.max_concurrent_per_host < 1:
            raise ValueError("max_concurrent_downloads and max_concurrent_per_host must be >= 1")
        if self.non_raster not in ("copy", "skip"):
            raise ValueError(f"non_raster must be 'copy' or 'skip', not {self.non_raster!r}")
        if self.on_collision not in ("error", "rename"):
            raise ValueError(f"on_collision must be 'error' or 'rename', not {self.on_collision!r}")

    def with_options(self, **options: Any) -> Config:
        """A copy with some fields replaced; unknown names are a clear error.

        ``bbox``, ``bbox_crs``, ``window``, ``overviews`` and ``compress`` are
        gathered into :attr:`clip`.
        """
        clip_fields = {k: options.pop(k) for k in CLIP_OPTIONS if k in options}
        if clip_fields.get("bbox") is not None or clip_fields.get("window") is not None:
            options["clip"] = Clip(**{k: v for k, v in clip_fields.items() if v is not None})
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise TypeError(f"unknown download option(s) {unknown}; known: {sorted(names)}")
        for name in ("include", "exclude", "alternate_assets"):
            value = options.get(name)
            if isinstance(value, str):
                options[name] = [value]
            elif isinstance(value, Sequence):
                options[name] = list(value)
        if "file_name_strategy" in options:
            options["file_name_strategy"] = FileNameStrategy(options["file_name_strategy"])
        return dataclasses.replace(self, **options)
