"""The process-wide default client of each class, rebuilt when what it was configured from changed.

Default clients are shared by every call (so their tokens and connections are
reused) and follow the environment: see :func:`default_client`.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Hashable

from .base import Client

_defaults: dict[type[Client], Client] = {}
# What each default client was built from (a client put in _defaults by hand is kept).
_defaults_built_from: weakref.WeakKeyDictionary[Client, Hashable] = weakref.WeakKeyDictionary()
_defaults_lock = threading.Lock()


def default_client(cls: type[Client]) -> Client:
    """The process-wide default instance of a client class, configured from the environment.

    It is built anew when anything it is configured from (its
    :meth:`~stac_asset.Client.environment_state`: environment variables, files such as
    ``~/.aws/credentials`` or ``~/.netrc``) changed since it was built, and reused
    otherwise (so its tokens and connections are shared between calls).
    """
    state = cls.environment_state()
    with _defaults_lock:
        client = _defaults.get(cls)
        if client is None or _defaults_built_from.get(client, state) != state:
            client = _defaults[cls] = cls()
            _defaults_built_from[client] = state
        return client
