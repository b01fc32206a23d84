"""The GDAL options of a set of resolved assets, in force in one process and renewed in time.

Path-specific options (:mod:`stac_asset.gdal_paths`) where GDAL has them; else
one set of process-wide options, refused for assets of mixed regimes. The
same object runs in the caller's process and, shipped by the worker plugin,
on every dask worker.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

import pystac
from rasterio._env import del_gdal_config, set_gdal_config

from .. import gdal_paths
from .._secrets import logger, mask_url
from ..access import Access
from ..resolver import Resolver
from .prefixes import OptionsConflictError, one_set, path_table

# Renew this long before expiry (or a quarter of the remaining life, if shorter).
RENEW_MARGIN = timedelta(minutes=2)


@dataclass(frozen=True)
class Resolved:
    """One asset href, the asset it came from, and its current access."""

    href: str
    asset: pystac.Asset | None
    access: Access


# Process-wide options set by the fallback, and the session that set them.
_global_owner: list[GdalSession] = []
_global_lock = threading.Lock()


class GdalSession:
    """Puts the GDAL options of ``resolved`` in force in this process until :meth:`stop`.

    Accesses that expire are resolved again by ``resolver`` before their
    ``expires_at`` (on a timer thread), and their new options replace the
    old ones. Picklable: a copy is in force nowhere until started.
    """

    def __init__(self, resolved: list[Resolved], resolver: Resolver) -> None:
        self.resolved = list(resolved)
        self.resolver = resolver
        self.path_specific = gdal_paths.available()
        self.check()
        self._paths: gdal_paths.PathOptions | None = None
        self._global: dict[str, str] = {}
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state.update(_paths=None, _global={}, _timer=None, _lock=None)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        # The receiving process's GDAL decides, not the sender's.
        self.path_specific = gdal_paths.available()

    def check(self) -> None:
        """Raise :class:`OptionsConflictError` if the options cannot all hold at once here."""
        accesses = [r.access for r in self.resolved]
        if self.path_specific:
            path_table(accesses)
        else:
            one_set(accesses)

    def start(self) -> None:
        """Put the options in force (again) and schedule the next renewal."""
        with self._lock:
            accesses = [r.access for r in self.resolved]
            if self.path_specific:
                if self._paths is None:
                    self._paths = gdal_paths.PathOptions()
                self._paths.set(path_table(accesses))
            else:
                self._set_global(one_set(accesses))
            self._schedule()

    def stop(self) -> None:
        """Take the options out of force and stop renewing them."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._paths is not None:
                self._paths.clear()
            self._set_global({})

    def _set_global(self, options: dict[str, str]) -> None:
        with _global_lock:
            held_by = _global_owner[0] if _global_owner else None
            if options and held_by is not None and held_by is not self:
                raise OptionsConflictError(
                    "another set of assets holds this process's GDAL options (this GDAL has "
                    "no path-specific ones); clear it first"
                )
            for name in set(self._global) - set(options):
                del_gdal_config(name)
            for name, value in options.items():
                set_gdal_config(name, value, normalize=False)
            self._global = dict(options)
            _global_owner[:] = [self] if options else []

    def _schedule(self) -> None:
        expiring = [r.access.expires_at for r in self.resolved if r.access.expires_at]
        if not expiring:
            return
        now = datetime.now(timezone.utc)
        soonest = min(expiring)
        margin = min(RENEW_MARGIN, max(soonest - now, timedelta(0)) / 4)
        # At least a second apart, should a renewal fail and leave the soonest in the past.
        delay = max((soonest - margin - now).total_seconds(), 1.0)
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(delay, self._renew)
        self._timer.daemon = True
        self._timer.start()

    def _renew(self) -> None:
        """Resolve the accesses that expire soon again, and put their new options in force."""
        now = datetime.now(timezone.utc)
        renewed = []
        for entry in self.resolved:
            expires = entry.access.expires_at
            if expires is not None and expires - min(RENEW_MARGIN, (expires - now) / 4) <= now:
                try:
                    entry = replace(entry, access=self.resolver.resolve(entry.href, entry.asset))
                except Exception as error:  # noqa: BLE001 - kept, and GDAL will say if refused
                    logger.warning("could not renew %s: %s", mask_url(entry.href), error)
            renewed.append(entry)
        with self._lock:
            if self._timer is None:
                return  # stopped meanwhile
            self.resolved = renewed
        self.start()
