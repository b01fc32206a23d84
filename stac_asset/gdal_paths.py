"""GDAL's path-specific options (GDAL >= 3.6), set on the GDAL library rasterio is linked to.

``VSISetPathSpecificOption(prefix, key, value)`` makes GDAL use ``value`` for
``key`` when it reads any path starting with ``prefix`` (the longest matching
prefix wins, before thread-local and global options). Unlike ``rasterio.Env``
these options hold in every thread of the process, so lazy reads made later
or by a dask thread pool see them, and they are bound to a path, so a header
or key set for one host never reaches another.

rasterio does not expose the call: it is reached through :mod:`ctypes` on the
very library rasterio loaded (found in the process's memory map, among the
libraries bundled with rasterio's wheel, or where the system's loader finds
``gdal``; it must report the GDAL version rasterio was built with). Where it
cannot be found, :func:`available` is false and callers fall back to one set
of options.

Options set here are owned: each :class:`PathOptions` holds its prefixes, and
clearing it unsets only those, restoring what another owner set before.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from types import TracebackType

import rasterio

logger = logging.getLogger(__name__)


_SYMBOL = "VSISetPathSpecificOption"


def _loaded_gdal_files() -> list[str]:
    """Files of GDAL libraries mapped into this process (Linux), those in rasterio's wheel first."""
    import rasterio._base  # noqa: F401 - maps rasterio's GDAL into the process

    maps = Path("/proc/self/maps")
    if not maps.exists():
        return []
    files = {line.split()[-1] for line in maps.read_text().splitlines() if "libgdal" in line}
    home = str(Path(rasterio.__file__).parent)
    # Another package's own GDAL (fiona's wheel bundles one) may be loaded too.
    return sorted((f for f in files if f.startswith("/")), key=lambda f: not f.startswith(home))


def _bundled_gdal_files() -> list[str]:
    """GDAL libraries shipped inside rasterio's wheel (macOS, Windows, Linux wheels)."""
    package = Path(rasterio.__file__).parent
    places = [package / ".dylibs", package.parent / "rasterio.libs", package]
    patterns = ("libgdal*.so*", "libgdal*.dylib", "gdal*.dll")
    return [str(p) for place in places for pattern in patterns for p in place.glob(pattern)]


def _system_gdal_files() -> list[str]:
    """The GDAL library the system's loader finds (rasterio built against it: conda, distros)."""
    found = ctypes.util.find_library("gdal")
    return [found] if found else []


def _version(library: ctypes.CDLL) -> str:
    library.GDALVersionInfo.argtypes = [ctypes.c_char_p]
    library.GDALVersionInfo.restype = ctypes.c_char_p
    return str(library.GDALVersionInfo(b"RELEASE_NAME").decode())


@cache
def _library() -> ctypes.CDLL | None:
    """The GDAL library rasterio uses, if it has path-specific options.

    A candidate must report the GDAL version rasterio was built with; loading
    a file already loaded returns that same library.
    """
    candidates = _loaded_gdal_files() + _bundled_gdal_files() + _system_gdal_files()
    for file in dict.fromkeys(candidates):
        try:
            library = ctypes.CDLL(file)
        except OSError:
            continue
        if not hasattr(library, _SYMBOL) or _version(library) != rasterio.__gdal_version__:
            continue
        library.VSISetPathSpecificOption.argtypes = [ctypes.c_char_p] * 3
        library.VSISetPathSpecificOption.restype = None
        library.VSIClearPathSpecificOptions.argtypes = [ctypes.c_char_p]
        library.VSIClearPathSpecificOptions.restype = None
        library.VSICurlClearCache.argtypes = []
        library.VSICurlClearCache.restype = None
        return library
    logger.debug("GDAL path-specific options unavailable on %s", sys.platform)
    return None


def available() -> bool:
    """Whether path-specific options can be set on rasterio's GDAL (GDAL >= 3.6, found)."""
    return _library() is not None


# prefix -> the owners that set options on it, in order; the last one's are in force.
_owners: dict[str, list[tuple[PathOptions, dict[str, str]]]] = {}
_lock = threading.Lock()


# What is set in GDAL, per prefix (to change only what changes).
_current: dict[str, dict[str, str]] = {}


