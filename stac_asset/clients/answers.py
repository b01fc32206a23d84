"""Answers of token endpoints and login APIs: read at most :data:`MAX_ANSWER_BYTES`.

A token answer is a few hundred bytes. A larger one (a token URL that
serves a file by mistake, a hostile server, a decompression bomb) is cut off
once the cap is passed, whichever library reads it: requests itself, Authlib
or google-auth. Every token request carries :data:`ANSWER_HOOKS` (requests'
``hooks=``, or a session's own hooks), whose hook wraps the body of an
answer that is not streamed before anything reads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import requests

MAX_ANSWER_BYTES = 1024 * 1024
"""The largest answer of a token endpoint or login API that is read (decoded bytes)."""


class AnswerTooLargeError(requests.RequestException):
    """An answer of more than :data:`MAX_ANSWER_BYTES`; mapped to an ``AccessError``."""


def _too_large(response: requests.Response) -> AnswerTooLargeError:
    limit = MAX_ANSWER_BYTES // 1024
    return AnswerTooLargeError(
        f"the answer is more than {limit} KiB, too large for a token answer", response=response
    )


class _CappedBody:
    """A urllib3 response whose decoded stream ends with an error past ``MAX_ANSWER_BYTES``."""

    def __init__(self, raw: Any, response: requests.Response) -> None:
        self._raw = raw
        self._response = response

    def stream(self, amt: int = 2**16, decode_content: bool | None = None) -> Iterator[bytes]:
        read = 0
        for chunk in self._raw.stream(amt, decode_content=decode_content):
            read += len(chunk)
            if read > MAX_ANSWER_BYTES:
                self._raw.close()
                raise _too_large(self._response)
            yield chunk

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def cap_answer(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    """A requests response hook: refuse or cap the body of an answer that is not streamed.

    A streamed answer is its caller's to bound; this one is read by requests
    (``response.content``) right after the hooks run.
    """
    if kwargs.get("stream"):
        return response
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > MAX_ANSWER_BYTES:
        response.close()
        raise _too_large(response)
    response.raw = _CappedBody(response.raw, response)
    return response


ANSWER_HOOKS = {"response": [cap_answer]}
"""``hooks=`` for a request whose answer is a token or a login: see :func:`cap_answer`."""
