"""Keep-alive HTTP/1.1 connections for :class:`~stac_asset.HttpClient`'s byte view.

Why not urllib3 here: for a 10 KiB file, urllib3 on http.client spends about
0.5 ms of CPU per request, most of it parsing headers in Python (http.client
uses the email package); sending a GET ourselves and parsing the answer with
llhttp (Node.js's parser, through httptools) costs about a third of that,
which is most of the difference for jobs of many small files. Only plain
requests come here (see ``HttpClient._direct``): no proxy, no client
certificate, no auth hooks; everything else still goes through requests.

Connections are kept per origin and TLS setting, reused while the server
keeps them alive, and one that the server closed while idle is replaced
once, transparently (a GET is safe to send again).
"""

from __future__ import annotations

import functools
import os
import select
import socket
import ssl
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import NamedTuple, TypeVar

import certifi
import httptools

_RECV = 256 * 1024
DEFAULT_PORTS = {"http": 80, "https": 443}

T = TypeVar("T")
R = TypeVar("R")


class ConnectFailed(ConnectionError):
    """No connection could be made (refused, unreachable, TLS handshake failed)."""


class ConnectRefused(ConnectFailed):
    """The host refused the connection: nothing listens on that port."""


def refused(host: str, port: int) -> str:
    """How a refused connection is named in errors."""
    return f"connection refused by {host}:{port}"


class ConnectTimeout(ConnectFailed, TimeoutError):
    """Connecting took longer than the timeout."""


class TlsFailed(ConnectFailed):
    """The TLS handshake failed (certificate not trusted, wrong host name...)."""


class ReadTimeout(TimeoutError):
    """The server sent nothing for longer than the timeout."""


class Broken(ConnectionError):
    """The connection broke, or the server sent something that is not HTTP/1.1."""


class Headers(Mapping[str, str]):
    """Response headers; names are case-insensitive, repeated fields are joined with ``, ``."""

    def __init__(self, fields: Sequence[tuple[str, str]]) -> None:
        self._fields = fields
        joined: dict[str, tuple[str, str]] = {}
        for name, value in fields:
            key = name.lower()
            if key in joined:
                value = f"{joined[key][1]}, {value}"
                name = joined[key][0]
            joined[key] = (name, value)
        self._joined = joined

    def __getitem__(self, name: str) -> str:
        return self._joined[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._joined

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._joined.values())

    def __len__(self) -> int:
        return len(self._joined)

    def get_all(self, name: str, default: list[str] | None = None) -> list[str]:
        """Every value of a repeated field (``Set-Cookie``), as :mod:`http.cookiejar` reads them."""
        values = [value for field, value in self._fields if field.lower() == name.lower()]
        return values or (default if default is not None else [])

    def __repr__(self) -> str:
        return f"Headers({[name for name, _ in self._fields]!r})"


class _Key(NamedTuple):
    scheme: str
    host: str
    port: int
    verify: bool | str


class _Parsed:
    """What llhttp has read of one response so far (the parser's callbacks)."""

    def __init__(self) -> None:
        self.parser: httptools.HttpResponseParser | None = None
        self.keep_alive = False
        self.reason = b""
        self.fields: list[tuple[str, str]] = []
        self.body: deque[bytes] = deque()
        self.headers_done = False
        self.complete = False

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.fields.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        self.headers_done = True
        # Asked now: once the message is complete, llhttp forgets (and says False).
        assert self.parser is not None
        self.keep_alive = self.parser.should_keep_alive()
        self.parser = None

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


