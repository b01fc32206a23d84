"""The GDAL view of every asset of a set of items, handed to odc-stac, stackstac and rioxarray."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any

import pystac

from ..access import Access
from ..clients import Client
from ..items import checked_href, get_asset
from ..resolver import ClientSpec, Resolver
from .prefixes import common, one_set, shareable
from .session import GdalSession, Resolved


class CubeAccess:
    """Every asset of ``items`` resolved once, with its GDAL options in force while in use.

    Use it in a ``with`` block (or call :meth:`clear` when done): entering
    puts each asset's GDAL options (headers, keys, SAS, endpoints) in force
    in this process for that asset's path only, through GDAL's path-specific
    options, so lazy reads made later or on other threads find them and no
    credential reaches another host. :meth:`register` does the same on every
    worker of a dask cluster. Expiring credentials are resolved again before
    their ``expires_at``, in this process and on each worker.

    Then hand the loaders what they take: :meth:`patch_url` to
    ``odc.stac.load(..., patch_url=...)``, :attr:`items` to
    ``stackstac.stack`` with :meth:`stackstac_env`, or :meth:`open_dataarray`
    for rioxarray. :attr:`gdal_options` (no secrets) suit
    ``odc.stac.configure_rio`` and ``rasterio.Env``.

    Where rasterio's GDAL has no path-specific options (GDAL < 3.6, or the
    library cannot be found), one set of options is set process-wide
    instead, and assets whose options differ are refused with an
    :class:`~stac_asset.datacube.OptionsConflictError` naming two of them.

    Args:
        items: The items of the cube.
        assets: The asset keys to resolve (default: every asset of every item).
        clients: Clients to try before the default ones (shipped to workers).
        client: A client (or class) to use whatever the href.
        allow_local: Let items that came from the network reach local files
            (see :func:`stac_asset.resolve`).

    """

    def __init__(
        self,
        items: Iterable[pystac.Item],
        assets: Sequence[str] | None = None,
        *,
        clients: Sequence[Client] | None = None,
        client: ClientSpec | None = None,
        allow_local: bool = False,
    ) -> None:
        self._resolver = Resolver(clients or (), force=client, allow_local=allow_local)
        self._items = list(items)
        self._keys = list(assets) if assets is not None else None
        resolved: list[Resolved] = []
        self._by_href: dict[str, Access] = {}
        for item in self._items:
            for key in self._keys if self._keys is not None else list(item.assets):
                asset = get_asset(item, key)
                href, untrusted = checked_href(asset, self._resolver)
                access = self._resolver.resolve(href, asset, untrusted=untrusted)
                access = self._resolver.gdal_access(access)
                resolved.append(Resolved(href, asset, access))
                self._by_href[href] = self._by_href[asset.href] = access
        self._session = GdalSession(resolved, self._resolver)
        self._plugin_name = f"stac-asset-{uuid.uuid4().hex[:12]}"
        self._dask_clients: list[Any] = []

    @property
    def accesses(self) -> list[Access]:
        """The access of every resolved asset (their ``repr()`` shows no secret)."""
        return [entry.access for entry in self._session.resolved]

    @property
    def gdal_options(self) -> dict[str, str]:
        """Options every asset shares and that carry no secret, for the loaders' own env.

        E.g. ``odc.stac.configure_rio(**cube.gdal_options, client=dask_client)``
        or ``rasterio.Env(**cube.gdal_options)``. Where GDAL has no
        path-specific options, the one set in force process-wide, secrets
        included, for ``rasterio.Env`` around reads in threads that should
        not depend on process-wide options.
        """
        accesses = self.accesses
        if not self._session.path_specific:
            return one_set(accesses)
        return shareable(common(a.gdal_options for a in accesses if a.gdal_options))

    def patch_url(self, href: str) -> str:
        """The GDAL path of an asset href of these items, for ``odc.stac.load(patch_url=...)``."""
        try:
            return self._by_href[href].vsi_path
        except KeyError:
            raise KeyError(
                f"{href!r} is not an asset of the items this CubeAccess resolved"
            ) from None

    @property
    def items(self) -> list[pystac.Item]:
        """Copies of the items whose resolved assets' hrefs are their GDAL paths (for stackstac).

        The copies carry no secret: credentials stay in the options put in
        force by ``with`` or :meth:`register`.
        """
        copies = []
        for item in self._items:
            copy = item.clone()
            for key, asset in copy.assets.items():
                if self._keys is None or key in self._keys:
                    original = item.assets[key]
                    access = self._by_href.get(original.href)
                    if access is not None:
                        asset.href = access.vsi_path
            copies.append(copy)
        return copies

    def stackstac_env(self) -> Any:
        """``stackstac.DEFAULT_GDAL_ENV`` with :attr:`gdal_options`, for ``gdal_env=``."""
        import stackstac

        return stackstac.DEFAULT_GDAL_ENV.updated(always=self.gdal_options)

    def open_dataarray(self, item: pystac.Item, key: str, **kwargs: Any) -> Any:
        """One asset as a lazy ``xarray.DataArray`` (``rioxarray.open_rasterio``, ``chunks=...``).

        Its reads, whenever and on whichever thread (or worker) they run,
        happen inside the asset's options while this CubeAccess is in force.
        rioxarray opens the asset here to read its metadata, so this puts
        the options in force in this process too (as :meth:`apply`).
        """
        import rioxarray

        if not self._session.running:
            self.apply()
        href = checked_href(get_asset(item, key), self._resolver)[0]
        return rioxarray.open_rasterio(self.patch_url(href), **kwargs)

    def apply(self) -> CubeAccess:
        """Put the options in force in this process (what entering ``with`` does)."""
        self._session.start()
        return self

    def register(self, dask_client: Any) -> None:
        """Put the options in force on every worker of a ``distributed.Client``, now and later.

        Registering again replaces the options; :meth:`clear` unregisters.
        """
        # Lazily: the plugin subclasses distributed's WorkerPlugin, an optional dependency.
        from .dask_plugin import GdalOptionsPlugin

        dask_client.register_plugin(
            GdalOptionsPlugin(self._session, self._plugin_name), name=self._plugin_name
        )
        if dask_client not in self._dask_clients:
            self._dask_clients.append(dask_client)

    def clear(self) -> None:
        """Take the options out of force here and on the workers of registered dask clients."""
        self._session.stop()
        clients, self._dask_clients = self._dask_clients, []
        for dask_client in clients:
            if dask_client.status == "running":
                dask_client.unregister_worker_plugin(self._plugin_name)

    def __enter__(self) -> CubeAccess:
        return self.apply()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.clear()

    def __repr__(self) -> str:
        return f"CubeAccess(items={len(self._items)}, assets={len(self.accesses)})"