def _put(prefix: str, options: Mapping[str, str] | None) -> None:
    """Make ``options`` GDAL's for ``prefix``, with no moment where a read finds none."""
    library = _library()
    if library is None:
        raise RuntimeError("GDAL path-specific options are unavailable")
    encoded = prefix.encode()
    if not options:
        library.VSIClearPathSpecificOptions(encoded)
        _current.pop(prefix, None)
        return
    old = _current.get(prefix, {})
    for key, value in options.items():
        if old.get(key) != value:
            library.VSISetPathSpecificOption(encoded, key.encode(), value.encode())
    for key in set(old) - set(options):
        library.VSISetPathSpecificOption(encoded, key.encode(), None)  # unsets the key
    _current[prefix] = dict(options)


class PathOptions:
    """GDAL options for path prefixes, set process-wide until :meth:`clear` (or ``with`` ends).

    ``PathOptions({"/vsicurl/https://a.example/": {"GDAL_HTTP_HEADERS": ...}})``
    sets nothing until :meth:`set` (or entering ``with``). Setting again
    replaces this owner's options; :meth:`clear` removes them, putting back
    the options another owner set for the same prefix, if any. ``repr()``
    shows prefixes only.
    """

    def __init__(self, options: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self._options: dict[str, dict[str, str]] = {
            prefix: dict(values) for prefix, values in (options or {}).items()
        }
        self._set: set[str] = set()

    @property
    def prefixes(self) -> list[str]:
        """The prefixes this owner has options for."""
        return sorted(self._options)

    @property
    def active(self) -> bool:
        """Whether this owner's options are set (until :meth:`clear`)."""
        return bool(self._set)

    def set(self, options: Mapping[str, Mapping[str, str]] | None = None) -> None:
        """Put this owner's options in force (after replacing them with ``options``, if given).

        Replacing changes GDAL's options in place: a read in another thread
        finds the old options or the new ones, never none.
        """
        with _lock:
            if options is not None:
                dropped = set(self._options) - set(options)
                self._options = {prefix: dict(values) for prefix, values in options.items()}
                self._release(dropped)
            for prefix, values in self._options.items():
                stack = [(owner, v) for owner, v in _owners.get(prefix, []) if owner is not self]
                stack.append((self, values))
                _owners[prefix] = stack
                _put(prefix, values)
                self._set.add(prefix)

    def clear(self) -> None:
        """Unset this owner's options (another owner's for the same prefix come back)."""
        with _lock:
            self._release(set(self._set))

    def _release(self, prefixes: Iterable[str]) -> None:
        """Unset this owner's options for ``prefixes`` (another owner's come back)."""
        for prefix in [p for p in prefixes if p in self._set]:
            stack = [(owner, v) for owner, v in _owners.get(prefix, []) if owner is not self]
            if stack:
                _owners[prefix] = stack
                _put(prefix, stack[-1][1])
            else:
                _owners.pop(prefix, None)
                _put(prefix, None)
            self._set.discard(prefix)

    def __enter__(self) -> PathOptions:
        self.set()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.clear()

    def __repr__(self) -> str:
        return f"PathOptions(prefixes={self.prefixes!r})"


@contextmanager
def path_options(options: Mapping[str, Mapping[str, str]]) -> Iterator[PathOptions]:
    """Set path-specific options for the ``with`` block: ``{prefix: {name: value}}``."""
    with PathOptions(options) as owner:
        yield owner


def clear() -> None:
    """Unset every path-specific option set through this module, by every owner."""
    with _lock:
        for prefix, stack in _owners.items():
            _put(prefix, None)
            for owner, _ in stack:
                owner._set.clear()
        _owners.clear()


def clear_network_cache() -> None:
    """Forget the bytes, sizes and refusals GDAL cached from network reads (``VSICurlClearCache``).

    GDAL keeps them per path for the life of the process, whatever options
    come next: clear them to make new credentials (or a test) read afresh.
    """
    library = _library()
    if library is not None:
        library.VSICurlClearCache()


def in_force(prefix: str) -> dict[str, str]:
    """The options set through this module for exactly ``prefix`` (empty if none)."""
    with _lock:
        stack = _owners.get(prefix)
        return dict(stack[-1][1]) if stack else {}