class Response:
    """One response: status, reason, headers, and the body read with :meth:`read1`.

    When the body has been read to its end the connection goes back to its
    pool; :meth:`close` before that closes it.
    """

    def __init__(
        self,
        pools: Pools,
        key: _Key,
        sock: socket.socket,
        parser: httptools.HttpResponseParser,
        parsed: _Parsed,
    ) -> None:
        self._pools = pools
        self._key = key
        self._sock: socket.socket | None = sock
        self._parser = parser
        self._parsed = parsed
        self.status = parser.get_status_code()
        self.reason = parsed.reason.decode("latin-1")
        self.headers = Headers(parsed.fields)
        # Without a length or chunked coding, a body ends when the server closes.
        self._to_close = (
            not parsed.complete
            and "content-length" not in self.headers
            and "chunked" not in self.headers.get("Transfer-Encoding", "").lower()
        )
        self._done()

    def read1(self, amount: int) -> bytes:
        """Up to ``amount`` bytes of the body as they arrive; ``b""`` at its end.

        A body that ends early or a connection that breaks raises a
        :class:`ConnectionError`; a silent server, :class:`ReadTimeout`.
        """
        parsed = self._parsed
        while not parsed.body:
            if parsed.complete or self._sock is None:
                return b""
            data = _io(self.close, self._sock.recv, _RECV)
            if not data:
                if self._to_close:
                    parsed.complete = True
                    self.close()
                    return b""
                self.close()
                raise Broken("the connection closed before the end of the body")
            _io(self.close, self._parser.feed_data, data)
            self._done()
        chunk = parsed.body.popleft()
        if len(chunk) > amount:
            parsed.body.appendleft(chunk[amount:])
            chunk = chunk[:amount]
        return chunk

    def close(self) -> None:
        """Give the connection back if the body was read to its end, else close it."""
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def release_conn(self) -> None:
        """Nothing to do (the connection is returned when the body ends); as urllib3's."""

    def _done(self) -> None:
        """Once the whole message is in, hand the connection back (or close it)."""
        if not self._parsed.complete or self._sock is None:
            return
        sock, self._sock = self._sock, None
        if self._parsed.keep_alive and not self._to_close:
            self._pools.put(self._key, sock)
        else:
            sock.close()


class Pools:
    """Idle keep-alive connections per origin; thread-safe.

    Args:
        maxsize: Idle connections kept per origin (more may be open at once).

    """

    def __init__(self, maxsize: int = 64) -> None:
        self.maxsize = maxsize
        self._idle: dict[_Key, list[socket.socket]] = {}
        self._lock = threading.Lock()

    def get(
        self,
        scheme: str,
        host: str,
        port: int | None,
        target: str,
        headers: Mapping[str, str | bytes],
        timeout: float,
        verify: bool | str = True,
    ) -> Response:
        """Send ``GET target`` to the origin and read the answer's head.

        Raises:
            ConnectFailed: No connection (:class:`ConnectTimeout`, :class:`TlsFailed`).
            ReadTimeout: No answer within ``timeout``.
            Broken: The connection broke, or the answer is not HTTP/1.1.

        """
        key = _Key(scheme, host, port or DEFAULT_PORTS[scheme], verify)
        request = _request(key, target, headers)
        sock = self._take(key)
        if sock is not None:
            try:
                return self._exchange(key, sock, request, timeout)
            except _Stale:
                pass  # closed by the server while idle: once more, on a new connection
        try:
            return self._exchange(key, _connect(key, timeout), request, timeout)
        except _Stale:
            raise Broken("the server closed the connection without answering") from None

    def put(self, key: _Key, sock: socket.socket) -> None:
        """Keep an idle connection for the next request to its origin."""
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.maxsize:
                idle.append(sock)
                return
        sock.close()

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, {}
        for socks in idle.values():
            for sock in socks:
                sock.close()

    def _take(self, key: _Key) -> socket.socket | None:
        with self._lock:
            idle = self._idle.get(key)
            while idle:
                sock = idle.pop()
                if not _readable(sock):
                    return sock
                # An idle connection with something to read was closed by the server.
                sock.close()
        return None

    def _exchange(self, key: _Key, sock: socket.socket, request: bytes, timeout: float) -> Response:
        sock.settimeout(timeout)
        parsed = _Parsed()
        parser = parsed.parser = httptools.HttpResponseParser(parsed)
        # Until the first byte of the answer, a connection the server closed is stale.
        _io(sock.close, sock.sendall, request, stale=True)
        received = False
        while not parsed.headers_done:
            data = _io(sock.close, sock.recv, _RECV, stale=not received)
            if not data:
                sock.close()
                raise Broken("the connection closed mid-answer") if received else _Stale
            received = True
            _io(sock.close, parser.feed_data, data)
        return Response(self, key, sock, parser, parsed)


