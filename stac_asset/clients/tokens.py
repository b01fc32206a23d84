"""One token layer for every credential that expires or can be refused.

Planetary Computer SAS tokens, Earthdata bearer tokens and login sessions,
USGS M2M API keys, GCS access tokens, OAuth2 grants, Microsoft Entra ID tokens
and temporary AWS credentials all live in a
:class:`Tokens`: a client says how to get a token (a ``fetch`` function) and
how to apply it to its two views; this module decides when to ask:

* one lock per key, and a single flight: however many threads find a key's
  token missing or stale at once, one request is made and all share it;
* a token is renewed ``margin`` before it expires (or at a quarter of its
  life, if that is sooner);
* a token the storage refused is forgotten, so the next resolve renews it
  once; a renewed token refused again is remembered as refused, so every
  further asset fails at once with one clear error;
* a token endpoint that failed is remembered for :data:`FAILURE_MEMORY`, so a
  thousand assets do not each retry it; refused credentials (a wrong
  password) are remembered for :data:`REFUSAL_MEMORY`, so an account is not
  locked by one login attempt per asset.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Generic, TypeVar

from ..access import Access
from ..errors import AccessDeniedError, AccessError
from .base import ByteStream, Client

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

DEFAULT_MARGIN = timedelta(minutes=2)
"""How long before its expiry a token is renewed, by default."""

FAILURE_MEMORY = timedelta(seconds=30)
"""How long a failed token request (endpoint down, malformed answer) is remembered."""

REFUSAL_MEMORY = timedelta(minutes=30)
"""How long refused credentials (or a renewed token refused again) are remembered."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True, repr=False)
class Token(Generic[V]):
    """A credential and when it stops working; ``repr()`` never shows it."""

    value: V
    """The secret itself (a header value, a SAS, an API key...)."""

    expires_at: datetime | None
    """When it stops working; None if it does not say (it is then renewed on refusal only)."""

    issued_at: datetime = field(default_factory=_now)
    """When it was received."""

    def stale(self, margin: timedelta) -> bool:
        """Whether to renew it now: within ``margin`` (at most a quarter of its life) of expiry."""
        if self.expires_at is None:
            return False
        lead = min(margin, max(self.expires_at - self.issued_at, timedelta(0)) / 4)
        return self.expires_at - lead <= _now()

    def __repr__(self) -> str:
        expiry = self.expires_at.isoformat() if self.expires_at else None
        return f"Token(value='***', expires_at={expiry!r})"


