"""Basic auth from ``~/.netrc``, as requests reads it, the file parsed once per change.

requests' ``get_netrc_auth`` parses the file on every call, and
:meth:`~stac_asset.clients.HttpClient.resolve` asks for every href: with a
two-line netrc, 30 us of each asset's 50. Here the file is found as requests
finds it (``NETRC``, else ``~/.netrc``, else ``~/_netrc``) on every call, so
one created, changed or removed during a download is seen; it is parsed
again when its size, modification time or inode changes.
"""

from __future__ import annotations

import netrc
import os
import threading
from urllib.parse import urlsplit

import requests.utils

_Key = tuple[str, int, int, int]


class _Parsed:
    """The last netrc file parsed, and what :func:`os.stat` said of it then."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.key: _Key | None = None
        self.file: netrc.netrc | None = None


_PARSED = _Parsed()


def netrc_auth(url: str) -> tuple[str, str] | None:
    """The login and password of ``url``'s host in the netrc file, as requests gives them.

    None when there is no file, no entry (nor ``default``) for the host, or
    the file cannot be read or parsed (as requests, which then sends none).
    """
    found = _location()
    if found is None:
        return None
    host = urlsplit(url).hostname
    if host is None:
        return None
    parsed = _parse(found)
    entry = parsed.authenticators(host) if parsed is not None else None
    if not entry or not any(entry):
        return None
    login = entry[0] or entry[1]  # requests falls back to the account field
    return (login or "", entry[2] or "")


def _location() -> _Key | None:
    """The netrc file requests would read (``NETRC``, else the first of ~/.netrc, ~/_netrc).

    Its path and what :func:`os.stat` says of it now: found and told apart
    from its last version with the one look at the disk.
    """
    given = os.environ.get("NETRC")
    names = (given,) if given is not None else (f"~/{name}" for name in requests.utils.NETRC_FILES)
    for name in names:
        path = os.path.expanduser(name)
        try:
            stat = os.stat(path)  # (as os.path.exists, which requests asks)
        except OSError:
            continue
        return (path, stat.st_size, stat.st_mtime_ns, stat.st_ino)
    return None


def _parse(key: _Key) -> netrc.netrc | None:
    """The parsed file ``key`` names, from the last parse while its stat is unchanged."""
    parsed = _PARSED
    with parsed.lock:
        if parsed.key == key:
            return parsed.file
    try:
        found: netrc.netrc | None = netrc.netrc(key[0])
    except (netrc.NetrcParseError, OSError):
        found = None
    with parsed.lock:
        parsed.key, parsed.file = key, found
    return found
