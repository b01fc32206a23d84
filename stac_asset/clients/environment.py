"""What a default client is configured from: environment variables and configuration files.

A default client (see :func:`stac_asset.resolver.default_client`) is rebuilt
when :func:`state` of its class differs from the one it was built with, and
reused otherwise, so that setting ``AWS_ACCESS_KEY_ID`` in a notebook takes
effect at the next call, while tokens stay shared between calls.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Iterable

PROXY_AND_CA = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)
"""What every requests-based client reads: proxies and CA bundles."""


def home_file(variable: str | None, *default: str) -> str:
    """The file named by ``variable``, else ``~/<default...>``."""
    named = os.environ.get(variable) if variable else None
    return named or os.path.join(os.path.expanduser("~"), *default)


def state(variables: Iterable[str], files: Iterable[str]) -> Hashable:
    """The values of ``variables`` and the modification time and size of each of ``files``.

    A variable name ending in ``*`` stands for every variable with that prefix.
    """
    names = list(variables)
    prefixes = tuple(name[:-1] for name in names if name.endswith("*"))
    values = {name: os.environ.get(name) for name in names if not name.endswith("*")}
    if prefixes:
        values.update((k, v) for k, v in os.environ.items() if k.startswith(prefixes))
    stats: list[tuple[str, int, int] | str] = []
    for path in files:
        try:
            found = os.stat(path)
        except OSError:
            stats.append(path)
        else:
            stats.append((path, found.st_mtime_ns, found.st_size))
    return tuple(sorted(values.items(), key=lambda item: item[0])), tuple(stats)
