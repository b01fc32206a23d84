"""Destination paths built from untrusted input (asset keys, hrefs, item ids), kept inside."""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from .errors import UnsafePathError

_DRIVE = re.compile(r"^[A-Za-z]:")


def check_component(name: str, what: str) -> str:
    """Return ``name`` if it is a safe single path component, else raise UnsafePathError."""
    if (
        not name
        or name in (".", "..")
        or "\x00" in name
        or "/" in name
        or "\\" in name
        or _DRIVE.match(name)
    ):
        raise UnsafePathError(f"{what} {name!r} is not a safe file name")
    return name


def href_file_name(href: str) -> str:
    """The last component of an href's path, percent-decoded."""
    path = urlsplit(href).path if "://" in href else href
    return unquote(posixpath.basename(path.rstrip("/")) if path else "")


def safe_join(directory: Path, relative: str, what: str) -> Path:
    """Join a relative, ``/``-separated path under ``directory``, refusing to leave it."""
    parts = PurePosixPath(relative).parts
    if not parts or relative.startswith("/") or _DRIVE.match(relative):
        raise UnsafePathError(f"{what} {relative!r} is not a relative path")
    for part in parts:
        check_component(part, what)
    target = directory.joinpath(*parts)
    root = os.path.realpath(directory)
    # Symlinks already on disk could still lead outside: compare resolved paths.
    if os.path.commonpath([root, os.path.realpath(target)]) != root:
        raise UnsafePathError(f"{what} {relative!r} resolves outside {directory}")
    return target
