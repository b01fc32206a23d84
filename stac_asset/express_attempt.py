"""One job's attempt on the express lane: its GET, redirects followed, into the partial file.

The lane (:mod:`stac_asset.express`) starts it with a host's place; libcurl's
callbacks (:mod:`stac_asset.clients.http_curl_batch`) hand it the answer,
which it writes and verifies as it arrives, or it tells the lane to hand the
job on to the worker pool, with how the attempt failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import urllib3

from . import ranged
from .checksum import Verifier
from .clients import ByteWriter, HttpClient
from .clients.failures import map_exception
from .clients.http_answer import encoded
from .clients.http_curl_errors import CurlError
from .clients.http_send import CurlRequest, keep_cookies
from .clients.http_stream import described, raise_for_status
from .clients.http_urls import MAX_REDIRECTS, redirect_target
from .errors import AccessError, Cancelled, TransientError
from .express_offload import Body
from .host_limits import Slot
from .jobs import Started
from .messages import OpenUrl, WriteChunk
from .transfer import Resume

if TYPE_CHECKING:
    from .express import Express as Lane

LARGEST = 4 * 1024 * 1024
"""Bytes: a larger body is written and hashed on a worker thread as it arrives.

(See :mod:`stac_asset.express_offload`.) An object large enough for ranged
parts (:data:`stac_asset.ranged.THRESHOLD`) goes to the worker pool instead,
when its host takes ranges."""


@dataclass
class _Head:
    """An answer's head, as :mod:`stac_asset.clients.http_stream` reads one."""

    status_code: int
    reason: str
    headers: urllib3.HTTPHeaderDict
    url: str

    def close(self) -> None:
        """Nothing to give back: the batch ends the transfer."""


