"""Where copied files go: a local directory, or a prefix in an object store."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .clients.filesystem import partial_path
from .config import Config
from .errors import DirectoryNotFoundError, StacAssetError
from .transfer import Fetcher

# Paths under a store prefix are planned under this stand-in root, so the
# same checks keep untrusted names inside it; it is never created.
_STORE_ROOT = Path("/stac-asset-destination")


@dataclass(frozen=True)
class Destination:
    """A local directory (``base`` is None) or an object store prefix such as ``s3://b/p``."""

    root: Path
    """Where paths are planned: the directory itself, or a stand-in for the prefix."""

    base: str | None = None
    """The store prefix, without a trailing slash."""

    @classmethod
    def of(cls, target: str | os.PathLike[str], config: Config) -> Destination:
        """A destination for a directory or a store URL (``s3://``, ``az://``, ``https://...``)."""
        text = os.fspath(target)
        if "://" in text and not text.startswith("file://"):
            return cls(_STORE_ROOT, text.rstrip("/"))
        return cls(check_directory(text.removeprefix("file://"), config))

    def create(self) -> None:
        """Create the local directory, once everything has been checked and bytes are to move."""
        if self.base is None:
            self.root.mkdir(parents=True, exist_ok=True)

    @property
    def is_local(self) -> bool:
        """Whether files go to a local directory."""
        return self.base is None

    def href(self, path: Path) -> str:
        """The final href of a planned path."""
        if self.base is None:
            return str(path)
        return f"{self.base}/{path.relative_to(self.root).as_posix()}"

    def write_json(self, data: dict[str, Any], path: Path, fetcher: Fetcher) -> None:
        """Write a JSON document to a planned path, complete or not at all."""
        if self.base is None:
            write_json(data, path)
            return
        client, access = fetcher.target(self.href(path))
        writer = client.open_writer(access, "application/json")
        try:
            writer.write(json.dumps(data, indent=2).encode())
            writer.commit()
        except BaseException:
            writer.abort()
            raise


def write_json(data: dict[str, Any], path: Path) -> None:
    """Write JSON through a temporary file renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = Path(partial_path(path))
    with part.open("w", encoding="utf-8") as file:
        file.write(json.dumps(data, indent=2))  # one write: json.dump writes each token
    os.replace(part, path)


def check_directory(directory: str | os.PathLike[str], config: Config) -> Path:
    """The destination as an absolute path, checked but not yet created."""
    root = Path(directory).absolute()
    if not root.is_dir():
        if root.exists():
            raise StacAssetError(f"destination {root} exists and is not a directory")
        if not config.make_directory:
            raise DirectoryNotFoundError(str(root))
    return root
