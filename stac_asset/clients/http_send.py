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
from typing import Any

import requests
import requests.cookies
import requests.utils
import urllib3.exceptions

from . import http_curl, http_curl_options, http_transport
from .http_answer import AnswerHead, UndecodableBody, encoded

DEFAULT_CA_BUNDLE: str = requests.utils.DEFAULT_CA_BUNDLE_PATH
"""The certificates requests checks against when nothing else is set (certifi's)."""


def through_curl(
    pool: http_curl.Pool,
    session: requests.Session,
    origin: str,
    url: str,
    headers: Mapping[str, str | None],
    settings: Mapping[str, Any],
    timeout: float,
) -> http_curl.Answer | Urllib3Answer:
    """Send through libcurl what ``session.send`` would send; keep the cookies it sets.

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
    answer = http_curl.get(pool, origin, url, sent, sending)
    if "Set-Cookie" in answer.headers:
        _keep_cookies(session, url, sent, answer.headers.getlist("Set-Cookie"))
    return decoded(answer) if encoded(answer) else answer


def _keep_cookies(
    session: requests.Session, url: str, sent: Mapping[str, str], set_cookies: list[str]
) -> None:
    """Put the cookies an answer set into the session's jar, as ``session.send`` does."""
    request = requests.Request("GET", url, headers=dict(sent)).prepare()
    message = http.client.HTTPMessage()
    for value in set_cookies:
        message["Set-Cookie"] = value
    # requests' stand-ins for what http.cookiejar reads of a response and a request.
    response: Any = requests.cookies.MockResponse(message)
    mock_request: Any = requests.cookies.MockRequest(request)
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
