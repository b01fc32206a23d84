"""Fetching bytes of one object, retried and resumed: the loop under every transfer.

A :class:`Span` reads an object from a start offset to its end (or to an
end offset, with the client's ``open_range``), hands each chunk to a
:class:`Sink`, and on a transient failure waits as the client's retry policy
says and resumes where the bytes stopped (``Range`` + ``If-Range``). Each
attempt holds one of the host's places (see :mod:`stac_asset.host_limits`)
and reports how the host answered.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import pystac

from .access import Access
from .clients import ByteStream, Client
from .errors import AccessDeniedError, Cancelled, TransientError
from .host_limits import Slot

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from .transfer import Transfer

# A run of this many failures in a row without a byte of progress ends a transfer.
_MAX_ATTEMPT_FACTOR = 10


class RangeIgnored(Exception):
    """The server answered a range request with other bytes (all of them, or another version)."""


class Sink(Protocol):
    """Where a span's bytes go."""

    def opened(self, stream: ByteStream) -> bool:
        """The first answer is in; True to stop here (the caller takes over)."""
        ...

    def restart(self) -> None:
        """The object starts over from byte 0 (it changed, or a range was ignored)."""
        ...

    def write(self, offset: int, chunk: bytes) -> None:
        """``chunk``, which starts at ``offset`` in the object."""
        ...


class Fetching(Protocol):
    """What a span needs from the engine that runs it."""

    cancel: threading.Event

    def host_slot(self, href: str, client: Client) -> Slot | None:
        """Wait for a place among the requests in flight to the href's host."""
        ...

    def waited(self, seconds: float) -> None:
        """Count the time one request waited for its answer."""
        ...


class Span:
    """One object's bytes from ``client``, fetched with retries (see the module's description)."""

    def __init__(
        self, engine: Fetching, client: Client, transfer: Transfer, access: Access
    ) -> None:
        self.engine = engine
        self.client = client
        self.transfer = transfer
        self.access = access
        self._lock = threading.Lock()
        self._refreshed = False
        # An attempt made before this span (on the express lane) counts as its first.
        self._prior = transfer.first_failure
        self._prior_wait = transfer.first_wait

    @property
    def href(self) -> str:
        """The href being fetched."""
        return self.transfer.href

    def fetch(
        self, sink: Sink, start: int = 0, end: int | None = None, validator: str | None = None
    ) -> None:
        """Hand bytes ``start`` to ``end`` (the end of the object if None) to ``sink``.

        With ``end``, the bytes come from ``client.open_range`` and must be
        the version ``validator`` names; else :class:`RangeIgnored`.
        """
        policy = self.client.retry
        offset = start
        failures = attempts = 0
        waited = 0.0
        first = True
        if self._prior is not None and self._prior_wait is not None:
            # That attempt failed, and the pause after it has passed: this is the next.
            failures = attempts = 1
            waited, self._prior = self._prior_wait, None
        while True:
            attempts += 1
            slot = None
            try:
                if self._prior is not None:
                    prior, self._prior = self._prior, None
                    raise prior
                access = self._current_access()
                slot = self.engine.host_slot(self.href, self.client)
                asked = time.monotonic()
                stream = self._open(access, offset, end, validator)
                self.engine.waited(time.monotonic() - asked)
                with stream:
                    if stream.start != offset or (
                        end is not None and stream.validator != validator
                    ):
                        if end is not None:
                            raise RangeIgnored(self.href)
                        # The server ignored the range or the object changed: start over.
                        sink.restart()
                        offset = 0
                    validator = stream.validator
                    if first:
                        first = False
                        if sink.opened(stream):
                            return
                    cancel = self.engine.cancel
                    for chunk in stream.chunks():
                        if cancel.is_set():
                            raise Cancelled(f"cancelled: {self.href}")
                        if end is not None and offset + len(chunk) > end:
                            chunk = chunk[: end - offset]
                        sink.write(offset, chunk)
                        offset += len(chunk)
                        failures = 0
                        if offset == end:
                            break
                    wanted = end if end is not None else stream.size
                    if wanted is not None and offset < wanted:
                        raise TransientError(
                            self.href, self.client.name, f"body ended at byte {offset} of {wanted}"
                        )
                return
            except TransientError as error:
                if slot is not None:
                    slot.failed(error, policy.max_delay)
                failures += 1
                delay = policy.pause(failures, waited, error.retry_after)
                if delay is None or attempts >= policy.max_attempts * _MAX_ATTEMPT_FACTOR:
                    raise
                logger.info("%s; retrying from byte %d in %.2fs", error, offset, delay)
                if self.engine.cancel.wait(delay):
                    raise Cancelled(f"cancelled: {self.href}") from None
                waited += delay
            except AccessDeniedError:
                # Signed material can expire mid-job: re-resolve once, then give up.
                if self.access.expires_at is None or self._refreshed:
                    raise
                self._refresh()
            finally:
                if slot is not None:
                    slot.done()

    def _open(
        self, access: Access, offset: int, end: int | None, validator: str | None
    ) -> ByteStream:
        if end is None:
            return self.client.open_stream(access, offset, validator)
        open_range: Callable[..., ByteStream] = getattr(self.client, "open_range")  # noqa: B009
        return open_range(access, offset, end, validator)

    def _current_access(self) -> Access:
        """The access, resolved again when its signed material is about to expire."""
        with self._lock:
            if self.access.expires_within():
                self.access = self.client.resolve(self.transfer.href, self._asset())
            return self.access

    def _refresh(self) -> None:
        with self._lock:
            self._refreshed = True
            self.access = self.client.resolve(self.transfer.href, self._asset())

    def _asset(self) -> pystac.Asset | None:
        return self.transfer.asset