class _Slot(Generic[V]):
    """The state of one key: its lock, its token, what failed, and how often it was refused."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.token: Token[V] | None = None
        self.failure: tuple[float, AccessError] | None = None
        self.refusals = 0


def _again(error: AccessError, href: str) -> AccessError:
    """``error`` raised anew for ``href`` (a remembered failure, told to another asset)."""
    return type(error)(href, error.client, error.reason, status=error.status)


class Tokens(Generic[K, V]):
    """Tokens per key, fetched once however many threads ask; see the module's rules.

    Args:
        fetch: Gets a new token for a key; ``href`` is the asset that asked
            (for error messages). It raises :class:`~stac_asset.errors.AccessError`
            (mapped with :mod:`.failures`) when it cannot.
        margin: How long before expiry a token is renewed.
        shared_refusal: Whether credentials refused for one key are refused
            for all (one password for every host), or for that key only.

    """

    def __init__(
        self,
        fetch: Callable[[K, str], Token[V]],
        *,
        margin: timedelta = DEFAULT_MARGIN,
        shared_refusal: bool = True,
    ) -> None:
        self._fetch = fetch
        self.margin = margin
        self._shared_refusal = shared_refusal
        self._lock = threading.Lock()
        self._slots: dict[K, _Slot[V]] = {}
        self._refused: tuple[float, AccessError] | None = None

    def __getstate__(self) -> dict[str, object]:
        # Shipped to another process (a dask worker) without its tokens or its
        # memory of failures: they are secrets, or this process's, and the
        # worker fetches its own.
        return {"fetch": self._fetch, "margin": self.margin, "shared": self._shared_refusal}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["fetch"], margin=state["margin"], shared_refusal=state["shared"])  # type: ignore[misc]

    def _slot(self, key: K) -> _Slot[V]:
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _Slot()
            return slot

    def get(self, key: K, href: str) -> Token[V]:
        """A fresh token for ``key``, fetched now if there is none (one fetch for all threads)."""
        slot = self._slot(key)
        with slot.lock:
            token = slot.token
            if token is not None and not token.stale(self.margin):
                return token
            for memory in (self._refused, slot.failure):
                if memory is not None and time.monotonic() < memory[0]:
                    raise _again(memory[1], href)
            try:
                token = self._fetch(key, href)
            except AccessDeniedError as error:
                self._remember(slot, REFUSAL_MEMORY, error, shared=self._shared_refusal)
                raise
            except AccessError as error:
                self._remember(slot, FAILURE_MEMORY, error, shared=False)
                raise
            slot.token, slot.failure = token, None
            return token

    def _remember(
        self, slot: _Slot[V], memory: timedelta, error: AccessError, shared: bool
    ) -> None:
        entry = (time.monotonic() + memory.total_seconds(), error)
        if shared:
            with self._lock:
                self._refused = entry
        else:
            slot.failure = entry

    def current(self, key: K) -> Token[V] | None:
        """The token held for ``key`` (fresh or not), without fetching."""
        slot = self._slot(key)
        with slot.lock:
            return slot.token

    def refused(self, key: K, value: V, error: AccessDeniedError) -> bool:
        """The storage refused ``value``: forget it, so the next :meth:`get` renews it once.

        A token that replaced a refused one and is refused too is not renewed
        again: ``error`` is remembered (:data:`REFUSAL_MEMORY`) and raised for
        every further asset. Returns whether ``value`` was the current token.
        """
        slot = self._slot(key)
        with slot.lock:
            if slot.token is None or slot.token.value != value:
                return False  # another thread dropped it already, or renewed it since
            slot.token = None
            slot.refusals += 1
            if slot.refusals > 1:
                reason = f"a renewed credential was refused too: {error.reason}"
                denial = AccessDeniedError(error.href, error.client, reason, status=error.status)
                slot.failure = (time.monotonic() + REFUSAL_MEMORY.total_seconds(), denial)
            logger.info("%s: credential refused (%s); renewing it", error.client, error.reason)
            return True

    def accepted(self, key: K) -> None:
        """The storage accepted ``key``'s token: a later refusal is renewed once again."""
        slot = self._slot(key)
        if slot.refusals:
            with slot.lock:
                slot.refusals = 0


class RenewsOnRefusal(Client):
    """A client whose credentials can be refused: :meth:`refused` is told of each refusal.

    Reading a stream that the storage refuses (HTTP 401/403) calls
    :meth:`~stac_asset.clients.base.Client.refused`, which forgets the
    credential the access carried; the engine (and :func:`stac_asset.open`)
    then re-resolve once.
    """

    def open_stream(
        self, access: Access, start: int = 0, validator: str | None = None
    ) -> ByteStream:
        """As the client's own ``open_stream``; a refusal forgets the refused credential."""
        try:
            stream = super().open_stream(access, start, validator)  # type: ignore[safe-super]
        except AccessDeniedError as error:
            self.refused(access, error)
            raise
        self.accepted(access)
        return stream

    def token_in(self, access: Access) -> TokenIn | None:
        """The token layer, key and token that ``access`` carries, if it carries one of ours."""
        return None

    def refused(self, access: Access, error: AccessDeniedError) -> None:
        """Forget the token ``access`` carries, so the next resolve renews it (once)."""
        found = self.token_in(access)
        if found is not None:
            found.tokens.refused(found.key, found.value, error)

    def accepted(self, access: Access) -> None:
        """The storage accepted the token ``access`` carries: a later refusal renews it again."""
        found = self.token_in(access)
        if found is not None:
            found.tokens.accepted(found.key)


@dataclass(frozen=True, repr=False)
class TokenIn:
    """Where the token an access carries lives: its token layer and key, and the token itself."""

    tokens: Tokens[Any, Any]
    key: Hashable
    value: Any
