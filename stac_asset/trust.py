"""The trust rule: an item that came from the network reaches nothing on the user's machine.

STAC items are untrusted input. An item read from a remote location (its
self href is a URL other than ``file://``), or one the caller declares
remote (the command line does so for items on standard input), may only
name remote locations in its asset hrefs: ``http(s)://``, ``s3://``,
``gs://``, ``az://`` (and Azure's ``abfs(s)://``). A local path, a
``file://`` URL, a Windows drive or UNC path, a GDAL virtual file system
path (``/vsizip/``, ``/vsistdin/``...) or a driver prefix (``GTiff:``,
``HDF5:``...) in such an item is refused before a byte is read, unless the
caller opts in with ``allow_local=True``. Items built in Python or read
from a local file are trusted, as are hrefs the caller passes explicitly.
"""

from __future__ import annotations

import re

import pystac

from .errors import LocalHrefError

# Schemes whose URLs name a location off this machine, served by a remote client.
REMOTE_SCHEMES = frozenset({"http", "https", "s3", "gs", "az", "abfs", "abfss"})

# A scheme as urllib parses it: a letter, then letters, digits, "+", "-" or ".".
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


def is_remote_source(href: str | None) -> bool:
    """Whether an item read from ``href`` came from the network (any URL but ``file:``)."""
    if not href:
        return False
    scheme = _SCHEME.match(href)
    # A one-letter scheme is a Windows drive letter.
    return scheme is not None and len(scheme[1]) > 1 and scheme[1].lower() != "file"


def is_remote_owner(owner: object) -> bool:
    """Whether an item (or collection) came from the network, by its self href."""
    self_href = getattr(owner, "get_self_href", None)
    return self_href is not None and is_remote_source(self_href())


def is_untrusted(owner: object, *, allow_local: bool = False, remote_items: bool = False) -> bool:
    """Whether the trust rule applies to the assets of ``owner``.

    It does for an owner that came from the network, or for every owner with
    ``remote_items``; never with ``allow_local``.
    """
    return not allow_local and (remote_items or is_remote_owner(owner))


def local_reach(href: str) -> str | None:
    """Why ``href`` reaches this machine or a special GDAL path; ``None`` for a remote URL."""
    scheme = _SCHEME.match(href)
    if scheme is not None:
        name = scheme[1].lower()
        if name in REMOTE_SCHEMES and href.startswith("//", scheme.end()):
            return None
        if name == "file":
            return "a file: URL names a local file"
        if len(name) == 1:
            return "a Windows drive path names a local file"
        if href.startswith("//", scheme.end()):
            return f"{name}:// is not a remote storage scheme"
        return f"{scheme[1]}: is a GDAL driver prefix, which reads what follows it locally"
    if href[:4].lower() == "/vsi":
        return "a GDAL virtual file system path (/vsi...) is read by GDAL itself"
    if href.startswith(("/", "\\")):
        return "an absolute path names a local file"
    return "a relative href with no remote item href to resolve it against names a local file"


def is_relative_reference(href: str) -> bool:
    """Whether ``href`` is a plain relative reference (no scheme, not from a root or drive)."""
    return _SCHEME.match(href) is None and not href.startswith(("/", "\\"))


def refusal(href: str, raw: str | None = None) -> str | None:
    """Why a remote item's ``href`` (written ``raw`` in the item) is refused, or ``None``."""
    reason = local_reach(href)
    if reason is None and raw is not None and not is_relative_reference(raw):
        reason = local_reach(raw)
    return reason


def check_href(
    href: str,
    *,
    raw: str | None = None,
    item: str | None = None,
    key: str | None = None,
) -> None:
    """Raise :class:`~stac_asset.errors.LocalHrefError` if a remote item's ``href`` is refused.

    ``href`` is the absolute href; ``raw``, the href as written in the item.
    A raw href that is not a plain relative reference is judged as written
    (``/etc/passwd`` is refused, though pystac would resolve it on the item's
    server), so what the item names is what is judged.
    """
    reason = refusal(href, raw)
    if reason is not None:
        raise LocalHrefError(href if raw is None else raw, reason, item=item, key=key)


def check_asset(asset: pystac.Asset, href: str, raw: str) -> None:
    """:func:`check_href` for an asset, naming its item and key in the error."""
    owner = asset.owner
    check_href(href, raw=raw, item=getattr(owner, "id", None), key=asset_key(asset))


def asset_key(asset: pystac.Asset) -> str | None:
    """The key under which the asset sits in its owner, if it is there."""
    owner = asset.owner
    if owner is None:
        return None
    for key, candidate in getattr(owner, "assets", {}).items():
        if candidate is asset:
            return str(key)
    return None
