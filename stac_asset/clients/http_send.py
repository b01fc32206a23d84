"""Sending one GET of the byte view: through libcurl, or through a session the user handed in.

Both are given the same request, computed once by :class:`~stac_asset.HttpClient`
(its headers for the hop, the session's headers and cookies) and the same
environment settings (:func:`~stac_asset.clients.http_transport.environment`:
proxy, CA bundle, client certificate, as requests reads them), so which one
sends changes the speed, not the behaviour. Both return an
:class:`~stac_asset.clients.http_answer.Answer`; their exceptions are mapped
by :mod:`stac_asset.clients.failures`.
"""

from __future__ import annotations

import http.client
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
import requests.cookies
import requests.utils
import urllib3
import urllib3.exceptions

from . import http_curl, http_curl_options, http_transport
from .http_answer import AnswerHead, UndecodableBody, encoded

DEFAULT_CA_BUNDLE: str = requests.utils.DEFAULT_CA_BUNDLE_PATH
"""The certificates requests checks against when nothing else is set (certifi's)."""


@dataclass(frozen=True)
class CurlRequest:
    """One GET as libcurl sends it: what ``session.send`` would send, computed once."""

    url: str
    """The URL, its host in IDNA and the rest percent-encoded UTF-8 (as requests sends it)."""
    headers: dict[str, str]
    settings: http_curl_options.Settings

    @property
    def lines(self) -> list[str]:
        """The header lines (an empty value sent as ``Name;``, libcurl's way)."""
        return [f"{name}: {value}" if value else f"{name};" for name, value in self.headers.items()]


def curl_request(
    session: requests.Session,
    url: str,
    headers: Mapping[str, str | None],
    settings: Mapping[str, Any],
    timeout: float,
) -> CurlRequest:
    """What ``session.send`` would send, for libcurl.

    ``headers`` (None drops a session header) go on top of the session's;
    the session's cookies for ``url`` are added unless a ``Cookie`` is given.
    """
    merged = {**session.headers, **headers}
    sent = {name: str(value) for name, value in merged.items() if value is not None}
    if session.cookies and not any(name.lower() == "cookie" for name in sent):
        cookie = http_transport.cookie_header(session, url)
        if cookie is not None:
            sent["Cookie"] = cookie
    verify = settings["verify"]
    sending = http_curl_options.Settings(
        timeout,
        settings["proxy"],
        DEFAULT_CA_BUNDLE if verify is True else verify,  # certifi's, as requests
        settings["cert"],
    )
    if not url.isascii():
        prepared = requests.PreparedRequest()  # the host in IDNA, the rest percent-encoded UTF-8
        prepared.prepare_url(url, None)
        url = str(prepared.url)
    return CurlRequest(url, sent, sending)


def through_curl(
    pool: http_curl.Pool,
    session: requests.Session,
    origin: str,
    request: CurlRequest,
) -> http_curl.Answer | Urllib3Answer:
    """Send ``request`` through libcurl; keep the cookies the answer sets in ``session``."""
    answer = http_curl.get(pool, origin, request.url, request.lines, request.settings)
    keep_cookies(session, request, answer.headers)
    return decoded(answer) if encoded(answer) else answer


def keep_cookies(
    session: requests.Session, request: CurlRequest, headers: urllib3.HTTPHeaderDict
) -> None:
    """Put the cookies an answer to ``request`` set in the session's jar, as ``session.send``."""
    if "Set-Cookie" not in headers:
        return
    prepared = requests.Request("GET", request.url, headers=dict(request.headers)).prepare()
    message = http.client.HTTPMessage()
    for value in headers.getlist("Set-Cookie"):
        message["Set-Cookie"] = value
    # requests' stand-ins for what http.cookiejar reads of a response and a request.
    response: Any = requests.cookies.MockResponse(message)
    mock_request: Any = requests.cookies.MockRequest(prepared)
    session.cookies.extract_cookies(response, mock_request)


def through_session(
    session: requests.Session,
    url: str,
    headers: Mapping[str, str | None],
    settings: Mapping[str, Any],
    timeout: float,
    auth: Any,
) -> Urllib3Answer:
    """Send a streamed GET as ``session.get`` would, with ``auth``, not following redirects."""
    prepared = session.prepare_request(
        requests.Request("GET", url, headers=dict(headers), auth=auth)
    )
    response = session.send(
        prepared,
        stream=True,
        timeout=timeout,
        allow_redirects=False,
        **http_transport.send_settings(settings),
    )
    return Urllib3Answer(response, response.raw)


class Urllib3Answer:
    """An answer whose body urllib3 reads, decoding it if it came under a content coding.

    The body of a session's answer (``response.raw``), or of a libcurl answer
    under a content coding, which an identity request should not get: urllib3
    decodes it as requests would, a bounded chunk at a time, so a small body
    that expands to gigabytes never sits in memory.
    """

    def __init__(self, head: AnswerHead, body: urllib3.HTTPResponse) -> None:
        self._head = head
        self._body = body
        self.status_code = head.status_code
        self.reason = head.reason
        self.headers = head.headers
        self.url = head.url
        # Decoding only a coded body: urllib3 would copy every chunk once more.
        self._decode = encoded(head)

    def read1(self, size: int) -> bytes:
        """The next bytes of the body as they arrived, decoded if coded."""
        try:
            chunk: bytes = self._body.read1(size, decode_content=self._decode)
        except urllib3.exceptions.DecodeError:
            raise UndecodableBody("DecodeError") from None
        return chunk

    def close(self) -> None:
        """End the answer; after an interim or protocol-switching one, its connection too."""
        if self.status_code < 200:
            self._body.close()  # the connection now speaks something else: never reused
        self._head.close()


def decoded(answer: http_curl.Answer) -> Urllib3Answer:
    """A libcurl answer under a content coding, its body decoded by urllib3."""
    body: Any = answer  # file-like: read, read1, closed, close
    # libcurl has already checked the framing: urllib3 only decodes.
    reader = urllib3.HTTPResponse(
        body=body,
        headers=answer.headers,
        status=answer.status_code,
        preload_content=False,
        decode_content=True,
        enforce_content_length=False,
    )
    return Urllib3Answer(answer, reader)
