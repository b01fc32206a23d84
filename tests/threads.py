"""Opening datasets in several threads at once."""

from __future__ import annotations

import threading

import numpy as np

import stac_asset
from stac_asset import Client


def read_at_once(opens: dict[str, tuple[str, Client]]) -> dict[str, np.ndarray]:
    """Open each ``name: (href, client)`` in its own thread, all open at the same time.

    Returns each dataset's pixels; raises the first error any thread met.
    """
    barrier = threading.Barrier(len(opens))
    results: dict[str, np.ndarray] = {}
    errors: list[BaseException] = []

    def read(name: str, href: str, client: Client) -> None:
        try:
            with stac_asset.open(href, client=client) as ds:
                barrier.wait(timeout=10)  # every dataset is open now
                results[name] = ds.read()
                barrier.wait(timeout=10)
        except BaseException as error:  # noqa: BLE001 - raised below, in the test's thread
            errors.append(error)

    threads = [
        threading.Thread(target=read, args=(name, href, client))
        for name, (href, client) in opens.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
