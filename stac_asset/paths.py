"""Destination paths built from untrusted input (asset keys, hrefs, item ids), kept inside."""

from __future__ import annotations

import os
import posixpath
import re
import stat
from pathlib import Path
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


# A last path segment with no character that could end a scheme, an authority,
# a path or a query, or be decoded into one (":", "/", "?", "#", "%", "\\"...).
_PLAIN_NAME = re.compile(r"[\w.~+=,@!$&'()*-]+")


def href_directory(href: str) -> str | None:
    """``href`` up to its last ``/``, when what follows is a plain file name; else ``None``.

    Two hrefs with the same directory differ only in a plain last path
    segment: same scheme, host, port, query and fragment (none, or within
    the directory), and the same path up to the last ``/``.
    """
    cut = href.rfind("/") + 1
    # After a "//" the segment would be the host ("https://host"), not a file name.
    if not cut or href.endswith("//", 0, cut) or not _PLAIN_NAME.fullmatch(href, cut):
        return None
    return href[:cut]


def href_file_name(href: str) -> str:
    """The last component of an href's path, percent-decoded."""
    directory = href_directory(href)
    if directory is not None and "?" not in directory and "#" not in directory:
        return href[len(directory) :]  # a plain name: nothing to parse or decode
    path = urlsplit(href).path if "://" in href else href
    return unquote(posixpath.basename(path.rstrip("/")) if path else "")


def safe_join(directory: Path, relative: str, what: str, root: str | None = None) -> Path:
    """Join a relative, ``/``-separated path under ``directory``, refusing to leave it.

    ``root`` is ``os.path.realpath(directory)``, when the caller already has it.
    """
    parts = tuple(part for part in relative.split("/") if part not in ("", "."))
    if not parts or relative.startswith("/") or _DRIVE.match(relative):
        raise UnsafePathError(f"{what} {relative!r} is not a relative path")
    for part in parts:
        check_component(part, what)
    target = directory.joinpath(*parts)
    root = os.path.realpath(directory) if root is None else root
    # Symlinks already on disk could still lead outside: compare resolved paths.
    if _leaves(root, parts):
        raise UnsafePathError(f"{what} {relative!r} resolves outside {directory}")
    return target


def _leaves(root: str, parts: tuple[str, ...]) -> bool:
    """Whether ``root`` (a resolved path) joined with ``parts`` resolves outside ``root``.

    As ``os.path.realpath``, with one ``lstat`` per part that exists rather
    than one per component of the whole path.
    """
    path = root
    for index, part in enumerate(parts):
        path = os.path.join(path, part)
        try:
            is_link = stat.S_ISLNK(os.lstat(path).st_mode)
        except OSError:
            return False  # nothing there, so no symlink further down either
        if is_link:
            resolved = os.path.realpath(os.path.join(path, *parts[index + 1 :]))
            return os.path.commonpath([root, resolved]) != root
    return False
