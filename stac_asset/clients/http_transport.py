"""requests' side of the HTTP byte view: the sessions this library makes, and the environment.

A client handed a session sends through ``session.send`` (see
:mod:`stac_asset.clients.http_send`), so that session's adapters, hooks and
HTTP mocks that patch requests (``responses``) or urllib3 (vcrpy) apply; one
made without sends through libcurl. Both read the environment here, as
requests reads it. What is here:

- :class:`Adapter`, the adapter of the sessions this library makes (for its
  token endpoints and logins, and for tests of the requests side), whose
  connections skip every interim ``1xx`` answer but ``101`` (http.client
  skips only ``100``: a ``103 Early Hints`` would otherwise be taken for the
  answer, and the real one left on the pooled connection for the next request),
  and must bring the whole head of the answer within the timeout (a socket
  timeout alone bounds only the wait between two bytes);
- :func:`environment`, requests' own ``merge_environment_settings`` remembered
  per origin while the variables it reads stay the same (read on every
  request, they cost about a fifth of a small file's CPU), plus
  ``SSL_CERT_FILE`` as a third CA bundle variable, as OpenSSL and curl read it;
  both senders take their proxy, CA bundle and client certificate from it;
- the session's basic auth and cookies as headers, for both views.
"""

from __future__ import annotations

import base64
import contextlib
import heapq
import http.client
import itertools
import os
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any

import requests
import requests.adapters
import urllib3
import urllib3.connection
import urllib3.connectionpool
import urllib3.exceptions
from urllib3.poolmanager import PoolManager, ProxyManager

from .._secrets import register
from ..config import DEFAULT_MAX_CONCURRENT_PER_HOST

POOL_SIZE = DEFAULT_MAX_CONCURRENT_PER_HOST
"""Idle keep-alive connections kept per origin (more may be open at once; urllib3
warns when one more than this is let go, so it is as many as may be in flight)."""

# The variables requests (and urllib.request.getproxies) read for an http(s)
# URL, and the CA bundle ones: a change to any of them is seen by the next request.
_ENVIRONMENT = tuple(
    name
    for base in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    for name in (base, base.upper())
) + ("REQUEST_METHOD", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")


class _Watch:
    """One response head being waited for: its connection, and whether time ran out."""

    __slots__ = ("deadline", "expired", "order", "sock")

    def __init__(self, deadline: float, order: int, sock: socket.socket) -> None:
        self.deadline = deadline
        self.order = order
        self.sock: socket.socket | None = sock
        self.expired = False

    def __lt__(self, other: _Watch) -> bool:
        return (self.deadline, self.order) < (other.deadline, other.order)


class _Watchdog:
    """Shuts the connection of a response whose head is not in by its deadline.

    A socket timeout bounds the wait between two bytes only: a server that
    sends a header byte a second would hold a request for days. One thread
    keeps the deadlines of all heads being read; at a deadline it shuts the
    connection, so the read ends at once.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._heap: list[_Watch] = []
        self._forgotten = 0
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, seconds: float, sock: socket.socket) -> _Watch:
        """Shut ``sock`` in ``seconds`` unless :meth:`forget` is called first."""
        watch = _Watch(time.monotonic() + seconds, next(self._order), sock)
        with self._changed:
            heapq.heappush(self._heap, watch)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="stac-asset-head-deadlines", daemon=True
                )
                self._thread.start()
            if self._heap[0] is watch:
                self._changed.notify()
        return watch

    def forget(self, watch: _Watch) -> None:
        """The head is in (or the read failed): no deadline any more."""
        with self._changed:
            watch.sock = None
            self._forgotten += 1
            if self._forgotten > 64 and self._forgotten * 2 > len(self._heap):
                self._heap = [w for w in self._heap if w.sock is not None]
                heapq.heapify(self._heap)
                self._forgotten = 0

    def _run(self) -> None:
        with self._changed:
            while True:
                while self._heap and self._heap[0].sock is None:
                    heapq.heappop(self._heap)
                    self._forgotten = max(0, self._forgotten - 1)
                if not self._heap:
                    self._changed.wait()
                    continue
                wait = self._heap[0].deadline - time.monotonic()
                if wait > 0:
                    self._changed.wait(wait)
                    continue
                watch = heapq.heappop(self._heap)
                sock, watch.sock, watch.expired = watch.sock, None, True
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]


_WATCHDOG = _Watchdog()


class FinalResponse(http.client.HTTPResponse):
    """http.client's response that reads past every interim answer (``1xx``) but ``101``.

    RFC 9110 (15.2): a client must parse any number of ``1xx`` answers
    before the final one, even ones it did not expect. The whole head (the
    interim answers included) must be in within the connection's timeout
    (see :class:`_Watchdog`), else :class:`TimeoutError`.
    """

    def begin(self) -> None:
        """Read status and headers of the final answer."""
        sock = getattr(self.fp.raw, "_sock", None) if self.fp is not None else None
        watch = None
        if isinstance(sock, socket.socket) and (seconds := sock.gettimeout()):
            watch = _WATCHDOG.watch(seconds, sock)
        try:
            super().begin()
            while 100 <= self.status < 200 and self.status != 101:
                self.headers = self.msg = None  # type: ignore[assignment]
                super().begin()
        finally:
            if watch is not None:
                _WATCHDOG.forget(watch)
                if watch.expired:
                    raise TimeoutError("the answer's head took longer than the timeout")


class _HTTPConnection(urllib3.connection.HTTPConnection):
    response_class = FinalResponse


class _HTTPSConnection(urllib3.connection.HTTPSConnection):
    response_class = FinalResponse


class _HTTPConnectionPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSConnectionPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPConnectionPool, "https": _HTTPSConnectionPool}


class Adapter(requests.adapters.HTTPAdapter):
    """requests' adapter, on connections that skip interim answers (see :class:`FinalResponse`)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Make the pool manager, with this module's connection pools."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        """The manager for ``proxy``; an HTTP(S) proxy's connections skip interim answers too."""
        manager: PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, ProxyManager):
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


