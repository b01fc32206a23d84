"""The GDAL options of a set of resolved assets, in force in one process and renewed in time.

Path-specific options (:mod:`stac_asset.gdal_paths`) where GDAL has them; else
one set of process-wide options, refused for assets of mixed regimes. The
same object runs in the caller's process and, shipped by the worker plugin,
on every dask worker.
"""

from __future__ import annotations

import logging
import pickle
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

import pystac
from rasterio._env import del_gdal_config, set_gdal_config

from .. import gdal_paths
from .._secrets import mask_url
from ..access import Access
from ..errors import OptionsConflictError
from ..resolver import Resolver
from .prefixes import one_set, path_table, process_wide

logger = logging.getLogger(__name__)

# Renew this long before expiry (or a quarter of the remaining life, if shorter).
RENEW_MARGIN = timedelta(minutes=2)


@dataclass(frozen=True)
class Resolved:
    """One asset href, the asset it came from, and its current access."""

    href: str
    asset: pystac.Asset | None
    access: Access


def needs_renewal(access: Access) -> bool:
    """Whether ``access``'s GDAL view expires and must be resolved again to keep working.

    Not when GDAL renews it itself: Planetary Computer paths, which GDAL signs
    with tokens it fetches (and renews) from the token API.
    """
    renews_itself = "VSICURL_PC_SAS_TOKEN_URL" in access.gdal_options
    return access.expires_at is not None and not renews_itself


def renew_at(expires: datetime, now: datetime) -> datetime:
    """When to renew what expires at ``expires``: a margin, or a quarter of its life, before."""
    life = max(expires - now, timedelta(0))
    return expires - min(RENEW_MARGIN, life / 4)


# Process-wide options in force: name -> (value, the sessions holding it).
_global_values: dict[str, tuple[str, set[GdalSession]]] = {}
_global_lock = threading.Lock()


class GdalSession:
    """Puts the GDAL options of ``resolved`` in force in this process until :meth:`stop`.

    Accesses that expire are resolved again by ``resolver`` before their
    ``expires_at`` (on a timer thread), and their new options replace the
    old ones. Picklable: a copy is in force nowhere until started.
    """

    def __init__(self, resolved: list[Resolved], resolver: Resolver | None) -> None:
        self.resolved = list(resolved)
        self.resolver = resolver
        self.path_specific = gdal_paths.available()
        self.check()
        self._paths: gdal_paths.PathOptions | None = None
        self._global: dict[str, str] = {}
        self._timer: threading.Timer | None = None
        self._due: set[str] = set()
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state.update(_paths=None, _global={}, _timer=None, _lock=None)
        expiring = [r.href for r in self.resolved if needs_renewal(r.access)]
        if not expiring:
            # Nothing to renew: the clients (a boto3 session may not pickle) and the
            # items stay here; the accesses are all a worker needs.
            state["resolver"] = None
            state["resolved"] = [replace(r, asset=None) for r in self.resolved]
            return state
        try:
            pickle.dumps(self.resolver)
        except (TypeError, AttributeError, pickle.PicklingError) as error:
            raise TypeError(
                f"credentials of {mask_url(expiring[0])} expire, and the clients that renew "
                f"them cannot be sent to other processes ({error}); hand clients that pickle"
            ) from None
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

    @property
    def running(self) -> bool:
        """Whether the options are in force in this process."""
        return bool(self._global) or (self._paths is not None and self._paths.active)

    def start(self) -> None:
        """Put the options in force (again) and schedule the next renewal."""
        with self._lock:
            accesses = [r.access for r in self.resolved]
            if self.path_specific:
                if self._paths is None:
                    self._paths = gdal_paths.PathOptions()
                self._paths.set(path_table(accesses))
                self._set_global(process_wide(accesses))
            else:
                self._set_global(one_set(accesses), exclusive=True)
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

    def _set_global(self, options: dict[str, str], *, exclusive: bool = False) -> None:
        """Hold these process-wide options (shared with sessions that set the same values).

        ``exclusive``: the options are all a load has, so another session's
        must be exactly the same (none of theirs may reach our assets).
        """
        with _global_lock:
            others = {n: v for n, (v, owners) in _global_values.items() if owners - {self}}
            if exclusive and options and others and others != options:
                raise OptionsConflictError(
                    "another set of assets holds this process's GDAL options (this GDAL has "
                    "no path-specific ones); clear it first"
                )
            for name, value in options.items():
                held = _global_values.get(name)
                if held is not None and held[0] != value and held[1] - {self}:
                    raise OptionsConflictError(
                        f"another set of assets holds the process-wide GDAL option {name} with "
                        "another value; clear it first"
                    )
            for name in self._global:
                value, owners = _global_values[name]
                owners.discard(self)
                if not owners:
                    del _global_values[name]
                    del_gdal_config(name)
            for name, value in options.items():
                _global_values.setdefault(name, (value, set()))[1].add(self)
                set_gdal_config(name, value, normalize=False)
            self._global = dict(options)

    def _schedule(self) -> None:
        now = datetime.now(timezone.utc)
        times = {
            r.href: renew_at(r.access.expires_at, now)
            for r in self.resolved
            if r.access.expires_at is not None and needs_renewal(r.access)
        }
        if not times:
            return
        soonest = min(times.values())
        # Renewed together: what falls due within a second of the soonest.
        self._due = {href for href, at in times.items() if at <= soonest + timedelta(seconds=1)}
        # At least a second apart, should a renewal fail and leave the soonest in the past.
        delay = max((soonest - now).total_seconds(), 1.0)
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
            due = (
                expires is not None
                and needs_renewal(entry.access)
                and renew_at(expires, now) <= now
            )
            if due and self.resolver is not None:
                try:
                    access = self.resolver.resolve(entry.href, entry.asset)
                    entry = replace(entry, access=self.resolver.gdal_access(access))
                except Exception as error:  # noqa: BLE001 - kept, and GDAL will say if refused
                    logger.warning("could not renew %s: %s", mask_url(entry.href), error)
            renewed.append(entry)
        with self._lock:
            if self._timer is None:
                return  # stopped meanwhile
            self.resolved = renewed
        self.start()
