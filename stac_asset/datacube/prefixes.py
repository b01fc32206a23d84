"""Which GDAL path prefix each asset's options are set for, and when two cannot both hold."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from .._secrets import mask_mapping, mask_url
from ..access import Access
from ..errors import OptionsConflictError

# What opening in place adds to every access's options: no .aux.xml is ever written.
READ_ONLY = {"GDAL_PAM_ENABLED": "NO"}

# A URL's origin ("http://host:port") inside a GDAL path.
_ORIGIN = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")


# Options GDAL reads process-wide only (not per path): a list of prefixes, and the
# Planetary Computer token API GDAL signs /vsicurl?pc_url_signing=yes paths with.
_PROCESS_WIDE_LISTS = ("CPL_VSIL_CURL_NON_CACHED",)
_PROCESS_WIDE = ("VSICURL_PC_SAS_TOKEN_URL",)


def group_prefix(vsi_path: str) -> str:
    """The prefix shared by the paths that usually share options: one host, bucket or container.

    ``/vsicurl/https://host:port/`` for a URL (keeping the query-string
    options of ``/vsicurl?...&url=``), ``/vsis3/bucket/`` (and alike) for an
    object store; the path itself otherwise. It ends where a host or bucket
    ends, so ``host:80`` never matches ``host:8080``.
    """
    if vsi_path.startswith("/vsicurl"):
        start = vsi_path.find("url=") + len("url=") if vsi_path.startswith("/vsicurl?") else 9
        origin = _ORIGIN.match(vsi_path, start)
        if origin is not None:
            return f"{vsi_path[: origin.end()]}/"
        return vsi_path
    parts = vsi_path.split("/", 3)
    if vsi_path.startswith("/vsi") and len(parts) == 4:
        return f"/{parts[1]}/{parts[2]}/"
    return vsi_path


def path_table(accesses: Iterable[Access]) -> dict[str, dict[str, str]]:
    """``{prefix: options}`` giving every access its own GDAL options, and no other's.

    Accesses of one host, bucket or container that agree share one entry
    (:func:`group_prefix`); where they differ, each path gets its own entry
    (GDAL takes the longest matching prefix). The same path needing two
    different sets of options is refused with an :class:`OptionsConflictError`
    naming both hrefs. Accesses with no options (local files) need no entry.
    """
    by_path: dict[str, tuple[Access, dict[str, str]]] = {}
    for access in accesses:
        if not access.gdal_options:
            continue
        options = {**access.gdal_options, **READ_ONLY}
        known = by_path.get(access.vsi_path)
        if known is not None and known[1] != options:
            raise conflict(known[0], access, "the same GDAL path")
        by_path[access.vsi_path] = (access, options)
    groups: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for path, (_, options) in by_path.items():
        groups.setdefault(group_prefix(path), []).append((path, options))
    table: dict[str, dict[str, str]] = {}
    for prefix, members in groups.items():
        if all(options == members[0][1] for _, options in members):
            table[prefix] = members[0][1]
        else:
            table.update(members)
    return table


def process_wide(accesses: Iterable[Access]) -> dict[str, str]:
    """The options GDAL reads only process-wide, merged; an error if two values differ."""
    lists: dict[str, list[str]] = {}
    single: dict[str, tuple[Access, str]] = {}
    for access in accesses:
        for name, value in access.gdal_options.items():
            if name in _PROCESS_WIDE_LISTS:
                entries = lists.setdefault(name, [])
                entries.extend(v for v in value.split(":") if v and v not in entries)
            elif name in _PROCESS_WIDE:
                known = single.setdefault(name, (access, value))
                if known[1] != value:
                    raise conflict(known[0], access, "one process (GDAL reads it only so)")
    return {
        **{name: ":".join(entries) for name, entries in lists.items()},
        **{name: value for name, (_, value) in single.items()},
    }


def one_set(accesses: Iterable[Access]) -> dict[str, str]:
    """The one set of options every access shares, or an error naming two that differ.

    For GDAL without path-specific options: a whole load then runs in one
    set of options, which is right only when every asset shares one regime.
    """
    first: Access | None = None
    for access in accesses:
        if not access.gdal_options:
            continue
        if first is None:
            first = access
        elif access.gdal_options != first.gdal_options:
            raise conflict(
                first, access, "one set of options (this GDAL has no path-specific ones)"
            )
    return {**first.gdal_options, **READ_ONLY} if first is not None else {}


def conflict(one: Access, other: Access, where: str) -> OptionsConflictError:
    """The error for two accesses whose options cannot both hold in ``where``."""
    theirs, mine = one.gdal_options, other.gdal_options
    differing = sorted(k for k in {*theirs, *mine} if theirs.get(k) != mine.get(k))
    return OptionsConflictError(
        f"{mask_url(one.href)} ({one.client}) and {mask_url(other.href)} ({other.client}) "
        f"need different GDAL options ({', '.join(differing)}) that cannot both hold in "
        f"{where}; load them separately"
    )


def shareable(options: Mapping[str, str]) -> dict[str, str]:
    """The options that carry no secret (masking leaves them unchanged)."""
    masked = mask_mapping(options)
    return {name: value for name, value in options.items() if masked[name] == value}


def common(tables: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """The options every one of ``tables`` holds with the same value."""
    result: dict[str, str] | None = None
    for options in tables:
        if result is None:
            result = dict(options)
        else:
            result = {k: v for k, v in result.items() if options.get(k) == v}
    return result or {}