def new_session() -> requests.Session:
    """A session for many concurrent downloads, whose connections skip interim answers."""
    session = requests.Session()
    adapter = Adapter(pool_connections=16, pool_maxsize=POOL_SIZE)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _Remembered:
    """Environment settings per origin, valid while the variables (and the session's) stay."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.snapshot: tuple[str | None, ...] = ()
        self.settings: dict[str, dict[str, Any]] = {}


_REMEMBERED = _Remembered()


def environment(session: requests.Session, url: str, origin: str) -> dict[str, Any]:
    """What ``session.request`` would pass to ``session.send`` for ``url``: proxies, verify, cert.

    Also ``proxy``, the one of the proxies requests would use for ``url``.

    requests' ``merge_environment_settings`` (proxy variables, ``NO_PROXY``,
    ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``), plus ``SSL_CERT_FILE`` when
    neither of those is set; remembered per origin until one of the variables
    changes. The session's own ``proxies``, ``verify`` and ``cert`` are read
    each time.
    """
    if not session.trust_env:
        return _merged(session, url)
    snapshot = tuple(os.environ.get(name) for name in _ENVIRONMENT)
    remembered = _REMEMBERED
    if remembered.snapshot == snapshot:
        found = remembered.settings.get(origin)
        if found is not None and found["_session"] == _session_settings(session):
            return found
    settings = _merged(session, url)
    settings["_session"] = _session_settings(session)
    with remembered.lock:
        if remembered.snapshot != snapshot:
            remembered.snapshot, remembered.settings = snapshot, {}
        remembered.settings[origin] = settings
    return settings


def send_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``session.send`` among :func:`environment`'s settings."""
    return {name: settings[name] for name in ("proxies", "verify", "cert")}


def _session_settings(session: requests.Session) -> tuple[Any, ...]:
    proxies = tuple(sorted(session.proxies.items())) if session.proxies else ()
    return proxies, session.verify, session.cert


def _merged(session: requests.Session, url: str) -> dict[str, Any]:
    settings: dict[str, Any] = dict(
        session.merge_environment_settings(url, {}, True, ca_setting(session), None)
    )
    # The one proxy of them requests would use for the url (libcurl is handed it).
    settings["proxy"] = requests.utils.select_proxy(url, settings["proxies"])
    return settings


def ca_setting(session: requests.Session) -> Any:
    """What certificates are checked against for ``session``: a file or directory, or a bool.

    ``session.verify`` when it was set (a bundle, or False); else, while
    ``trust_env``, ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE`` or
    ``SSL_CERT_FILE``, the first set; else requests' default (certifi). requests
    itself lets the variables override a bundle set on the session
    (psf/requests#3829); here the session's own setting wins.
    """
    verify = session.verify
    if verify is True and session.trust_env:
        for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
            if os.environ.get(name):
                return os.environ[name]
    return verify


BODY_ERRORS = (
    urllib3.exceptions.HTTPError,
    requests.RequestException,
    http.client.HTTPException,
    ConnectionError,
    TimeoutError,
)
"""What reading a body can raise when the connection breaks or the server stops sending."""


def no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """An ``auth=`` that keeps requests from adding ``session.auth`` or ~/.netrc credentials."""
    return request


def basic_auth(auth: object) -> str | None:
    """The ``Authorization`` value of a session's basic auth, or None for other kinds."""
    if type(auth) is requests.auth.HTTPBasicAuth:
        auth = (auth.username, auth.password)
    if not (isinstance(auth, tuple) and len(auth) == 2 and all(isinstance(a, str) for a in auth)):
        return None
    user, password = auth
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    register(password, token)
    return f"Basic {token}"


def cookie_header(session: requests.Session, url: str) -> str | None:
    """The ``Cookie`` header the session's cookie jar holds for ``url``."""
    if not session.cookies:
        return None
    request = requests.Request("GET", url).prepare()
    header: str | None = requests.cookies.get_cookie_header(  # type: ignore[no-untyped-call]
        session.cookies, request
    )
    return header