class Trip:
    """One job's attempt on the lane: the batch's receiver for its answer."""

    def __init__(self, lane: Lane, started: Started, client: HttpClient, slot: Slot | None) -> None:
        self.lane = lane
        self.started = started
        self.client = client
        self.slot = slot
        self.href = started.transfer.href
        self.access = client.resolve(self.href, started.transfer.asset)
        self.hops = 0
        self.writer: ByteWriter | None = None
        self.verifier = Verifier(started.transfer.size, started.transfer.checksum)
        self.request: CurlRequest | None = None
        self.redirect: str | None = None
        self.offloaded: Body | None = None
        """A large body's queue to a worker thread (see :mod:`stac_asset.express_offload`)."""
        self.validator: str | None = None
        self.failure: BaseException | None = None
        """Why the job failed for good (not retried: verification, the disk, a cancel)."""
        self.prior: AccessError | None = None
        """How the attempt failed, for the pool's retries."""
        self.hand_on = False

    def send(self, url: str | None = None) -> bool:
        """Start the GET (of ``url``, a redirect's hop); False if the client cannot batch it."""
        self.request = self.client.batch_request(self.access, url)
        if self.request is None:
            return False
        client = self.client
        self.lane.batch_of(client).get(
            self.request.url,
            self.request.lines,
            self.request.settings,
            self,
            client.min_rate,
            client.rate_window,
        )
        return True

    def head(self, status: int, reason: str, headers: urllib3.HTTPHeaderDict) -> bool:
        """The final answer's head: whether its body is for this attempt to write."""
        try:
            return self._head(
                _Head(status, reason, headers, self.request.url if self.request else "")
            )
        except BaseException as error:  # noqa: BLE001 - callbacks must not raise into libcurl
            self.failure = error
            return False

    def _head(self, head: _Head) -> bool:
        assert self.request is not None
        keep_cookies(self.client.session, self.request, head.headers)
        name = self.client.name
        if encoded(head):
            self.hand_on = True  # the pool's streams decode a coded body
            return False
        try:
            self.redirect = redirect_target(head, self.href, name)
            if self.redirect is not None:
                return False
            raise_for_status(head, self.href, name)
        except AccessError as error:
            self.prior = error
            return False
        if head.status_code != 200:
            self.hand_on = True  # a 2xx without the object (204, or a range unasked for)
            return False
        size, self.validator, accepts = described(head)
        progress = self.lane.progress
        if progress:
            progress(OpenUrl(self.href, self.started.job.path, size))
        transfer = self.started.transfer
        if ranged.worth_ranges(size, self.validator, accepts, transfer.size) and self.ranges:
            assert size is not None and self.validator is not None
            transfer.ranged_from = (size, self.validator)
            self.hand_on = True  # the pool fetches it as parallel ranged parts
            return False
        self.writer = self.lane.open_writer(self.started)
        if size is not None and size > LARGEST:
            self.offloaded = self.lane.offloader.body(self._write)
        return True

    @property
    def ranges(self) -> bool:
        """Whether the pool could fetch this job's object as ranged parts into its file."""
        _, access = self.started.resolved or self.lane.fetcher.target(self.started.target)
        return ranged.takes_ranges(self.client) and ranged.can_write_at(access.path)

    def body(self, data: bytes) -> bool:
        """Write and verify the next bytes; False stops the transfer."""
        try:
            if self.offloaded is None:
                self._write(data)
            elif not self.offloaded.put(data):
                return False  # writing failed: finish() says how
            if self.lane.fetcher.cancel.is_set():
                raise Cancelled(f"cancelled: {self.href}")
        except BaseException as error:  # noqa: BLE001 - callbacks must not raise into libcurl
            self.failure = error
            return False
        return True

    def _write(self, data: bytes) -> None:
        """Write and verify bytes (on the lane's thread, or a worker's for a large body)."""
        assert self.writer is not None
        self.writer.write(data)
        self.verifier.update_within(data, self.href)
        progress = self.lane.progress
        if progress:
            progress(WriteChunk(self.href, self.started.job.path, len(data)))

    def ended(self, error: CurlError | None) -> None:
        """The transfer is over: commit the file, or hand the job on, or fail it."""
        try:
            self._ended(error)
        except BaseException as failure:
            self._close(failure)
            if not isinstance(failure, Exception):
                raise  # Ctrl-C in a callback: the download stops
            self.lane.failed(self.started, failure)

    def _ended(self, error: CurlError | None) -> None:
        offloaded, self.offloaded = self.offloaded, None
        if offloaded is not None:
            offloaded.finish()  # every byte received is written, or how writing failed is raised
        if self.failure is not None:
            raise self.failure
        if self.lane.fetcher.cancel.is_set():
            raise Cancelled(f"cancelled: {self.href}")
        if self.redirect is not None:
            self.hops += 1
            if self.hops > MAX_REDIRECTS:
                raise AccessError(
                    self.href, self.client.name, f"more than {MAX_REDIRECTS} redirects"
                )
            url, self.redirect = self.redirect, None
            if self.send(url):
                return
            self.hand_on = True
        elif self.prior is None and not self.hand_on and error is not None:
            mapped = map_exception(error, self.href, self.client.name)
            if mapped is None or not isinstance(mapped, AccessError):
                raise error
            self.prior = mapped
        if self.prior is not None or self.hand_on:
            transfer = self.started.transfer
            if isinstance(self.prior, TransientError) and self.writer and self.verifier.size:
                # Cut mid-body: the pool goes on from the bytes on disk.
                transfer.resume = Resume(self.writer, self.verifier, self.validator)
                self.writer = None
            self._close(self.prior)
            self.lane.hand_on(self.started, self.prior, self.client)
            return
        self.verifier.check(self.href)
        assert self.writer is not None
        self.writer.commit()
        self.writer = None
        self._close(None)
        self.lane.finished(self.started)

    def _close(self, failure: BaseException | None) -> None:
        """Let go of the partial file and the host's place, saying how the host answered."""
        if self.writer is not None:
            self.writer.abort()
            self.writer = None
        slot, self.slot = self.slot, None
        if slot is None:
            return
        if isinstance(failure, TransientError):
            slot.failed(failure, self.client.retry.max_delay)
        else:
            slot.done()
