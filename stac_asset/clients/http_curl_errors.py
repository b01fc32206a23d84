"""libcurl's errors, told apart: what a retry may cure, what says the answer is not HTTP."""

from __future__ import annotations

import pycurl

# libcurl's errors that a retry may cure: the connection or the name lookup
# failed, or time ran out. Anything else (a reply that is not HTTP, a URL's
# protocol refused) would only recur.
_TRANSIENT = frozenset(
    {
        pycurl.E_COULDNT_RESOLVE_PROXY,
        pycurl.E_COULDNT_RESOLVE_HOST,
        pycurl.E_COULDNT_CONNECT,
        pycurl.E_PARTIAL_FILE,
        pycurl.E_OPERATION_TIMEDOUT,
        pycurl.E_GOT_NOTHING,
        pycurl.E_SEND_ERROR,
        pycurl.E_RECV_ERROR,
        pycurl.E_SSL_CONNECT_ERROR,
        pycurl.E_HTTP2,
        92,  # CURLE_HTTP2_STREAM
    }
)


# The TLS errors: the name requests gives them, for the same message whichever sends.
_TLS = frozenset({35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98})

# libcurl's errors for an answer that is not HTTP: a weird reply, a head too large.
# (CURLE_WEIRD_SERVER_REPLY and CURLE_TOO_LARGE, which pycurl does not name.)
# CURLE_UNSUPPORTED_PROTOCOL is also what an HTTP/0.9 answer (no head at all) gets.
_MALFORMED = frozenset({pycurl.E_UNSUPPORTED_PROTOCOL, 8, 100})


class CurlError(Exception):
    """A transfer libcurl gave up on: its error code, message and URL."""

    def __init__(self, code: int, message: str, url: str) -> None:
        message = message or pycurl.easy_strerror(code)
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.url = url

    @property
    def transient(self) -> bool:
        """Whether asking again may succeed (a lost or refused connection, a timeout)."""
        return self.code in _TRANSIENT

    @property
    def kind(self) -> str:
        """What failed, in the words of requests' exceptions: SSLError, Timeout, ConnectionError."""
        if self.code in _TLS:
            return "SSLError"
        if self.code == pycurl.E_OPERATION_TIMEDOUT:
            return "Timeout"
        return "ConnectionError"

    @property
    def malformed(self) -> bool:
        """Whether the answer is not HTTP (or its head is beyond libcurl's limits)."""
        return self.code in _MALFORMED

    @property
    def refused(self) -> bool:
        """Whether the server refused the connection."""
        return bool(self.code == pycurl.E_COULDNT_CONNECT)

    def __str__(self) -> str:
        return f"libcurl error {self.code}: {self.message}"


def timed_out(waiting_for: str, timeout: float, url: str) -> CurlError:
    """The error of a transfer whose ``waiting_for`` (its head, its next bytes) came too late."""
    reason = f"{waiting_for} took longer than the timeout ({timeout:g} s)"
    return CurlError(pycurl.E_OPERATION_TIMEDOUT, reason, url)