class _Stale(Exception):
    """A reused connection was closed by the server before it answered."""


def _io(
    close: Callable[[], None], operation: Callable[[T], R], argument: T, *, stale: bool = False
) -> R:
    """``operation(argument)``: a send, receive or parse on a connection.

    If it fails, ``close`` closes the connection and the failure becomes
    :class:`ReadTimeout` or :class:`Broken` (:class:`_Stale` for a reset, when
    ``stale``).
    """
    try:
        return operation(argument)
    except TimeoutError:
        close()
        raise ReadTimeout("the server sent nothing within the timeout") from None
    except OSError as error:
        close()
        if stale and isinstance(error, (ConnectionResetError, BrokenPipeError)):
            raise _Stale from None
        raise Broken(f"the connection broke ({type(error).__name__})") from None
    except httptools.HttpParserError as error:
        close()
        raise Broken(f"the server's answer is not valid HTTP/1.1 ({error})") from None


def _request(key: _Key, target: str, headers: Mapping[str, str | bytes]) -> bytes:
    """The bytes of a GET request (header values are checked by the caller)."""
    lines = [f"GET {target} HTTP/1.1".encode()]
    if not any(name.lower() == "host" for name in headers):
        host = f"[{key.host}]" if ":" in key.host else key.host
        default = key.port == DEFAULT_PORTS[key.scheme]
        lines.append(f"Host: {host}".encode() if default else f"Host: {host}:{key.port}".encode())
    for name, value in headers.items():
        lines.append(name.encode("latin-1") + b": " + _latin1(value))
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _latin1(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1")


def _connect(key: _Key, timeout: float) -> socket.socket:
    try:
        sock = socket.create_connection((key.host, key.port), timeout=timeout)
    except TimeoutError:
        raise ConnectTimeout(f"no connection to {key.host}:{key.port} within the timeout") from None
    except ConnectionRefusedError:
        raise ConnectRefused(refused(key.host, key.port)) from None
    except OSError as error:
        raise ConnectFailed(f"no connection to {key.host}:{key.port} ({error})") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if key.scheme != "https":
        return sock
    try:
        return _tls_context(key.verify).wrap_socket(sock, server_hostname=key.host)
    except TimeoutError:
        sock.close()
        raise ConnectTimeout(f"the TLS handshake with {key.host} timed out") from None
    except ssl.SSLError as error:
        sock.close()
        raise TlsFailed(f"TLS with {key.host} failed ({error.reason or error})") from None
    except OSError as error:
        sock.close()
        raise ConnectFailed(f"TLS with {key.host} failed ({error})") from None


@functools.lru_cache(maxsize=8)
def _tls_context(verify: bool | str) -> ssl.SSLContext:
    """Check certificates as requests does: certifi's bundle, or ``verify``'s file or directory."""
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif verify is True:
        context = ssl.create_default_context(cafile=certifi.where())
    elif os.path.isdir(verify):
        context = ssl.create_default_context(capath=verify)
    else:
        context = ssl.create_default_context(cafile=verify)
    context.set_alpn_protocols(["http/1.1"])
    return context


def _readable(sock: socket.socket) -> bool:
    """Whether an idle connection has something to read (so the server closed it)."""
    if hasattr(select, "poll"):  # no limit on descriptor numbers, unlike select()
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    ready, _, _ = select.select([sock], [], [], 0)
    return bool(ready)
