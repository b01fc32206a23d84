"""What the HTTP byte view reads of an answer, whichever library brought it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class AnswerHead(Protocol):
    """The status, reason and headers of a final answer, and the URL it answers.

    A :class:`requests.Response` is one.
    """

    @property
    def status_code(self) -> int:
        """The HTTP status."""

    @property
    def reason(self) -> str | None:
        """The status line's reason phrase."""

    @property
    def headers(self) -> Mapping[str, str]:
        """The headers, names in any case; repeated names joined with ``", "``."""

    @property
    def url(self) -> str:
        """The URL asked for."""

    def close(self) -> None:
        """Give the connection back (reused only if the body was read to its end)."""


class Answer(AnswerHead, Protocol):
    """A final answer whose body is read as it arrives, decoded if it came with a content coding."""

    def read1(self, size: int) -> bytes:
        """The next bytes of the body, at most about ``size``; ``b""`` at its end.

        Raises :class:`ConnectionError` or :class:`TimeoutError` when the
        connection is lost, :class:`UndecodableBody` when its content coding
        cannot be decoded.
        """


def encoded(answer: AnswerHead) -> bool:
    """Whether the body comes with a content coding (gzip...) though identity was asked for."""
    return answer.headers.get("Content-Encoding", "identity").strip().lower() not in (
        "",
        "identity",
    )


class UndecodableBody(ValueError):
    """A body whose content coding (gzip...) cannot be decoded: asking again would not help."""
