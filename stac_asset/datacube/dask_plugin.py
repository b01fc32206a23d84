"""A dask.distributed worker plugin putting a cube's GDAL options in force on every worker."""

from __future__ import annotations

from typing import Any

from distributed import WorkerPlugin

from .session import GdalSession


class GdalOptionsPlugin(WorkerPlugin):
    """Runs a :class:`~stac_asset.datacube.session.GdalSession` on each worker.

    Set up on every worker when registered, on workers that join or restart
    later, and replaced (its options cleared first) when registered again
    under the same name; torn down, clearing its options, when unregistered
    or when the worker closes. Each worker renews expiring credentials
    itself, before their ``expires_at``, with the clients handed over.
    The secrets travel once per worker inside the plugin, not in the graph.
    """

    def __init__(self, session: GdalSession, name: str) -> None:
        self.session = session
        self.name = name

    def setup(self, worker: Any) -> None:
        """Put the options in force on this worker."""
        self.session.start()

    def teardown(self, worker: Any) -> None:
        """Clear the options on this worker."""
        self.session.stop()
